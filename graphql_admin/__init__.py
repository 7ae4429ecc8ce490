"""The GraphQL admin API of Fluid's admin console (Strawberry), served at ``/graphql``."""

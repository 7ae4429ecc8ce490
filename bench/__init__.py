"""The benchmark of fluid-scim (`make bench`): see bench/README.md."""

"""Use cases shared by the SCIM surface, the admin API and the CLI. Each one ends its transaction."""

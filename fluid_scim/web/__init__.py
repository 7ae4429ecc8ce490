"""App-wide HTTP concerns: tenancy, health, metrics, security headers, request ids and the access log."""

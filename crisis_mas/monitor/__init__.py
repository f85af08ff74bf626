"""Monitoring outside the request path: drift, alert rules and health checks."""

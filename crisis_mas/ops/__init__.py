"""Ops middleware around every model call: guardrails, HAZMAT checks, caching, tracing, metrics."""

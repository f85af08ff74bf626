"""Ops middleware around every model call: guardrails, HAZMAT validation, caching, tracing, metrics."""

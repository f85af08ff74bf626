"""Safety checks as plain functions: guardrails (injection, PII, unsafe output), HAZMAT."""

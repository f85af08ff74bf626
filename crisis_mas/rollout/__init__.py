"""Safe adapter rollout: a versioned registry, shadow/canary routing, rollback and promotion."""

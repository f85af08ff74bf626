"""Model-pool backends. Each depends only on `crisis_mas.pool` types, never on layers above."""

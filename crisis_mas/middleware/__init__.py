"""The middleware chain around every model-pool call: tracing, metrics, cache, safety links."""

"""crisis-mas: Greek commander agents on a shared local model pool, aggregated into one decision."""

__version__ = "0.1.0"

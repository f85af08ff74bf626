"""One module per schema revision, oldest first (`r0001_baseline` is the first run store)."""

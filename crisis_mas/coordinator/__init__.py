"""The coordinator: turns expert assessments into one ranked, explained decision."""

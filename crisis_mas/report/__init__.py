"""The run report: its data model and the renderings a commander reads."""

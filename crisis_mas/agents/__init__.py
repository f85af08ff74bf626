"""Expert commander agents: profiles (data), selection, prompting, assessment, coordinator."""

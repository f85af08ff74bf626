"""Expert commander agents: profiles (data), selection, prompting, assessment and the coordinator."""

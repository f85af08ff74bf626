"""The one store: runs, jobs, feedback, eval results, the rollout registry and the event log."""

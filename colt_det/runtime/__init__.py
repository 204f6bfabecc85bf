"""MMEngine plumbing that knows nothing of a search: loops, runners, checkpoints, logging."""

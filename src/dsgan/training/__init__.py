"""Training loops and their plumbing: run directories, checkpoints, schedules, faults."""

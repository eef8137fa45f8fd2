"""Runs: their states, what a target needs to launch one, the keeper that owns one, the queue."""

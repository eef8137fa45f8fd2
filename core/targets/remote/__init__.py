"""The remote target: runs are the host's own Python, over SSH."""

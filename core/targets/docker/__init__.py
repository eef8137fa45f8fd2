"""The Docker targets: runs are containers, on this machine's engine or a host's over SSH."""

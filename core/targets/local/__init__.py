"""The local target: runs are processes on this machine."""

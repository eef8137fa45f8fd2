"""Scripts that run ON a remote host (stdlib only, any python3 >= 3.6): sent over stdin."""

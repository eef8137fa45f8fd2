"""Sweeps: a search over a script's arguments, each trial an ordinary run."""

"""Launchdeck's execution core: configs, snapshots, history, runs and compute targets.

Nothing in this package imports Textual or Rich: the CLI and the dashboard are two faces of it.
"""

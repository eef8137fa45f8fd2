"""The Textual face of Launchdeck: ``deck`` (or ``deck dash``) opens it on the current project.

It only reads and writes through ``core``; ``core`` never imports it.
"""

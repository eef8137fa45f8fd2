"""asyncssh, imported once without its slow liboqs search (``_quickimport``).

Modules that need asyncssh import this first; ``core.remote`` itself stays free of asyncssh
so that a process talking to a live link process never loads it.
"""

from launchdeck.core.remote._quickimport import without_liboqs_search

with without_liboqs_search():
    import asyncssh  # noqa: F401

"""Keeping hosts from filling up: what deck may remove, and removing it.

``deck store prune`` and ``deck images prune`` plan with ``keep`` (which runs are kept) and
the needs of run configurations, show the plan with sizes, and remove only when told; a
``.compute`` ``storeBudget`` is kept by ``budget`` after each prepare.
"""

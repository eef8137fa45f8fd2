"""Run history: SQLite (WAL) under ``.deck/``, logs and artifacts as files beside it."""

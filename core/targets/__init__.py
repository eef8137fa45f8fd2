"""Compute targets: one narrow async protocol (``base.ComputeTarget``), several implementations."""

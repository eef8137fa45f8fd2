"""Widgets of the dashboard that Textual does not have: a lazy log view, a line plot, the runs table."""

"""What the footer offers now: the descriptions of the keys it shows."""

from __future__ import annotations


def footer_keys(app) -> set[str]:
    from textual.widgets._footer import FooterKey  # the footer's own key widget

    return {key.description for key in app.screen.query(FooterKey)}

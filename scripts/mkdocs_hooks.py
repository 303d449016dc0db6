"""MkDocs hooks of Journey's documentation site: the reference pages' generated parts.

A page holds ``<!-- journey:NAME -->`` where a part generated from the code's declarations
goes (journey.reference: settings, CLI commands, report parameters, the HTTP APIs), so the
reference is rebuilt from the code every time the site is built and cannot drift from it.
"""

from __future__ import annotations

from typing import Any

from journey.reference import fill


def on_page_markdown(markdown: str, **_: Any) -> str:
    return fill(markdown)

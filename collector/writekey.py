"""What a request's write key admits, checked the same way by every collector endpoint."""

from __future__ import annotations

from flask import current_app, g, request

from collector.keys import Source, origin_allowed


class Refused(Exception):
    """The key admits nothing: ``status`` (401 or 403) and the reason to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def admit(key: str) -> Source:
    """The source of an active ``key`` whose origin allowlist (if any) has the request's
    Origin; remembered on ``g`` for the CORS answer. Refused otherwise."""
    if not key:
        raise Refused(401, "missing write key: send it as the HTTP Basic user name or as writeKey")
    found: Source | None = current_app.extensions["journey.keys"].lookup(key)
    if found is None:
        raise Refused(401, "unknown or revoked write key")
    g.journey_source = found
    origin = request.headers.get("Origin")
    if found.origins and origin and not origin_allowed(origin, found.origins):
        raise Refused(403, f"origin {origin[:200]!r} is not allowed for this write key")
    return found

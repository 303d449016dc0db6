"""Read a request body as JSON: size caps, gzip (bomb-safe), accepted content types."""

from __future__ import annotations

import zlib
from typing import Any

from flask import Request

from core.web import parse_json

# text/plain: navigator.sendBeacon and analytics.js (a "simple" request needs no preflight);
# application/x-www-form-urlencoded: what @rudderstack/rudder-sdk-node labels its JSON with
FORM = "application/x-www-form-urlencoded"
JSON_TYPES = ("application/json", "text/plain", FORM, "")


class BodyError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _gunzip(data: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise BodyError(400, f"body is not valid gzip: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise BodyError(413, f"body is larger than {limit} bytes once decompressed")
    return out


def read_json(request: Request, max_bytes: int) -> Any:
    """The decoded JSON body, or BodyError with the status and reason to answer."""
    if request.mimetype not in JSON_TYPES:
        raise BodyError(
            415, f"Content-Type {request.mimetype!r} is not supported; send application/json"
        )
    if request.content_length is not None and request.content_length > max_bytes:
        raise BodyError(413, f"body is {request.content_length} bytes; the limit is {max_bytes}")
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise BodyError(413, f"body is larger than the limit of {max_bytes} bytes")
    encoding = (request.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding == "gzip":
        raw = _gunzip(raw, max_bytes)
    elif encoding != "identity":
        raise BodyError(415, f"Content-Encoding {encoding!r} is not supported; use gzip or none")
    if not raw.strip():
        raise BodyError(400, "the body is empty; send a JSON object")
    if request.mimetype == FORM and raw.lstrip()[:1] not in (b"{", b"["):
        raise BodyError(
            415, f"Content-Type {FORM!r} with form fields is not supported; send application/json"
        )
    try:
        return parse_json(raw)
    except ValueError as exc:
        raise BodyError(400, str(exc)) from None

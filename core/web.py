"""What the collector and the analysts' API share over HTTP."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from flask import Response, jsonify
from werkzeug.exceptions import HTTPException

# The ``code`` of an error body by its status (Segment's SDKs log ``code`` and ``message``).
CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def error_body(status: int, message: str, **extra: Any) -> dict[str, Any]:
    """What every JSON error of Journey holds: ``code`` and ``message`` (as Segment's API
    writes them) and ``error`` (the same message, as earlier clients read it)."""
    return {"code": CODES.get(status, "error"), "message": message, "error": message, **extra}


def json_error(status: int, message: str, retry_after: int | None = None, **extra: Any) -> Response:
    """A JSON error answer; a 429 or 503 says when to try again (``Retry-After`` and, for a
    429, ``X-RateLimit-Reset``, which analytics.js reads, both in seconds)."""
    response = jsonify(error_body(status, message, **extra))
    response.status_code = status
    if status in (429, 503):
        wait = retry_after if retry_after is not None else (1 if status == 429 else 5)
        response.headers["Retry-After"] = str(wait)
        if status == 429:
            response.headers["X-RateLimit-Reset"] = str(wait)
    return response


def with_headers_of(response: Response, exc: HTTPException) -> Response:
    """``response`` (our JSON error) with the headers the HTTP error calls for, such as
    ``Allow`` on a 405, which RFC 9110 requires."""
    for name, value in exc.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    return response


# A UTF-16 surrogate left alone once JSON's escapes are decoded: text cut in the middle of an
# emoji. Browsers and most JSON parsers take it; it has no UTF-8, so it becomes U+FFFD.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _mended(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_mended(k): _mended(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mended(v) for v in value]
    return value


def parse_json(raw: bytes) -> Any:
    """``raw`` decoded as JSON, as browsers read it: a lone surrogate (``"\\ud83d"`` with its
    pair cut off) becomes the replacement character instead of refusing everything around it.
    ValueError says what is wrong (malformed, or nested too deeply)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        first = exc
    try:  # the standard library takes lone surrogates where orjson refuses them
        found = json.loads(raw)
    except RecursionError:
        raise ValueError("malformed JSON: nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"malformed JSON: {first}") from None
    try:
        return _mended(found)
    except RecursionError:
        raise ValueError("malformed JSON: nested too deeply") from None

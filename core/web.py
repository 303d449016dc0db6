"""What the collector and the analysts' API share over HTTP."""

from __future__ import annotations

from flask import Response
from werkzeug.exceptions import HTTPException


def with_headers_of(response: Response, exc: HTTPException) -> Response:
    """``response`` (our JSON error) with the headers the HTTP error calls for, such as
    ``Allow`` on a 405, which RFC 9110 requires."""
    for name, value in exc.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    return response

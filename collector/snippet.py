"""Serve the tracking snippet (built from snippet/journey.js) at ``GET /js/journey.js``."""

from __future__ import annotations

import functools
import gzip
import hashlib
from pathlib import Path

from flask import Blueprint, Response, request

bp = Blueprint("snippet", __name__)
SCRIPT = Path(__file__).parent / "static" / "journey.min.js"


@functools.cache
def _script() -> tuple[bytes, bytes, str]:
    raw = SCRIPT.read_bytes()
    return raw, gzip.compress(raw, 9, mtime=0), hashlib.sha256(raw).hexdigest()[:16]


@bp.get("/js/journey.js")
def script() -> Response:
    raw, packed, etag = _script()
    if request.if_none_match.contains(etag):
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    zipped = "gzip" in request.accept_encodings
    response = Response(packed if zipped else raw, mimetype="application/javascript")
    if zipped:
        response.headers["Content-Encoding"] = "gzip"
    response.headers.update(
        {
            "Cache-Control": "public, max-age=3600",
            "ETag": f'"{etag}"',
            "Vary": "Accept-Encoding",
            "Access-Control-Allow-Origin": "*",
        }
    )
    return response

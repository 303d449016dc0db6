"""Reads served by the process that owns the store in `journey up`: with the embedded store no
other process can open it, so `journey report summary` asks this process instead."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

bp = Blueprint("local_api", __name__, url_prefix="/api")


@bp.before_request
def _loopback_only() -> Response | None:
    """No analyst authentication here (that is the reporting API's job): answer this machine only,
    even when the local stack's collector listens on a public address.

    The socket's peer decides (not an address rewritten from X-Forwarded-For), and a request a
    proxy forwarded is not from this machine's user even when the proxy runs here (issue 28)."""
    peer = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR")
    peer = peer or request.environ.get("REMOTE_ADDR")
    forwarded = any(h in request.headers for h in ("Forwarded", "X-Forwarded-For", "X-Real-IP"))
    if peer not in ("127.0.0.1", "::1") or forwarded:
        response = jsonify({"error": "the local stack's API answers only this machine"})
        response.status_code = 403
        return response
    return None


@bp.get("/summary")
def summary() -> Response:
    from analyzer.summary import report

    return jsonify(report(current_app.extensions["journey.store"]))

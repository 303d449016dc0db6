"""The settings documents browser SDKs load before they send anything, answered so that they
send every event to this collector and nowhere else.

- analytics.js (``@segment/analytics-next``) reads ``<cdn>/v1/projects/<writeKey>/settings``;
  a site's snippet sets ``analytics._cdn`` (or ``cdnURL``) to the collector's address.
- RudderStack's JavaScript SDK reads ``<configUrl>/sourceConfig/?writeKey=...``; a site passes
  the collector's address as ``configUrl`` (and as the data plane URL).

Both need an active write key, checked as for events (origin allowlist included)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from collector.api import cors, error
from collector.writekey import Refused, admit

bp = Blueprint("sdk_settings", __name__)
bp.after_request(cors)


def _answer(document: dict[str, Any]) -> Response:
    response = jsonify(document)
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.get("/v1/projects/<key>/settings")
def analytics_js(key: str) -> Response:
    try:
        admit(key)
    except Refused as exc:
        return error(exc.status, exc.reason)
    return _answer(
        {
            "integrations": {
                "Segment.io": {
                    "apiKey": key,
                    "apiHost": f"{request.host}/v1",
                    "protocol": request.scheme,
                    "addBundledMetadata": True,
                }
            },
            "plan": {"track": {"__default": {"enabled": True, "integrations": {}}}},
            "analyticsNextEnabled": True,
            "middlewareSettings": {},
            "enabledMiddleware": {},
            "remotePlugins": [],
            "metrics": {"sampleRate": 0},  # analytics.js's own telemetry would go to Segment
            "legacyVideoPluginsEnabled": False,
        }
    )


@bp.get("/sourceConfig/")
@bp.get("/sourceConfig")
def rudderstack() -> Response:
    key = request.args.get("writeKey", "")
    auth = request.authorization
    if not key and auth is not None and auth.type == "basic":
        key = auth.username or ""
    try:
        source = admit(key)
    except Refused as exc:
        return error(exc.status, exc.reason)
    return _answer(
        {
            "isHosted": False,
            "source": {
                "id": source.name,
                "name": source.name,
                "writeKey": key,
                "workspaceId": "journey",
                "enabled": True,
                # the SDK's own error and metric reports would go to RudderStack
                "config": {
                    "statsCollection": {"errors": {"enabled": False}, "metrics": {"enabled": False}}
                },
                "destinations": [],
            },
        }
    )


@bp.route("/sourceConfig/", methods=["OPTIONS"])
@bp.route("/sourceConfig", methods=["OPTIONS"])
def preflight() -> Response:
    return Response(status=204)

"""The Segment-compatible tracking API: ``POST /v1/batch`` and one endpoint per event type."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, g, jsonify, request
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import BaseConverter

from collector.body import BodyError, read_json
from collector.enrich import RequestInfo, build_event, partition_key
from collector.keys import SERVER, origin_allowed
from collector.pack import pack
from collector.personalize import experiments, segments
from collector.sink import Unavailable
from collector.spool import Record
from collector.validate import Rejected, check_message, without_nulls
from collector.writekey import Refused, admit
from core import metrics
from core.settings import Settings
from core.web import json_error
from schemas import DEAD_LETTER

bp = Blueprint("tracking", __name__, url_prefix="/v1")
bp.get("/segments")(segments)  # personalization: the visitor's public segments
bp.get("/experiments")(experiments)  # the variants meant for a visitor, for servers


class MessageKind(BaseConverter):
    """A path part naming a message kind: anything but the GET endpoints beside it, so that a
    POST to those is a 405 listing what they take, not a single message of an unknown kind."""

    regex = r"(?!(?:segments|experiments)(?:/|$))[^/]+"


@bp.record_once
def _converters(state: BlueprintSetupState) -> None:
    state.app.url_map.converters["kind"] = MessageKind


# Full names and analytics.js's one-letter forms.
SINGLE = {
    "track": "track",
    "page": "page",
    "screen": "screen",
    "identify": "identify",
    "group": "group",
    "alias": "alias",
    "t": "track",
    "p": "page",
    "s": "screen",
    "i": "identify",
    "g": "group",
    "a": "alias",
}


def error(status: int, reason: str, retry_after: int | None = None, **extra: Any) -> Response:
    """The tracking API's JSON error: ``success: false`` beside what every error holds."""
    return json_error(status, reason, retry_after, success=False, **extra)


def _write_key(body: Any) -> str:
    auth = request.authorization
    if auth is not None and auth.type == "basic" and auth.username:
        return auth.username
    if isinstance(body, dict) and isinstance(body.get("writeKey"), str):
        return body["writeKey"]
    return ""


def _dead_letter(
    settings: Settings, message: Any, reason: str, index: int, source: str, now: datetime
) -> Record:
    try:
        payload, encoding = orjson.dumps(message).decode(), "utf-8"
    except TypeError:
        payload, encoding = base64.b64encode(repr(message).encode()).decode(), "base64"
    letter = {
        "schema": DEAD_LETTER,
        "stage": "collector",
        "reason": reason,
        "payload": payload,
        "payload_encoding": encoding,
        "failed_at": now.isoformat(),
        "source": source,
        "index": index,
    }
    return Record(settings.dead_letter_topic, source.encode(), orjson.dumps(letter))


def _ingest(body: Any, messages: list[Any], forced_type: str | None) -> Response:
    settings: Settings = current_app.config["JOURNEY_SETTINGS"]
    counted = metrics.collector()
    try:
        admitted = admit(_write_key(body))
    except Refused as exc:
        counted.events_refused.labels("unauthorized").inc(len(messages))
        return error(exc.status, exc.reason)
    source = admitted.name
    verdict = current_app.extensions["journey.key_limiter"].check(source, len(messages))
    if not verdict.allowed:
        counted.events_refused.labels("rate_limited").inc(len(messages))
        return error(
            429,
            f"rate limit of {settings.rate_limit_events_per_key:g} events/s for this write key; "
            f"retry in {verdict.retry_after_seconds} s",
            verdict.retry_after_seconds,
        )
    now = datetime.now(UTC)
    info = RequestInfo(
        received_at=now,
        source=source,
        ip=request.remote_addr or "",
        user_agent=request.headers.get("User-Agent", ""),
        batch_context=body.get("context") if isinstance(body.get("context"), dict) else {},
        batch_sent_at=body.get("sentAt") if forced_type is None else None,
        anonymize_ip=settings.anonymize_ip,
        geolocate=settings.geolocate,
        server=admitted.kind == SERVER,
    )
    records: list[Record] = []
    accepted: dict[bytes, list[bytes]] = {}  # visitor key -> encoded events, in order
    rejected: list[dict[str, Any]] = []
    oversized = False
    for index, message in enumerate(messages):
        try:
            if forced_type is not None and isinstance(message, dict):
                message = {**message, "type": forced_type}
            check_message(message, settings.max_event_bytes)
            event = build_event(without_nulls(message), info)
        except (Rejected, ValueError) as exc:
            reason = str(exc)
            oversized = oversized or reason.startswith("event is ")
            message_id = message.get("messageId") if isinstance(message, dict) else None
            rejected.append({"index": index, "messageId": message_id, "reason": reason})
            records.append(_dead_letter(settings, message, reason, index, source, now))
            continue
        accepted.setdefault(partition_key(event), []).append(orjson.dumps(event))
    records.extend(pack(settings.events_topic, accepted))
    try:
        current_app.extensions["journey.sink"].deliver(records)
    except Unavailable as exc:
        counted.unavailable.inc()
        return error(503, f"events could not be stored right now ({exc}); retry later")
    if rejected:  # most requests refuse nothing: no label looked up for them
        too_large = sum(r["reason"].startswith("event is ") for r in rejected)
        counted.events_refused.labels("too_large").inc(too_large)
        counted.events_refused.labels("invalid").inc(len(rejected) - too_large)
    counted.events_accepted.inc(len(messages) - len(rejected))
    if not accepted:
        status = 413 if oversized and len(messages) == 1 else 400
        return error(status, "no event was accepted", rejected=rejected)
    return jsonify(
        {"success": True, "accepted": len(messages) - len(rejected), "rejected": rejected}
    )


def _body() -> Any:
    settings: Settings = current_app.config["JOURNEY_SETTINGS"]
    body = read_json(request, settings.max_batch_bytes)
    if not isinstance(body, dict):
        raise BodyError(400, "the body must be a JSON object")
    return body


@bp.before_request
def _limit_ip() -> Response | None:
    if request.method == "OPTIONS":
        return None
    verdict = current_app.extensions["journey.ip_limiter"].check(request.remote_addr or "")
    if not verdict.allowed:
        settings: Settings = current_app.config["JOURNEY_SETTINGS"]
        return error(
            429,
            f"rate limit of {settings.rate_limit_requests_per_ip:g} requests/s per IP",
            verdict.retry_after_seconds,
        )
    return None


@bp.errorhandler(BodyError)
def _body_error(exc: BodyError) -> Response:
    return error(exc.status, exc.reason)


@bp.get("/openapi.json")
def openapi() -> Response:
    from collector.openapi import document

    return jsonify(document())


@bp.post("/batch")
@bp.post("/b")  # analytics-swift, analytics-kotlin and analytics-next's batching mode
@bp.post("/import")
def batch() -> Response:
    body = _body()
    messages = body.get("batch")
    if not isinstance(messages, list):
        return error(400, "batch must be a list of events")
    if not messages:
        return error(400, "batch holds no events")
    return _ingest(body, messages, None)


@bp.post("/<kind:kind>")
def single(kind: str) -> Response:
    if kind not in SINGLE:
        return error(
            404,
            f"no endpoint /v1/{kind}; use /v1/batch or one of track, page, "
            "screen, identify, group, alias",
        )
    body = _body()
    return _ingest(body, [body], SINGLE[kind])


@bp.after_request
def cors(response: Response) -> Response:
    origin = request.headers.get("Origin")
    if origin and _cors_allowed(origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = _allowed_headers()
        response.headers["Access-Control-Max-Age"] = "86400"
        response.headers.add("Vary", "Origin")
    return response


# What the SDKs add: RudderStack's browser SDK sends AnonymousId, SentAt and RSA-* retry headers.
_HEADERS = "Content-Type, Authorization, Content-Encoding, AnonymousId, SentAt"
_TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}\Z")


def _allowed_headers() -> str:
    """The request headers a cross-origin POST may carry: ours, plus whatever well-formed ones
    the preflight asks for (the collector reads none of them, so none can do harm)."""
    asked = request.headers.get("Access-Control-Request-Headers", "")
    names = [h.strip() for h in asked.split(",")[:32] if _TOKEN.match(h.strip())]
    return ", ".join([_HEADERS, *names]) if names else _HEADERS


def _cors_allowed(origin: str) -> bool:
    """The write key's allowlist where it has one; else the origins of JOURNEY_CORS_ORIGINS, and
    for a preflight (which carries no key) those on any active key's allowlist."""
    source = g.get("journey_source")
    if source is not None and source.origins:
        return origin_allowed(origin, source.origins)
    settings: Settings = current_app.config["JOURNEY_SETTINGS"]
    if origin in settings.cors_origins:
        return True
    # ``*`` means every web origin. Not "null": sandboxed frames, data: and file: pages send
    # it, never a website; it is answered only when listed by name. (Credentials are allowed
    # because RudderStack's browser SDK sends them; the collector reads no cookie, so they
    # carry no authority here.)
    if "*" in settings.cors_origins and origin != "null":
        return True
    return request.method == "OPTIONS" and bool(
        current_app.extensions["journey.keys"].any_allows(origin)
    )


@bp.route("/<path:anything>", methods=["OPTIONS"])
def preflight(anything: str) -> Response:
    return Response(status=204)

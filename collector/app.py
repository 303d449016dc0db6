"""The collector's app factory."""

from __future__ import annotations

from typing import Any, Protocol

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from collector.keys import KeyStore, open_keys
from collector.personalize import PublicSegments
from collector.ratelimit import DEFAULT_BURST_EVENTS, RateLimiter
from collector.spool import Record
from core import metrics
from core.settings import Settings, from_env
from core.web import json_error, with_headers_of


def readiness(sink: Sink, spool_max_bytes: int) -> tuple[bool, str]:
    """Whether the collector can make events durable now, and how."""
    health = sink.health()
    if health["kafka"]:
        return True, "ready: Kafka acknowledges events"
    used = health["spooled_bytes"] / spool_max_bytes if spool_max_bytes else 1.0
    # full: past 90%, or too full for the last events it was given (a spool a few requests
    # large can stop short of 90% when each request is more than the room left)
    if used < 0.9 and not health.get("spool_refusing"):
        return True, f"ready: Kafka unreachable, spooling ({used:.0%} of the spool used)"
    return False, f"not ready: Kafka unreachable and the spool is {used:.0%} full"


class Sink(Protocol):
    def deliver(self, records: list[Record]) -> None: ...
    def close(self) -> None: ...
    def health(self) -> dict[str, Any]: ...


def create_app(
    settings: Settings | None = None,
    sink: Sink | None = None,
    keys: KeyStore | None = None,
    public_segments: PublicSegments | None = None,
) -> Flask:
    """The collector; ``sink`` defaults to Kafka with the on-disk spool behind it.

    ``public_segments`` answers ``GET /v1/segments``; by default, with a ClickHouse server
    configured, a cache of it kept current by a thread (with the embedded store only
    `journey up`, which owns it, can)."""
    settings = settings or from_env()
    app = Flask(__name__)
    app.config["JOURNEY_SETTINGS"] = settings
    if sink is None:
        from collector.sink import EventSink

        sink = EventSink(settings)
    app.extensions["journey.sink"] = sink
    app.extensions["journey.keys"] = keys or open_keys(settings)
    app.extensions["journey.key_limiter"] = RateLimiter(
        settings.rate_limit_events_per_key,
        settings.rate_limit_burst_events
        or max(settings.rate_limit_events_per_key, DEFAULT_BURST_EVENTS),
    )
    app.extensions["journey.ip_limiter"] = RateLimiter(settings.rate_limit_requests_per_ip)
    if public_segments is None and settings.clickhouse is not None:
        from storage import connect

        public_segments = PublicSegments(
            connect(settings),
            settings.data_dir / "personalization",
            settings.personalization_seconds,
        ).start()
    app.extensions["journey.public_segments"] = public_segments
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)  # type: ignore[method-assign]

    from collector import sdk_settings, snippet
    from collector.api import bp

    app.register_blueprint(bp)
    app.register_blueprint(sdk_settings.bp)
    app.register_blueprint(snippet.bp)

    @app.get("/health")
    def health() -> Response:
        return jsonify({"status": "ok", **sink.health()})

    spool = metrics.Sampled(
        "journey_collector_spool_bytes",
        "bytes the spool holds on disk (events waiting for Kafka)",
        lambda: float(sink.health()["spooled_bytes"]),
    )

    @app.get("/metrics")
    def metrics_endpoint() -> Response:
        return Response(metrics.exposition(spool), content_type=metrics.CONTENT_TYPE)

    @app.get("/healthz")
    def alive() -> Response:
        return Response("ok\n", mimetype="text/plain")

    @app.get("/readyz")
    def ready() -> Response:
        """Ready while events can be made durable: Kafka takes them, or the spool has room
        (taking a collector out of service because Kafka is away would refuse what the spool
        keeps safe)."""
        ok, why = readiness(sink, settings.spool_max_bytes)
        return Response(why + "\n", status=200 if ok else 503, mimetype="text/plain")

    @app.after_request
    def count(response: Response) -> Response:
        endpoint = request.url_rule.rule if request.url_rule is not None else "(none)"
        if endpoint not in ("/metrics", "/healthz", "/readyz"):
            metrics.collector().requests.labels(endpoint, str(response.status_code)).inc()
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        response = json_error(exc.code or 500, exc.description or exc.name, success=False)
        return with_headers_of(response, exc)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        app.logger.exception("unhandled error")
        return json_error(500, "internal error; nothing was accepted", success=False), 500

    return app

"""The analysts' HTTP API (``/api/v1``): every report as JSON, CSV or an HTML page with charts,
segments, alert rules with their history, and saved reports; the dashboard (``/dashboard``)
is a page of this API. Bearer tokens (reports.tokens) guard everything but the OpenAPI
description and the dashboard's static page, which holds no data.

Errors are JSON: 400 names the parameter, 401 asks for a token, 404 names what is missing.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from importlib import resources
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from kafka.errors import KafkaError
from werkzeug.exceptions import HTTPException

from analyzer import touchpoints
from analyzer.errors import SpecError
from analyzer.experiments import catalog as experiment_catalog
from core import metrics
from core.settings import Settings, SettingsError, from_env
from core.web import error_body, parse_json, with_headers_of
from reports import alerts as alert_reports
from reports import experiments as experiment_reports
from reports import html, saved
from reports import segments as segment_reports
from reports import touchpoints as touchpoint_reports
from reports.analyses import REPORTS, NotFound, Result, event_names, run
from reports.output import json_text, render
from reports.params import ParamError, Params
from reports.tokens import TokenStore
from storage.store import Store

log = logging.getLogger(__name__)
bp = Blueprint("reports_api", __name__)
PUBLIC = {"reports_api.openapi", "reports_api.dashboard", "reports_api.dashboard_asset"}
FORMATS = ("json", "csv", "html", "figures")


def _store() -> Store:
    store: Store = current_app.extensions["journey.store"]
    return store


def _longest() -> int:
    """The longest period a report reads (JOURNEY_LONGEST_RANGE_DAYS)."""
    settings: Settings = current_app.config["JOURNEY_SETTINGS"]
    return settings.longest_range_days


def _json(value: Any, status: int = 200) -> Response:
    """JSON with ISO dates (Flask's own would write HTTP dates)."""
    return Response(json_text(value, None), status, mimetype="application/json")


def _error(status: int, message: str, **extra: Any) -> Response:
    return _json(error_body(status, message, **extra), status)


@bp.before_request
def _clock() -> None:
    g.started = time.monotonic()


@bp.after_request
def _count(response: Response) -> Response:
    """Requests and their time per endpoint, a report by its kind (a known one: the label's
    values stay few)."""
    kind = (request.view_args or {}).get("kind")
    if kind in REPORTS:
        endpoint = f"/api/v1/reports/{kind}"
    else:
        endpoint = request.url_rule.rule if request.url_rule is not None else "(none)"
    counted = metrics.api()
    counted.requests.labels(endpoint, str(response.status_code)).inc()
    if "started" in g:
        counted.seconds.labels(endpoint).observe(time.monotonic() - g.started)
    return response


@bp.before_request
def _authenticate() -> Response | None:
    if request.endpoint in PUBLIC:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    tokens: TokenStore = current_app.extensions["journey.tokens"]
    name = tokens.verify(token.strip()) if scheme.lower() == "bearer" else None
    if name is None:
        response = _error(
            401,
            "a valid analyst token is required: Authorization: Bearer <token> "
            "(create one with `journey tokens create NAME`)",
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="journey"'
        return response
    g.analyst = name
    return None


# The dashboard: its own scripts and styles, its API calls, nothing from elsewhere.
DASHBOARD_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data: blob:; font-src data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@bp.after_request
def _protect(response: Response) -> Response:
    """No answer is sniffed into another type, framed by another site, or leaks its URL as a
    referrer; the dashboard and HTML reports run only their own scripts (issue 28)."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if response.mimetype == "text/html":
        response.headers["X-Frame-Options"] = "DENY"
        if request.endpoint == "reports_api.dashboard":
            response.headers["Content-Security-Policy"] = DASHBOARD_POLICY
        else:  # an HTML report: the policy its page carries, and no framing
            response.headers["Content-Security-Policy"] = f"{html.policy()}; frame-ancestors 'none'"
    return response


@bp.errorhandler(ParamError)
def _bad_param(exc: ParamError) -> Response:
    return _error(400, str(exc), parameter=exc.name)


@bp.errorhandler(SpecError)
def _bad_spec(exc: SpecError) -> Response:
    return _error(400, str(exc), **({"parameter": exc.field} if exc.field else {}))


@bp.errorhandler(NotFound)
def _not_found(exc: NotFound) -> Response:
    return _error(404, str(exc))


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException) -> Response:
    return with_headers_of(_error(exc.code or 500, exc.description or exc.name), exc)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    log.exception("report failed")
    return _error(500, "internal error while computing the report; see the server's log")


def _query(kind: str) -> tuple[Params, str]:
    """The request's parameters, less ``format``, as report or endpoint ``kind`` declares
    them (reports.parameters)."""
    values = {k: request.args.getlist(k) for k in request.args}
    fmt = values.pop("format", ["json"])
    if len(fmt) != 1 or fmt[0] not in FORMATS:
        raise ParamError("format", f"one of {', '.join(FORMATS)}")
    return Params(values).declare(kind), fmt[0]


def _answer(result: Result, fmt: str) -> Response:
    if fmt == "csv":
        body = render(result.rows, "csv") if result.rows else ""
        return Response(body, mimetype="text/csv")
    if fmt == "html":
        return Response(html.page(result.title, [result]), mimetype="text/html")
    answer = {
        "kind": result.kind,
        "title": result.title,
        "params": result.params,
        "result": result.data,
        "warnings": result.warnings,
    }
    if fmt == "figures":  # the charts as Plotly JSON, for the dashboard
        answer["figures"] = [json.loads(f.to_json()) for f in html.figures(result)]
    return _json(answer)


@bp.get("/api/v1/openapi.json")
def openapi() -> Response:
    from reports.openapi import document

    return _json(document())


@bp.get("/api/v1/reports/<kind>")
def report(kind: str) -> Response:
    if kind not in REPORTS:
        raise NotFound(f"no report {kind!r}; reports: {', '.join(REPORTS)}")
    params, fmt = _query(kind)
    return _answer(run(_store(), kind, params, longest_days=_longest()), fmt)


@bp.get("/api/v1/events")
def events() -> Response:
    params, fmt = _query("events")
    return _answer(event_names(_store(), params, longest_days=_longest()), fmt)


@bp.get("/api/v1/summary")
def stored_summary() -> Response:
    """What is stored: events, by type, visitors, identified users, revenue, the first and last
    event, and how many events came from bots (left out of reports unless asked)."""
    from analyzer.summary import summary

    params, fmt = _query("summary")
    params.done()
    found = asdict(summary(_store()))
    rows = [{k: v for k, v in found.items() if k != "by_type"}]
    return _answer(Result("summary", "What is stored", found, rows), fmt)


@bp.get("/api/v1/live")
def live() -> Response:
    from reports.live import latest

    params, fmt = _query("live")
    limit = params.integer("limit")
    params.done()
    settings: Settings = current_app.config["JOURNEY_SETTINGS"]
    result = Result("live", "Latest events", [], [])
    try:
        result.data = result.rows = [s.as_dict() for s in latest(settings, limit)]
    except SettingsError as exc:  # no Kafka configured here: nothing to show, and why
        result.warnings = [{"message": f"live events come from Kafka: {exc}"}]
    except KafkaError as exc:  # configured, not reachable now: try again later
        return _error(503, f"live events come from Kafka, which cannot be reached now: {exc}")
    return _answer(result, fmt)


@bp.get("/api/v1/segments")
def segments() -> Response:
    params, fmt = _query("segments")
    params.done()
    return _answer(segment_reports.listing(_store()), fmt)


@bp.get("/api/v1/segments/<name>")
def segment(name: str) -> Response:
    params, fmt = _query("segment")
    quality = not params.flag("no_quality")
    params.done()
    return _answer(segment_reports.segment(_store(), name, with_quality=quality), fmt)


@bp.get("/api/v1/alerts")
def alerts() -> Response:
    params, fmt = _query("alerts")
    params.done()
    return _answer(alert_reports.listing(_store()), fmt)


@bp.get("/api/v1/alerts/<name>/history")
def alert_history(name: str) -> Response:
    params, fmt = _query("alert_history")
    limit = params.integer("limit")
    changes = params.flag("changes")
    params.done()
    return _answer(alert_reports.history(_store(), name, limit, changes), fmt)


@bp.get("/api/v1/alerts/<name>/deliveries")
def alert_deliveries(name: str) -> Response:
    params, fmt = _query("alert_deliveries")
    limit = params.integer("limit")
    params.done()
    return _answer(alert_reports.deliveries(_store(), name, limit), fmt)


@bp.get("/api/v1/saved")
def saved_list() -> Response:
    return _json({"saved": [s.as_dict() for s in saved.listing(_store())]})


@bp.get("/api/v1/saved/<name>")
def saved_get(name: str) -> Response:
    found = saved.get(_store(), name)
    if found is None:
        raise NotFound(f"no saved report {name!r}")
    return _json(found.as_dict())


MAX_BODY_BYTES = 1024 * 1024


def _body() -> Any:
    """The request's JSON body (a lone surrogate mended, as the collector reads them); a body
    that is not JSON, too large or nested too deeply is a 400 naming ``body``."""
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise ParamError("body", f"at most {MAX_BODY_BYTES} bytes")
    try:
        return parse_json(raw)
    except ValueError as exc:
        raise ParamError("body", str(exc)) from None


@bp.put("/api/v1/saved/<name>")
def saved_put(name: str) -> Response:
    body = _body()
    if not isinstance(body, dict) or set(body) - {"kind", "params"}:
        raise ParamError("body", 'a JSON object {"kind": ..., "params": {NAME: [VALUE, ...]}}')
    kind, given = body.get("kind"), body.get("params", {})
    if not isinstance(kind, str):
        raise ParamError("kind", f"one of {', '.join(REPORTS)}")
    if not isinstance(given, dict) or not all(
        isinstance(v, list) and all(isinstance(x, str) for x in v) for v in given.values()
    ):
        raise ParamError("params", "an object of parameter name -> list of text values")
    given.pop("format", None)
    kept, _ = saved.save(_store(), name, kind, given, _longest())
    return _json(kept.as_dict())


@bp.delete("/api/v1/saved/<name>")
def saved_delete(name: str) -> Response:
    if not saved.drop(_store(), name):
        raise NotFound(f"no saved report {name!r}")
    return _json({"name": name, "deleted": True})


@bp.get("/api/v1/experiments")
def experiments() -> Response:
    return _json({"experiments": experiment_reports.listing(_store())})


@bp.get("/api/v1/experiments/<name>")
def experiment(name: str) -> Response:
    found = experiment_reports.one(_store(), name)
    if found is None:
        raise NotFound(f"no experiment {name!r}")
    return _json(found)


@bp.put("/api/v1/experiments/<name>")
def experiment_put(name: str) -> Response:
    body = _body()
    if not isinstance(body, dict):
        raise ParamError("body", "a JSON object: an experiment's definition")
    return _json(experiment_reports.put(_store(), name, body))


@bp.delete("/api/v1/experiments/<name>")
def experiment_delete(name: str) -> Response:
    if experiment_reports.one(_store(), name) is None:
        raise NotFound(f"no experiment {name!r}")
    status = experiment_catalog.stop(_store(), name)
    return _json({"name": name, "deleted": True, "status": status})


@bp.get("/api/v1/touchpoints")
def touchpoint_sets() -> Response:
    return _json({"touchpoints": touchpoint_reports.listing(_store())})


@bp.get("/api/v1/touchpoints/<name>")
def touchpoint_set(name: str) -> Response:
    found = touchpoint_reports.one(_store(), name)
    if found is None:
        raise NotFound(f"no touchpoint set {name!r}")
    return _json(found)


@bp.put("/api/v1/touchpoints/<name>")
def touchpoint_set_put(name: str) -> Response:
    body = _body()
    if not isinstance(body, dict):
        raise ParamError("body", 'a JSON object {"any_of": [...], "description": "..."}')
    return _json(touchpoint_reports.put(_store(), name, body))


@bp.delete("/api/v1/touchpoints/<name>")
def touchpoint_set_delete(name: str) -> Response:
    if touchpoint_reports.one(_store(), name) is None:
        raise NotFound(f"no touchpoint set {name!r}")
    touchpoints.drop(_store(), name)
    return _json({"name": name, "deleted": True})


@bp.get("/api/v1/saved/<name>/run")
def saved_run(name: str) -> Response:
    found = saved.get(_store(), name)
    if found is None:
        raise NotFound(f"no saved report {name!r}")
    params, fmt = _query("saved_run")
    params.done()
    result = run(_store(), found.kind, Params(found.params), longest_days=_longest())
    result.title = f"{found.name}: {result.title}"
    return _answer(result, fmt)


@bp.get("/dashboard")
def dashboard() -> Response:
    text = resources.files("reports").joinpath("dashboard/index.html").read_text()
    return Response(text, mimetype="text/html")


@bp.get("/dashboard/<asset>")
def dashboard_asset(asset: str) -> Response:
    if asset == "plotly.min.js":
        response = Response(html.plotly_js(), mimetype="text/javascript")
    elif asset == "dashboard.js":
        text = resources.files("reports").joinpath("dashboard/dashboard.js").read_text()
        response = Response(text, mimetype="text/javascript")
    else:
        return _error(404, f"no dashboard file {asset!r}")
    response.headers["Cache-Control"] = "max-age=3600"
    return response


def install(app: Flask, store: Store, tokens: TokenStore, settings: Settings | None = None) -> None:
    """Serve the API and the dashboard from ``app``, reading ``store`` (and Kafka, for the live
    events, as ``settings`` say; default: those the app was made with, else the environment's)."""
    if "JOURNEY_SETTINGS" not in app.config:
        app.config["JOURNEY_SETTINGS"] = settings or from_env()
    app.extensions["journey.store"] = store
    app.extensions["journey.tokens"] = tokens
    app.register_blueprint(bp)


def create_app(store: Store, tokens: TokenStore) -> Flask:
    """The API on its own (``journey api``), for deployments with a ClickHouse server."""
    app = Flask(__name__)
    install(app, store, tokens)

    @app.get("/metrics")
    def metrics_endpoint() -> Response:
        return Response(metrics.exposition(), content_type=metrics.CONTENT_TYPE)

    @app.get("/healthz")
    def alive() -> Response:
        return Response("ok\n", mimetype="text/plain")

    @app.get("/readyz")
    def ready() -> Response:
        """Ready while ClickHouse answers."""
        try:
            store.execute("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - any failure: not ready, and why
            return Response(f"not ready: ClickHouse: {exc}\n", 503, mimetype="text/plain")
        return Response("ready\n", mimetype="text/plain")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        return with_headers_of(_error(exc.code or 500, exc.description or exc.name), exc)

    return app

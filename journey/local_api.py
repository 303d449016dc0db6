"""Reads served by the process that owns the store in `journey up`: with the embedded store no
other process can open it, so `journey report ...` and `journey status` ask this process
instead (journey.cli.common.local_api), and say the same as they would on a store of their own.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from analyzer.errors import SpecError
from core.settings import Settings
from core.web import json_error
from reports.output import json_text
from reports.params import ParamError, Params

bp = Blueprint("local_api", __name__, url_prefix="/api")


@bp.before_request
def _loopback_only() -> Response | None:
    """No analyst authentication here (that is the reporting API's job): answer this machine only,
    even when the local stack's collector listens on a public address.

    The socket's peer decides (not an address rewritten from X-Forwarded-For), and a request a
    proxy forwarded is not from this machine's user even when the proxy runs here."""
    peer = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR")
    peer = peer or request.environ.get("REMOTE_ADDR")
    forwarded = any(h in request.headers for h in ("Forwarded", "X-Forwarded-For", "X-Real-IP"))
    if peer not in ("127.0.0.1", "::1") or forwarded:
        return json_error(403, "the local stack's API answers only this machine")
    return None


@bp.errorhandler(ParamError)
def _bad_param(exc: ParamError) -> Response:
    return json_error(400, exc.message, parameter=exc.name)


@bp.errorhandler(SpecError)
def _bad_spec(exc: SpecError) -> Response:
    return json_error(400, str(exc))


def _json(value: object) -> Response:
    return Response(json_text(value, None), mimetype="application/json")


@bp.get("/summary")
def summary() -> Response:
    from analyzer.summary import report

    return jsonify(report(current_app.extensions["journey.store"]))


@bp.get("/stack")
def stack() -> Response:
    """Where the running stack's parts are: the bundled broker's address, for `journey tail`."""
    settings: Settings = current_app.config["JOURNEY_SETTINGS"]
    return _json({"kafka_bootstrap_servers": list(settings.kafka_bootstrap_servers)})


@bp.get("/status")
def status() -> Response:
    """`journey status` of the running stack, with its own settings (the bundled broker's
    address among them)."""
    from reports.status import status as read_status

    settings: Settings = current_app.config["JOURNEY_SETTINGS"]
    return _json(read_status(settings, current_app.extensions["journey.store"]))


@bp.get("/reports/<kind>")
def report(kind: str) -> Response:
    """A report as `journey report KIND` shows it: its JSON, its rows and warnings, or the HTML
    page (``format=html``)."""
    from reports import analyses, html

    values = {k: request.args.getlist(k) for k in request.args}
    fmt = (values.pop("format", None) or ["json"])[0]
    settings: Settings = current_app.config["JOURNEY_SETTINGS"]
    store = current_app.extensions["journey.store"]
    result = analyses.run(store, kind, Params(values), longest_days=settings.longest_range_days)
    if fmt == "html":
        return Response(html.page(result.title, [result]), mimetype="text/html")
    return _json(
        {
            "kind": result.kind,
            "title": result.title,
            "data": result.data,
            "rows": result.rows,
            "warnings": result.warnings,
        }
    )


@bp.get("/journey-report")
def journey_report() -> Response:
    """The shop's journey report of everything loaded, as HTML (404 with no events)."""
    from reports import html
    from reports import journey_report as shop

    store = current_app.extensions["journey.store"]
    period = shop.period_of(store)
    if period is None:
        return json_error(404, "no events loaded: nothing to report")
    return Response(html.page("Journey report", shop.results(store, *period)), mimetype="text/html")

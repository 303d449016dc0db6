"""Every report's parameters: those of the specification it fills, declared on the
specification's fields (analyzer.parameters), and the few it asks besides.

From these come the CLI's options (``journey report KIND --name``), the API's
reading of the query string and its error messages (reports.params, which refuses a reader
that asks for an undeclared name), and the OpenAPI description's parameters with their real
types, defaults, ranges and whether they are required (reports.openapi). A test holds the
three to the same table.
"""

from __future__ import annotations

from typing import Any

from analyzer.campaigns import CampaignSpec
from analyzer.correlation import CorrelationSpec
from analyzer.funnels.spec import FunnelSpec
from analyzer.journeymap import JourneyMapSpec
from analyzer.painpoints import PainPointSpec
from analyzer.parameters import PERIOD, Param
from analyzer.parameters import declared as asked_by
from analyzer.paths import PathSpec
from analyzer.retention import LifecycleSpec, RetentionSpec
from analyzer.segments.scorecard import ScorecardSpec
from analyzer.stickiness import StickinessSpec
from analyzer.trends import TrendSpec
from analyzer.web import WebSpec

__all__ = ["ENDPOINT_PARAMS", "REPORT_PARAMS", "SPECS", "Param", "declared", "schema"]

# The specification each report fills: its fields declare the parameters (analyzer.parameters).
SPECS: dict[str, type] = {
    "funnel": FunnelSpec,
    "paths": PathSpec,
    "painpoints": PainPointSpec,
    "retention": RetentionSpec,
    "lifecycle": LifecycleSpec,
    "stickiness": StickinessSpec,
    "journey_map": JourneyMapSpec,
    "trends": TrendSpec,
    "web": WebSpec,
    "correlation": CorrelationSpec,
    "scorecard": ScorecardSpec,
    "compare": ScorecardSpec,
    "campaigns": CampaignSpec,
}


def _report(spec: type, *more: Param) -> tuple[Param, ...]:
    """The parameters of ``spec``, then ``more`` (what the report asks besides the
    specification: how it shows the result), then the period the specification reads."""
    own = asked_by(spec)
    period = tuple(p for p in PERIOD if p in own)
    return (*(p for p in own if p not in period), *more, *period)


REPORT_PARAMS: dict[str, tuple[Param, ...]] = {kind: _report(spec) for kind, spec in SPECS.items()}
REPORT_PARAMS["funnel"] = _report(
    FunnelSpec,
    Param("trend", "conversion by the day or week people entered", "choice",
          choices=("day", "week")),
    Param("dropped_at", "list the people who reached step N and not the next", "integer",
          low=1, high=9),
    Param("limit", "with dropped_at: people per page", "integer", 1000, 1, 100_000, cli=False),
    Param("offset", "with dropped_at: people to skip", "integer", 0, 0, 10_000_000, cli=False),
)  # fmt: skip
REPORT_PARAMS["compare"] = _report(
    ScorecardSpec,
    Param("before_since", "first day of the earlier period, an ISO date", "date", required=True),
    Param("before_until", "the day after the earlier period, an ISO date", "date",
          required=True),
    Param("min_sample", "people (or answers) a change needs in each period", "integer", 30, 1,
          1_000_000),
)  # fmt: skip
# Reports that fill no specification: an experiment is read from its stored definition.
REPORT_PARAMS["experiment"] = (
    Param("experiment", "the experiment's key (journey experiments list)", required=True),
    Param(
        "as_of",
        "read as of this day, an ISO date (default: now; never past the experiment's end)",
        "date",
    ),
)
REPORT_PARAMS["events"] = (Param("limit", "events to list", "integer", 200, 1, 5000), *PERIOD)
# The API's other reading endpoints, by name: declared the same way, read the same way.
ROWS = Param("limit", "rows, newest first", "integer", 100, 1, 10_000)
ENDPOINT_PARAMS: dict[str, tuple[Param, ...]] = {
    "segments": (),
    "segment": (Param("no_quality", "skip the quality checks", "flag"),),
    "alerts": (),
    "alert_history": (ROWS, Param("changes", "state changes and notices only", "flag")),
    "alert_deliveries": (ROWS,),
    "saved_run": (),
    "summary": (),
    "live": (Param("limit", "lines, newest first", "integer", 50, 1, 500),),
}


def declared(kind: str) -> dict[str, Param]:
    """Report (or endpoint) ``kind``'s parameters by name."""
    return {p.name: p for p in (REPORT_PARAMS.get(kind) or ENDPOINT_PARAMS[kind])}


def schema(param: Param) -> dict[str, Any]:
    """The JSON Schema of one value of ``param`` (an item, when it repeats)."""
    body: dict[str, Any]
    if param.kind == "integer":
        body = {"type": "integer"}
    elif param.kind == "number":
        body = {"type": "number"}
    elif param.kind == "flag":
        body = {"type": "boolean", "default": False}
    else:
        body = {"type": "string"}
    if param.kind == "date" and param.words:
        body["anyOf"] = [{"format": "date"}, {"enum": list(param.words)}]
    elif param.kind == "date":
        body["format"] = "date"
    if param.kind == "duration":
        body["pattern"] = r"^\d{1,12}[smhdw]$"
    if param.choices:
        body["enum"] = list(param.choices)
    if param.low is not None:
        body["minimum"] = param.low
    if param.high is not None:
        body["maximum"] = param.high
    if param.default is not None and not param.many:
        body["default"] = param.default
    return body

"""The API's OpenAPI 3.1 description, served at ``/api/v1/openapi.json``. The tests check every
answer they get against it, so it says what the API really returns."""

from __future__ import annotations

from functools import cache
from typing import Any

from reports.analyses import REPORTS

VERSION = "1.0.0"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": list(required),
        "additionalProperties": False,
    }


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


INT = {"type": "integer"}
NUM = {"type": "number"}
STR = {"type": "string"}
BOOL = {"type": "boolean"}
DATE = {"type": "string", "format": "date"}
MOMENT = {"type": "string", "format": "date-time"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _param(name: str, description: str, many: bool = False, **schema: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "string", **schema}
    return {
        "name": name,
        "in": "query",
        "description": description,
        "required": False,
        "schema": _array(body) if many else body,
        **({"style": "form", "explode": True} if many else {}),
    }


STEP = "a step: NAME or NAME|FIELD OP VALUE|... (OP: =, !=, ~ regular expression, ' in ' A,B)"
COMMON = [
    _param("since", "first day, ISO date (default: 30 days ago)"),
    _param("until", "the day after the last, ISO date (default: tomorrow)"),
    _param(
        "format",
        "json (default), csv (the main rows), html (a page with charts), "
        "figures (json with the charts as Plotly JSON)",
        enum=["json", "csv", "html", "figures"],
    ),
]
BOTS = _param(
    "include_bots",
    "true to count bots too (crawlers, headless browsers, scripts); left out by default",
    enum=["true", "false", "1", "0"],
)
FUNNEL = [
    _param("step", f"the funnel's steps in order, 2 to 10; {STEP}", many=True),
    _param("window", "conversion window: 30m, 12h, 7d (default 7d)"),
    _param("mode", "ordered (default), strict or any", enum=["ordered", "strict", "any"]),
    _param("exclude", "an exclusion step, STEP or STEP@A-B (between steps A and B)", many=True),
    _param("in_segment", "only the members of this segment (NAME or NAME/GROUP)"),
]
PARAMS: dict[str, list[dict[str, Any]]] = {
    "funnel": FUNNEL
    + [
        _param("breakdown", "a column, properties.KEY, person.TRAIT or segment:NAME[,NAME]"),
        _param("attribution", "first_touch (default), last_touch or step:N"),
        _param("trend", "conversion by the day or week people entered", enum=["day", "week"]),
        _param(
            "dropped_at", "list the people who reached step N and not the next", pattern=r"^\d+$"
        ),
        _param("limit", "with dropped_at: people per page (default 1000)", pattern=r"^\d+$"),
        _param("offset", "with dropped_at: people to skip", pattern=r"^\d+$"),
    ],
    "paths": [
        _param("kind", "page, event or all (default)", enum=["page", "event", "all"]),
        _param("start", "paths from this page or event"),
        _param("end", "paths to this page or event"),
        _param("max_length", "steps per path, 2 to 20 (default 5)", pattern=r"^\d+$"),
        _param("clean", "a cleaning rule REGEX=ALIAS, e.g. /product/\\d+=/product/:id", many=True),
        _param("top", "paths to list, 1 to 500 (default 20)", pattern=r"^\d+$"),
        _param("session_timeout", "minutes of inactivity that end a session (default 30)"),
        _param("dropped_at", "paths after dropping off step N of the funnel in step"),
        _param("step", f"with dropped_at: the funnel's steps; {STEP}", many=True),
        _param("window", "with dropped_at: the funnel's window (default 7d)"),
        _param("mode", "with dropped_at: the funnel's order", enum=["ordered", "strict", "any"]),
        _param("exclude", "with dropped_at: the funnel's exclusions", many=True),
        _param("in_segment", "only the members of this segment"),
    ],
    "painpoints": FUNNEL
    + [
        _param("segment", "FIELD=VALUE (e.g. utm_source=facebook) or segment=NAME"),
        _param("min_sample", "people a comparison needs (default 30)", pattern=r"^\d+$"),
        _param("error_pattern", "regular expression of error events"),
    ],
    "retention": [
        _param("start_event", f"the cohort's event; {STEP}"),
        _param("return_event", f"the returning event; {STEP}"),
        _param("period", "day, week (default) or month", enum=["day", "week", "month"]),
        _param("periods", "periods after the cohort's own, 1 to 120 (default 8)"),
        _param("mode", "first_time (default) or recurring", enum=["first_time", "recurring"]),
        _param("in_segment", "only the members of this segment"),
    ],
    "lifecycle": [
        _param("event", f"the activity; {STEP}"),
        _param("period", "day, week (default) or month", enum=["day", "week", "month"]),
    ],
}
SCORECARD = [
    _param("segment", "a segment (NAME or NAME/GROUP); default every refreshed one", many=True),
    _param("step", f"the funnel whose conversion is scored (optional); {STEP}", many=True),
    _param("window", "the funnel's conversion window (default 7d)"),
    _param("mode", "the funnel's order", enum=["ordered", "strict", "any"]),
    _param("purchase_event", "the purchase event (default Order Completed)"),
    _param("revenue_property", "its revenue property (default revenue)"),
    _param("retention_days", "days after the first active day a return counts (default 7)"),
    _param("session_timeout", "minutes of inactivity that end a session (default 30)"),
    _param("csat_event", "the survey answer event whose property is the score"),
    _param("csat_property", "the score's property (default score)"),
    _param("csat_trait", "or: the trait holding each person's latest score"),
    _param("satisfied_at", "a score at or above this is satisfied (default 4)"),
]
PARAMS["scorecard"] = SCORECARD
PARAMS["compare"] = SCORECARD + [
    _param("before_since", "first day of the earlier period, ISO date (required)"),
    _param("before_until", "the day after the earlier period, ISO date (required)"),
    _param("min_sample", "people (or answers) a change needs in each period (default 30)"),
]
PARAMS["campaigns"] = [
    _param("segment", "a segment (NAME or NAME/GROUP) to split by", many=True),
    _param("purchase_event", "the purchase event (default Order Completed)"),
    _param("revenue_property", "its revenue property (default revenue)"),
    _param("lookback_days", "days before a purchase a touch counts, 1 to 365 (default 30)"),
]

STEP_RESULT = _obj(
    {
        "step": INT,
        "event": STR,
        "people": INT,
        "dropped": INT,
        "conversion_from_start": NUM,
        "conversion_from_previous": NUM,
        "median_seconds_from_previous": _nullable(NUM),
        "p90_seconds_from_previous": _nullable(NUM),
    }
)
COMPARISON = _obj(
    {
        "entered": INT,
        "dropped": INT,
        "drop_rate": NUM,
        "p_value": _nullable(NUM),
        "significant": BOOL,
    }
)
SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": STR}, {"parameter": STR}),
    "StepResult": STEP_RESULT,
    "Funnel": _obj(
        {
            "steps": _array(_ref("StepResult")),
            "excluded": INT,
            "time_to_convert": _array(
                _obj(
                    {
                        "from_step": INT,
                        "to_step": INT,
                        "bins": _array(
                            _obj({"from_seconds": INT, "to_seconds": INT, "people": INT})
                        ),
                    }
                )
            ),
            "breakdown": _array(_obj({"value": STR, "steps": _array(_ref("StepResult"))})),
            "breakdown_values": INT,
        }
    ),
    "FunnelTrend": _array(
        _obj(
            {
                "period": DATE,
                "entered": INT,
                "converted": INT,
                "conversion": NUM,
                "reached": _array(INT),
            }
        )
    ),
    "FunnelDropped": _array(_obj({"person_id": STR, "last_step_at": MOMENT, "value": STR})),
    "Paths": _obj(
        {
            "total": INT,
            "paths": _array(_obj({"steps": _array(STR), "count": INT, "share": NUM})),
            "edges": _array(
                _obj(
                    {
                        "position": INT,
                        "source": STR,
                        "target": STR,
                        "count": INT,
                        "average_seconds": _nullable(NUM),
                    }
                )
            ),
        }
    ),
    "PainPoints": _obj(
        {
            "segment": STR,
            "people": INT,
            "stages": _array(
                _obj(
                    {
                        "stage": INT,
                        "from_event": STR,
                        "to_event": STR,
                        "entered": INT,
                        "dropped": INT,
                        "drop_rate": NUM,
                        "excess_dropped": NUM,
                        "ranked": BOOL,
                        "others": _nullable(COMPARISON),
                        "previous": _nullable(COMPARISON),
                        "went_instead": _array(_obj({"element": STR, "people": INT, "share": NUM})),
                        "loops_dropped": NUM,
                        "loops_converted": NUM,
                        "errors_dropped": NUM,
                        "errors_converted": NUM,
                        "median_seconds": _nullable(NUM),
                        "median_seconds_everyone": _nullable(NUM),
                        "reasons": _array(STR),
                    }
                )
            ),
        }
    ),
    "Retention": _obj(
        {
            "period": STR,
            "mode": STR,
            "cohorts": _array(
                _obj({"period": DATE, "people": INT, "retained": _array(INT), "rates": _array(NUM)})
            ),
        }
    ),
    "Lifecycle": _array(
        _obj({"period": DATE, "new": INT, "returning": INT, "resurrecting": INT, "dormant": INT})
    ),
    "Events": _array(_obj({"event": STR, "type": STR, "count": INT})),
    "Segments": _array(
        _obj(
            {
                "segment": STR,
                "kind": STR,
                "category": STR,
                "version": INT,
                "refreshed": STR,
                "members": INT,
                "share": NUM,
                "schedule": STR,
            }
        )
    ),
    "Segment": _obj(
        {
            "segment": STR,
            "kind": STR,
            "category": STR,
            "description": STR,
            "version": INT,
            "groups": _array(STR),
            "sizes": {
                "type": "object",
                "additionalProperties": _array(
                    _obj(
                        {
                            "refresh": INT,
                            "at": STR,
                            "version": INT,
                            "members": INT,
                            "base": INT,
                            "share": NUM,
                        }
                    )
                ),
            },
            "movement": _array(_obj({"from_segment": STR, "to_segment": STR, "people": INT})),
            "quality": {
                "type": "object",
                "additionalProperties": _array(
                    _obj({"name": STR, "passed": BOOL, "evidence": {"type": "object"}})
                ),
            },
            "value": _array({"type": "object"}),
            "details": {"type": "object"},
        }
    ),
    "Alerts": _array(
        _obj(
            {
                "rule": STR,
                "version": INT,
                "watches": STR,
                "scope": STR,
                "condition": STR,
                "every": STR,
                "scopes_seen": INT,
                "firing": STR,
            }
        )
    ),
    "AlertHistory": _array(
        _obj(
            {
                "at": MOMENT,
                "scope": STR,
                "outcome": STR,
                "state": STR,
                "changed": BOOL,
                "notice": STR,
                "held": STR,
                "entered": INT,
                "converted": INT,
                "rate": _nullable(NUM),
                "baseline_rate": _nullable(NUM),
                "p_value": _nullable(NUM),
                "reason": STR,
            }
        )
    ),
    "AlertDeliveries": _array(
        _obj(
            {
                "at": MOMENT,
                "scope": STR,
                "notice": STR,
                "channel": STR,
                "target": STR,
                "attempts": INT,
                "ok": BOOL,
                "error": STR,
            }
        )
    ),
    "Saved": _obj(
        {
            "name": STR,
            "kind": {"type": "string", "enum": list(REPORTS)},
            "params": {"type": "object", "additionalProperties": _array(STR)},
            "version": INT,
            "saved_at": MOMENT,
        }
    ),
    "SavedList": _obj({"saved": _array(_ref("Saved"))}),
    "SaveRequest": _obj(
        {"kind": {"type": "string", "enum": list(REPORTS)}},
        {"params": {"type": "object", "additionalProperties": _array(STR)}},
    ),
    "Deleted": _obj({"name": STR, "deleted": BOOL}),
}
_ratio = _nullable(NUM)
SCHEMAS["ScorecardBody"] = _obj(
    {
        "date_from": MOMENT,
        "date_to": MOMENT,
        "funnel": _array(STR),
        "membership": {"type": "object", "additionalProperties": INT},
        "segments": _array(
            _obj(
                {
                    "segment": STR,
                    "people": INT,
                    "sessions_per_person": _ratio,
                    "events_per_session": _ratio,
                    "active_days_per_person": _ratio,
                    "retention": _ratio,
                    "retention_eligible": INT,
                    "buyers": INT,
                    "purchase_rate": _ratio,
                    "revenue": NUM,
                    "revenue_per_person": _ratio,
                    "revenue_per_buyer": _ratio,
                    "funnel_entered": INT,
                    "funnel_converted": INT,
                    "conversion": _ratio,
                    "csat_responses": INT,
                    "csat_mean": _ratio,
                    "csat_satisfied": _ratio,
                }
            )
        ),
    }
)
SCHEMAS["Scorecard"] = _ref("ScorecardBody")
SCHEMAS["Compare"] = _obj(
    {
        "before": _ref("ScorecardBody"),
        "after": _ref("ScorecardBody"),
        "changes": _array(
            _obj(
                {
                    "segment": STR,
                    "metric": STR,
                    "before": _ratio,
                    "after": _ratio,
                    "difference": _ratio,
                    "ci_low": _ratio,
                    "ci_high": _ratio,
                    "relative": _ratio,
                    "p_value": _ratio,
                    "significant": BOOL,
                    "n_before": INT,
                    "n_after": INT,
                    "note": STR,
                }
            )
        ),
    }
)
_CAMPAIGN = _obj(
    {
        "segment": STR,
        "utm_source": STR,
        "utm_medium": STR,
        "utm_campaign": STR,
        "spend": NUM,
        "touched": INT,
        **{
            f"{model}_{part}": kind
            for model in ("first_touch", "last_touch")
            for part, kind in (
                ("purchases", INT),
                ("revenue", NUM),
                ("roas", _ratio),
                ("roi", _ratio),
            )
        },
    }
)
SCHEMAS["Campaigns"] = _obj(
    {
        "date_from": MOMENT,
        "date_to": MOMENT,
        "currency": STR,
        "lookback_days": INT,
        "campaigns": _array(_CAMPAIGN),
        "totals": _array(_CAMPAIGN),
    }
)


def answer(kinds: dict[str, str]) -> dict[str, Any]:
    """The envelope of a report answer: ``result`` by kind (kind -> schema name)."""
    return {
        "oneOf": [
            _obj(
                {
                    "kind": {"const": kind},
                    "title": STR,
                    "params": {"type": "object", "additionalProperties": _array(STR)},
                    "result": _ref(schema),
                },
                {"figures": _array({"type": "object"})},
            )
            for kind, schema in kinds.items()
        ]
    }


def _responses(kinds: dict[str, str], formats: bool = True) -> dict[str, Any]:
    ok: dict[str, Any] = {"application/json": {"schema": answer(kinds)}}
    if formats:
        ok["text/csv"] = {"schema": STR}
        ok["text/html"] = {"schema": STR}
    return {
        "200": {"description": "the report", "content": ok},
        **_errors(),
    }


def _errors() -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": _ref("Error")}}}
    return {
        "400": {"description": "a parameter is wrong; the answer names it", **error},
        "401": {"description": "no valid analyst token", **error},
        "404": {"description": "no such segment, rule or saved report", **error},
    }


def _get(summary: str, parameters: list[dict[str, Any]], responses: dict[str, Any]) -> Any:
    return {"get": {"summary": summary, "parameters": parameters, "responses": responses}}


NAME = {"name": "name", "in": "path", "required": True, "schema": STR}
REPORT_RESULTS = {
    "funnel": {
        "funnel": "Funnel",
        "funnel_trend": "FunnelTrend",
        "funnel_dropped": "FunnelDropped",
    },
    "paths": {"paths": "Paths"},
    "painpoints": {"painpoints": "PainPoints"},
    "retention": {"retention": "Retention"},
    "lifecycle": {"lifecycle": "Lifecycle"},
    "scorecard": {"scorecard": "Scorecard"},
    "compare": {"compare": "Compare"},
    "campaigns": {"campaigns": "Campaigns"},
}
SUMMARIES = {
    "funnel": "Funnel: stage conversion, drop-off, time to convert, breakdown, trend, who dropped",
    "paths": "Top paths and Sankey edges, from a start, to an end, or after a funnel drop-off",
    "painpoints": "A segment's funnel stages ranked by drop-off, each with its evidence",
    "retention": "Cohort retention of a start event and a return event",
    "lifecycle": "New, returning, resurrecting and dormant people per period",
    "scorecard": "Per segment: funnel conversion, engagement, retention, revenue, satisfaction",
    "compare": "A segment's scorecard in two periods: each change with its 95% interval",
    "campaigns": "Campaign spend against first- and last-touch revenue, ROAS and ROI per segment",
}


@cache
def document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        f"/api/v1/reports/{kind}": _get(
            SUMMARIES[kind], [*PARAMS[kind], BOTS, *COMMON], _responses(REPORT_RESULTS[kind])
        )
        for kind in REPORTS
    }
    paths["/api/v1/events"] = _get(
        "Events seen in the period, most frequent first",
        [*COMMON, BOTS, _param("limit", "events to list (default 200)")],
        _responses({"events": "Events"}),
    )
    paths["/api/v1/segments"] = _get(
        "Defined segments with their latest refresh",
        COMMON[2:],
        _responses({"segments": "Segments"}),
    )
    paths["/api/v1/segments/{name}"] = _get(
        "One segment: sizes over time, movement, quality, RFM value",
        [NAME, *COMMON[2:], _param("no_quality", "true to skip the quality checks")],
        _responses({"segment": "Segment"}),
    )
    paths["/api/v1/alerts"] = _get(
        "Alert rules and their firing scopes", COMMON[2:], _responses({"alerts": "Alerts"})
    )
    paths["/api/v1/alerts/{name}/history"] = _get(
        "A rule's evaluations, newest first",
        [
            NAME,
            *COMMON[2:],
            _param("limit", "rows (default 100)"),
            _param("changes", "true for state changes and notices only"),
        ],
        _responses({"alert_history": "AlertHistory"}),
    )
    paths["/api/v1/alerts/{name}/deliveries"] = _get(
        "Deliveries of a rule's notices, newest first",
        [NAME, *COMMON[2:], _param("limit", "rows (default 100)")],
        _responses({"alert_deliveries": "AlertDeliveries"}),
    )
    saved_one = {"content": {"application/json": {"schema": _ref("Saved")}}}
    paths["/api/v1/saved"] = _get(
        "Saved reports",
        [],
        {
            "200": {
                "description": "saved reports",
                "content": {"application/json": {"schema": _ref("SavedList")}},
            },
            **_errors(),
        },
    )
    paths["/api/v1/saved/{name}"] = {
        "get": {
            "summary": "A saved report's kind and parameters",
            "parameters": [NAME],
            "responses": {"200": {"description": "the saved report", **saved_one}, **_errors()},
        },
        "put": {
            "summary": "Save a report under a name (it is run first, so a broken one is refused)",
            "parameters": [NAME],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("SaveRequest")}},
            },
            "responses": {"200": {"description": "saved", **saved_one}, **_errors()},
        },
        "delete": {
            "summary": "Forget a saved report",
            "parameters": [NAME],
            "responses": {
                "200": {
                    "description": "deleted",
                    "content": {"application/json": {"schema": _ref("Deleted")}},
                },
                **_errors(),
            },
        },
    }
    every_report = {k: v for kinds in REPORT_RESULTS.values() for k, v in kinds.items()}
    paths["/api/v1/saved/{name}/run"] = _get(
        "Run a saved report", [NAME, *COMMON[2:]], _responses(every_report)
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Journey analyst API",
            "version": VERSION,
            "description": "Journey reports over identity-stitched customer journeys. "
            "Every endpoint but this description needs an analyst token "
            "(`journey tokens create NAME`) as `Authorization: Bearer <token>`.",
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"analystToken": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"analystToken": []}],
        "paths": paths,
    }

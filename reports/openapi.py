"""The API's OpenAPI 3.1 description, served at ``/api/v1/openapi.json``. The tests check every
answer they get against it, so it says what the API really returns."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import schemas
from reports.analyses import REPORTS
from reports.parameters import Param, declared, schema

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


def _parameter(param: Param) -> dict[str, Any]:
    """The OpenAPI query parameter of a declared report parameter (reports.parameters)."""
    body = schema(param)
    return {
        "name": param.name,
        "in": "query",
        "description": param.help,
        "required": param.required,
        "schema": _array(body) if param.many else body,
        **({"style": "form", "explode": True} if param.many else {}),
    }


def parameters(kind: str) -> list[dict[str, Any]]:
    """Report (or endpoint) ``kind``'s query parameters, from its one declaration."""
    return [_parameter(p) for p in declared(kind).values()]


FORMAT = {
    "name": "format",
    "in": "query",
    "description": "json (default), csv (the main rows), html (a page with charts), "
    "figures (json with the charts as Plotly JSON)",
    "required": False,
    "schema": {"type": "string", "enum": ["json", "csv", "html", "figures"], "default": "json"},
}

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
CORRELATED = _obj(  # an event or value among the people who dropped against the converted
    {
        "field": STR,
        "value": STR,
        "dropped": INT,
        "converted": INT,
        "dropped_share": NUM,
        "converted_share": NUM,
        "odds_ratio": NUM,
        "p_value": NUM,
        "adjusted_p_value": NUM,
        "significant": BOOL,
    }
)
SCHEMAS: dict[str, Any] = {
    "Error": _obj({"code": STR, "message": STR, "error": STR}, {"parameter": STR}),
    # a name the parameters give that never occurs in the report's period, with the closest
    # names that do: a misspelt step is told, not answered with a silent zero
    "Warning": _obj(
        {"message": STR}, {"parameter": STR, "value": STR, "did_you_mean": _array(STR)}
    ),
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
                        "correlated": _array(CORRELATED),
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
                _obj(
                    {
                        "period": DATE,
                        "people": INT,
                        "retained": _array(INT),
                        "rates": _array(NUM),
                        "sums": _nullable(_array(NUM)),
                        "per_person": _nullable(_array(NUM)),
                    }
                )
            ),
        }
    ),
    "Stickiness": _obj(
        {
            "per": STR,
            "most_days": INT,
            "groups": _array(
                _obj(
                    {
                        "value": STR,
                        "people": INT,
                        "observations": INT,
                        "average_days": _nullable(NUM),
                        "days": _array(_obj({"days": INT, "count": INT, "share": NUM})),
                    }
                )
            ),
        }
    ),
    "Lifecycle": _array(
        _obj({"period": DATE, "new": INT, "returning": INT, "resurrecting": INT, "dormant": INT})
    ),
    "JourneyMap": _obj(
        {
            "stages": _array(STR),
            "date_from": MOMENT,
            "date_to": MOMENT,
            "previous_from": MOMENT,
            "previous_to": MOMENT,
            "groups": _array(
                _obj(
                    {
                        "value": STR,
                        "stalls_at": _nullable(INT),
                        "stages": _array(
                            _obj(
                                {
                                    "stage": INT,
                                    "name": STR,
                                    "people": INT,
                                    "conversion_from_previous": NUM,
                                    "conversion_from_start": NUM,
                                    "median_seconds_from_previous": _nullable(NUM),
                                    "p90_seconds_from_previous": _nullable(NUM),
                                    "previous_people": INT,
                                    "previous_conversion_from_previous": _nullable(NUM),
                                    "change": _nullable(NUM),
                                    "p_value": _nullable(NUM),
                                    "significant": BOOL,
                                }
                            )
                        ),
                    }
                )
            ),
        }
    ),
    "Trends": _obj(
        {
            "measure": STR,
            "interval": STR,
            "buckets": _array(MOMENT),
            "previous_buckets": _array(MOMENT),
            "series": _array(
                _obj(
                    {
                        "value": STR,
                        "points": _array(_nullable(NUM)),
                        "previous": _array(_nullable(NUM)),
                        "total": _nullable(NUM),
                        "previous_total": _nullable(NUM),
                    }
                )
            ),
        }
    ),
    "Web": _obj(
        {
            "groups": _array(
                _obj(
                    {
                        "value": STR,
                        "people": INT,
                        "sessions": INT,
                        "bounce_rate": NUM,
                        "median_session_seconds": NUM,
                        "pages_per_session": NUM,
                        **{
                            name: _array(_obj({"value": STR, "count": INT, "people": INT}))
                            for name in ("pages", "entry", "exit", "sources")
                        },
                    }
                )
            )
        }
    ),
    "Correlation": _obj(
        {
            "step": INT,
            "from_event": STR,
            "to_event": STR,
            "dropped": INT,
            "converted": INT,
            "tested": INT,
            "items": _array(CORRELATED),
        }
    ),
    "Events": _array(_obj({"event": STR, "type": STR, "count": INT})),
    "Summary": _obj(
        {
            "rows_stored": INT,
            "events": INT,
            "by_type": {"type": "object", "additionalProperties": INT},
            "visitors": INT,
            "identified_users": INT,
            "revenue": NUM,
            "first": _nullable(STR),
            "last": _nullable(STR),
            "bot_events": INT,
        }
    ),
    # the latest accepted events and dead letters, newest first (reports/live.py)
    "Live": _array(
        _obj(
            {
                "kind": {"enum": ["event", "dead_letter"]},
                "at": STR,
                "type": STR,
                "event": STR,
                "person": STR,
                "source": STR,
                "device": STR,
                "stage": STR,
                "reason": STR,
                "payload": STR,
            }
        )
    ),
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
    "Deleted": _obj(
        {"name": STR, "deleted": BOOL},
        {"status": {"type": "string", "description": "an experiment: ended, or withdrawn"}},
    ),
    # A touchpoint: an event name, or {event, where}; where: filters {field, op, value}.
    "Touchpoint": {
        "oneOf": [
            STR,
            {
                "type": "object",
                "properties": {
                    "event": STR,
                    "where": _array(
                        _obj(
                            {"field": STR},
                            {"op": STR, "value": {"type": ["string", "number", "array"]}},
                        )
                    ),
                },
                "additionalProperties": False,
            },
        ]
    },
    "TouchpointSet": _obj(
        {
            "name": STR,
            "version": INT,
            "defined_at": MOMENT,
            "description": STR,
            "any_of": _array(_ref("Touchpoint")),
        }
    ),
    "TouchpointSets": _obj({"touchpoints": _array(_ref("TouchpointSet"))}),
    "TouchpointSetRequest": _obj(
        {"any_of": _array(_ref("Touchpoint"))}, {"name": STR, "description": STR}
    ),
}
_ratio = _nullable(NUM)


def _document_parts(name: str, prefix: str) -> dict[str, Any]:
    """The definitions of a document's JSON Schema (schemas/), named ``prefix`` + their own
    capitalised name, their references pointed at the components."""
    text = re.sub(
        r'"#/definitions/(\w)',
        lambda m: f'"#/components/schemas/{prefix}{m[1].upper()}',
        json.dumps(schemas.load(name)["definitions"]),
    )
    return {prefix + key.capitalize(): part for key, part in json.loads(text).items()}


SCHEMAS.update(_document_parts(schemas.EXPERIMENT_DOCUMENT, "Experiment"))
SCHEMAS["ExperimentRequest"] = {
    **SCHEMAS["ExperimentExperiment"],
    "required": ["variants", "metric", "start"],
    "description": "An experiment's definition, as in a document of `journey experiments "
    "define` (its key is the path's, and may be left out)",
}
SCHEMAS["Experiment"] = _obj(
    {
        "key": STR,
        "version": INT,
        "defined_at": MOMENT,
        "status": {"enum": ["scheduled", "running", "ended"]},
        "control": STR,
        "experiment": _ref("ExperimentExperiment"),
    }
)
SCHEMAS["Experiments"] = _obj({"experiments": _array(_ref("Experiment"))})
_maybe = _nullable(NUM)
SCHEMAS["Lift"] = _obj(
    {
        "absolute": NUM,
        "absolute_low": NUM,
        "absolute_high": NUM,
        "relative": _maybe,
        "relative_low": _maybe,
        "relative_high": _maybe,
        "p_value": NUM,
    }
)
SCHEMAS["ExperimentResult"] = _obj(
    {
        "key": STR,
        "control": STR,
        "variants": _array(STR),
        "weights": _array(INT),
        "start": MOMENT,
        "end": _nullable(MOMENT),
        "as_of": MOMENT,
        "people": INT,
        "crossed": INT,
        "sample_ratio_p_value": _maybe,
        "sample_ratio_mismatch": BOOL,
        "metrics": _array(
            _obj(
                {
                    "name": STR,
                    "kind": {"enum": ["conversion", "revenue"]},
                    "guardrail": BOOL,
                    "worse": {"enum": ["lower", "higher"]},
                    "within_seconds": NUM,
                    "variance_reduction": _maybe,
                    "groups": _array(
                        _obj(
                            {
                                "segment": STR,
                                "sample_ratio_p_value": _maybe,
                                "variants": _array(
                                    _obj(
                                        {
                                            "variant": STR,
                                            "people": INT,
                                            "total": NUM,
                                            "value": _maybe,
                                            "low": _maybe,
                                            "high": _maybe,
                                            "lift": _nullable(_ref("Lift")),
                                            "cuped_lift": _nullable(_ref("Lift")),
                                            "adjusted_p_value": _maybe,
                                            "significant": BOOL,
                                        }
                                    )
                                ),
                            }
                        )
                    ),
                }
            )
        ),
        "people_needed": _maybe,
        "note": STR,
        "warnings": _array(STR),
    }
)
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
            for model in ("first_touch", "last_touch", "linear", "time_decay", "position_based")
            for part, kind in (
                ("purchases", INT if model.endswith("_touch") else NUM),
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
                    "warnings": _array(_ref("Warning")),
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


def _get(
    summary: str,
    parameters: list[dict[str, Any]],
    responses: dict[str, Any],
    description: str | None = None,
) -> Any:
    operation = {"summary": summary, "parameters": parameters, "responses": responses}
    if description:
        operation["description"] = description
    return {"get": operation}


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
    "stickiness": {"stickiness": "Stickiness"},
    "journey_map": {"journey_map": "JourneyMap"},
    "trends": {"trends": "Trends"},
    "web": {"web": "Web"},
    "correlation": {"correlation": "Correlation"},
    "scorecard": {"scorecard": "Scorecard"},
    "compare": {"compare": "Compare"},
    "campaigns": {"campaigns": "Campaigns"},
    "experiment": {"experiment": "ExperimentResult"},
}
# What a report's summary leaves out and its users need to read its figures right.
DESCRIPTIONS = {
    "funnel": (
        "Attempts start at a first step between `since` and `until`; each gets its whole "
        "`window`, even past `until`, so the figures of a period that just ended still grow "
        "while its last windows are open. An event before `since` starts none. People are "
        "counted once, by their furthest attempt. With `hold`, every later step of an attempt "
        "has its first step's value of that column or property (one cart, order or document), "
        "or with `hold=session` is in its session."
    ),
}
SUMMARIES = {
    "funnel": "Funnel: stage conversion, drop-off, time to convert, breakdown, trend, who dropped",
    "paths": "Top paths and Sankey edges, from a start, to an end, or after a funnel drop-off",
    "painpoints": "A segment's funnel stages ranked by drop-off, each with its evidence",
    "retention": "Cohort retention of a start event and a return event",
    "lifecycle": "New, returning, resurrecting and dormant people per period",
    "stickiness": "Days active per week, per month or over the range, per segment",
    "journey_map": "Journey stages (touchpoint sets) per segment: reach, conversion, time, "
    "where people stall, change against the previous period with significance",
    "trends": "Events, people, or a property's sum or average per hour, day, week or month, "
    "by value or segment, with the previous period alongside",
    "web": "Sessions, bounce rate, session length, top pages, entry and exit pages and traffic "
    "sources, for everyone and per segment",
    "correlation": "Events and values over-represented among the people who dropped after a "
    "funnel step, with odds ratios and Benjamini-Hochberg adjusted p-values",
    "scorecard": "Per segment: funnel conversion, engagement, retention, revenue, satisfaction",
    "compare": "A segment's scorecard in two periods: each change with its 95% interval",
    "campaigns": "Campaign spend against first- and last-touch revenue, ROAS and ROI per segment",
    "experiment": "An experiment per variant and targeted segment: people, each metric's rate or "
    "mean with its interval, the lift over the control with its interval and p-value (also "
    "CUPED-adjusted and Benjamini-Hochberg adjusted), the sample ratio test, people needed",
}


def _json_body(schema: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": _ref(schema)}}}


def _documents(
    base: str,
    listing: tuple[str, str, str],
    one: tuple[str, str, str],
    put: tuple[str, str, str],
    delete: tuple[str, str],
) -> dict[str, Any]:
    """The endpoints of named, versioned documents: ``base`` lists them (summary, schema,
    description), ``base/{name}`` gets one (same), puts one (summary, request schema,
    description; answers as get does) and deletes one (summary, description)."""
    ok = {"200": {"description": listing[2], **_json_body(listing[1])}, **_errors()}
    answer = _json_body(one[1])
    return {
        base: _get(listing[0], [], ok),
        f"{base}/{{name}}": {
            "get": {
                "summary": one[0],
                "parameters": [NAME],
                "responses": {"200": {"description": one[2], **answer}, **_errors()},
            },
            "put": {
                "summary": put[0],
                "parameters": [NAME],
                "requestBody": {"required": True, **_json_body(put[1])},
                "responses": {"200": {"description": put[2], **answer}, **_errors()},
            },
            "delete": {
                "summary": delete[0],
                "parameters": [NAME],
                "responses": {
                    "200": {"description": delete[1], **_json_body("Deleted")},
                    **_errors(),
                },
            },
        },
    }


@cache
def document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        f"/api/v1/reports/{kind}": _get(
            SUMMARIES[kind],
            [*parameters(kind), FORMAT],
            _responses(REPORT_RESULTS[kind]),
            DESCRIPTIONS.get(kind),
        )
        for kind in REPORTS
    }
    paths["/api/v1/events"] = _get(
        "Events seen in the period, most frequent first",
        [*parameters("events"), FORMAT],
        _responses({"events": "Events"}),
    )
    paths["/api/v1/summary"] = _get(
        "What is stored: events by type, visitors, identified users, revenue, the first and "
        "last event, and how many events came from bots (left out of every report unless "
        "include_bots=true)",
        [*parameters("summary"), FORMAT],
        _responses({"summary": "Summary"}),
    )
    paths["/api/v1/live"] = _get(
        "The latest events the collectors accepted and the dead letters with their reasons, "
        "read from Kafka as they pass (bots marked by their device)",
        [*parameters("live"), FORMAT],
        {
            **_responses({"live": "Live"}),
            "503": {
                "description": "Kafka cannot be reached now (with no Kafka configured, the "
                "answer is empty and its warning says so)",
                "content": {"application/json": {"schema": _ref("Error")}},
            },
        },
    )
    paths["/api/v1/segments"] = _get(
        "Defined segments with their latest refresh",
        [*parameters("segments"), FORMAT],
        _responses({"segments": "Segments"}),
    )
    paths["/api/v1/segments/{name}"] = _get(
        "One segment: sizes over time, movement, quality, RFM value",
        [NAME, *parameters("segment"), FORMAT],
        _responses({"segment": "Segment"}),
    )
    paths["/api/v1/alerts"] = _get(
        "Alert rules and their firing scopes",
        [*parameters("alerts"), FORMAT],
        _responses({"alerts": "Alerts"}),
    )
    paths["/api/v1/alerts/{name}/history"] = _get(
        "A rule's evaluations, newest first",
        [
            NAME,
            *parameters("alert_history"),
            FORMAT,
        ],
        _responses({"alert_history": "AlertHistory"}),
    )
    paths["/api/v1/alerts/{name}/deliveries"] = _get(
        "Deliveries of a rule's notices, newest first",
        [NAME, *parameters("alert_deliveries"), FORMAT],
        _responses({"alert_deliveries": "AlertDeliveries"}),
    )
    paths.update(
        _documents(
            "/api/v1/saved",
            ("Saved reports", "SavedList", "saved reports"),
            ("A saved report's kind and parameters", "Saved", "the saved report"),
            (
                "Save a report under a name (it is run first, so a broken one is refused)",
                "SaveRequest",
                "saved",
            ),
            ("Forget a saved report", "deleted"),
        )
    )
    paths.update(
        _documents(
            "/api/v1/touchpoints",
            (
                "Touchpoint sets: named sets of touchpoints, used in steps as set:NAME",
                "TouchpointSets",
                "every defined set, its latest version",
            ),
            ("A touchpoint set, its latest version", "TouchpointSet", "the set"),
            (
                "Define a touchpoint set (a new version when it changed)",
                "TouchpointSetRequest",
                "defined",
            ),
            ("Retire a touchpoint set (its versions are kept)", "retired"),
        )
    )
    paths.update(
        _documents(
            "/api/v1/experiments",
            (
                "Experiments: tailored content against a random holdout, per segment",
                "Experiments",
                "every experiment, its latest version and status",
            ),
            ("An experiment, its latest version and status", "Experiment", "the experiment"),
            (
                "Define an experiment (a new version when it changed)",
                "ExperimentRequest",
                "defined",
            ),
            (
                "Stop an experiment: one running ends now, one not started is withdrawn; its "
                "versions and exposures are kept",
                "stopped",
            ),
        )
    )
    every_report = {k: v for kinds in REPORT_RESULTS.values() for k, v in kinds.items()}
    paths["/api/v1/saved/{name}/run"] = _get(
        "Run a saved report", [NAME, *parameters("saved_run"), FORMAT], _responses(every_report)
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

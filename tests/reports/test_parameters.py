"""Each report's parameters are declared once (reports.parameters): the CLI's options, the
API's reader and the OpenAPI description all come from that declaration, and agree with it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import pytest

from journey.cli.report import report as report_group
from reports import analyses
from reports.openapi import document
from reports.parameters import ENDPOINT_PARAMS, REPORT_PARAMS, Param, schema
from reports.params import Params
from storage.store import Store
from tests.analyzer.logs import load, random_log
from tests.conftest import drop_store, open_store

KINDS = list(analyses.REPORTS)
RENDERING = {"fmt", "output", "help"}  # how the CLI prints a result, not what it computes


def test_every_report_and_only_those_are_declared() -> None:
    assert set(REPORT_PARAMS) == {*KINDS, "events"}
    for kind, declared in {**REPORT_PARAMS, **ENDPOINT_PARAMS}.items():
        names = [p.name for p in declared]
        assert len(names) == len(set(names)), f"{kind} declares a parameter twice"


@pytest.mark.parametrize("kind", KINDS)
def test_the_cli_options_are_the_declaration(kind: str) -> None:
    command = report_group.commands[kind]
    options = {p.name: p for p in command.params if p.name not in RENDERING}
    declared = {p.name: p for p in REPORT_PARAMS[kind] if p.cli}
    assert list(options) == list(declared)
    for name, param in declared.items():
        option = options[name]
        assert isinstance(option, click.Option)
        assert option.opts == [param.option]
        assert option.required == param.required, name
        assert option.multiple == param.many, name
        assert option.is_flag == (param.kind == "flag"), name
        if param.kind != "flag":  # shown, and applied by the reader when not given
            assert option.default is None, name
            if param.default is not None:
                assert f"[default: {param.default}]" in (option.help or ""), name
        if param.choices:
            assert isinstance(option.type, click.Choice)
            assert tuple(option.type.choices) == param.choices


@pytest.mark.parametrize("kind", [*KINDS, "events", *ENDPOINT_PARAMS])
def test_the_openapi_parameters_are_the_declaration(kind: str) -> None:
    paths = document()["paths"]
    path = {
        "events": "/api/v1/events",
        "segments": "/api/v1/segments",
        "segment": "/api/v1/segments/{name}",
        "alerts": "/api/v1/alerts",
        "alert_history": "/api/v1/alerts/{name}/history",
        "alert_deliveries": "/api/v1/alerts/{name}/deliveries",
        "saved_run": "/api/v1/saved/{name}/run",
        "summary": "/api/v1/summary",
        "live": "/api/v1/live",
    }.get(kind, f"/api/v1/reports/{kind}")
    documented = {
        p["name"]: p
        for p in paths[path]["get"]["parameters"]
        if p["in"] == "query" and p["name"] != "format"
    }
    declared: tuple[Param, ...] = REPORT_PARAMS.get(kind) or ENDPOINT_PARAMS[kind]
    assert list(documented) == [p.name for p in declared]
    for param in declared:
        entry = documented[param.name]
        assert entry["required"] == param.required
        assert entry["description"] == param.help
        body = entry["schema"]["items"] if param.many else entry["schema"]
        assert body == schema(param)
        assert body["type"] == {"integer": "integer", "number": "number", "flag": "boolean"}.get(
            param.kind, "string"
        )
        if param.default is not None and not param.many:
            assert body["default"] == param.default
        if param.low is not None:
            assert (body["minimum"], body["maximum"]) == (param.low, param.high)


def test_the_openapi_document_types_what_it_used_to_leave_to_prose() -> None:
    """Painpoints' ``segment`` is required (as the reader says), ``min_sample`` an integer
    from 1 with its default 30, written once."""
    found = {
        p["name"]: p for p in document()["paths"]["/api/v1/reports/painpoints"]["get"]["parameters"]
    }
    assert found["segment"]["required"] is True
    assert found["min_sample"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 1_000_000,
        "default": 30,
    }


@pytest.fixture(scope="module")
def chdb_store(request: pytest.FixtureRequest, chdb_path: Path) -> Iterator[Store]:
    opened = open_store("embedded", request, chdb_path)
    load(opened, random_log(3, persons=20), 3)
    from analyzer.experiments import catalog
    from tests.analyzer.experiments.test_analysis import experiment

    catalog.define(opened, [experiment()])
    yield opened
    drop_store(opened)


STEPS = ("Product Viewed", "Order Completed")
RUNS: list[tuple[str, dict[str, Any]]] = [
    ("funnel", {"step": STEPS}),
    ("funnel", {"step": STEPS, "dropped_at": 1}),
    ("paths", {}),
    ("paths", {"step": STEPS, "dropped_at": 1}),
    ("painpoints", {"step": STEPS, "segment": "utm_source=google"}),
    ("retention", {"start_event": STEPS[0], "return_event": STEPS[1]}),
    ("lifecycle", {"event": STEPS[0]}),
    ("stickiness", {"event": STEPS[0]}),
    ("journey_map", {"stage": STEPS}),
    ("trends", {"event": STEPS[0], "breakdown": "utm_source"}),
    ("trends", {"event": STEPS[0], "measure": "sum", "property": "price"}),
    ("web", {"clean": r"/product/\d+=/product/:id"}),
    ("correlation", {"step": STEPS, "dropped_at": 1, "field": ["utm_source"]}),
    ("scorecard", {}),
    ("compare", {"before_since": "2023-10-01", "before_until": "2023-11-01"}),
    ("campaigns", {}),
    ("experiment", {"experiment": "vip-offer", "as_of": "2026-03-10"}),
]
PERIOD = {"since": "2023-11-01", "until": "2023-12-01"}


@pytest.mark.integration
def test_each_reader_reads_what_its_report_declares(chdb_store: Store) -> None:
    """No reader asks for an undeclared parameter (Params refuses that with LookupError), and
    between them the runs of each report read every parameter it declares."""
    read: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for kind, given in RUNS:
        dated = any(d.name == "since" for d in REPORT_PARAMS[kind])
        p = Params.of(**given, **(PERIOD if dated else {}))
        analyses.run(chdb_store, kind, p, datetime(2023, 11, 20, tzinfo=UTC))
        read[kind] |= p.read
    for kind in KINDS:
        assert read[kind] == {p.name for p in REPORT_PARAMS[kind]}, kind


def test_the_funnel_s_description_says_how_its_date_range_counts() -> None:
    described = document()["paths"]["/api/v1/reports/funnel"]["get"]["description"]
    assert "even past `until`" in described and "`hold`" in described

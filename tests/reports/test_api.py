"""The analysts' API over real HTTP and a real store (ClickHouse server and chDB): answers
checked against the OpenAPI description and against the pandas reference; tokens; errors."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from openapi_spec_validator import validate

from analyzer.funnels import FunnelSpec
from analyzer.vocabulary import Breakdown, Step
from reports.analyses import REPORTS
from reports.parameters import declared
from tests.analyzer import reference
from tests.reports.conftest import Api
from tests.reports.openapi_check import check

pytestmark = pytest.mark.integration

PERIOD = {"since": "2023-11-14", "until": "2023-11-16"}  # the random log's 8 hours
STEPS = ["View", "Cart", "Buy"]


def _period(window: bool = True) -> dict[str, Any]:
    return {
        "date_from": datetime(2023, 11, 14, tzinfo=UTC),
        "date_to": datetime(2023, 11, 16, tzinfo=UTC),
        **({"window": timedelta(days=7)} if window else {}),
    }


def _funnel_spec(**extra: Any) -> FunnelSpec:
    return FunnelSpec(
        steps=tuple(Step(s) for s in STEPS),
        date_from=datetime(2023, 11, 14, tzinfo=UTC),
        date_to=datetime(2023, 11, 16, tzinfo=UTC),
        window=timedelta(days=7),
        **extra,
    )


def test_the_openapi_description_is_public_and_valid(api: Api) -> None:
    response = api.get("/api/v1/openapi.json", token="")
    assert response.status_code == 200
    validate(response.json())


@pytest.mark.parametrize("header", [None, "Bearer ", "Bearer jt_not-a-token", "Basic abc"])
def test_requests_without_a_valid_token_are_refused(api: Api, header: str | None) -> None:
    import requests

    headers = {} if header is None else {"Authorization": header}
    response = requests.get(
        api.url + "/api/v1/reports/funnel", params={"step": STEPS}, headers=headers, timeout=30
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "journey tokens create" in check(response, "/api/v1/reports/funnel")["error"]


def test_a_revoked_token_stops_working_at_once_and_tokens_are_stored_hashed(api: Api) -> None:
    token = api.tokens.create("temporary")
    assert api.get("/api/v1/segments", token=token).status_code == 200
    assert api.tokens.revoke("temporary") == 1
    assert api.get("/api/v1/segments", token=token).status_code == 401
    with sqlite3.connect(api.tokens.records.records.path) as db:  # the file under the cache
        stored = " ".join(str(v) for row in db.execute("SELECT * FROM api_tokens") for v in row)
    assert token not in stored and api.token not in stored


def test_no_token_reaches_a_log(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "jt_" + "x" * 40
    assert api.get("/api/v1/segments").status_code == 200
    assert api.get("/api/v1/segments", token=wrong).status_code == 401
    assert api.get("/api/v1/reports/funnel", step=["no such"]).status_code == 400
    assert caplog.records  # the requests were logged...
    assert api.token not in caplog.text and wrong not in caplog.text  # ...without the tokens


def test_funnel_answers_as_described_and_as_the_reference_computes(api: Api) -> None:
    response = api.get("/api/v1/reports/funnel", step=STEPS, breakdown="utm_source", **PERIOD)
    assert response.status_code == 200, response.text
    body = check(response, "/api/v1/reports/funnel")
    assert body["kind"] == "funnel" and body["params"]["step"] == STEPS
    expected = reference.funnel(api.events, _funnel_spec(breakdown=Breakdown("utm_source")))
    got = body["result"]
    assert [
        (s["people"], s["median_seconds_from_previous"], s["p90_seconds_from_previous"])
        for s in got["steps"]
    ] == expected["steps"]
    assert {g["value"]: [s["people"] for s in g["steps"]] for g in got["breakdown"]} == {
        v: [p for p, _, _ in steps] for v, steps in expected["breakdown"].items()
    }


def test_csv_is_the_main_table(api: Api) -> None:
    response = api.get("/api/v1/reports/funnel", step=STEPS, format="csv", **PERIOD)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    lines = response.text.strip().splitlines()
    assert lines[0].startswith("segment,step,event,people,dropped,")
    expected = reference.funnel(api.events, _funnel_spec())["steps"]
    assert [int(line.split(",")[3]) for line in lines[1:]] == [p for p, _, _ in expected]


def _blocks(page: str, css_class: str) -> list[Any]:
    pattern = rf"<script type='application/json' class='{css_class}'[^>]*>(.*?)</script>"
    return [json.loads(m.replace("<\\/", "</")) for m in re.findall(pattern, page, re.S)]


def test_the_html_report_draws_the_figures_of_the_json(api: Api) -> None:
    query = {"step": STEPS, "breakdown": "utm_source", **PERIOD}
    data = api.get("/api/v1/reports/funnel", **query).json()["result"]
    page = api.get("/api/v1/reports/funnel", format="html", **query)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "Plotly.newPlot" in page.text
    assert not re.search(r"<script[^>]+src=|<link ", page.text)  # self-contained
    (result,) = _blocks(page.text, "journey-result")
    assert result == data
    bars, times, histogram = _blocks(page.text, "journey-figure")
    by_name = {t["name"]: t["y"] for t in bars["data"]}
    assert by_name.pop("(all)") == [s["people"] for s in data["steps"]]
    assert by_name == {g["value"]: [s["people"] for s in g["steps"]] for g in data["breakdown"]}
    assert times["data"][0]["y"] == [s["median_seconds_from_previous"] for s in data["steps"][1:]]
    assert histogram["data"][0]["y"] == [b["people"] for b in data["time_to_convert"][-1]["bins"]]


@pytest.mark.parametrize(
    ("path", "params", "kind"),
    [
        ("/api/v1/reports/funnel", {"step": STEPS, "trend": "day"}, "funnel_trend"),
        ("/api/v1/reports/funnel", {"step": STEPS, "dropped_at": "1"}, "funnel_dropped"),
        ("/api/v1/reports/paths", {"clean": r"^/product/\d+$=/product/:id"}, "paths"),
        ("/api/v1/reports/paths", {"step": STEPS, "dropped_at": "1"}, "paths"),
        (
            "/api/v1/reports/painpoints",
            {"step": STEPS, "segment": "utm_source=facebook"},
            "painpoints",
        ),
        (
            "/api/v1/reports/retention",
            {"start_event": "View", "return_event": "Buy", "period": "day"},
            "retention",
        ),
        ("/api/v1/reports/lifecycle", {"event": "View", "period": "day"}, "lifecycle"),
        (
            "/api/v1/reports/retention",
            {"start_event": "View", "return_event": "Buy", "measure": "sum", "property": "price"},
            "retention",
        ),
        ("/api/v1/reports/stickiness", {"event": "View", "per": "range"}, "stickiness"),
        (
            "/api/v1/reports/paths",
            {"step": ["View", "Cart"], "dropped_at": "1", "converted": "true"},
            "paths",
        ),
        ("/api/v1/events", {}, "events"),
    ],
)
def test_every_report_answers_as_described(
    api: Api, path: str, params: dict[str, Any], kind: str
) -> None:
    response = api.get(path, **params, **PERIOD)
    assert response.status_code == 200, response.text
    body = check(response, path)
    assert body["kind"] == kind and body["result"]
    figures = api.get(path, format="figures", **params, **PERIOD)
    assert figures.status_code == 200
    assert check(figures, path)["result"] == body["result"]


# The least each report needs, to ask it for a period longer than any analysis takes.
LEAST: dict[str, dict[str, Any]] = {
    "funnel": {"step": STEPS},
    "paths": {},
    "painpoints": {"step": STEPS, "segment": "utm_source=google"},
    "retention": {"start_event": "View", "return_event": "Buy"},
    "lifecycle": {"event": "View"},
    "stickiness": {"event": "View"},
    "journey_map": {"stage": STEPS},
    "trends": {"event": "View"},
    "web": {},
    "correlation": {"step": STEPS, "dropped_at": "1"},
    "scorecard": {},
    "compare": {"before_since": "2019-01-01", "before_until": "2019-02-01"},
    "campaigns": {},
}


def test_every_report_refuses_a_period_too_long_with_a_400_naming_it(api: Api) -> None:
    """Five years is more than any analysis reads at once: every report over a period says so,
    naming the parameter, never a 500 (an experiment's report reads the experiment's dates)."""
    assert set(LEAST) == {k for k in REPORTS if "since" in declared(k)}
    for kind, params in LEAST.items():
        path = f"/api/v1/reports/{kind}"
        response = api.get(path, since="2020-01-01", until="2025-01-01", **params)
        assert response.status_code == 400, (kind, response.text)
        body = check(response, path)
        assert body["parameter"] in ("since", "until"), (kind, body)


def test_paths_match_the_reference(api: Api) -> None:
    from analyzer.paths import PathSpec

    body = api.get("/api/v1/reports/paths", kind="page", top="10", **PERIOD).json()["result"]
    spec = PathSpec(
        date_from=datetime(2023, 11, 14, tzinfo=UTC),
        date_to=datetime(2023, 11, 16, tzinfo=UTC),
        kind="page",
        top=10,
    )
    total, top = reference.top_paths(api.events, spec)
    assert body["total"] == total
    assert [(p["steps"], p["count"]) for p in body["paths"]] == top


@pytest.mark.parametrize(
    ("params", "parameter", "words"),
    [
        ({"step": STEPS, "window": "7x"}, "window", "not a duration"),
        ({"step": STEPS, "stepz": "View"}, "stepz", "unknown parameter"),
        ({}, "step", "required"),
        ({"step": ["View"]}, "step", "2 to 10"),
        ({"step": STEPS, "since": "2023-11-20", "until": "2023-11-14"}, "until", "after since"),
        ({"step": STEPS, "since": "yesterday"}, "since", "not a date"),
        (
            {"step": STEPS, "until": "2099-01-01", "since": "1990-01-01"},
            "until",
            "at most 731 days",
        ),
        ({"step": STEPS, "format": "xml"}, "format", "json, csv, html"),
        ({"step": STEPS, "mode": "sideways"}, "mode", "not one of"),
        ({"step": STEPS, "breakdown": "utm_source; DROP TABLE events"}, "breakdown", ""),
        ({"step": STEPS, "dropped_at": "99999999999999"}, "dropped_at", "whole number"),
        ({"step": ["View|page_path~(unclosed", "Buy"]}, "step", "regular expression"),
        # Python's re accepts these; ClickHouse's RE2 does not (they were a 500)
        ({"step": ["View|page_path~^(?!/admin)", "Buy"]}, "step", "RE2 syntax"),
        ({"step": ["View|page_path~(a)\\1", "Buy"]}, "step", "RE2 syntax"),
        ({"step": STEPS, "include_bots": "maybe"}, "include_bots", "not one of"),
        ({"step": ["View|nonsense", "Buy"]}, "step", "FIELD=VALUE"),
        ({"step": STEPS, "in_segment": "x' OR 1=1"}, "in_segment", "segment"),
        ({"step": STEPS, "hold": "cart_id"}, "hold", "properties.<path>"),
        ({"step": STEPS, "gap": "5=-1h"}, "gap", "a step from 2"),
        ({"step": STEPS, "gap": "2=1h"}, "gap", "N=LEAST-MOST"),
        ({"step": STEPS, "mode": "any", "gap": "2=-1h"}, "gap", "any-order"),
        (
            {"step": STEPS, "breakdown": ["utm_source", "page_path", "browser", "os"]},
            "breakdown",
            "at most 3",
        ),
        ({"step": STEPS, "breakdown": ["segment:vip", "utm_source"]}, "breakdown", "alone"),
        ({"step": STEPS, "hold": "session", "session_timeout": "0"}, "session_timeout", "from 1"),
    ],
)
def test_bad_parameters_get_a_400_naming_them(
    api: Api, params: dict[str, Any], parameter: str, words: str
) -> None:
    response = api.get("/api/v1/reports/funnel", **{**PERIOD, **params})
    assert response.status_code == 400, response.text
    body = check(response, "/api/v1/reports/funnel")
    assert body["parameter"].startswith(parameter), body
    assert words in body["error"]


def test_names_that_never_occur_are_warned_with_the_closest_that_do(api: Api) -> None:
    """A misspelt step, filter value and exclusion: the zeros come with the names meant, in the
    JSON (as described) and above the HTML report's charts; names that occur are not warned."""
    params = {"step": ["View|utm_source=gogle", "Cartt", "Buy"], "exclude": "Byu", **PERIOD}
    response = api.get("/api/v1/reports/funnel", **params)
    assert response.status_code == 200, response.text
    warnings = check(response, "/api/v1/reports/funnel")["warnings"]
    assert [(w["parameter"], w["value"], w["did_you_mean"][:1]) for w in warnings] == [
        ("step", "gogle", ["google"]),
        ("step", "Cartt", ["Cart"]),
        ("exclude", "Byu", ["Buy"]),
    ]
    assert "did you mean 'Cart'?" in warnings[1]["message"]
    page = api.get("/api/v1/reports/funnel", format="html", **params).text
    assert "did you mean &#x27;Cart&#x27;?" in page
    fine = api.get("/api/v1/reports/funnel", step=STEPS, **PERIOD).json()
    assert fine["warnings"] == []


def test_the_summary_counts_what_is_stored_and_what_bots_sent(api: Api) -> None:
    body = check(api.get("/api/v1/summary"), "/api/v1/summary")["result"]
    (distinct,) = api.store.execute(f"SELECT uniqExact(event_id) FROM {api.store.database}.events")[
        0
    ]
    assert body["events"] == distinct and sum(body["by_type"].values()) == distinct
    assert body["bot_events"] == 0  # the random log has no bots


def test_bodies_that_are_not_plain_json_get_a_400_naming_the_body(api: Api) -> None:
    """A body nested beyond reason, or not JSON, is refused naming ``body``; a lone surrogate
    (an emoji cut in half) is read as the replacement character, never a 500."""
    for raw in (b"[" * 100_000, b"{not json"):
        answer = api.call("PUT", "/api/v1/saved/broken", data=raw)
        assert answer.status_code == 400 and answer.json()["parameter"] == "body", answer.text
    cut = b'{"any_of": ["View"], "description": "cut \\ud83d"}'
    answer = api.call("PUT", "/api/v1/touchpoints/cut_emoji", data=cut)
    assert answer.status_code == 200, answer.text
    assert answer.json()["description"] == "cut \ufffd"
    assert api.call("DELETE", "/api/v1/touchpoints/cut_emoji").status_code == 200


@pytest.mark.parametrize("kind", ["paths", "web"])
def test_a_cleaning_alias_naming_a_missing_group_is_a_400(api: Api, kind: str) -> None:
    """``\\9`` with a pattern of no groups failed in ClickHouse, a 500; now refused naming it."""
    response = api.get(f"/api/v1/reports/{kind}", clean="^/product/[0-9]+$=/p/\\9", **PERIOD)
    assert response.status_code == 400, response.text
    body = check(response, f"/api/v1/reports/{kind}")
    assert body["parameter"] == "clean" and "group \\9" in body["message"]
    fine = api.get(f"/api/v1/reports/{kind}", clean="^/product/([0-9]+)$=/p/\\1", **PERIOD)
    assert fine.status_code == 200, fine.text


def test_injection_in_values_is_data_not_sql(api: Api) -> None:
    (before,) = api.store.execute(f"SELECT count() FROM {api.store.database}.events")[0]
    response = api.get("/api/v1/reports/funnel", step=["View' OR 1=1 --", "Buy"], **PERIOD)
    assert response.status_code == 200
    assert response.json()["result"]["steps"][0]["people"] == 0
    (after,) = api.store.execute(f"SELECT count() FROM {api.store.database}.events")[0]
    assert after == before


def test_saved_reports_run_again_by_name(api: Api) -> None:
    params = {"step": STEPS, "breakdown": ["utm_source"], **{k: [v] for k, v in PERIOD.items()}}
    saved = api.call("PUT", "/api/v1/saved/weekly-shop", json={"kind": "funnel", "params": params})
    assert saved.status_code == 200, saved.text
    assert check(saved, "/api/v1/saved/{name}", "put")["version"] == 1
    listed = check(api.get("/api/v1/saved"), "/api/v1/saved")["saved"]
    assert [s["name"] for s in listed] == ["weekly-shop"]
    ran = api.get("/api/v1/saved/weekly-shop/run")
    direct = api.get("/api/v1/reports/funnel", step=STEPS, breakdown="utm_source", **PERIOD)
    assert check(ran, "/api/v1/saved/{name}/run")["result"] == direct.json()["result"]
    csv = api.get("/api/v1/saved/weekly-shop/run", format="csv")
    assert (
        csv.text == api.get("/api/v1/reports/funnel", format="csv", **direct.json()["params"]).text
    )
    broken = api.call(
        "PUT", "/api/v1/saved/broken", json={"kind": "funnel", "params": {"step": ["View"]}}
    )
    assert broken.status_code == 400 and "2 to 10" in broken.json()["error"]
    assert api.get("/api/v1/saved/broken").status_code == 404
    assert api.call("PUT", "/api/v1/saved/bad name", json={"kind": "funnel"}).status_code == 400
    assert api.call("PUT", "/api/v1/saved/x", data="not json").status_code == 400
    assert api.call("DELETE", "/api/v1/saved/weekly-shop").status_code == 200
    assert check(api.get("/api/v1/saved/weekly-shop"), "/api/v1/saved/{name}")["error"]
    assert api.call("DELETE", "/api/v1/saved/weekly-shop").status_code == 404


def test_touchpoint_sets_are_defined_and_used_as_steps(api: Api) -> None:
    """A set defined over the API stands for a funnel step; the answer equals the reference's
    for the same step written inline; a changed set is a new version; a retired one refused."""
    body = {"description": "wanting it", "any_of": ["Cart", {"event": "Other", "where": []}]}
    put = api.call("PUT", "/api/v1/touchpoints/wanting", json=body)
    assert put.status_code == 200, put.text
    defined = check(put, "/api/v1/touchpoints/{name}", "put")
    assert (defined["version"], defined["any_of"]) == (1, body["any_of"])
    again = api.call("PUT", "/api/v1/touchpoints/wanting", json=body)
    assert again.json()["version"] == 1  # unchanged: the same version
    listed = check(api.get("/api/v1/touchpoints"), "/api/v1/touchpoints")["touchpoints"]
    assert [s["name"] for s in listed] == ["wanting"]

    got = api.get("/api/v1/reports/funnel", step=["View", "set:wanting", "Buy"], **PERIOD)
    inline = Step("wanting", any_of=(Step("Cart"), Step("Other")))
    spec = FunnelSpec(steps=(Step("View"), inline, Step("Buy")), **_period())
    expected = reference.funnel(api.events, spec)
    result = check(got, "/api/v1/reports/funnel")["result"]
    assert [s["people"] for s in result["steps"]] == [p for p, *_ in expected["steps"]]
    assert [s["event"] for s in result["steps"]] == ["View", "wanting", "Buy"]

    from analyzer import touchpoints
    from analyzer.paths import PathSpec, top_paths

    paths = api.get("/api/v1/reports/paths", start="set:wanting", kind="all", **PERIOD)
    resolved = touchpoints.resolve(api.store, Step("set:wanting"))
    total, top = top_paths(api.store, PathSpec(kind="all", start_step=resolved, **_period(False)))
    answer = check(paths, "/api/v1/reports/paths")["result"]
    assert answer["total"] == total > 0 and [p["steps"] for p in answer["paths"]] == [
        p.steps for p in top
    ]
    assert check(paths, "/api/v1/reports/paths")["title"] == "Top paths from wanting"

    changed = api.call("PUT", "/api/v1/touchpoints/wanting", json={"any_of": ["Cart"]})
    assert changed.json()["version"] == 2
    bad = api.call("PUT", "/api/v1/touchpoints/wanting", json={"any_of": [{"event": 5}]})
    assert bad.status_code == 400 and bad.json()["error"].startswith("body.any_of[0].event")
    named = api.call("PUT", "/api/v1/touchpoints/Bad Name", json={"any_of": ["A"]})
    assert named.status_code == 400 and "body.name" in named.json()["error"]
    assert api.call("DELETE", "/api/v1/touchpoints/wanting").status_code == 200
    assert api.get("/api/v1/touchpoints/wanting").status_code == 404
    refused = api.get("/api/v1/reports/funnel", step=["View", "set:wanting"], **PERIOD)
    assert refused.status_code == 400 and refused.json()["parameter"] == "step"
    assert "set:wanting: no touchpoint set" in refused.json()["error"]


def test_experiments_are_defined_listed_and_stopped(api: Api) -> None:
    """An experiment defined over the API is listed as the OpenAPI description says, a change
    is a new version, a wrong field is a 400 naming its place, and stopping ends it."""
    body = {
        "segments": ["vip"],
        "variants": [
            {"name": "holdout", "weight": 10},
            {"name": "offer", "weight": 90, "content": {"banner": "20% off"}},
        ],
        "metric": {"name": "orders", "converts": ["Buy"], "within": "7d"},
        "guardrails": [{"name": "refunds", "converts": ["Error"], "worse": "higher"}],
        "start": "2026-01-01T00:00:00Z",
    }
    put = api.call("PUT", "/api/v1/experiments/vip-offer", json=body)
    assert put.status_code == 200, put.text
    defined = check(put, "/api/v1/experiments/{name}", "put")
    assert (defined["version"], defined["status"], defined["control"]) == (1, "running", "holdout")
    assert defined["experiment"]["variants"][1]["content"] == {"banner": "20% off"}
    again = api.call("PUT", "/api/v1/experiments/vip-offer", json=body)
    assert again.json()["version"] == 1  # unchanged: the same version
    listed = check(api.get("/api/v1/experiments"), "/api/v1/experiments")["experiments"]
    assert [e["key"] for e in listed] == ["vip-offer"]
    one = check(api.get("/api/v1/experiments/vip-offer"), "/api/v1/experiments/{name}")
    assert one == defined

    wrong = {**body, "variants": [{"name": "a"}, {"name": "b", "weight": 0}]}
    bad = api.call("PUT", "/api/v1/experiments/vip-offer", json=wrong)
    assert bad.status_code == 400, bad.text
    assert check(bad, "/api/v1/experiments/{name}", "put")["parameter"] == (
        "body.variants[1].weight"
    )
    other = api.call("PUT", "/api/v1/experiments/vip-offer", json={**body, "key": "other"})
    assert other.status_code == 400 and other.json()["parameter"] == "body.key"
    assert api.get("/api/v1/experiments/nothing").status_code == 404

    later = {**body, "start": "2099-01-01"}
    assert api.call("PUT", "/api/v1/experiments/later", json=later).status_code == 200
    stopped = api.call("DELETE", "/api/v1/experiments/vip-offer")
    assert check(stopped, "/api/v1/experiments/{name}", "delete")["status"] == "ended"
    ended = api.get("/api/v1/experiments/vip-offer").json()
    assert (ended["status"], ended["version"]) == ("ended", 2) and ended["experiment"]["end"]
    withdrawn = api.call("DELETE", "/api/v1/experiments/later").json()
    assert withdrawn["status"] == "withdrawn"
    assert api.get("/api/v1/experiments/later").status_code == 404


def test_the_journey_map_answers_as_described(api: Api) -> None:
    """Stages naming touchpoint sets, by traffic source, over the API: as the OpenAPI
    description says, equal to the analyzer's own answer, and drawn in the HTML page."""
    for name, any_of in (("looking", ["View", "Other"]), ("buying", ["Cart", "Buy"])):
        assert api.call("PUT", f"/api/v1/touchpoints/{name}", json={"any_of": any_of}).ok
    query = {"stage": ["set:looking", "set:buying", "Buy"], "breakdown": "utm_source"}
    got = check(
        api.get("/api/v1/reports/journey_map", **query, min_sample="5", **PERIOD),
        "/api/v1/reports/journey_map",
    )
    from analyzer import touchpoints
    from analyzer.journeymap import JourneyMapSpec, journey_map

    stages = touchpoints.resolve(api.store, tuple(Step(s) for s in query["stage"]))
    spec = JourneyMapSpec(
        stages,
        datetime(2023, 11, 14, tzinfo=UTC),
        datetime(2023, 11, 16, tzinfo=UTC),
        breakdown=Breakdown("utm_source"),
        min_sample=5,
    )
    direct = json.loads(json.dumps(journey_map(api.store, spec).as_dict(), default=str))
    assert got["result"]["groups"] == direct["groups"]
    assert got["result"]["stages"] == ["looking", "buying", "Buy"]
    assert got["result"]["groups"][0]["stages"][0]["people"] > 0
    page = api.get("/api/v1/reports/journey_map", **query, format="html", **PERIOD)
    assert page.status_code == 200 and "People per stage" in page.text
    bad = api.get("/api/v1/reports/journey_map", stage=["set:looking"], **PERIOD)
    assert bad.status_code == 400 and bad.json()["parameter"] == "stage"


def test_trends_answer_as_described(api: Api) -> None:
    """People per hour by traffic source over the API: as described, equal to the analyzer's
    own answer, drawn in HTML; a sum without its property is refused naming it."""
    query = {"event": "View", "measure": "people", "interval": "hour", "breakdown": "utm_source"}
    got = check(api.get("/api/v1/reports/trends", **query, **PERIOD), "/api/v1/reports/trends")
    from analyzer.trends import TrendSpec, trend

    spec = TrendSpec(
        Step("View"),
        datetime(2023, 11, 14, tzinfo=UTC),
        datetime(2023, 11, 16, tzinfo=UTC),
        interval="hour",
        measure="people",
        breakdown=Breakdown("utm_source"),
    )
    direct = json.loads(json.dumps(trend(api.store, spec).as_dict(), default=str))
    assert got["result"]["series"] == direct["series"] and len(got["result"]["buckets"]) == 48
    assert got["result"]["series"][0]["total"] > 0
    page = api.get("/api/v1/reports/trends", **query, format="html", **PERIOD)
    assert page.status_code == 200 and "People per hour" in page.text
    bad = api.get("/api/v1/reports/trends", event="View", measure="sum", **PERIOD)
    assert bad.status_code == 400 and bad.json()["parameter"] == "property"
    by_tier = {**query, "breakdown": "person.tier"}  # the person's, not the event's
    got = check(api.get("/api/v1/reports/trends", **by_tier, **PERIOD), "/api/v1/reports/trends")
    tiers = {s["value"] for s in got["result"]["series"]}
    assert {"(all)", "gold", "silver"} <= tiers, tiers


def test_segments_and_alerts_answer_as_described(api: Api, tmp_path: Any) -> None:
    from alerts import catalog as alert_catalog
    from alerts.channels import Channels
    from alerts.engine import Engine
    from alerts.rules import parse_document as parse_rules
    from analyzer.segments import catalog
    from analyzer.segments.definition import parse_document
    from analyzer.segments.refresh import refresh
    from core.settings import Settings

    doc = {"version": 1, "segments": [{"name": "gold", "rule": {"trait": "tier", "eq": "gold"}}]}
    catalog.define(api.store, parse_document(doc))
    refresh(api.store, ["gold"], at=datetime(2023, 11, 15, tzinfo=UTC))
    listed = check(api.get("/api/v1/segments"), "/api/v1/segments")["result"]
    assert [(s["segment"], s["members"] > 0) for s in listed] == [("gold", True)]
    one = check(api.get("/api/v1/segments/gold"), "/api/v1/segments/{name}")["result"]
    assert one["sizes"]["gold"][0]["members"] == listed[0]["members"]
    assert api.get("/api/v1/segments/nope").status_code == 404
    in_segment = api.get("/api/v1/reports/funnel", step=STEPS, in_segment="gold", **PERIOD)
    assert in_segment.status_code == 200, in_segment.text
    # a segment never refreshed is an error of the parameter that named it, in every report
    # (the web report's spec calls it "segment", which is another parameter of that report)
    for kind, extra in (("funnel", {"step": STEPS}), ("web", {}), ("trends", {"event": "View"})):
        never = api.get(f"/api/v1/reports/{kind}", in_segment="silver", **extra, **PERIOD)
        assert never.status_code == 400, never.text
        body = check(never, f"/api/v1/reports/{kind}")
        assert body["parameter"] == "in_segment", body
        assert body["error"] == (
            "in_segment: 'silver' has no refreshed membership; run `journey segments refresh silver`"
        )
    never = api.get("/api/v1/reports/web", segment="silver", **PERIOD)
    assert check(never, "/api/v1/reports/web")["parameter"] == "segment", never.text

    rules = {
        "version": 1,
        "alerts": [
            {
                "name": "buyers",
                "funnel": {"steps": ["View", "Buy"], "window": "1h"},
                "scope": "all",
                "every": "1d",
                "lookback": "1d",
                "condition": {"below": 0.99},
                "min_people": 1,
                "channels": [{"log": True}],
            }
        ],
    }
    alert_catalog.define(api.store, parse_rules(rules))
    Engine(api.store, Channels(Settings(data_dir=tmp_path))).check(
        at=datetime(2023, 11, 15, 12, tzinfo=UTC)
    )
    alerts = check(api.get("/api/v1/alerts"), "/api/v1/alerts")["result"]
    assert [(a["rule"], a["firing"]) for a in alerts] == [("buyers", "all")]
    history = check(api.get("/api/v1/alerts/buyers/history"), "/api/v1/alerts/{name}/history")
    assert [(h["state"], h["changed"]) for h in history["result"]] == [("firing", True)]
    deliveries = api.get("/api/v1/alerts/buyers/deliveries")
    assert check(deliveries, "/api/v1/alerts/{name}/deliveries")["result"][0]["channel"] == "log"
    assert api.get("/api/v1/alerts/nope/history").status_code == 404
    assert api.get("/api/v1/alerts/buyers/history", limit="0").status_code == 400

"""The dashboard in headless Chromium (Debian's), served by the API over a real store: a
funnel built by clicking, its chart drawn with the API's numbers, saved by name and opened
again from its link. Screenshots are kept in ``test-artifacts/`` (JOURNEY_TEST_ARTIFACTS)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.reports.conftest import Api

pytestmark = pytest.mark.integration

ARTIFACTS = Path(os.environ.get("JOURNEY_TEST_ARTIFACTS", "test-artifacts"))
REFUSED: list[str] = []  # what the pages' Content-Security-Policy refused: nothing, or it broke


def _watch(page: Page) -> None:
    page.on(
        "console",
        lambda m: REFUSED.append(m.text) if "Content Security Policy" in m.text else None,
    )


def _open(browser: Browser, api: Api, fragment: str = "") -> Page:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    _watch(page)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{api.url}/dashboard{fragment}")
    page.fill("#token", api.token)
    page.click("#use-token")
    page.wait_for_selector("#events button[data-event='View']")
    assert not errors, errors
    return page


def _wait_chart(page: Page, previous: str | None = None) -> None:
    page.wait_for_function(
        "p => document.getElementById('charts').dataset.ready "
        "&& document.getElementById('charts').dataset.ready !== p "
        "&& document.querySelector('#chart-0 .bars')",
        arg=previous or "",
        timeout=30_000,
    )


def _axis_starts(page: Page) -> list[tuple[str, float]]:
    """The type and the first value of each drawn chart's y axis."""
    found = page.evaluate(
        "Array.from(document.querySelectorAll('.js-plotly-plot'))"
        ".map(d => [d._fullLayout.yaxis.type, d._fullLayout.yaxis.range[0]])"
    )
    return [(kind, start) for kind, start in found]


def _drawn(page: Page) -> Any:
    """The traces Plotly drew in the first chart: name and y per trace."""
    return page.evaluate(
        "Array.from(document.getElementById('chart-0').data).map(t => [t.name, Array.from(t.y)])"
    )


def test_a_funnel_built_by_clicking_shows_the_numbers_of_the_api(
    browser: Browser, api: Api
) -> None:
    REFUSED.clear()
    page = _open(browser, api, "#since=2023-11-14&until=2023-11-16")
    assert page.input_value("#since") == "2023-11-14"
    for name in ("View", "Cart", "Buy"):
        page.click(f"#events button[data-event='{name}']")
    page.select_option("#breakdown", "utm_source")
    page.click("#run")
    _wait_chart(page)
    expected = api.get(
        "/api/v1/reports/funnel",
        step=["View", "Cart", "Buy"],
        breakdown="utm_source",
        since="2023-11-14",
        until="2023-11-16",
    ).json()["result"]
    drawn = dict((name, y) for name, y in _drawn(page))
    assert drawn.pop("(all)") == [s["people"] for s in expected["steps"]]
    assert drawn == {g["value"]: [s["people"] for s in g["steps"]] for g in expected["breakdown"]}
    labels = page.locator("#chart-0 text.bartext").all_text_contents()
    first = expected["steps"][-1]["conversion_from_start"]
    assert f"{100 * first:.1f}%" in labels  # the conversion written on the last (all) bar
    # every chart as drawn starts its value axis at zero, the median time's included
    page.wait_for_selector("#chart-1 .bars")
    assert _axis_starts(page) and set(_axis_starts(page)) == {("linear", 0)}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(ARTIFACTS / f"dashboard-funnel-{api.store.database}.png"), full_page=True
    )

    # saved by name; its link opens the same report in a new page
    page.fill("#save-name", "clicked-funnel")
    page.click("#save")
    page.wait_for_selector("#saved a[href='#saved=clicked-funnel']")
    link = page.inner_text("#link")
    assert link.endswith("/dashboard#saved=clicked-funnel")
    page.close()
    again = _open(browser, api, "#saved=clicked-funnel")
    _wait_chart(again)
    assert dict(_drawn(again))["(all)"] == [s["people"] for s in expected["steps"]]
    assert again.input_value("#breakdown") == "utm_source"
    assert again.locator("#steps input").evaluate_all("xs => xs.map(x => x.value)") == [
        "View",
        "Cart",
        "Buy",
    ]
    again.close()
    assert api.call("DELETE", "/api/v1/saved/clicked-funnel").status_code == 200
    assert REFUSED == []  # the dashboard's policy lets it do everything it does


def test_a_funnel_holding_its_session_shows_the_api_s_numbers(browser: Browser, api: Api) -> None:
    """The form's "hold constant" and time between steps reach the API, and the link given for
    the report keeps them."""
    page = _open(browser, api, "#since=2023-11-14&until=2023-11-16")
    for name in ("View", "Cart"):
        page.click(f"#events button[data-event='{name}']")
    page.fill("#hold", "session")
    page.fill("#gaps", "2=-6h")
    page.click("#run")
    _wait_chart(page)
    asked = {"step": ["View", "Cart"], "since": "2023-11-14", "until": "2023-11-16"}
    held = api.get("/api/v1/reports/funnel", hold="session", gap="2=-6h", **asked)
    free = api.get("/api/v1/reports/funnel", **asked).json()["result"]
    drawn = dict(_drawn(page))["(all)"]
    assert drawn == [s["people"] for s in held.json()["result"]["steps"]]
    assert drawn != [s["people"] for s in free["steps"]]  # holding the session loses some
    link = page.evaluate("location.hash")
    assert "hold=session" in link and "gap=2%3D-6h" in link
    page.close()
    again = _open(browser, api, link)
    _wait_chart(again)
    assert (again.input_value("#hold"), again.input_value("#gaps")) == ("session", "2=-6h")
    assert dict(_drawn(again))["(all)"] == drawn
    again.close()


def test_an_html_report_draws_its_charts_under_its_policy(browser: Browser, api: Api) -> None:
    """The API's HTML report runs plotly.js and its drawing code, allowed by hash, and nothing
    else: a script an event name smuggled in would be refused."""
    answer = api.get(
        "/api/v1/reports/funnel",
        step=["View", "Cart", "Buy"],
        since="2023-11-14",
        until="2023-11-16",
        format="html",
    )
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    page = browser.new_page()
    REFUSED.clear()
    _watch(page)
    page.set_content(answer.text)
    page.wait_for_selector(".js-plotly-plot .bars", timeout=30_000)
    assert REFUSED == []
    # as drawn: every chart's value axis begins at zero (the median time's too, once a log axis
    # that made 2.4 min look like a sliver beside 3.1 min)
    starts = _axis_starts(page)
    assert len(starts) >= 2 and set(starts) == {("linear", 0)}
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
        " document.body.appendChild(s); }"
    )
    assert page.evaluate("window.ran") is None and REFUSED  # an injected script is refused
    page.close()


def test_a_wrong_step_shows_the_api_reason(browser: Browser, api: Api) -> None:
    page = _open(browser, api, "#kind=funnel&step=View&since=2023-11-14&until=2023-11-16")
    page.wait_for_function("document.getElementById('error').textContent.length > 0")
    assert "2 to 10" in page.inner_text("#error")
    page.close()


def test_all_time_is_asked_for_from_the_period_box(browser: Browser, api: Api) -> None:
    """``since=all`` in a link ticks 'All time' and asks for it; the store's first event is
    more than the longest period ago here, and the page shows the API's reason naming since."""
    page = browser.new_page()
    _watch(page)
    page.goto(f"{api.url}/dashboard#kind=funnel&step=View&step=Cart&since=all&until=2026-12-08")
    page.fill("#token", api.token)
    page.click("#use-token")
    page.wait_for_function("() => document.getElementById('error').textContent.length > 0")
    assert page.is_checked("#all-time") and page.is_disabled("#since")
    assert "since: all time here is" in page.inner_text("#error")
    assert "from 2023-11-14" in page.inner_text("#error")
    page.close()


def test_a_misspelt_step_is_warned_above_the_chart(browser: Browser, api: Api) -> None:
    """A step no event has gives a chart of zeros and, above it, the name meant."""
    page = _open(browser, api, "#kind=funnel&step=View&step=Crat&since=2023-11-14&until=2023-11-16")
    _wait_chart(page)
    assert "did you mean 'Cart'?" in page.inner_text("#warnings")
    stored = api.get("/api/v1/summary").json()["result"]["events"]
    assert page.inner_text("#stored").startswith(f"{stored} events stored")
    page.close()


def test_the_live_pane_asks_for_the_latest_events_when_opened(browser: Browser, api: Api) -> None:
    """Opened, the live pane shows what the API answers: here an API with no Kafka configured,
    whose answer says why nothing can be shown (the events themselves are played end to end
    in tests/journey/cli/test_main.py)."""
    page = _open(browser, api, "#since=2023-11-14&until=2023-11-16")
    page.click("#live summary")
    page.wait_for_function("() => document.getElementById('live').dataset.ready", timeout=30_000)
    expected = api.get("/api/v1/live").json()["warnings"][0]["message"]
    assert page.inner_text("#live-status") == expected
    page.close()


def test_a_journey_map_opened_by_link_draws_the_apis_stages(browser: Browser, api: Api) -> None:
    """The dashboard's journey map (stages in the step list, no order option) draws people
    per stage and group as the API answers them."""
    query = "stage=View&stage=Cart&stage=Buy&window=7d&breakdown=utm_source"
    period = "since=2023-11-14&until=2023-11-16"
    page = _open(browser, api, f"#kind=journey_map&{query}&{period}")
    _wait_chart(page)
    assert page.is_hidden("#mode")
    answer = api.get(
        "/api/v1/reports/journey_map",
        stage=["View", "Cart", "Buy"],
        window="7d",
        breakdown="utm_source",
        since="2023-11-14",
        until="2023-11-16",
    ).json()["result"]
    expected = [[g["value"], [s["people"] for s in g["stages"]]] for g in answer["groups"]]
    assert _drawn(page) == expected
    page.close()


def test_a_funnel_by_two_fields_and_stickiness_draw_what_the_api_answers(
    browser: Browser, api: Api
) -> None:
    """A funnel by two fields opened by link draws each combination; stickiness asked from the
    form on the same page draws the share of people by days."""
    query = "step=View&step=Cart&breakdown=utm_source&breakdown=page_path"
    page = _open(browser, api, f"#kind=funnel&{query}&since=2023-11-14&until=2023-11-16")
    _wait_chart(page)
    assert page.input_value("#breakdown-and") == "page_path"
    answer = api.get(
        "/api/v1/reports/funnel", step=["View", "Cart"], breakdown=["utm_source", "page_path"],
        since="2023-11-14", until="2023-11-16",
    ).json()["result"]  # fmt: skip
    drawn = dict(_drawn(page))
    drawn.pop("(all)")
    assert drawn == {g["value"]: [s["people"] for s in g["steps"]] for g in answer["breakdown"]}
    assert any(" / " in value for value in drawn)  # the combinations, shown as such
    # then, on the same page, stickiness asked from the form
    previous = page.evaluate("document.getElementById('charts').dataset.ready")
    page.select_option("#kind", "stickiness")
    page.fill("#sticky-event", "View")
    page.select_option("#sticky-per", "range")
    page.click("#run")
    _wait_chart(page, previous)
    answer = api.get(
        "/api/v1/reports/stickiness", event="View", per="range", since="2023-11-14",
        until="2023-11-16",
    ).json()["result"]  # fmt: skip
    assert _drawn(page) == [[g["value"], [d["share"] for d in g["days"]]] for g in answer["groups"]]
    assert answer["groups"][0]["observations"] > 0
    assert "kind=stickiness" in page.evaluate("location.hash")
    page.close()


def test_an_experiment_is_picked_and_drawn_with_the_apis_figures(
    browser: Browser, api: Api
) -> None:
    """An experiment defined over the API is offered by the form; opened, its charts are the
    report's: each variant's conversion per segment, and the lift over the control."""
    from analyzer.experiments.assignment import hashed_variant
    from analyzer.experiments.definition import parse_experiment
    from tests.helpers import insert_events

    body = {
        "variants": [{"name": "holdout"}, {"name": "banner"}],
        "metric": {"name": "buys", "converts": ["Buy"], "within": "7d"},
        "start": "2024-01-01",
        "end": "2024-02-01",
    }
    assert api.call("PUT", "/api/v1/experiments/dash-test", json=body).status_code == 200
    test = parse_experiment({**body, "key": "dash-test"}, "test")
    rows = []
    at = 1_704_880_000_000  # 2024-01-10
    for i in range(60):
        anon = f"dash-visitor-{i}"
        shown = f'{{"experiment":"dash-test","variant":"{hashed_variant(test, anon)}"}}'
        rows.append((f"dash-{i}-x", "track", "Experiment Viewed", anon, at // 1000, at, shown))
        if i % 3 == 0:
            rows.append((f"dash-{i}-b", "track", "Buy", anon, at // 1000 + 60, at + 60_000, "{}"))
    columns = ["event_id", "type", "event", "anonymous_id", "timestamp", "timestamp_ms",
               "properties"]  # fmt: skip
    insert_events(api.store, columns, rows)
    page = _open(browser, api, "#since=2023-11-14&until=2023-11-16")
    page.wait_for_selector("#experiment-key option[value='dash-test']", state="attached")
    page.select_option("#kind", "experiment")
    page.select_option("#experiment-key", "dash-test")
    page.click("#run")
    _wait_chart(page)
    assert page.inner_text("#title") == "Experiment: dash-test"
    assert "kind=experiment&experiment=dash-test" in page.url
    expected = api.get("/api/v1/reports/experiment", experiment="dash-test").json()["result"]
    variants = expected["metrics"][0]["groups"][0]["variants"]
    drawn = _drawn(page)
    assert [name for name, _ in drawn] == ["holdout", "banner"]
    assert [ys[0] for _, ys in drawn] == pytest.approx([f["value"] for f in variants])
    assert sum(f["people"] for f in variants) == 60
    assert page.evaluate("document.querySelectorAll('.js-plotly-plot').length") == 2
    assert not page.is_visible("#since")  # an experiment reads its own dates
    page.screenshot(path=str(ARTIFACTS / "dashboard-experiment.png"))
    page.close()

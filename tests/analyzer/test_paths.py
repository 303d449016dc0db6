"""Paths, Sankey edges, paths after a drop-off and sessions, against the reference, on the
ClickHouse server and on chDB."""

from __future__ import annotations

from datetime import timedelta

import pytest

from analyzer import sessions
from analyzer.errors import SpecError
from analyzer.paths import PathSpec, edges, top_paths
from analyzer.vocabulary import Filter, Step
from analyzer.web import WebSpec, web
from tests.analyzer import reference
from tests.analyzer.conftest import Loaded
from tests.analyzer.test_funnels import HOUR, SPECS, START

pytestmark = pytest.mark.integration

CLEAN = ((r"/product/\d+", "/product/:id"),)


def paths(**kwargs: object) -> PathSpec:
    values: dict[str, object] = {
        "date_from": START,
        "date_to": START + 8 * HOUR,
        "kind": "page",
        **kwargs,
    }
    return PathSpec(**values)  # type: ignore[arg-type]


INTEREST = Step("interest", any_of=(Step("View"), Step("", (Filter("page_path", "eq", "/cart"),))))
WANTING = Step("wanting", any_of=(Step("Buy"), Step("Cart")))
CHECKOUT_PAGE = Step("", (Filter("type", "eq", "page"), Filter("page_path", "eq", "/checkout")))
PATHS = {
    "pages": paths(),
    "cleaned": paths(cleaning=CLEAN, max_length=4),
    "events": paths(kind="event", max_length=3, session_timeout=20),
    "all_from": paths(kind="all", start="/product/:id", cleaning=CLEAN),
    "to": paths(end="/checkout", max_length=3),
    "between": paths(kind="all", start="View", end="Buy", max_length=4),
    # touchpoint sets as start and end: the first event of any of their touchpoints
    "from_set": paths(kind="all", start_step=INTEREST, cleaning=CLEAN, max_length=4),
    "set_to_set": paths(kind="all", start_step=INTEREST, end_step=WANTING, max_length=3),
    "to_set": paths(kind="page", end_step=Step("checkout", any_of=(CHECKOUT_PAGE,)), max_length=3),
    "after_drop": paths(kind="all", funnel=SPECS["ordered"], dropped_at=2, cleaning=CLEAN),
    "after_drop_1": paths(kind="page", funnel=SPECS["strict"], dropped_at=1, max_length=3),
    # the other side: those who went on, what they did between the step and the next
    "converted": paths(
        kind="all",
        funnel=SPECS["touchpoints"],
        dropped_at=1,
        max_length=3,
        cleaning=CLEAN,
        converted=True,
    ),
}


@pytest.mark.parametrize("name", list(PATHS))
@pytest.mark.parametrize("seed", [1, 2])
def test_paths_match_the_reference(loaded: dict[int, Loaded], seed: int, name: str) -> None:
    data, spec = loaded[seed], PATHS[name]
    total, got = top_paths(data.store, spec)
    expected_total, expected = reference.top_paths(data.events, spec)
    assert (total, [(p.steps, p.count) for p in got]) == (expected_total, expected)
    assert total >= 5 and (spec.funnel is not None or got[0].count > 1)  # not trivial
    got_edges = {
        (e.position, e.source, e.target): (e.count, e.average_seconds)
        for e in edges(data.store, spec)
    }
    expected_edges = reference.edges(data.events, spec)
    assert got_edges.keys() == expected_edges.keys()
    for key, (count, seconds) in expected_edges.items():
        assert got_edges[key][0] == count
        assert got_edges[key][1] == (pytest.approx(seconds) if seconds is not None else None)


@pytest.mark.parametrize("limit", [1, 4, 9])
def test_edges_keep_the_most_frequent_ties_by_name(loaded: dict[int, Loaded], limit: int) -> None:
    """Elements travel as hashes: the cut-off still orders by count, position, then names."""
    spec = PATHS["all_from"]
    got = [(e.position, e.source, e.target, e.count) for e in edges(loaded[1].store, spec, limit)]
    expected = reference.edges(loaded[1].events, spec)
    ranked = sorted(expected.items(), key=lambda kv: (-kv[1][0], *kv[0]))
    assert got == [(*key, count) for key, (count, _) in ranked[:limit]]
    assert len(expected) > limit


def test_bad_path_specs_name_the_field() -> None:
    cases = [
        (paths(kind="clicks"), "kind"),
        (paths(max_length=1), "max_length"),
        (paths(cleaning=(("(", "x"),)), r"cleaning\[0\]"),
        (paths(session_timeout=0), "session_timeout"),
        (paths(funnel=SPECS["ordered"]), "dropped_at"),
        (paths(funnel=SPECS["ordered"], dropped_at=3), "dropped_at"),
        (paths(date_to=START), "date_from"),
        (paths(start="/", start_step=INTEREST), "start: a path element or a touchpoint set"),
        (paths(funnel=SPECS["ordered"], dropped_at=1, end_step=WANTING), "start"),
    ]
    for spec, message in cases:
        with pytest.raises(SpecError, match=message):
            spec.validate()


@pytest.mark.parametrize("timeout", [30, 5])
def test_sessions_split_after_inactivity(loaded: dict[int, Loaded], timeout: int) -> None:
    data = loaded[1]
    got = sessions.summary(data.store, START, START + 8 * HOUR, timeout)
    people, count, events, median, bounces = reference.session_summary(
        data.events,
        int(START.timestamp()),
        int((START + 8 * HOUR).timestamp()),
        int(timedelta(minutes=timeout).total_seconds() * 1000),
    )
    assert (got.people, got.sessions, got.events, got.median_seconds) == (
        people,
        count,
        events,
        median,
    )
    assert got.bounce_rate == pytest.approx(bounces / count)
    assert count > people  # people have several sessions


@pytest.mark.parametrize("timeout", [30, 5])
def test_web_basics_match_the_reference(loaded: dict[int, Loaded], timeout: int) -> None:
    """Sessions, bounce rate, length, top pages, entry and exit pages and sources of everyone,
    pages cleaned, against the reference (whose lists are ranked by count, then value)."""
    data = loaded[2]
    spec = WebSpec(START, START + 8 * HOUR, session_timeout=timeout, top=3, cleaning=CLEAN)
    (got,) = web(data.store, spec).groups
    expected = reference.web_basics(
        data.events,
        int(START.timestamp()),
        int((START + 8 * HOUR).timestamp()),
        timeout * 60_000,
        3,
        CLEAN,
    )
    assert got.value == "(everyone)"
    for name in (
        "people",
        "sessions",
        "bounce_rate",
        "median_session_seconds",
        "pages_per_session",
    ):
        assert getattr(got, name) == pytest.approx(expected[name]), name
    for name in ("pages", "entry", "exit", "sources"):
        assert [(r.value, r.count, r.people) for r in getattr(got, name)] == expected[name], name
    assert got.sessions > 50 and got.pages[0].value == "/product/:id"  # cleaned, not trivial

"""Segments as breakdowns and filters of funnels, paths, retention and pain points, on the
server and on chDB: each segment's numbers equal the reference run on its members' events."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from analyzer.errors import SpecError
from analyzer.funnels import FunnelSpec, analyze
from analyzer.funnels.report import dropped
from analyzer.painpoints import PainPointSpec, painpoints
from analyzer.paths import PathSpec, top_paths
from analyzer.retention import RetentionSpec, retention
from analyzer.segments import catalog
from analyzer.segments.definition import parse_document
from analyzer.segments.refresh import refresh
from analyzer.stickiness import StickinessSpec, stickiness
from analyzer.trends import TrendSpec, trend
from analyzer.vocabulary import Breakdown, Step
from analyzer.web import WebSpec, web
from storage.store import Store
from tests.analyzer import reference as analyses
from tests.analyzer.segments.bases import NOW, customers, load
from tests.conftest import WITH_CLUSTER, drop_store, open_store

pytestmark = pytest.mark.integration

DOC = {
    "version": 1,
    "segments": [
        {"name": "young", "rule": {"trait": "age_band", "in": ["18-24", "25-34"]}},
        {"name": "mobile", "rule": {"attribute": "device", "eq": "mobile"}},
        {"name": "value", "rfm": {}},
        {"name": "never_refreshed", "rule": {"attribute": "events", "gt": 1}},
    ],
}
FUNNEL = FunnelSpec(
    steps=(Step("Product Viewed"), Step("Order Completed")),
    date_from=NOW - timedelta(days=160),
    date_to=NOW,
    window=timedelta(days=30),
)


@dataclass
class Segmented:
    store: Store
    events: list[dict[str, Any]]
    members: dict[str, set[str]]

    def events_of(self, group: str | None) -> list[dict[str, Any]]:
        """Events of the members of ``group`` (None: people in none of the groups)."""
        people = analyses.persons(self.events)
        if group is None:
            inside = set().union(*self.members.values())
            keep = set(people.person_id) - inside
        else:
            keep = self.members[group]
        ids = set(people[people.person_id.isin(keep)].event_id)
        return [e for e in self.events if e["event_id"] in ids]


@pytest.fixture(scope="module", params=WITH_CLUSTER)
def segmented(request: pytest.FixtureRequest, chdb_path: Path) -> Iterator[Segmented]:
    store = open_store(request.param, request, chdb_path)
    events = customers(6, people=300)
    load(store, events, 6)
    ties = dict(
        store.execute(
            f"SELECT DISTINCT event_id, cityHash64(event_id) FROM {store.database}.events"
        )
    )
    events = [{**e, "tie": int(ties[e["event_id"]])} for e in events]
    catalog.define(store, parse_document(DOC))
    report = refresh(store, ["young", "mobile", "value"], at=NOW)
    members: dict[str, set[str]] = {}
    for segment, person in store.execute(
        f"SELECT segment, person_id FROM {store.database}.segment_members "
        "WHERE refresh = %(r)s AND segment != ''",
        {"r": report.refresh},
    ):
        members.setdefault(segment, set()).add(person)
    yield Segmented(store, events, members)
    drop_store(store)


def _people(steps: list[Any]) -> list[int]:
    return [s.people for s in steps]


def test_funnel_breakdown_by_segments(segmented: Segmented) -> None:
    spec = replace(
        FUNNEL, breakdown=Breakdown("segment", segments=("young", "value")), breakdown_limit=100
    )
    got = analyze(segmented.store, spec)
    assert _people(got.steps) == [s[0] for s in analyses.funnel(segmented.events, FUNNEL)["steps"]]
    groups = {g.value: _people(g.steps) for g in got.breakdown}
    expected_names = {n for n in segmented.members if n == "young" or n.startswith("value/")}
    assert set(groups) - {"(none)"} <= expected_names
    assert len(groups) >= 6
    for name, counts in groups.items():
        events = segmented.events_of(None if name == "(none)" else name)
        if name == "(none)":  # in neither young nor any RFM group
            inside = segmented.members["young"].union(
                *(v for k, v in segmented.members.items() if k.startswith("value/"))
            )
            people = analyses.persons(segmented.events)
            keep = set(people.person_id) - inside
            ids = set(people[people.person_id.isin(keep)].event_id)
            events = [e for e in segmented.events if e["event_id"] in ids]
        assert counts == [s[0] for s in analyses.funnel(events, FUNNEL)["steps"]], name
    # a person in two segments counts in both
    assert sum(g[0] for n, g in groups.items() if n != "(none)") > groups.get("young", [0])[0]


@pytest.mark.parametrize("segment", ["young", "mobile", "value/Champions"])
def test_funnel_filtered_to_a_segment(segmented: Segmented, segment: str) -> None:
    got = analyze(segmented.store, replace(FUNNEL, segment=segment))
    expected = analyses.funnel(segmented.events_of(segment), FUNNEL)
    assert _people(got.steps) == [s[0] for s in expected["steps"]]
    assert got.steps[0].people > 0
    gone = dropped(segmented.store, replace(FUNNEL, segment=segment), 1)
    assert {p.person_id for p in gone} <= segmented.members[segment]


def test_paths_and_retention_of_a_segment(segmented: Segmented) -> None:
    paths = PathSpec(date_from=FUNNEL.date_from, date_to=NOW, kind="all", top=10, segment="mobile")
    total, top = top_paths(segmented.store, paths)
    expected_total, expected_top = analyses.top_paths(segmented.events_of("mobile"), paths)
    assert total == expected_total > 0
    assert [(p.steps, p.count) for p in top] == expected_top
    spec = RetentionSpec(
        start=Step("Product Viewed"),
        returning=Step("Order Completed"),
        date_from=FUNNEL.date_from,
        date_to=NOW,
        period="month",
        periods=4,
        segment="young",
    )
    got = {c.period: c.retained for c in retention(segmented.store, spec).cohorts if c.people}
    assert got == dict(analyses.retention(segmented.events_of("young"), spec)) and got


def test_pain_points_of_a_segment(segmented: Segmented) -> None:
    spec = PainPointSpec(funnel=FUNNEL, field="segment", value="young", min_sample=5)
    report = painpoints(segmented.store, spec)
    young = analyses.funnel(segmented.events_of("young"), FUNNEL)["steps"]
    assert report.people == young[0][0]
    (stage,) = report.stages
    assert (stage.entered, stage.entered - stage.dropped) == (young[0][0], young[1][0])
    everyone = analyses.funnel(segmented.events, FUNNEL)["steps"]
    others_entered = everyone[0][0] - young[0][0]
    assert stage.others.entered == others_entered


def test_segments_must_be_refreshed_and_well_named(segmented: Segmented) -> None:
    with pytest.raises(SpecError, match="'never_refreshed' has no refreshed membership"):
        analyze(segmented.store, replace(FUNNEL, segment="never_refreshed"))
    with pytest.raises(SpecError, match="breakdown.segments: 1 to 50"):
        analyze(segmented.store, replace(FUNNEL, breakdown=Breakdown("segment")))
    with pytest.raises(SpecError, match="segment: 'Bad Name' is not a segment name"):
        analyze(segmented.store, replace(FUNNEL, segment="Bad Name"))


def test_web_basics_per_segment(segmented: Segmented) -> None:
    """Everyone first, then each segment (an RFM family in its groups): each group's sessions,
    bounce rate, length and lists equal the reference run on its members' events; a segment
    filter gives the same figures as that segment's group."""
    spec = WebSpec(FUNNEL.date_from, NOW, segments=("young", "value"), top=5)
    report = web(segmented.store, spec)
    lo, hi = int(FUNNEL.date_from.timestamp()), int(NOW.timestamp())
    groups = {g.value: g for g in report.groups}
    assert report.groups[0].value == "(everyone)" and "young" in groups
    assert any(v.startswith("value/") for v in groups)
    for value, got in groups.items():
        events = segmented.events if value == "(everyone)" else segmented.events_of(value)
        expected = analyses.web_basics(events, lo, hi, 30 * 60_000, 5, ())
        assert (got.people, got.sessions) == (expected["people"], expected["sessions"]), value
        assert got.bounce_rate == pytest.approx(expected["bounce_rate"]), value
        assert got.median_session_seconds == pytest.approx(expected["median_session_seconds"])
        for name in ("pages", "entry", "exit", "sources"):
            assert [(r.value, r.count, r.people) for r in getattr(got, name)] == expected[name]
    (only,) = web(segmented.store, WebSpec(FUNNEL.date_from, NOW, segment="young", top=5)).groups
    assert (only.sessions, only.sources) == (groups["young"].sessions, groups["young"].sources)


def test_stickiness_per_segment(segmented: Segmented) -> None:
    """Everyone first, then each segment's group (an RFM family in its groups): each equals the
    reference run on its members' events; a segment filter gives that segment's group."""
    spec = StickinessSpec(
        Step("Product Viewed"),
        NOW - timedelta(days=56),
        NOW,
        per="week",
        segments=("young", "value"),
    )
    report = stickiness(segmented.store, spec)
    groups = {g.value: g for g in report.groups}
    assert report.groups[0].value == "(everyone)" and "young" in groups
    assert any(v.startswith("value/") for v in groups)
    for value, got in groups.items():
        events = segmented.events if value == "(everyone)" else segmented.events_of(value)
        expected = analyses.stickiness(events, spec)
        assert (got.people, got.observations) == (expected["people"], expected["observations"])
        assert {d.days: d.count for d in got.days if d.count} == expected["days"], value
    assert len({d.days for d in groups["(everyone)"].days if d.count}) > 1  # not all alike
    (only,) = stickiness(segmented.store, replace(spec, segments=(), segment="young")).groups
    assert (only.people, only.days) == (groups["young"].people, groups["young"].days)


@pytest.mark.parametrize("measure", ["people", "events"])
def test_trend_by_segment(segmented: Segmented, measure: str) -> None:
    """Each segment's series (a person in each of theirs, (none) for people in none) and a
    segment filter equal the reference trend of its members' events, now and before."""
    spec = TrendSpec(
        Step("Product Viewed"),
        NOW - timedelta(days=70),
        NOW,
        interval="week",
        measure=measure,
        breakdown=Breakdown("segment", segments=("young", "mobile")),
    )
    got = {s.value: s for s in trend(segmented.store, spec).series}
    assert set(got) == {"(all)", "young", "mobile", "(none)"}
    alone = replace(spec, breakdown=None)
    people = analyses.persons(segmented.events)
    inside = segmented.members["young"] | segmented.members["mobile"]
    nobody = set(people[~people.person_id.isin(inside)].event_id)
    for value, series in got.items():
        if value == "(all)":
            events = segmented.events
        elif value == "(none)":  # in neither of the two
            events = [e for e in segmented.events if e["event_id"] in nobody]
        else:
            events = segmented.events_of(value)
        expected = analyses.event_trend(events, alone)
        now, total = expected[("(all)", False)]
        then, previous_total = expected[("(all)", True)]
        assert (series.points, series.total) == (now, total), value
        assert (series.previous, series.previous_total) == (then, previous_total), value
        assert total, value  # not a trivial case
    (only,) = trend(segmented.store, replace(alone, segment="young")).series
    assert (only.points, only.total) == (got["young"].points, got["young"].total)

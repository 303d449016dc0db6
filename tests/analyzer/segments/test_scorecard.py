"""The segment scorecard and before/after comparison on the ClickHouse server, chDB and the
cluster, against a plain pandas reference on a generated customer base with survey answers."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analyzer.errors import SpecError
from analyzer.funnels import analyze
from analyzer.funnels.spec import FunnelSpec
from analyzer.segments import catalog
from analyzer.segments.definition import parse_document
from analyzer.segments.refresh import refresh
from analyzer.segments.scorecard import (
    ALL,
    Estimate,
    ScorecardSpec,
    change,
    compare,
    scorecard,
)
from analyzer.vocabulary import Step
from storage.store import Store
from tests.analyzer.reference import persons
from tests.analyzer.segments import reference
from tests.analyzer.segments.bases import DAY_MS, NOW, Base, customers, load
from tests.conftest import WITH_CLUSTER, drop_store, open_store

pytestmark = pytest.mark.integration

DOC: dict[str, Any] = {
    "version": 1,
    "segments": [
        {"name": "young", "rule": {"trait": "age_band", "in": ["18-24", "25-34"]}},
        {"name": "googlers", "rule": {"attribute": "first_touch_source", "eq": "google"}},
    ],
}
SURVEY = "Survey Answered"


def with_surveys(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The base plus survey answers (score 1 to 5) on a third of the devices' last days."""
    extra = Base(77)
    seen: dict[str, dict[str, Any]] = {}
    for e in events:
        if e["anonymous_id"] and e["type"] == "page":
            seen[e["anonymous_id"]] = e
    for i, (device, e) in enumerate(sorted(seen.items())):
        if i % 3 == 0:
            extra.add(
                "track",
                device,
                e["user_id"],
                e["timestamp_ms"] + 60_000,
                event=SURVEY,
                properties={"score": 1 + i % 5},
            )
    return events + extra.events


@dataclass
class Loaded:
    store: Store
    events: list[dict[str, Any]]
    members: dict[str, set[str]]


@pytest.fixture(scope="module", params=WITH_CLUSTER)
def loaded(request: pytest.FixtureRequest, chdb_path: Path) -> Iterator[Loaded]:
    store = open_store(request.param, request, chdb_path)
    events = with_surveys(customers(5, people=300))
    load(store, events, 5)
    catalog.define(store, parse_document(DOC))
    refresh(store, at=NOW)
    members = reference.members(events, DOC, int(NOW.timestamp()))
    yield Loaded(store, events, members)
    drop_store(store)


def _revenue(raw: str) -> float:
    value = json.loads(raw).get("revenue", 0)
    return max(0.0, float(value))


def expected(
    events: list[dict[str, Any]], members: dict[str, set[str]], spec: ScorecardSpec
) -> dict[str, dict[str, Any]]:
    """The scorecard's figures in pandas, person by person."""
    df = persons(events)
    since, until = int(spec.date_from.timestamp()), int(spec.date_to.timestamp())
    df = df[df.type.isin(["track", "page", "screen"]) & (df.timestamp >= since)]
    df = df[df.timestamp < until]
    timeout = spec.session_timeout_minutes * 60_000
    rows = []
    for person, g in df.groupby("person_id"):
        times = sorted(g.timestamp_ms)
        days = [t // DAY_MS for t in times]
        first = days[0]
        buys = g[(g.type == "track") & (g.event == spec.purchase_event)]
        answers = g[(g.type == "track") & (g.event == SURVEY)]
        scores = [float(json.loads(p)["score"]) for p in answers.properties]
        rows.append(
            {
                "person": person,
                "events": len(times),
                "sessions": 1
                + sum(1 for a, b in zip(times, times[1:], strict=False) if b - a > timeout),
                "active_days": len(set(days)),
                "eligible": (first + spec.retention_days + 1) * DAY_MS <= until * 1000,
                "returned": any(first < d <= first + spec.retention_days for d in days),
                "purchases": len(buys),
                "revenue": sum(_revenue(p) for p in buys.properties),
                "scores": scores,
            }
        )
    people = pd.DataFrame(rows).set_index("person")
    out = {}
    groups = {ALL: set(people.index), **{k: v for k, v in members.items() if k}}
    for name, who in groups.items():
        p = people[people.index.isin(who)]
        eligible = p[p.eligible]
        scores = [s for ss in p.scores for s in ss]
        out[name] = {
            "people": len(p),
            "sessions_per_person": p.sessions.mean(),
            "events_per_session": p.events.sum() / p.sessions.sum(),
            "active_days_per_person": p.active_days.mean(),
            "retention": eligible.returned.mean() if len(eligible) else None,
            "retention_eligible": len(eligible),
            "buyers": int((p.purchases > 0).sum()),
            "revenue": p.revenue.sum(),
            "revenue_per_person": p.revenue.mean(),
            "csat_responses": len(scores),
            "csat_mean": sum(scores) / len(scores) if scores else None,
            "csat_satisfied": sum(s >= spec.satisfied_at for s in scores) / len(scores)
            if scores
            else None,
        }
    return out


def _close(got: Any, want: Any, name: str) -> None:
    if want is None:
        assert got is None, name
    else:
        assert got == pytest.approx(float(want), rel=1e-3, abs=0.006), name


def test_scorecard_matches_pandas(loaded: Loaded) -> None:
    spec = ScorecardSpec(
        date_from=NOW - timedelta(days=60),
        date_to=NOW,
        segments=("young", "googlers"),
        csat_event=SURVEY,
    )
    card = scorecard(loaded.store, spec)
    want = expected(loaded.events, loaded.members, spec)
    got = {s.segment: s.row() for s in card.segments}
    assert set(got) == set(want)
    assert want[ALL]["people"] > 100 and want[ALL]["csat_responses"] > 20
    for segment, figures in want.items():
        for name, value in figures.items():
            _close(got[segment][name], value, f"{segment}.{name}")
    assert set(card.membership) == {"young", "googlers"}


def test_funnel_conversion_per_segment_is_the_funnels(loaded: Loaded) -> None:
    steps = (Step("Product Viewed"), Step("Order Completed"))
    spec = ScorecardSpec(NOW - timedelta(days=60), NOW, segments=("young",), steps=steps)
    got = {s.segment: s for s in scorecard(loaded.store, spec).segments}
    funnel = FunnelSpec(steps=steps, date_from=spec.date_from, date_to=spec.date_to)
    everyone = analyze(loaded.store, funnel).steps
    young = analyze(loaded.store, replace(funnel, segment="young")).steps
    assert (got[ALL].funnel_entered, got[ALL].funnel_converted) == (
        everyone[0].people,
        everyone[-1].people,
    )
    assert (got["young"].funnel_entered, got["young"].funnel_converted) == (
        young[0].people,
        young[-1].people,
    )
    assert 0 < got["young"].conversion < 1  # type: ignore[operator]


def test_csat_from_a_trait_counts_each_persons_latest_value(loaded: Loaded) -> None:
    spec = ScorecardSpec(
        NOW - timedelta(days=150), NOW + timedelta(days=1), csat_trait="income", satisfied_at=70000
    )
    card = scorecard(loaded.store, replace(spec, segments=("young",)))
    everyone = card.segments[0]
    incomes = {
        pid: float(p.traits["income"])
        for pid, p in reference.people(loaded.events, int(spec.date_to.timestamp())).items()
        if "income" in p.traits
    }
    assert everyone.csat_responses == len(incomes)
    _close(everyone.csat_mean, sum(incomes.values()) / len(incomes), "csat_mean")
    _close(
        everyone.csat_satisfied,
        sum(v >= 70000 for v in incomes.values()) / len(incomes),
        "csat_satisfied",
    )


def test_before_and_after_intervals(loaded: Loaded) -> None:
    after = ScorecardSpec(NOW - timedelta(days=60), NOW, segments=("young",), csat_event=SURVEY)
    before = replace(after, date_from=NOW - timedelta(days=120), date_to=NOW - timedelta(days=60))
    result = compare(loaded.store, before, after)
    by = {(c.segment, c.metric): c for c in result.changes}
    spp = by[(ALL, "sessions_per_person")]
    want_a = expected(loaded.events, loaded.members, before)[ALL]
    want_b = expected(loaded.events, loaded.members, after)[ALL]
    _close(spp.before, want_a["sessions_per_person"], "before")
    _close(spp.after, want_b["sessions_per_person"], "after")
    assert spp.ci_low is not None and spp.ci_high is not None
    assert spp.ci_low <= spp.difference <= spp.ci_high  # type: ignore[operator]
    assert spp.significant == (spp.ci_low > 0 or spp.ci_high < 0)
    assert ("young", "purchase_rate") in by and (ALL, "conversion") not in by


def test_a_change_is_only_called_on_enough_people() -> None:
    a, b = Estimate(0.10, 0.01, 1000), Estimate(0.14, 0.011, 1000)
    c = change("s", "purchase_rate", a, b, 30)
    assert c.significant and c.p_value is not None and c.p_value < 0.01
    assert c.ci_low == pytest.approx(0.04 - 1.96 * math.hypot(0.01, 0.011), abs=1e-3)
    small = change("s", "purchase_rate", Estimate(0.1, 0.05, 20), b, 30)
    assert not small.significant and "fewer than 30" in small.note
    same = change("s", "purchase_rate", a, Estimate(0.101, 0.01, 1000), 30)
    assert not same.significant and same.ci_low < 0 < same.ci_high  # type: ignore[operator]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"segments": ("Bad Name",)}, "segments[0]"),
        ({"retention_days": 0}, "retention_days"),
        ({"csat_event": "X", "csat_trait": "y"}, "csat_trait"),
        ({"revenue_property": "a..b"}, "revenue_property"),
        ({"steps": (Step("only one"),)}, "steps"),
    ],
)
def test_bad_specs_name_the_field(fields: dict[str, Any], message: str) -> None:
    spec = replace(ScorecardSpec(NOW - timedelta(days=7), NOW), **fields)
    with pytest.raises(SpecError, match=message.replace("[", r"\[")):
        spec.validate()

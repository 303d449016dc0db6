"""Experiment documents: read field by field, every error naming its place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import schemas
from analyzer.documents import DocumentError
from analyzer.experiments.definition import dumps, load, parse_document


def _doc(**changes: Any) -> dict[str, Any]:
    experiment = {
        "key": "vip-offer",
        "segments": ["vip"],
        "variants": [{"name": "holdout", "weight": 10}, {"name": "offer", "weight": 90}],
        "metric": {"name": "orders", "converts": ["Order Completed"]},
        "start": "2026-12-01",
    }
    experiment.update(changes)
    return {"version": 1, "experiments": [experiment]}


def test_the_example_reads_as_written() -> None:
    doc = dict(schemas.examples(schemas.EXPERIMENT_DOCUMENT))["valid_every_kind.json"]
    vip, abc = parse_document(doc)
    assert vip.key == "vip-offer" and vip.segments == ("vip",) and vip.control == "holdout"
    assert [(v.name, v.weight) for v in vip.variants] == [("holdout", 10), ("offer", 90)]
    assert vip.variant("offer").content == {  # type: ignore[union-attr]
        "banner": "20% off your next order",
        "code": "VIP20",
    }
    assert vip.metric.kind == "conversion" and vip.metric.within == timedelta(days=7)
    assert [s.event for s in vip.metric.converts] == ["Product Added", "Order Completed"]
    refunds, revenue = vip.guardrails
    assert refunds.worse == "higher" and revenue.kind == "revenue"
    assert (revenue.revenue_event, revenue.revenue_property) == ("Order Completed", "revenue")
    assert vip.start == datetime(2026, 12, 1, tzinfo=UTC)
    assert vip.end == datetime(2027, 1, 1, tzinfo=UTC)
    assert abc.control == "A" and abc.segments == () and abc.end is None
    assert abc.metric.converts[0].event == "set:signup"
    assert vip.running(datetime(2026, 12, 15, tzinfo=UTC))
    assert not vip.running(datetime(2027, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("changes", "place", "words"),
    [
        ({"key": "VIP"}, "experiments[0].key", "a-z"),
        ({"variants": [{"name": "a"}]}, "experiments[0].variants", "2 to 10"),
        (
            {"variants": [{"name": "a"}, {"name": "a"}]},
            "experiments[0].variants[1].name",
            "named twice",
        ),
        (
            {"variants": [{"name": "a", "control": True}, {"name": "b", "control": True}]},
            "experiments[0].variants[1].control",
            "control already",
        ),
        ({"variants": [{"name": "a", "weight": 0}, {"name": "b"}]}, ".variants[0].weight", "1 to"),
        (
            {"variants": [{"name": "a", "content": "x"}, {"name": "b"}]},
            ".variants[0].content",
            "an object",
        ),
        (
            {"variants": [{"name": "a", "content": {"x": "y" * 9000}}, {"name": "b"}]},
            ".variants[0].content",
            "8192 bytes",
        ),
        ({"segments": ["Not a segment"]}, "experiments[0].segments[0]", "segment name"),
        ({"metric": {"name": "m"}}, "experiments[0].metric", "converts (steps) or revenue"),
        ({"metric": {"name": "m", "converts": [], "within": "1d"}}, ".metric.converts", "1 to 10"),
        ({"metric": {"name": "m", "converts": ["A"], "within": "100d"}}, ".within", "90d"),
        (
            {"metric": {"name": "m", "revenue": {"event": "Buy", "property": "a..b"}}},
            ".metric.revenue.property",
            "property path",
        ),
        (
            {"guardrails": [{"name": "orders", "converts": ["A"]}]},
            ".guardrails[0].name",
            "names another metric",
        ),
        ({"start": "soon"}, "experiments[0].start", "not a time"),
        ({"end": "2026-11-01"}, "experiments[0].end", "after start"),
        ({"minimum_effect": -1}, ".minimum_effect", "positive"),
        ({"audience": "vip"}, "experiments[0].audience", "unknown key"),
    ],
)
def test_errors_name_their_place(changes: dict[str, Any], place: str, words: str) -> None:
    with pytest.raises(DocumentError) as caught:
        parse_document(_doc(**changes))
    assert place in str(caught.value) and words in str(caught.value)


def test_a_file_is_named_in_its_errors_and_written_back_canonically(tmp_path: Path) -> None:
    path = tmp_path / "experiments.yaml"
    path.write_text(
        "version: 1\nexperiments:\n  - key: a\n    variants: [{name: x}, {name: y}]\n"
        "    metric: {name: m, converts: [Buy]}\n    start: 2026-12-01T00:00:00Z\n"
    )
    (experiment,) = load(path)
    assert experiment.start == datetime(2026, 12, 1, tzinfo=UTC)
    assert dumps(experiment).startswith('{"key":"a","metric":')
    path.write_text("version: 1\nexperiments:\n  - key: a\n")
    with pytest.raises(DocumentError, match=f"^{path}: experiments\\[0\\].variants"):
        load(path)

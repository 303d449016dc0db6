"""Touchpoint sets: documents whose mistakes are named by their place, and steps naming a set
replaced by its touchpoints wherever they sit (funnel steps and exclusions, segment rules,
alert rules). The analyses over resolved sets are compared with the reference in
test_funnels.py and segments/test_refresh.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.rules import parse_rule
from analyzer import touchpoints
from analyzer.documents import DocumentError
from analyzer.errors import SpecError
from analyzer.funnels.spec import Exclusion, FunnelSpec
from analyzer.segments.definition import parse_definition
from analyzer.touchpoints import TouchpointSet
from analyzer.vocabulary import Filter, Step

DOC = """
version: 1
touchpoints:
  - name: consideration
    description: Looking closely at what they would buy
    any_of:
      - Plans Compared
      - event: Trial Started
        where: [{field: properties.plan, op: in, value: [pro, team]}]
      - where:
          - {field: type, op: eq, value: page}
          - {field: page_path, op: match, value: "^/pricing"}
"""


def test_a_document_defines_sets_of_touchpoints(tmp_path: Any) -> None:
    path = tmp_path / "sets.yaml"
    path.write_text(DOC)
    (s,) = touchpoints.load(path)
    assert s.name == "consideration" and s.description.startswith("Looking")
    assert s.touchpoints == (
        Step("Plans Compared"),
        Step("Trial Started", (Filter("properties.plan", "in", ["pro", "team"]),)),
        Step("", (Filter("type", "eq", "page"), Filter("page_path", "match", "^/pricing"))),
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"any_of": ["A"]}, "touchpoints[0].name: 1 to 64 of a-z"),
        ({"name": "Big Set", "any_of": ["A"]}, "touchpoints[0].name: 1 to 64 of a-z"),
        ({"name": "s"}, "touchpoints[0].any_of: a list of 1 to 20 touchpoints"),
        ({"name": "s", "any_of": []}, "touchpoints[0].any_of: a list of 1 to 20"),
        ({"name": "s", "any_of": ["A"] * 21}, "touchpoints[0].any_of: a list of 1 to 20"),
        ({"name": "s", "any_of": [{}]}, "touchpoints[0].any_of[0]: an event name, or filters"),
        ({"name": "s", "any_of": [""]}, "touchpoints[0].any_of[0]: an event name, or filters"),
        ({"name": "s", "any_of": [3]}, "touchpoints[0].any_of[0]: an event name, or {event"),
        ({"name": "s", "any_of": ["set:other"]}, "a set cannot hold another set"),
        (
            {"name": "s", "any_of": [{"event": "A", "when": 1}]},
            "touchpoints[0].any_of[0].when: unknown key",
        ),
        (
            {"name": "s", "any_of": [{"where": [{"field": "nope", "op": "eq", "value": "x"}]}]},
            "touchpoints[0].any_of[0].where[0].field: 'nope' is not a column",
        ),
        ({"name": "s", "any_of": ["A"], "colour": "red"}, "touchpoints[0].colour: unknown key"),
        (  # megabytes of values made every query using the set fail after seconds
            {
                "name": "s",
                "any_of": [
                    {"where": [{"field": "page_path", "op": "in", "value": ["/p"] * 20_000}]}
                ],
            },
            "a touchpoint set may have 65,536",
        ),
    ],
)
def test_mistakes_are_named_by_their_place(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(DocumentError) as caught:
        touchpoints.parse_document({"version": 1, "touchpoints": [entry]})
    assert message in str(caught.value)


def test_a_step_naming_an_undefined_set_name_is_refused() -> None:
    with pytest.raises(SpecError, match="'Bad Name' is not a touchpoint set name"):
        Step("set:Bad Name").validate("steps[0]")


SETS = {
    "interest": TouchpointSet(
        "interest", (Step("View"), Step("", (Filter("type", "eq", "page"),)))
    ),
    "trouble": TouchpointSet("trouble", (Step("Error"),)),
}


def _resolve(obj: Any) -> Any:
    return touchpoints._walk(
        obj, lambda s: SETS[s.set_name].step(s.filters) if s.set_name is not None else s
    )


def test_steps_naming_sets_are_replaced_wherever_they_are() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    spec = FunnelSpec(
        steps=(Step("set:interest", (Filter("utm_source", "eq", "google"),)), Step("Buy")),
        date_from=at,
        date_to=at + timedelta(days=1),
        exclusions=(Exclusion(Step("set:trouble")),),
    )
    got = _resolve(spec)
    first = got.steps[0]
    assert first.event == "interest" and first.set_name is None
    google = Filter("utm_source", "eq", "google")
    # the step's own filters narrow every touchpoint of the set
    assert first.any_of == (
        Step("View", (google,)),
        Step("", (Filter("type", "eq", "page"), google)),
    )
    assert got.steps[1] is spec.steps[1] and got.exclusions[0].step.any_of == (Step("Error"),)
    got.validate()
    assert _resolve(got) is got  # nothing left to resolve: the same object back

    definition = parse_definition({"name": "x", "rule": {"did": "set:interest"}}, "segments[0]")
    condition = _resolve(definition).rule
    assert condition.step.any_of == SETS["interest"].touchpoints

    rule = parse_rule(
        {
            "name": "r",
            "funnel": {"steps": ["set:interest", "Buy"], "window": "1h"},
            "condition": {"below": 0.1},
            "channels": [{"log": True}],
        },
        "rules[0]",
    )
    assert _resolve(rule.steps)[0].any_of == SETS["interest"].touchpoints

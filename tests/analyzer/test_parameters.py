"""Each specification declares on its fields the parameters they are asked for by
(analyzer.parameters): the defaults agree, and an error about a field (or a part of it, or a
field of a specification it holds) names the parameter it came from."""

from __future__ import annotations

import dataclasses

import pytest

from analyzer import durations
from analyzer.correlation import CorrelationSpec
from analyzer.funnels.spec import FunnelSpec
from analyzer.painpoints import PainPointSpec
from analyzer.parameters import Param, asked, declared, names, parameter_of
from analyzer.paths import PathSpec
from reports.parameters import SPECS


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_a_declared_default_is_the_fields_own(kind: str) -> None:
    """What the CLI and OpenAPI show as a default is what the specification does when the
    parameter is not given."""
    for f in dataclasses.fields(SPECS[kind]):
        for p in f.metadata.get("params", ())[:1]:
            if p.default is None or f.default is dataclasses.MISSING:
                continue
            shown = durations.parse(p.default) if p.kind == "duration" else p.default
            assert shown == f.default, f"{kind}.{f.name}"


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_every_asked_field_names_a_declared_parameter(kind: str) -> None:
    spec = SPECS[kind]
    params = {p.name for p in declared(spec)}
    assert set(names(spec).values()) <= params
    required = {p.name for p in declared(spec) if p.required}
    for f in dataclasses.fields(spec):  # a required parameter fills a field without default
        first = f.metadata.get("params", ())[:1]
        if first and first[0].name in required and not f.metadata.get("holds"):
            assert f.default is dataclasses.MISSING, f.name


def test_fields_map_to_their_parameters() -> None:
    funnel = names(FunnelSpec)
    assert funnel["steps"] == "step" and funnel["date_from"] == "since"
    assert funnel["segment"] == "in_segment" and "breakdown_limit" not in funnel
    assert parameter_of("steps[1].event", funnel) == "step"
    assert parameter_of("exclusions[0].step", funnel) == "exclude"
    assert parameter_of("nothing", funnel) is None
    # a held funnel's fields, where the holder asks for them; its breakdown it does not
    painpoints = names(PainPointSpec)
    assert painpoints["funnel.steps"] == "step" and painpoints["value"] == "segment"
    assert parameter_of("funnel.breakdown", painpoints) == "step"  # the funnel as a whole
    assert "funnel.breakdown" not in painpoints
    assert names(CorrelationSpec)["step"] == "dropped_at"
    paths = names(PathSpec)
    assert paths["start_step"] == "start" and paths["funnel.window"] == "window"


def test_a_parameter_shared_by_two_fields_is_declared_once() -> None:
    shared = Param("segment", "FIELD=VALUE")

    @dataclasses.dataclass(frozen=True)
    class Spec:
        field: str = asked(shared)
        value: str = asked(shared)
        unasked: int = 1

    assert declared(Spec) == (shared,)
    assert names(Spec) == {"field": "segment", "value": "segment"}

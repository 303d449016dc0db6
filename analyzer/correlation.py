"""Drop-off correlation: what distinguishes the people who dropped after a funnel step from
those who went on to the next one.

Among the people who reached step ``step`` of the funnel (identity-stitched, each event once,
as every funnel counts), those who reached the next step *converted* and the others
*dropped*. For each, the events they did after reaching the step and before the next one (or,
having dropped, until their attempt's window ran out, as pain points look) are looked at: each event
name, and each value of the ``fields`` (event columns or ``properties.<path>``) on those
events, and each person trait (``person.<path>``: the person's latest identify value, as a
funnel's breakdown by it reads it; one value per person, whatever they did). Per item: how many of the dropped and of the converted had it, each group's share,
the odds ratio of dropping with it against without it (with 0.5 added to each cell, so an
item only one group has still gets a finite ratio), a two-sided two-proportion z-test of the
two shares, and the p-value adjusted for testing every item at once (Benjamini-Hochberg, the
false discovery rate). Items fewer than ``min_count`` people had are not tested (nor counted
in the correction).

With a breakdown and ``value``, only the people whose breakdown value it is are compared: the
pain points report asks this of its segment at each stage.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from analyzer.errors import SpecError
from analyzer.events import BEHAVIOUR, has_trait, trait_text
from analyzer.funnels.people import PersonFunnel
from analyzer.funnels.spec import WITHOUT_BREAKDOWN, FunnelSpec
from analyzer.hashed import key, texts
from analyzer.membership import check_refreshed
from analyzer.parameters import Param, asked
from analyzer.query import Query
from analyzer.statistics import benjamini_hochberg, two_proportion
from analyzer.vocabulary import check_field
from storage.store import Store

DEFAULT_FIELDS = ("utm_source", "device_type", "browser", "os", "geo_country", "page_path")
SIGNIFICANCE = 0.05
EVENT = "event"
PERSON = "person."
EMPTY = key("''")  # a missing value's hash


@dataclass(frozen=True)
class CorrelationSpec:
    funnel: FunnelSpec = asked(*WITHOUT_BREAKDOWN, holds=FunnelSpec)
    step: int = asked(  # 1-based: people who reached it, converted if they reached the next
        Param(
            "dropped_at",
            "compare who dropped after step N with who reached the next",
            "integer",
            low=1,
            high=9,
            required=True,
        )
    )
    fields: tuple[str, ...] = asked(
        Param(
            "field",
            "an event column, properties.KEY or person.TRAIT whose values are compared "
            "(default: source, device, browser, os, country, page)",
            many=True,
        ),
        default=DEFAULT_FIELDS,
    )
    min_count: int = asked(
        Param("min_count", "people an item needs to be tested", "integer", 10, 1, 1_000_000),
        default=10,
    )
    top: int = asked(
        Param("top", "items listed, most significant first", "integer", 20, 1, 500), default=20
    )
    value: str | None = None  # with the funnel's breakdown: only the people of this value

    def validate(self) -> CorrelationSpec:
        self.funnel.validate()
        if (self.funnel.breakdown is None) != (self.value is None):
            raise SpecError(
                "breakdown",
                "a correlation compares the dropped with the converted, "
                "all of them or the people of one breakdown value",
            )
        if not isinstance(self.step, int) or not 1 <= self.step < len(self.funnel.steps):
            raise SpecError("step", f"a step from 1 to {len(self.funnel.steps) - 1} of the funnel")
        if not 1 <= len(self.fields) <= 20:
            raise SpecError("fields", "1 to 20 columns or properties.<path>")
        for i, name in enumerate(self.fields):
            check_field(name, f"fields[{i}]", person=True)
        if not isinstance(self.min_count, int) or not 1 <= self.min_count <= 1_000_000:
            raise SpecError("min_count", "from 1 to 1,000,000 people")
        if not isinstance(self.top, int) or not 1 <= self.top <= 500:
            raise SpecError("top", "from 1 to 500 items")
        return self


@dataclass(frozen=True)
class Item:
    field: str  # EVENT, or one of the spec's fields
    value: str
    dropped: int  # people who dropped and had it
    converted: int
    dropped_share: float
    converted_share: float
    odds_ratio: float  # of dropping, with the item against without it
    p_value: float
    adjusted_p_value: float  # Benjamini-Hochberg over every tested item
    significant: bool


@dataclass
class CorrelationReport:
    step: int
    from_event: str
    to_event: str
    dropped: int  # people
    converted: int
    tested: int  # items with at least min_count people
    items: list[Item] = field(default_factory=list)  # most significant first

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sources(spec: CorrelationSpec) -> list[tuple[str, Query, str]]:
    """Per item field (the event's name first), for reading texts back from hashes: the SQL
    of its text over event columns, the query binding its values, and which events carry it."""
    out: list[tuple[str, Query, str]] = [("event", Query(), BEHAVIOUR)]
    for name in spec.fields:
        query = Query()
        if name.startswith(PERSON):
            trait = query.name(name[len(PERSON) :], "trait")
            out.append((trait_text(trait), query, f"type = 'identify' AND {has_trait(trait)}"))
        else:
            out.append((query.field(name), query, BEHAVIOUR))
    return out


def _people_sql(spec: CorrelationSpec, q: PersonFunnel) -> str:
    """Per person at the step: ``level`` and ``corr_d{j}``, the hashes of field j's values
    (j = 0: the event's name) on their events between the step and the next."""
    k = spec.step  # the step reached is k - 1 (0-based), the next one k
    # names of their own: the funnel's query has f0, f1... (any order) and d (lambdas)
    names = ["corr_en", *(f"corr_f{i}" for i in range(len(spec.fields)))]
    fields = {"corr_en": key("event"), "pe": f"toUInt8({BEHAVIOUR})"}
    traits = {}
    for i, name in enumerate(spec.fields):
        if name.startswith(PERSON):
            traits[f"corr_f{i}"] = name[len(PERSON) :]
        else:  # values travel as hashes (analyzer.hashed): integers, not texts
            fields[f"corr_f{i}"] = key(q.query.field(name))
    # after the step's event and before the next step's (or the window's end after the step);
    # bounds enter the lambda as arrays (old servers drop names used only inside lambdas)
    n = "length(times)"
    bounds = [
        f"arrayResize([ix{k - 1}], {n}, ix{k - 1}) AS _after",
        f"arrayResize([if(level > {k}, ix{k}, 4294967295)], {n}, "
        f"if(level > {k}, ix{k}, 4294967295)) AS _before",
        f"arrayResize([if(level > {k}, t{k}, t0 + %(window_ms)s)], {n}, "
        f"if(level > {k}, t{k}, t0 + %(window_ms)s)) AS _until",
        # which events count: computed once, then each field keeps its values there
        "arrayMap((ct, ci_, cp, ca, cb, cu) -> cp = 1 AND ci_ > ca AND ci_ < cb AND ct <= cu, "
        "times, arrayEnumerate(times), pe, _after, _before, _until) AS _in",
    ]
    kept = [
        f"[{key(f'{name}_value')}] AS corr_d{j}"
        if name in traits
        else f"arrayDistinct(arrayFilter((x, m) -> m, {name}, _in)) AS corr_d{j}"
        for j, name in enumerate(names)
    ]
    people = q.sql(fields=fields, events=BEHAVIOUR, columns=(*bounds, *kept), traits=traits)
    where = f"level >= {k}"
    if spec.value is not None:
        q.values["corr_value"] = spec.value
        where += " AND value = %(corr_value)s"
    return f"(SELECT * FROM ({people}) WHERE {where})"


def correlation(store: Store, spec: CorrelationSpec) -> CorrelationReport:
    """The items whose share differs most between the people who dropped after ``step`` and
    those who converted to the next step."""
    spec.validate()  # its funnel's too
    check_refreshed(store, spec.funnel.named_segments())
    q = PersonFunnel(spec.funnel, store.database)
    people = _people_sql(spec, q)
    k = spec.step
    names = [EVENT, *spec.fields]
    # one row per person with the item (-1, '') besides theirs: the same pass counts everyone
    items = ", ".join(f"arrayMap(v -> ({j}, v), corr_d{j})" for j in range(len(names)))
    rows = store.execute(
        "SELECT tupleElement(item, 1) AS fi, tupleElement(item, 2) AS v, "
        f"countIf(level > {k}) AS c, countIf(level = {k}) AS d "
        f"FROM (SELECT level, arrayJoin(arrayConcat([(-1, toUInt64(0))], {items})) AS item "
        f"FROM {people}) WHERE fi = -1 OR v != {EMPTY} GROUP BY fi, v "
        "HAVING fi = -1 OR c + d >= %(min_count)s",
        {**q.values, "min_count": spec.min_count},
    )
    ((_, _, converted, dropped),) = [r for r in rows if int(r[0]) == -1] or [(-1, 0, 0, 0)]
    rows = [r for r in rows if int(r[0]) != -1]
    report = CorrelationReport(
        step=k,
        from_event=spec.funnel.steps[k - 1].event,
        to_event=spec.funnel.steps[k].event,
        dropped=int(dropped),
        converted=int(converted),
        tested=len(rows),
    )
    if not dropped or not converted:
        return report
    tested = []
    for fi, value, c, d in rows:
        c, d = int(c), int(d)
        odds = ((d + 0.5) * (converted - c + 0.5)) / ((c + 0.5) * (dropped - d + 0.5))
        p = two_proportion(d, int(dropped), c, int(converted))
        tested.append((int(fi), int(value), d, c, odds, 1.0 if p is None else p))
    adjusted = benjamini_hochberg([t[5] for t in tested])
    ranked = sorted(
        zip(tested, adjusted, strict=True), key=lambda x: (x[1], -abs(math.log(x[0][4])))
    )
    if len(ranked) > spec.top:  # the top, and any item tied with the last (texts order them)
        last = ranked[spec.top - 1]
        ranked = [x for i, x in enumerate(ranked) if i < spec.top or _tie(x, last)]
    text = _texts(store, spec, ranked)
    found = [
        Item(
            field=names[fi],
            value=text[fi, value],
            dropped=d,
            converted=c,
            dropped_share=d / dropped,
            converted_share=c / converted,
            odds_ratio=odds,
            p_value=p,
            adjusted_p_value=q_value,
            significant=q_value < SIGNIFICANCE,
        )
        for (fi, value, d, c, odds, p), q_value in ranked
    ]
    found.sort(key=lambda i: (i.adjusted_p_value, -abs(math.log(i.odds_ratio)), i.field, i.value))
    report.items = found[: spec.top]
    return report


def _tie(x: Any, last: Any) -> bool:
    return bool(x[1] == last[1] and abs(math.log(x[0][4])) == abs(math.log(last[0][4])))


def _texts(store: Store, spec: CorrelationSpec, ranked: list[Any]) -> dict[tuple[int, int], str]:
    """The texts of the ranked items' hashes, one scan per field that has any."""
    wanted: dict[int, set[int]] = {}
    for (fi, value, *_), _q in ranked:
        wanted.setdefault(fi, set()).add(value)
    out: dict[tuple[int, int], str] = {}
    sources = _sources(spec)
    for fi, keys in wanted.items():
        expression, query, where = sources[fi]
        out.update({(fi, h): t for h, t in texts(store, expression, keys, query, where).items()})
    return out

"""Segment definitions: a versioned YAML or JSON document, validated before anything runs.

    version: 1
    segments:
      - name: young_urban               # [a-z0-9_-], unique
        category: demographic           # demographic, geographic, firmographic, psychographic,
                                        # behavioral, value, predicted, other
        description: 18 to 34 in cities
        refresh: 1d                     # optional schedule: 15m, 6h, 1d ...
        include_bots: false             # bots' events count (default: bots are nobody)
        public: true                    # the website may ask whether a visitor is a member
                                        # (or a list of the sources whose write keys may)
        rule:
          all:
            - {trait: age_band, in: ["18-24", "25-34"]}
            - not: {trait: city, eq: ""}
            - any:
                - {did: Order Completed, at_least: 2, in_last_days: 90}
                - {attribute: first_touch_source, eq: newsletter}
      - name: rfm
        rfm: {purchase_event: Order Completed, revenue_property: revenue}
      - name: behaviour
        clusters: {method: kmeans, k: [2, 8]}
      - name: likely_buyers
        propensity: {target: purchase, horizon_days: 14, threshold: 0.5}

A rule is ``all``/``any`` (a list of rules), ``not`` (a rule), or a condition on one subject:
``trait`` (the latest identify value), ``group_trait`` (of the person's latest group),
``attribute`` (computed per person, see ``ATTRIBUTES``), ``did``/``did_not`` (an event, with
``where`` filters, ``at_least``/``at_most`` times, ``in_last_days``). Operators: ``eq``,
``neq``, ``in``, ``not_in``, ``matches`` (regular expression), ``gt``, ``gte``, ``lt``,
``lte``, ``between`` [low, high], ``exists`` (true/false).

Errors name the place: ``segments[2].rule.all[1].in_last_days: a whole number of days``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from analyzer.documents import DocumentError, entries, read
from analyzer.documents import choice as _choice
from analyzer.documents import duration as parse_duration
from analyzer.documents import event_name as _event
from analyzer.documents import fail as _fail
from analyzer.documents import filters as _filters
from analyzer.documents import flag as _flag
from analyzer.documents import keys as _keys
from analyzer.documents import number as _number
from analyzer.documents import options as _options
from analyzer.documents import share as _share
from analyzer.documents import text as _text
from analyzer.documents import whole as _int
from analyzer.regex import problem
from analyzer.vocabulary import Filter, Step
from storage.paths import is_path

DefinitionError = DocumentError  # a definition cannot be used; the message names the place

FORMAT_VERSION = 1
CATEGORIES = (
    "demographic",
    "geographic",
    "firmographic",
    "psychographic",
    "behavioral",
    "value",
    "predicted",
    "other",
)
# Per-person values computed from their events, as of the refresh.
ATTRIBUTES: dict[str, str] = {
    "first_touch_source": "utm_source of the first event ('' for direct)",
    "first_touch_medium": "utm_medium of the first event",
    "first_touch_campaign": "utm_campaign of the first event",
    "first_referrer": "referrer host of the first event",
    "device": "device type of the latest event (desktop, mobile, tablet...)",
    "browser": "browser of the latest event",
    "os": "operating system of the latest event",
    "country": "the 'country' trait, else the latest event's country (IP), else its locale's",
    "first_seen_days": "days since the first event",
    "last_seen_days": "days since the latest event",
    "active_days": "days with at least one event",
    "events": "events in all",
    "page_views": "page and screen views",
    "purchases": "purchase events (see purchase_event)",
    "revenue": "sum of the revenue property over purchase events",
    "purchase_frequency": "purchases per 30 days since the first purchase",
    "identified": "1 when the person has a user id",
    "contactable": "1 when the person has an 'email' or 'phone' trait",
    "returning": "1 when active on two or more days",
    "lifecycle": "new, returning, resurrecting or dormant over the last 30 days",
}
TEXT_ATTRIBUTES = {
    "first_touch_source",
    "first_touch_medium",
    "first_touch_campaign",
    "first_referrer",
    "device",
    "browser",
    "os",
    "country",
    "lifecycle",
}
OPS = ("eq", "neq", "in", "not_in", "matches", "gt", "gte", "lt", "lte", "between", "exists")
NUMERIC_OPS = ("gt", "gte", "lt", "lte", "between")
SUBJECTS = ("trait", "group_trait", "attribute", "did", "did_not")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}\Z")
MAX_DEPTH = 8
MAX_DAYS = 3650


@dataclass(frozen=True)
class Condition:
    subject: str  # one of SUBJECTS
    name: str  # trait, attribute or event name
    op: str = "exists"
    value: Any = True
    filters: tuple[Filter, ...] = ()  # did / did_not
    step: Step | None = None  # did / did_not: the event (or ``set:NAME``) with its filters
    at_least: int | None = None
    at_most: int | None = None
    in_last_days: int | None = None


@dataclass(frozen=True)
class Logic:
    op: str  # all, any, not
    rules: tuple[Rule, ...]


Rule = Condition | Logic


@dataclass(frozen=True)
class RFM:
    purchase_event: str = "Order Completed"
    revenue_property: str = "revenue"


@dataclass(frozen=True)
class Clusters:
    method: str = "kmeans"  # kmeans or gmm (diagonal covariances)
    k_min: int = 2
    k_max: int = 8
    sample: int = 100_000  # people the model is fitted on
    seed: int = 0


@dataclass(frozen=True)
class Propensity:
    target: str = "purchase"  # purchase: buys within the horizon; churn: no event within it
    horizon_days: int = 14
    threshold: float | None = 0.5
    top_share: float | None = None  # instead of a threshold: the most likely share of people
    sample: int = 200_000
    seed: int = 0


@dataclass(frozen=True)
class Definition:
    name: str
    category: str = "other"
    description: str = ""
    refresh: timedelta | None = None
    rule: Rule | None = None
    rfm: RFM | None = None
    clusters: Clusters | None = None
    propensity: Propensity | None = None
    purchase_event: str = "Order Completed"
    revenue_property: str = "revenue"
    # The website may learn a visitor is a member (collector.personalize): None no; () through
    # any write key; else only through the keys of these sources.
    public: tuple[str, ...] | None = None
    include_bots: bool = False  # bots' events count (collector.agent flags them)
    source: dict[str, Any] = field(default_factory=dict, compare=False)  # as written

    @property
    def kind(self) -> str:
        if self.rfm is not None:
            return "rfm"
        if self.clusters is not None:
            return "clusters"
        if self.propensity is not None:
            return "propensity"
        return "rule"


def _value(op: str, value: Any, where: str, numeric: bool) -> Any:
    if op == "exists":
        if not isinstance(value, bool):
            raise _fail(where, "exists takes true or false")
        return value
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or len(value) > 1000:
            raise _fail(where, f"{op} takes a list of 1 to 1000 values")
        if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
            raise _fail(where, f"{op} takes strings or numbers")
        return tuple(str(v) for v in value)
    if op == "matches":
        text = _text(value, where)
        if problem(text):
            raise _fail(where, problem(text))
        return text
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise _fail(where, "between takes [low, high]")
        low, high = _number(value[0], f"{where}[0]"), _number(value[1], f"{where}[1]")
        if low > high:
            raise _fail(where, "between: low must not be above high")
        return (low, high)
    if op in NUMERIC_OPS:
        return _number(value, where)
    if numeric and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number(value, where)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _fail(where, f"{op} takes a string or a number")
    return str(value) if not isinstance(value, str) else value


def parse_rule(raw: Any, where: str, depth: int = 0) -> Rule:
    if depth > MAX_DEPTH:
        raise _fail(where, f"rules nest at most {MAX_DEPTH} levels deep")
    if not isinstance(raw, dict) or not raw:
        raise _fail(where, "a rule: all, any, not, or a condition on " + ", ".join(SUBJECTS))
    logic = [k for k in ("all", "any", "not") if k in raw]
    if logic:
        if len(raw) != 1:
            raise _fail(where, f"{logic[0]} stands alone in its rule")
        op = logic[0]
        if op == "not":
            return Logic("not", (parse_rule(raw["not"], f"{where}.not", depth + 1),))
        items = raw[op]
        if not isinstance(items, list) or not 1 <= len(items) <= 50:
            raise _fail(f"{where}.{op}", "a list of 1 to 50 rules")
        return Logic(
            op, tuple(parse_rule(r, f"{where}.{op}[{i}]", depth + 1) for i, r in enumerate(items))
        )
    subjects = [k for k in SUBJECTS if k in raw]
    if len(subjects) != 1:
        raise _fail(where, "a condition names one subject: " + ", ".join(SUBJECTS))
    subject = subjects[0]
    name = raw[subject]
    if subject in ("did", "did_not"):
        _keys(raw, (subject, "where", "at_least", "at_most", "in_last_days"), where)
        if not isinstance(name, str) or not 0 < len(name) <= 200:
            raise _fail(f"{where}.{subject}", "an event name of 1 to 200 characters")
        at_least = raw.get("at_least")
        at_most = raw.get("at_most")
        if subject == "did_not":
            if at_least is not None or at_most is not None:
                raise _fail(where, "did_not takes no at_least/at_most (it is at_most 0)")
            at_least, at_most = None, 0
        else:
            if at_least is not None:
                at_least = _int(at_least, f"{where}.at_least", 0, 1_000_000)
            if at_most is not None:
                at_most = _int(at_most, f"{where}.at_most", 0, 1_000_000)
            if at_least is None and at_most is None:
                at_least = 1
            if at_least is not None and at_most is not None and at_least > at_most:
                raise _fail(where, "at_least is above at_most")
        days = raw.get("in_last_days")
        did = _filters(raw.get("where"), f"{where}.where")
        if Step(name).set_name is not None:
            _event(name, f"{where}.{subject}")  # a set's name is checked as a step's is
        return Condition(
            subject="did",
            name=name,
            filters=did,
            step=Step(name, did),
            at_least=at_least,
            at_most=at_most,
            in_last_days=None
            if days is None
            else _int(days, f"{where}.in_last_days", 1, MAX_DAYS, "a whole number of days"),
        )
    ops = [k for k in raw if k != subject]
    if len(ops) != 1 or ops[0] not in OPS:
        raise _fail(where, f"one operator with {subject}: {', '.join(OPS)}")
    op = ops[0]
    if subject == "attribute":
        if name not in ATTRIBUTES:
            raise _fail(
                f"{where}.attribute", f"{name!r} is not one of {', '.join(sorted(ATTRIBUTES))}"
            )
        numeric = name not in TEXT_ATTRIBUTES
        if numeric and op == "matches":
            raise _fail(f"{where}.matches", f"{name} is a number")
        if not numeric and op in NUMERIC_OPS:
            raise _fail(f"{where}.{op}", f"{name} is text")
    else:
        if not is_path(name):
            raise _fail(f"{where}.{subject}", "a trait path such as plan or address.country")
        numeric = False
    return Condition(
        subject=subject, name=name, op=op, value=_value(op, raw[op], f"{where}.{op}", numeric)
    )


def _property(value: Any, where: str) -> str:
    if not is_path(value):
        raise _fail(where, "a property path such as revenue or products[0].price")
    return value


def _public(value: Any, where: str) -> tuple[str, ...] | None:
    if value is True:
        return ()
    if value is False or value is None:
        return None
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= 100
        or not all(isinstance(v, str) and 0 < len(v.strip()) <= 100 for v in value)
    ):
        raise _fail(where, "true, false, or a list of source names (of write keys)")
    return tuple(sorted({v.strip() for v in value}))


def parse_definition(raw: Any, where: str) -> Definition:
    if not isinstance(raw, dict):
        raise _fail(where, "a segment definition (an object with a name)")
    kinds = [k for k in ("rule", "rfm", "clusters", "propensity") if k in raw]
    _keys(
        raw,
        (
            "name",
            "category",
            "description",
            "refresh",
            "public",
            "rule",
            "rfm",
            "clusters",
            "propensity",
            "purchase_event",
            "revenue_property",
            "include_bots",
        ),
        where,
    )
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise _fail(f"{where}.name", "1 to 64 lower-case letters, digits, _ or -")
    if len(kinds) != 1:
        raise _fail(where, "exactly one of rule, rfm, clusters, propensity")
    default_category = {
        "rule": "other",
        "rfm": "value",
        "clusters": "predicted",
        "propensity": "predicted",
    }[kinds[0]]
    category = raw.get("category", default_category)
    if category not in CATEGORIES:
        raise _fail(f"{where}.category", f"{category!r} is not one of {', '.join(CATEGORIES)}")
    common: dict[str, Any] = {
        "name": name,
        "category": category,
        "description": _text(raw.get("description", ""), f"{where}.description", 2000),
        "refresh": None
        if raw.get("refresh") is None
        else parse_duration(raw["refresh"], f"{where}.refresh"),
        "purchase_event": _event(
            raw.get("purchase_event", "Order Completed"), f"{where}.purchase_event"
        ),
        "revenue_property": _property(
            raw.get("revenue_property", "revenue"), f"{where}.revenue_property"
        ),
        "public": _public(raw.get("public"), f"{where}.public"),
        "include_bots": _flag(raw.get("include_bots", False), f"{where}.include_bots"),
        "source": raw,
    }
    kind = kinds[0]
    at = f"{where}.{kind}"
    if kind == "rule":
        return Definition(**common, rule=parse_rule(raw["rule"], at))
    if kind == "rfm":
        rfm = _options(
            raw["rfm"],
            at,
            RFM,
            {"purchase_event": _event, "revenue_property": _property},
        )
        return Definition(
            **{**common, "purchase_event": rfm.purchase_event},
            rfm=rfm,
        )
    if kind == "clusters":
        opts = raw["clusters"] or {}
        k = opts.get("k", [2, 8]) if isinstance(opts, dict) else None
        if isinstance(k, int) and not isinstance(k, bool):
            k = [k, k]
        if not isinstance(k, list) or len(k) != 2:
            raise _fail(f"{at}.k", "a number of clusters or a range [low, high]")
        k_min = _int(k[0], f"{at}.k[0]", 2, 20)
        k_max = _int(k[1], f"{at}.k[1]", k_min, 20)
        rest = {key: v for key, v in (opts or {}).items() if key != "k"}
        clusters = _options(
            rest,
            at,
            Clusters,
            {
                "method": _choice("kmeans", "gmm"),
                "sample": lambda v, w: _int(v, w, 1000, 5_000_000),
                "seed": lambda v, w: _int(v, w, 0, 2**31),
            },
        )
        return Definition(
            **common,
            clusters=Clusters(clusters.method, k_min, k_max, clusters.sample, clusters.seed),
        )
    prop = _options(
        raw["propensity"],
        at,
        Propensity,
        {
            "target": _choice("purchase", "churn"),
            "horizon_days": lambda v, w: _int(v, w, 1, 365, "a whole number of days"),
            "threshold": _share,
            "top_share": _share,
            "sample": lambda v, w: _int(v, w, 1000, 5_000_000),
            "seed": lambda v, w: _int(v, w, 0, 2**31),
        },
    )
    if isinstance(raw["propensity"], dict) and "top_share" in raw["propensity"]:
        if "threshold" in raw["propensity"]:
            raise _fail(at, "threshold or top_share, not both")
        prop = Propensity(
            prop.target, prop.horizon_days, None, prop.top_share, prop.sample, prop.seed
        )
    return Definition(**common, propensity=prop)


def parse_document(doc: Any, where: str = "") -> list[Definition]:
    """Every definition of a document ``{version: 1, segments: [...]}``."""
    return entries(doc, where, "segments", FORMAT_VERSION, parse_definition)


def load(path: Path) -> list[Definition]:
    """The definitions of a ``.yaml``/``.yml`` or ``.json`` file."""
    return parse_document(read(path), str(path))


def dumps(definition: Definition) -> str:
    """The definition as it was written, as canonical JSON (what versions compare)."""
    return json.dumps(definition.source, sort_keys=True, separators=(",", ":"), default=str)

"""Segment membership and RFM worked out in plain Python and pandas, from the raw events, to
check the ClickHouse results against. Written from the documented semantics, sharing no code
with analyzer.segments."""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd

from tests.analyzer.reference import persons

DAY_S = 86400
BEHAVIOUR = ("track", "page", "screen")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(value)  # JSON 42.0 is written 42.0
    return str(value)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


class Person:
    def __init__(self, rows: pd.DataFrame, as_of_s: int, companies: dict[str, dict[str, Any]]):
        rows = rows.sort_values("timestamp_ms")
        self.rows = rows
        self.as_of_s = as_of_s
        behaviour = rows[rows.type.isin(BEHAVIOUR)]
        self.behaviour = behaviour
        self.traits: dict[str, str] = {}
        for r in rows[rows.type == "identify"].itertuples():
            for k, v in json.loads(r.traits).items():
                self.traits[k] = _text(v)
        groups = rows[(rows.type == "group") & (rows.group_id != "")]
        company = groups.iloc[-1].group_id if len(groups) else ""
        self.group_traits = {k: _text(v) for k, v in companies.get(company, {}).items()}
        purchases = behaviour[(behaviour.type == "track") & (behaviour.event == "Order Completed")]
        self.purchases = purchases

    def revenue(self) -> float:
        total = 0.0
        for p in self.purchases.itertuples():
            raw = json.loads(p.properties).get("revenue", 0)
            total += float(raw) if _number(str(raw)) is not None else 0.0
        return total

    def attribute(self, name: str) -> Any:
        b = self.behaviour
        if name.startswith("first_touch_") or name == "first_referrer":
            column = {
                "first_touch_source": "utm_source",
                "first_touch_medium": "utm_medium",
                "first_touch_campaign": "utm_campaign",
                "first_referrer": "referrer_host",
            }[name]
            return b.iloc[0][column] if len(b) else ""
        if name in ("device", "browser", "os"):
            column = "device_type" if name == "device" else name
            return b.iloc[-1][column] if len(b) else ""
        if name == "country":
            if self.traits.get("country"):
                return self.traits["country"].upper()
            located = b[b.geo_country != ""]
            if len(located):
                return located.iloc[-1].geo_country
            locale = b.iloc[-1].locale if len(b) else ""
            return locale.split("-", 1)[1].upper() if "-" in locale else ""
        if name == "first_seen_days":
            return (self.as_of_s - int(b.timestamp.min())) / DAY_S if len(b) else -1.0
        if name == "last_seen_days":
            return (self.as_of_s - int(b.timestamp.max())) / DAY_S if len(b) else -1.0
        if name == "active_days":
            return len({t // DAY_S for t in b.timestamp})
        if name == "events":
            return len(b)
        if name == "page_views":
            return int(b.type.isin(["page", "screen"]).sum())
        if name == "purchases":
            return len(self.purchases)
        if name == "revenue":
            return self.revenue()
        if name == "identified":
            return int((self.rows.user_id != "").any())
        if name == "contactable":
            return int(bool(self.traits.get("email") or self.traits.get("phone")))
        if name == "returning":
            return int(self.attribute("active_days") >= 2)
        if name == "lifecycle":
            if not len(b):
                return ""
            first, last = self.attribute("first_seen_days"), self.attribute("last_seen_days")
            if first < 30:
                return "new"
            if last >= 30:
                return "dormant"
            ages = [(self.as_of_s - t) / DAY_S for t in b.timestamp]
            if any(30 < a <= 60 for a in ages):
                return "returning"
            if any(a > 60 for a in ages):
                return "resurrecting"
            return "returning"
        raise KeyError(name)

    def _where(self, rows: pd.DataFrame, where: list[dict[str, Any]]) -> pd.DataFrame:
        for f in where:
            values = (
                rows[f["field"]]
                if not f["field"].startswith("properties.")
                else rows.properties.map(
                    lambda p, k=f["field"][11:]: _text(json.loads(p).get(k, ""))
                )
            )
            if f["op"] == "eq":
                rows = rows[values == f["value"]]
            elif f["op"] == "match":
                rows = rows[values.map(lambda v, r=f["value"]: re.search(r, v) is not None)]
        return rows

    def did(self, rule: dict[str, Any], sets: dict[str, list[Any]]) -> bool:
        event = rule.get("did", rule.get("did_not"))
        if event.startswith("set:"):  # any of the set's touchpoints, each event once
            matched: set[Any] = set()
            for t in sets[event[4:]]:
                t = {"event": t} if isinstance(t, str) else t
                rows = self.behaviour
                if t.get("event"):
                    rows = rows[rows.event == t["event"]]
                matched |= set(self._where(rows, t.get("where", [])).index)
            rows = self.behaviour[self.behaviour.index.isin(matched)]
        else:
            rows = self.behaviour[self.behaviour.event == event]
        if rule.get("in_last_days"):
            rows = rows[rows.timestamp >= self.as_of_s - rule["in_last_days"] * DAY_S]
        rows = self._where(rows, rule.get("where", []))
        n = len(rows)
        if "did_not" in rule:
            return n == 0
        at_least = rule.get("at_least", 1 if "at_most" not in rule else None)
        return (at_least is None or n >= at_least) and (
            rule.get("at_most") is None or n <= rule["at_most"]
        )


def evaluate(rule: dict[str, Any], p: Person, sets: dict[str, list[Any]] | None = None) -> bool:
    """Whether person ``p`` meets ``rule``; ``sets``: touchpoint sets by name, as written."""
    if "all" in rule:
        return all(evaluate(r, p, sets) for r in rule["all"])
    if "any" in rule:
        return any(evaluate(r, p, sets) for r in rule["any"])
    if "not" in rule:
        return not evaluate(rule["not"], p, sets)
    if "did" in rule or "did_not" in rule:
        return p.did(rule, sets or {})
    if "attribute" in rule:
        value = p.attribute(rule["attribute"])
    elif "trait" in rule:
        value = p.traits.get(rule["trait"], "")
    else:
        value = p.group_traits.get(rule["group_trait"], "")
    (op,) = [k for k in rule if k not in ("attribute", "trait", "group_trait")]
    target = rule[op]
    if op == "exists":
        present = value not in ("", 0, 0.0)
        return present == target
    if op in ("gt", "gte", "lt", "lte", "between"):
        number = value if isinstance(value, (int, float)) else _number(value)
        if number is None:
            return False
        if op == "between":
            return target[0] <= number <= target[1]
        return {
            "gt": number > target,
            "gte": number >= target,
            "lt": number < target,
            "lte": number <= target,
        }[op]
    if op == "matches":
        return re.search(target, value) is not None
    if isinstance(value, (int, float)):
        if op in ("in", "not_in"):
            inside = float(value) in [float(t) for t in target]
            return inside if op == "in" else not inside
        return (float(value) == float(target)) == (op == "eq")
    if op in ("in", "not_in"):
        inside = value in [str(t) for t in target]
        return inside if op == "in" else not inside
    return (value == str(target)) == (op == "eq")


def people(events: list[dict[str, Any]], as_of_s: int) -> dict[str, Person]:
    df = persons(events)
    df = df[df.timestamp <= as_of_s]
    companies: dict[str, dict[str, Any]] = {}  # from every group call, with or without a person
    for r in (
        df[(df.type == "group") & (df.group_id != "")].sort_values("timestamp_ms").itertuples()
    ):
        companies.setdefault(r.group_id, {}).update(json.loads(r.traits))
    df = df[(df.user_id != "") | (df.anonymous_id != "")]
    return {str(pid): Person(rows, as_of_s, companies) for pid, rows in df.groupby("person_id")}


def members(
    events: list[dict[str, Any]],
    doc: dict[str, Any],
    as_of_s: int,
    sets: dict[str, list[Any]] | None = None,
) -> dict[str, set[str]]:
    everyone = people(events, as_of_s)
    out: dict[str, set[str]] = {"": set(everyone)}
    for d in doc["segments"]:
        if "rule" in d:
            out[d["name"]] = {pid for pid, p in everyone.items() if evaluate(d["rule"], p, sets)}
    return out


GRID = {  # (R, FM) -> group, from the table in analyzer/segments/rfm.py's documentation
    5: ["New", "Potential loyalists", "Potential loyalists", "Champions", "Champions"],
    4: ["Promising", "Potential loyalists", "Potential loyalists", "Loyal", "Loyal"],
    3: ["Need attention", "Need attention", "Need attention", "Loyal", "Loyal"],
    2: ["Hibernating", "Hibernating", "At risk", "At risk", "Can't lose"],
    1: ["Lost", "Lost", "At risk", "At risk", "Can't lose"],
}


def rfm(events: list[dict[str, Any]], as_of_s: int) -> pd.DataFrame:
    """Per purchaser: recency_days, frequency, monetary, r, f, m, group."""
    rows = []
    for pid, p in people(events, as_of_s).items():
        if len(p.purchases):
            rows.append(
                {
                    "person_id": pid,
                    "recency_days": (as_of_s - int(p.purchases.timestamp.max())) // DAY_S,
                    "frequency": len(p.purchases),
                    "monetary": round(p.revenue(), 6),
                }
            )
    df = pd.DataFrame(rows).set_index("person_id")
    n = len(df)
    # worse = people with a strictly worse value: rank 'min' counts the strictly smaller ones
    df["r"] = 1 + (5 * ((-df.recency_days).rank(method="min") - 1) // n).astype(int)
    df["f"] = 1 + (5 * (df.frequency.rank(method="min") - 1) // n).astype(int)
    df["m"] = 1 + (5 * (df.monetary.rank(method="min") - 1) // n).astype(int)
    fm = (df.f + df.m + 1) // 2
    df["group"] = [GRID[r][x - 1] for r, x in zip(df.r, fm, strict=True)]
    return df

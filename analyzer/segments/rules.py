"""Rules to SQL: a rule tree becomes one boolean expression over a person's features.

Values are bound through ``Features.bind``; names of traits and events are bound too, so
nothing a definition says is pasted into SQL. A trait compared as a number that is not one
(or not set) does not match; ``neq``/``not_in`` match people without the trait.
"""

from __future__ import annotations

from analyzer.events import BEHAVIOUR
from analyzer.query import Query
from analyzer.segments.definition import TEXT_ATTRIBUTES, Condition, Logic, Rule
from analyzer.segments.features import Features
from analyzer.vocabulary import Step


def compile_rule(rule: Rule, features: Features) -> str:
    """SQL (UInt8) that is 1 for the people ``rule`` selects."""
    if isinstance(rule, Logic):
        parts = [compile_rule(r, features) for r in rule.rules]
        if rule.op == "not":
            return f"NOT ({parts[0]})"
        return "(" + f" {'AND' if rule.op == 'all' else 'OR'} ".join(parts) + ")"
    return _condition(rule, features)


def _did(c: Condition, f: Features) -> str:
    query = Query()
    sql = query.step(c.step or Step(c.name, c.filters))
    for name, value in query.values.items():  # as the features' own values
        sql = sql.replace(f"%({name})s", f.bind(value))
    parts = [BEHAVIOUR, sql]
    count = f.count(" AND ".join(parts), c.in_last_days)
    checks = []
    if c.at_least is not None:
        checks.append(f"{count} >= {int(c.at_least)}")
    if c.at_most is not None:
        checks.append(f"{count} <= {int(c.at_most)}")
    return "(" + " AND ".join(checks) + ")"


def _condition(c: Condition, f: Features) -> str:
    if c.subject == "did":
        return _did(c, f)
    if c.subject == "attribute":
        value = f.attribute(c.name)
        numeric = c.name not in TEXT_ATTRIBUTES
    elif c.subject == "trait":
        value, numeric = f.trait(c.name), False
    else:
        value, numeric = f.group_trait(c.name), False
    op, v = c.op, c.value
    if op == "exists":
        present = f"toFloat64({value}) != 0" if numeric else f"({value}) != ''"
        return present if v else f"NOT ({present})"
    number = value if numeric else f"toFloat64OrNull({value})"
    if op in ("gt", "gte", "lt", "lte"):
        sign = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        return f"ifNull({number} {sign} {f.bind(float(v))}, 0)"
    if op == "between":
        low, high = v
        return f"ifNull({number} >= {f.bind(float(low))} AND {number} <= {f.bind(float(high))}, 0)"
    if op == "matches":
        return f"match({value}, {f.bind(v)})"
    if numeric:
        if op in ("in", "not_in"):
            try:
                values = tuple(float(x) for x in v)
            except ValueError:
                return "0" if op == "in" else "1"
            sql = f"toFloat64({value}) IN {f.bind(values)}"
            return sql if op == "in" else f"NOT ({sql})"
        try:
            target = float(v)
        except (TypeError, ValueError):
            return "0" if op == "eq" else "1"
        sql = f"toFloat64({value}) = {f.bind(target)}"
        return sql if op == "eq" else f"NOT ({sql})"
    if op in ("in", "not_in"):
        sql = f"({value}) IN {f.bind(tuple(str(x) for x in v))}"
        return sql if op == "in" else f"NOT ({sql})"
    sql = f"({value}) = {f.bind(str(v))}"
    return sql if op == "eq" else f"NOT ({sql})"

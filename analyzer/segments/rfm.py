"""RFM value: recency, frequency and monetary value of purchases, scored 1 to 5 by quintile.

Per purchaser, as of the refresh: recency = whole days since the latest purchase, frequency =
distinct purchase events, monetary = their summed revenue. A score is the quintile of the
person's rank among all purchasers, ties sharing the better-off rank's lower bound::

    score = 1 + floor(5 * worse / n)

where ``worse`` is how many purchasers have a strictly worse value (a longer recency; a lower
frequency or monetary value) and ``n`` is how many purchasers there are. So equal values always
get the same score, and scores run from 1 (bottom fifth) to 5 (top fifth).

Named groups come from R and FM = round-half-up of (F + M) / 2, in the usual grid:

    R\\FM   1            2            3            4          5
    5      New          Potential    Potential    Champions  Champions
    4      Promising    Potential    Potential    Loyal      Loyal
    3      Need att.    Need att.    Need att.    Loyal      Loyal
    2      Hibernating  Hibernating  At risk      At risk    Can't lose
    1      Lost         Lost         At risk      At risk    Can't lose
"""

from __future__ import annotations

from collections.abc import Sequence

GROUPS = (
    "Champions",
    "Loyal",
    "Potential loyalists",
    "New",
    "Promising",
    "Need attention",
    "At risk",
    "Can't lose",
    "Hibernating",
    "Lost",
)


def group_of(r: int, fm: int) -> str:
    """The named group of an R score and an FM score (1..5)."""
    if r == 5 and fm >= 4:
        return "Champions"
    if r in (3, 4) and fm >= 4:
        return "Loyal"
    if r in (4, 5) and fm in (2, 3):
        return "Potential loyalists"
    if r == 5:
        return "New"
    if r == 4:
        return "Promising"
    if r == 3:
        return "Need attention"
    if fm == 5:
        return "Can't lose"
    if fm >= 3:
        return "At risk"
    return "Hibernating" if r == 2 else "Lost"


def thresholds(counts: Sequence[tuple[float, int]], higher_is_better: bool) -> list[float]:
    """The four values where the score steps up, from ``(value, people)`` pairs.

    Higher is better: score = 1 + #{t : value >= t}. Lower is better (recency): score =
    1 + #{t : value <= t}. A step no value reaches is +inf (or -inf)."""
    n = sum(c for _, c in counts)
    ordered = sorted(counts, key=lambda vc: vc[0], reverse=not higher_is_better)
    out = []
    for s in range(1, 5):
        worse, found = 0, None
        for value, c in ordered:
            # ``worse`` people have a strictly worse value than ``value``
            if 5 * worse >= s * n:
                found = value
                break
            worse += c
        out.append(found if found is not None else (float("inf") if higher_is_better else -1.0))
    return out


def score_sql(column: str, steps: Sequence[float], higher_is_better: bool) -> str:
    """SQL for the 1..5 score of ``column`` given its ``thresholds``."""
    parts = []
    for t in steps:
        if t in (float("inf"), -1.0):
            continue
        parts.append(
            f"({column} >= {float(t)!r})" if higher_is_better else f"({column} <= {float(t)!r})"
        )
    return "toUInt8(1" + "".join(f" + {p}" for p in parts) + ")"


def group_sql(r: str, fm: str) -> str:
    """SQL naming the group of score expressions ``r`` and ``fm`` (see ``group_of``)."""
    return (
        f"multiIf({r} = 5 AND {fm} >= 4, 'Champions', "
        f"{r} IN (3, 4) AND {fm} >= 4, 'Loyal', "
        f"{r} IN (4, 5) AND {fm} IN (2, 3), 'Potential loyalists', "
        f"{r} = 5, 'New', {r} = 4, 'Promising', {r} = 3, 'Need attention', "
        f"{fm} = 5, 'Can\\'t lose', {fm} >= 3, 'At risk', "
        f"{r} = 2, 'Hibernating', 'Lost')"
    )

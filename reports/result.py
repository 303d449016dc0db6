"""What a report gives (``Result``), and how a specification's errors become errors of the
parameters they came from (``checked``): shared by every module of reports."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from analyzer.errors import SpecError
from reports.params import ParamError

T = TypeVar("T")


@dataclass
class Result:
    kind: str  # funnel, funnel_trend, funnel_dropped, paths, painpoints, retention, lifecycle
    title: str
    data: Any  # JSON-ready
    rows: list[dict[str, Any]]
    params: dict[str, list[str]] = field(default_factory=dict)
    # what the parameters name that never occurs in the period (analyzer.unseen), as dicts
    warnings: list[dict[str, Any]] = field(default_factory=list)


def checked(validate: Callable[[], T], names: dict[str, str]) -> T:
    """Run a spec's ``validate``; its errors name the spec's fields, which become the
    parameters they came from (``steps[1].event`` is about ``step``)."""
    try:
        return validate()
    except ParamError:
        raise
    except SpecError as exc:
        raise as_param(exc, names) from None


def as_param(exc: SpecError, names: dict[str, str]) -> SpecError:
    """``exc`` as an error of the parameter its field came from (the field's first part, in
    ``names``), or as it is."""
    base = re.split(r"[.\[]", exc.field, maxsplit=1)[0]
    if not exc.field or base not in names:
        return exc
    detail = exc.message if exc.field == base else f"{exc.field}: {exc.message}"
    return ParamError(names[base], detail)

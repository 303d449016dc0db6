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
    parameters they came from (``steps[1]: ...`` is about ``step``)."""
    try:
        return validate()
    except ParamError:
        raise
    except SpecError as exc:
        field, sep, message = str(exc).partition(":")
        base = re.split(r"[.\[]", field, maxsplit=1)[0]
        if sep and base in names:
            raise ParamError(
                names[base], f"{field}:{message}" if field != base else message.strip()
            ) from None
        raise

"""What a report gives (``Result``), and how a specification's errors become errors of the
parameters they came from (``checked``): shared by every module of reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from analyzer.errors import SpecError
from analyzer.parameters import names, parameter_of
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


def checked(spec: T, renamed: Mapping[str, str] | None = None) -> T:
    """``spec`` validated; its errors name its fields, which become the parameters they came
    from (declared on the fields, analyzer.parameters; ``steps[1].event`` is about ``step``),
    or those ``renamed`` says."""
    try:
        return spec.validate()  # type: ignore[attr-defined]
    except ParamError:
        raise
    except SpecError as exc:
        raise as_param(exc, {**names(type(spec)), **(renamed or {})}) from None


def as_param(exc: SpecError, names: Mapping[str, str]) -> SpecError:
    """``exc`` as an error of the parameter its field came from (the field's longest part in
    ``names``), or as it is."""
    param = parameter_of(exc.field, dict(names)) if exc.field else None
    if param is None:
        return exc
    detail = exc.message if exc.field in names else f"{exc.field}: {exc.message}"
    return ParamError(param, detail)

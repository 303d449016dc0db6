"""The parameters a specification's fields are asked for by, declared on the fields, as the
settings declare their variables (core.settings).

A specification writes ``window: timedelta = asked(WINDOW, default=timedelta(days=7))``; from
those declarations come each report's parameters (reports.parameters: the CLI's options, the
API's reader, the OpenAPI description) and the way back, from a field a specification's error
names to the parameter the user gave (``names``): nobody writes that table by hand.

A parameter's ``kind`` says how its text is read: ``text``, ``integer`` and ``number`` (with
``low``/``high``), ``choice`` (one of ``choices``), ``flag`` (true/false), ``duration``
(analyzer.durations), ``date`` (ISO), ``step`` (``NAME[|FIELD OP VALUE]...``), ``exclusion``
(a step, ``@A-B`` between steps A and B) and ``breakdown``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal[
    "text", "integer", "number", "choice", "flag", "duration", "date", "step", "exclusion"
]


@dataclass(frozen=True)
class Param:
    """One parameter: its name (``snake_case``; the CLI writes ``--kebab-case``)."""

    name: str
    help: str
    kind: Kind = "text"
    default: str | int | float | None = None
    low: int | float | None = None
    high: int | float | None = None
    choices: tuple[str, ...] = ()
    many: bool = False
    required: bool = False
    cli: bool = True  # False: the API's alone (paging a list the CLI prints whole)
    words: tuple[str, ...] = ()  # taken besides the kind's values (since's ``all``)

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


def asked(*params: Param, holds: type | None = None, **field: Any) -> Any:
    """A specification's field, filled from ``params`` (the first is the one its errors are
    about); ``holds``: the specification the field holds, whose fields some of ``params`` fill;
    ``field`` as ``dataclasses.field`` takes it (``default=``)."""
    return dataclasses.field(metadata={"params": params, "holds": holds}, **field)


def declared(spec: type) -> tuple[Param, ...]:
    """The parameters of ``spec``'s fields, in the fields' order, each once."""
    out: dict[str, Param] = {}
    for f in dataclasses.fields(spec):
        for param in f.metadata.get("params", ()):
            out.setdefault(param.name, param)
    return tuple(out.values())


def names(spec: type) -> dict[str, str]:
    """Each asked field of ``spec`` by the parameter it comes from; a field holding another
    specification adds that one's fields as ``field.inner``, where it asks for them."""
    out = {}
    for f in dataclasses.fields(spec):
        params = f.metadata.get("params", ())
        if not params:
            continue
        out[f.name] = params[0].name
        inner = f.metadata.get("holds")
        if inner is not None:
            mine = {p.name for p in params}
            for name, param in names(inner).items():
                if param in mine:
                    out[f"{f.name}.{name}"] = param
    return out


def parameter_of(field: str, names: dict[str, str]) -> str | None:
    """The parameter a specification's error about ``field`` (``steps[1].event``,
    ``funnel.breakdown``) is about: its longest part in ``names``."""
    parts = re.split(r"(?=[.\[])", field)
    for end in range(len(parts), 0, -1):
        found = names.get("".join(parts[:end]))
        if found is not None:
            return found
    return None


# What many specifications ask for in the same words.
STEP = (
    "NAME, set:NAME (a touchpoint set) or NAME|FIELD OP VALUE|... "
    "(OP: =, !=, ~ regular expression, ' in ' A,B)"
)
SINCE = Param(
    "since",
    "first day, an ISO date, or `all` for the day of the first event read (default: 30 days ago)",
    "date",
    words=("all",),
)
UNTIL = Param("until", "the day after the last, an ISO date (default: tomorrow)", "date")
BOTS = Param(
    "include_bots",
    "count bots too (crawlers, headless browsers, scripts; left out by default)",
    "flag",
)
PERIOD = (SINCE, UNTIL, BOTS)
IN_SEGMENT = Param("in_segment", "only the members of this segment (NAME or NAME/GROUP)")
BREAKDOWN = Param(
    "breakdown",
    "a column, properties.KEY, person.TRAIT, or segment:NAME[,NAME...]; up to 3 columns or "
    "properties at once, each given apart (one value per combination)",
    many=True,
)
ATTRIBUTION = Param("attribution", "first_touch, last_touch or step:N", default="first_touch")
SESSION_TIMEOUT = Param(
    "session_timeout", "minutes of inactivity that end a session", "integer", 30, 1, 1440
)
MIN_SAMPLE = Param(
    "min_sample", "people a comparison needs in each group", "integer", 30, 1, 1_000_000
)
PURCHASE_EVENT = Param("purchase_event", "the purchase event", default="Order Completed")
REVENUE_PROPERTY = Param("revenue_property", "the purchase's revenue property", default="revenue")

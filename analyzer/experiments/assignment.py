"""Which variant a person is given: a hash of the experiment's key and the person's id, so the
same id gets the same variant on every page load, in every process, with nothing stored.

The id is the one the person is first seen by (the anonymous id of a website visitor, or the
user id a server knows). Once an exposure is stored, it is the person's: a visitor who
identifies keeps it, and so does the same person on another device (``assign`` is given the
variant already exposed, which wins over the hash).
"""

from __future__ import annotations

import hashlib

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

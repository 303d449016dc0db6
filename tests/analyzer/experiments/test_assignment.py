"""Assignment: the same variant for the same id everywhere, in proportion to the weights, and
the exposed variant kept whatever id the person comes back under."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from scipy.stats import chisquare

from analyzer.experiments.assignment import assign, bucket, hashed_variant, served, targeted
from analyzer.experiments.definition import Experiment, parse_document


def _experiment(*weights: int, key: str = "offer") -> Experiment:
    variants = [{"name": f"v{i}", "weight": w} for i, w in enumerate(weights)]
    (found,) = parse_document(
        {
            "version": 1,
            "experiments": [
                {
                    "key": key,
                    "variants": variants,
                    "metric": {"name": "m", "converts": ["Buy"]},
                    "start": "2026-12-01",
                }
            ],
        }
    )
    return found


def test_assignment_is_uniform_in_proportion_to_the_weights() -> None:
    for weights in [(1, 1), (10, 90), (1, 1, 1), (5, 3, 2)]:
        experiment = _experiment(*weights)
        counts = Counter(hashed_variant(experiment, f"anon-{i}") for i in range(60_000))
        observed = [counts[f"v{i}"] for i in range(len(weights))]
        expected = [60_000 * w / sum(weights) for w in weights]
        assert chisquare(observed, expected).pvalue > 0.001, (weights, observed)


def test_the_same_id_gets_the_same_variant_and_another_key_reshuffles() -> None:
    first, again = _experiment(1, 1), _experiment(1, 1)
    other = _experiment(1, 1, key="offer-2")
    ids = [f"anon-{i}" for i in range(2000)]
    mine = [hashed_variant(first, i) for i in ids]
    assert mine == [hashed_variant(again, i) for i in ids]
    theirs = [hashed_variant(other, i) for i in ids]
    same = sum(a == b for a, b in zip(mine, theirs, strict=True))
    assert 900 < same < 1100  # independent of the first experiment's split
    assert bucket("ab", "c") != bucket("a", "bc")


def test_the_variant_already_exposed_wins_over_the_hash() -> None:
    experiment = _experiment(1, 1)
    user = next(
        u for u in (f"user-{i}" for i in range(100)) if hashed_variant(experiment, u) == "v1"
    )
    assert assign(experiment, user) == "v1"
    assert assign(experiment, user, exposed="v0") == "v0"
    assert assign(experiment, user, exposed="retired") == "v1"


def test_an_experiment_is_served_to_the_segments_it_targets_while_it_runs() -> None:
    (found,) = parse_document(
        {
            "version": 1,
            "experiments": [
                {
                    "key": "offer",
                    "segments": ["vip", "rfm"],
                    "variants": [{"name": "a"}, {"name": "b", "content": {"x": 1}}],
                    "metric": {"name": "m", "converts": ["Buy"]},
                    "start": "2026-01-01",
                    "end": "2026-02-01",
                }
            ],
        }
    )
    during, after = datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    assert targeted(found, ["rfm/Champions", "vip"]) == "vip"  # the experiment's order
    assert targeted(found, ["rfm/Champions"]) == "rfm"  # a family holds its groups
    assert targeted(found, ["rfmx"]) is None
    given = served([found], "anon-1", ["vip"], during)
    variant = hashed_variant(found, "anon-1")
    content = {"x": 1} if variant == "b" else {}
    assert given == {"offer": {"variant": variant, "segment": "vip", "content": content}}
    assert served([found], "anon-1", ["new"], during) == {}
    assert served([found], "anon-1", ["vip"], after) == {}
    kept = served([found], "anon-1", ["vip"], during, exposed={"offer": "a"})
    assert kept["offer"]["variant"] == "a"

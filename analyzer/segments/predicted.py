"""Predicted segments: behavioural clusters and propensity scores, fitted with scikit-learn on a
sample and applied to everyone in ClickHouse.

Features (per person, as of a moment): the counts and days of ``MODEL_FEATURES``; counts and
revenue enter as log(1 + x), every feature is standardised with the sample's mean and spread.
A fitted model is a handful of numbers, so assigning a cluster or a score to millions of people
is one SQL expression, not millions of rows through Python.

* Clusters: k-means (or a Gaussian mixture with diagonal covariances) for each k in the range;
  k is chosen by the best silhouette score on up to 4,000 sampled people (k-means) or the
  lowest BIC (mixture). Clusters are numbered by size, each described by the features that set
  it apart (mean in standard deviations from everyone's).
* Propensity: logistic regression. Training rows are features as of ``horizon`` days ago and
  what happened since (purchase: bought; churn: no activity); a quarter of the people is held
  out and the model's AUC, Brier score and top-decile lift on them are reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

MODEL_FEATURES = (
    "events",
    "page_views",
    "active_days",
    "purchases",
    "revenue",
    "last_seen_days",
    "first_seen_days",
)
LOGGED = {"events", "page_views", "active_days", "purchases", "revenue"}
SILHOUETTE_SAMPLE = 4_000
# Counts are discrete: without a floor on the variances a mixture "finds" a cluster per value.
REG_COVAR = 0.3


class ModelError(ValueError):
    """A model cannot be fitted on this data; the message says why."""


@dataclass
class Scaler:
    mean: list[float]
    scale: list[float]

    @classmethod
    def fit(cls, frame: pd.DataFrame) -> Scaler:
        x = transform(frame)
        std = x.std(axis=0)
        return cls([float(m) for m in x.mean(axis=0)], [float(s) if s > 0 else 1.0 for s in std])

    def apply(self, frame: pd.DataFrame) -> np.ndarray:
        return (transform(frame) - np.array(self.mean)) / np.array(self.scale)

    def sql(self, columns: dict[str, str]) -> list[str]:
        """SQL for each standardised feature, given SQL for the raw features."""
        out = []
        for i, name in enumerate(MODEL_FEATURES):
            raw = f"toFloat64({columns[name]})"
            value = f"log(1 + greatest({raw}, 0.))" if name in LOGGED else raw
            out.append(f"(({value} - {self.mean[i]!r}) / {self.scale[i]!r})")
        return out


def transform(frame: pd.DataFrame) -> np.ndarray:
    cols = []
    for name in MODEL_FEATURES:
        v = frame[name].astype(float).to_numpy()
        cols.append(np.log1p(np.maximum(v, 0)) if name in LOGGED else v)
    return np.column_stack(cols)


@dataclass
class ClusterModel:
    method: str
    scaler: Scaler
    centers: list[list[float]]  # standardised, by cluster number - 1
    variances: list[list[float]] = field(default_factory=list)  # gmm only
    weights: list[float] = field(default_factory=list)  # gmm only
    criterion: dict[int, float] = field(default_factory=dict)  # k -> silhouette or BIC
    sizes: list[int] = field(default_factory=list)  # in the sample
    descriptions: list[str] = field(default_factory=list)

    @property
    def k(self) -> int:
        return len(self.centers)

    def sql(self, columns: dict[str, str]) -> str:
        """SQL for the cluster number (1..k) of a person."""
        z = self.scaler.sql(columns)
        scores = []
        for c in range(self.k):
            if self.method == "kmeans":  # lowest distance: highest negative distance
                terms = [f"pow({z[i]} - {self.centers[c][i]!r}, 2)" for i in range(len(z))]
                scores.append("-(" + " + ".join(terms) + ")")
            else:
                const = math.log(self.weights[c]) - 0.5 * sum(
                    math.log(2 * math.pi * v) for v in self.variances[c]
                )
                terms = [
                    f"pow({z[i]} - {self.centers[c][i]!r}, 2) / {self.variances[c][i]!r}"
                    for i in range(len(z))
                ]
                scores.append(f"({const!r} - 0.5 * (" + " + ".join(terms) + "))")
        array = "[" + ", ".join(scores) + "]"
        return f"indexOf({array}, arrayReduce('max', {array}))"

    def details(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "k": self.k,
            "criterion": "silhouette (higher is better)"
            if self.method == "kmeans"
            else "BIC (lower is better)",
            "scores": {str(k): round(v, 4) for k, v in self.criterion.items()},
            "clusters": [
                {
                    "cluster": i + 1,
                    "sample_size": self.sizes[i],
                    "description": self.descriptions[i],
                }
                for i in range(self.k)
            ],
        }


def describe(center: np.ndarray, means: dict[str, float]) -> str:
    """What sets a cluster apart: its features furthest from everyone's, in standard deviations."""
    order = np.argsort(-np.abs(center))
    parts = []
    for i in order[:3]:
        if abs(center[i]) < 0.25:
            break
        name = MODEL_FEATURES[i]
        parts.append(
            f"{name} {'high' if center[i] > 0 else 'low'} ({center[i]:+.1f} sd, mean {means[name]:,.1f})"
        )
    return "; ".join(parts) or "close to everyone's averages"


def fit_clusters(
    frame: pd.DataFrame, method: str, k_min: int, k_max: int, seed: int
) -> ClusterModel:
    """The best model for k in [k_min, k_max] on ``frame`` (one row per sampled person)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import pairwise_distances, silhouette_score
    from sklearn.mixture import GaussianMixture

    if len(frame) < max(10, 2 * k_max):
        raise ModelError(
            f"clusters: {len(frame)} people are too few to find up to {k_max} clusters"
        )
    scaler = Scaler.fit(frame)
    x = scaler.apply(frame)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(x), size=min(SILHOUETTE_SAMPLE, len(x)), replace=False)
    distances = pairwise_distances(x[pick]) if method == "kmeans" else None  # once for every k
    best: tuple[float, Any] | None = None
    criterion: dict[int, float] = {}
    for k in range(k_min, k_max + 1):
        if method == "kmeans":
            model: Any = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(x)
            labels = model.labels_
            if len(set(labels[pick])) < 2:
                continue
            score = float(silhouette_score(distances, labels[pick], metric="precomputed"))
            key = -score
        else:
            model = GaussianMixture(
                k, covariance_type="diag", reg_covar=REG_COVAR, random_state=seed, n_init=2
            ).fit(x)
            score = float(model.bic(x))
            key = score
        criterion[k] = score
        if best is None or key < best[0]:
            best = (key, model)
    if best is None:
        raise ModelError("clusters: the people do not split into groups (all alike)")
    model = best[1]
    if method == "kmeans":
        centers, labels = model.cluster_centers_, model.labels_
        variances: list[list[float]] = []
        weights: list[float] = []
    else:
        centers, labels = model.means_, model.predict(x)
        variances, weights = model.covariances_.tolist(), model.weights_.tolist()
    sizes = np.bincount(labels, minlength=len(centers))
    order = np.argsort(-sizes, kind="stable")  # cluster 1 is the largest
    return ClusterModel(
        method=method,
        scaler=scaler,
        centers=[centers[i].tolist() for i in order],
        variances=[variances[i] for i in order] if variances else [],
        weights=[weights[i] for i in order] if weights else [],
        criterion=criterion,
        sizes=[int(sizes[i]) for i in order],
        descriptions=[
            describe(
                centers[i],
                {n: float(frame[n][labels == i].astype(float).mean()) for n in MODEL_FEATURES},
            )
            for i in order
        ],
    )


@dataclass
class PropensityModel:
    target: str
    scaler: Scaler
    intercept: float
    coefficients: list[float]
    quality: dict[str, Any]

    def sql(self, columns: dict[str, str]) -> str:
        """SQL for the probability (0..1) of a person."""
        z = self.scaler.sql(columns)
        linear = " + ".join(f"{c!r} * {z[i]}" for i, c in enumerate(self.coefficients))
        return f"1 / (1 + exp(-({self.intercept!r} + {linear})))"

    def details(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "model": "logistic regression",
            "features": list(MODEL_FEATURES),
            "coefficients": {
                n: round(c, 4) for n, c in zip(MODEL_FEATURES, self.coefficients, strict=True)
            },
            "held_out": self.quality,
        }


def fit_propensity(
    frame: pd.DataFrame, labels: np.ndarray, target: str, seed: int
) -> PropensityModel:
    """Logistic regression on three quarters of the people; quality on the rest."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, roc_auc_score

    positives = int(labels.sum())
    if len(frame) < 40 or positives < 5 or len(frame) - positives < 5:
        raise ModelError(
            f"propensity: {len(frame)} people with {positives} positive and "
            f"{len(frame) - positives} negative outcomes are too few to train and test on"
        )
    scaler = Scaler.fit(frame)
    x = scaler.apply(frame)
    rng = np.random.default_rng(seed)
    test = rng.random(len(x)) < 0.25
    if labels[test].min() == labels[test].max() or labels[~test].min() == labels[~test].max():
        raise ModelError("propensity: the held-out or training people have only one outcome")
    model = LogisticRegression(max_iter=1000).fit(x[~test], labels[~test])
    p = model.predict_proba(x[test])[:, 1]
    y = labels[test]
    top = p >= np.quantile(p, 0.9)
    base_rate = float(y.mean())
    quality = {
        "trained_on": int((~test).sum()),
        "tested_on": int(test.sum()),
        "base_rate": round(base_rate, 4),
        "auc": round(float(roc_auc_score(y, p)), 4),
        "brier": round(float(brier_score_loss(y, p)), 4),
        "top_decile_rate": round(float(y[top].mean()), 4),
        "top_decile_lift": round(float(y[top].mean()) / base_rate, 2) if base_rate else None,
    }
    return PropensityModel(
        target=target,
        scaler=scaler,
        intercept=float(model.intercept_[0]),
        coefficients=[float(c) for c in model.coef_[0]],
        quality=quality,
    )

"""The shared predictor: a part's failure probability from its process parameters.

Logistic regression on the standardised parameters and their squares (failures grow
on both sides of nominal), nine weights in all: small enough to train in milliseconds
on each party's machine and to read by hand. The weights travel as two NumPy arrays
(``coef`` and ``intercept``), which is all Flower sees of a party.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qualitas.federated._data import PARAMETERS, standardise

N_FEATURES = 2 * len(PARAMETERS)


def features(x: np.ndarray) -> np.ndarray:
    z = standardise(np.asarray(x, dtype=np.float64))
    return np.concatenate([z, z**2], axis=1)


def initial_parameters() -> list[np.ndarray]:
    return [np.zeros(N_FEATURES), np.zeros(1)]


def predict_proba(params: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    logit = features(x) @ params[0] + params[1][0]
    return 1.0 / (1.0 + np.exp(-np.clip(logit, -30, 30)))


def train(
    params: list[np.ndarray], x: np.ndarray, y: np.ndarray, *, epochs: int = 50, lr: float = 0.3, l2: float = 1e-3
) -> list[np.ndarray]:
    """Full-batch gradient descent on the log loss from ``params`` (one party's local step)."""
    coef, intercept = params[0].astype(np.float64).copy(), params[1].astype(np.float64).copy()
    f = features(x)
    for _ in range(epochs):
        p = 1.0 / (1.0 + np.exp(-np.clip(f @ coef + intercept[0], -30, 30)))
        g = p - y
        coef -= lr * (f.T @ g / len(y) + l2 * coef)
        intercept -= lr * np.array([g.mean()])
    return [coef, intercept]


@dataclass(frozen=True)
class Scores:
    log_loss: float
    auc: float
    accuracy: float
    n: int


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties)."""
    y = np.asarray(y)
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    sorted_scores = score[order]
    i = 0
    while i < len(score):
        j = i
        while j + 1 < len(score) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def evaluate(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> Scores:
    p = np.clip(predict_proba(params, x), 1e-9, 1 - 1e-9)
    loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return Scores(loss, roc_auc(y, p), float(np.mean((p > 0.5) == y)), len(y))

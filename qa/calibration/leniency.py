"""Leniency-adjusted scores: how an agent would score if an average reviewer had scored every review.

Pure: plain rows in, plain figures out (no web or database imports).

Model: score = intercept + agent effect + reviewer effect + noise, fitted by ridge regression
(scikit-learn ``Ridge``) on a sparse one-hot design of agent and reviewer. Decisions:
- Ridge, not plain least squares: with few reviews an effect is shrunk towards zero instead of
  swallowing noise, and the design (one-hot agents plus one-hot reviewers, collinear through the
  intercept) stays solvable without dropping a reference level. ``alpha`` is the shrinkage strength
  in review units: an agent or reviewer with n reviews keeps roughly n / (n + alpha) of their raw gap.
- Reviewer effects are centred on the **review-weighted** mean (the sum over all reviews of the
  reviewer effects is zero), and that mean is moved into the agents' adjusted scores. So an effect
  reads "points above (+ lenient) or below (- strict) the average review", and the adjustment moves
  scores between agents without shifting the overall mean of the reviews.
- adjusted = intercept + agent effect + the weighted mean of the reviewer effects: what the average
  review would have given this agent. Raw means are plain means of the rows, for comparison.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.linear_model import Ridge

__all__ = ["AgentEffect", "Effects", "ReviewerEffect", "fit_effects"]


@dataclass(frozen=True)
class AgentEffect:
    """One agent: number of reviews, plain mean score and the leniency-adjusted score."""

    n: int
    raw_mean: float
    adjusted: float


@dataclass(frozen=True)
class ReviewerEffect:
    """One reviewer: number of reviews and the estimated effect in points (+ lenient, - strict)."""

    n: int
    effect: float


@dataclass(frozen=True)
class Effects:
    """The fitted model: intercept (None without rows), agents and reviewers by id."""

    intercept: float | None
    agents: dict[int, AgentEffect]
    reviewers: dict[int, ReviewerEffect]


def _positions(ids: list[int]) -> tuple[list[int], dict[int, int]]:
    distinct = sorted(set(ids))
    return distinct, {key: i for i, key in enumerate(distinct)}


def fit_effects(rows: Iterable[tuple[int, int, float]], *, alpha: float = 1.0) -> Effects:
    """Fit agent and reviewer effects on (agent_id, reviewer_id, score) rows by ridge regression."""
    if alpha <= 0:
        raise ValueError("alpha must be > 0")
    data = list(rows)
    if not data:
        return Effects(intercept=None, agents={}, reviewers={})
    agent_col = [a for a, _, _ in data]
    reviewer_col = [r for _, r, _ in data]
    y = np.array([s for _, _, s in data], dtype=np.float64)
    agents, a_pos = _positions(agent_col)
    reviewers, r_pos = _positions(reviewer_col)
    n = len(data)
    cols = np.concatenate(
        [[a_pos[a] for a in agent_col], [len(agents) + r_pos[r] for r in reviewer_col]]
    ).astype(np.int64)
    design = sparse.csr_matrix(
        (np.ones(2 * n), (np.concatenate([np.arange(n), np.arange(n)]), cols)),
        shape=(n, len(agents) + len(reviewers)),
    )
    model = Ridge(alpha=alpha, fit_intercept=True, solver="sparse_cg", tol=1e-10, max_iter=10_000)
    model.fit(design, y)
    coef = np.asarray(model.coef_, dtype=np.float64)
    agent_coef, reviewer_coef = coef[: len(agents)], coef[len(agents) :]
    agent_n = np.bincount([a_pos[a] for a in agent_col], minlength=len(agents))
    reviewer_n = np.bincount([r_pos[r] for r in reviewer_col], minlength=len(reviewers))
    centre = float(reviewer_n @ reviewer_coef) / n
    sums = np.bincount([a_pos[a] for a in agent_col], weights=y, minlength=len(agents))
    intercept = float(model.intercept_)
    return Effects(
        intercept=intercept,
        agents={
            agent: AgentEffect(
                n=int(agent_n[i]),
                raw_mean=float(sums[i] / agent_n[i]),
                adjusted=intercept + float(agent_coef[i]) + centre,
            )
            for i, agent in enumerate(agents)
        },
        reviewers={
            reviewer: ReviewerEffect(n=int(reviewer_n[i]), effect=float(reviewer_coef[i]) - centre)
            for i, reviewer in enumerate(reviewers)
        },
    )

"""Review scoring, exactly as PRODUCT.md §3 defines it.

Review score = 100 × Σ wᵢ·sᵢ / Σ wᵢ over the criteria rated with an option; N/A and unrated
criteria are left out of both sums, and with nothing rated the score is empty (None), never 0.
A critical criterion rated below its ``fail_below`` fails the whole review: score 0, not passed.
Scores keep full precision; only ``format_score`` rounds, for display.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from scorecards.definition import CriterionDef, ScorecardDef
from scorecards.scales import Option

__all__ = ["ScoreResult", "ScoringError", "format_score", "missing_ratings", "score_review"]

# Sums of float option scores such as 1/3 can land a hair under a threshold they meet exactly.
_PASS_TOLERANCE = 1e-9
_EMPTY_SCORE = "—"


@dataclass(frozen=True)
class ScoreResult:
    """The outcome of scoring one review; criterion scores are option scores × 100 (None for N/A/unrated)."""

    score: float | None
    failed_critical: bool
    passed: bool | None
    section_scores: dict[str | None, float | None]
    criterion_scores: dict[str, float | None]


class ScoringError(ValueError):
    """A rating does not fit the scorecard; ``field`` is the criterion key it concerns."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def _resolve(defn: ScorecardDef, ratings: Mapping[str, str | None]) -> dict[str, Option | None]:
    """Map each answered criterion key to its chosen option (None for N/A), checking every rating."""
    by_key = {criterion.key: criterion for criterion in defn.criteria}
    chosen: dict[str, Option | None] = {}
    for key, label in ratings.items():
        criterion = by_key.get(key)
        if criterion is None:
            raise ScoringError(key, "unknown criterion")
        if label is None:
            if not criterion.allow_na:
                raise ScoringError(key, "N/A is not allowed for this criterion")
            chosen[key] = None
            continue
        try:
            chosen[key] = criterion.option(label)
        except KeyError:
            labels = ", ".join(option.label for option in criterion.options)
            raise ScoringError(key, f"unknown option {label!r}; expected one of {labels}") from None
    return chosen


def _weighted_score(rated: Iterable[tuple[CriterionDef, Option]]) -> float | None:
    """100 × Σ w·s / Σ w over the rated pairs, or None when there are none."""
    pairs = list(rated)
    if not pairs:
        return None
    # fsum rounds exactly once, so weighted <= total; dividing before scaling keeps the ratio <= 1,
    # which makes all-top ratings exactly 100 and the score never exceed it.
    weighted = math.fsum(criterion.weight * option.score for criterion, option in pairs)
    total = math.fsum(criterion.weight for criterion, _ in pairs)
    return 100.0 * (weighted / total)


def _fails_critical(criterion: CriterionDef, option: Option) -> bool:
    return criterion.critical and option.score < criterion.fail_below


def _passes(score: float, failed_critical: bool, threshold: float) -> bool:
    return not failed_critical and score >= threshold - _PASS_TOLERANCE


def score_review(defn: ScorecardDef, ratings: Mapping[str, str | None]) -> ScoreResult:
    """Score a review whose ratings map criterion key → option label (None for N/A; absent = unrated).

    Section scores use the same formula restricted to each section and are deliberately *not*
    zeroed by a critical failure: like criterion averages, they show how the agent did in that
    part of the conversation on its own merit, while the review score carries the failure.
    Raises ScoringError for an unknown criterion or option, or N/A where it is not allowed.
    """
    chosen = _resolve(defn, ratings)
    rated = [(c, option) for c in defn.criteria if (option := chosen.get(c.key)) is not None]
    failed_critical = any(_fails_critical(criterion, option) for criterion, option in rated)
    score = 0.0 if failed_critical else _weighted_score(rated)
    passed = None if score is None else _passes(score, failed_critical, defn.pass_threshold)
    sections = {
        section: _weighted_score((c, option) for c, option in rated if c.section == section)
        for section in defn.sections
    }
    criterion_scores = {
        c.key: None if (option := chosen.get(c.key)) is None else option.score * 100 for c in defn.criteria
    }
    return ScoreResult(
        score=score,
        failed_critical=failed_critical,
        passed=passed,
        section_scores=sections,
        criterion_scores=criterion_scores,
    )


def missing_ratings(defn: ScorecardDef, ratings: Mapping[str, str | None]) -> list[str]:
    """Return the keys of criteria not yet answered (absent from ``ratings``), in scorecard order."""
    return [criterion.key for criterion in defn.criteria if criterion.key not in ratings]


def format_score(score: float | None) -> str:
    """Show a score with one decimal, halves rounded up ("87.5"), or "—" when it is empty."""
    if score is None:
        return _EMPTY_SCORE
    if not math.isfinite(score):
        raise ValueError(f"not a finite score: {score!r}")
    # Decimal(repr) rounds the number as people read it (87.25 → 87.3), not its binary approximation.
    return str(Decimal(repr(score)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))

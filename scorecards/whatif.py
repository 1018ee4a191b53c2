"""What-if rescoring: how reviews already scored would score under another (draft) definition.

Ratings follow their criterion by key. For each criterion of the draft:
- not rated in the review (or new in the draft): unrated, left out of the score like N/A;
- rated with a label the draft still has: that label, so the draft's score for it counts;
- rated with a label the draft no longer has (a scale changed): the draft option whose score is nearest
  the score the rating had, ties going to the lower option (a rating is never made more generous by a tie);
  counted in ``remapped``;
- rated N/A: N/A when the draft allows it, else left out (counted in ``dropped``).
Criteria removed in the draft simply drop out. Scoring itself is `scoring.score_review`, unchanged.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from scorecards.definition import CriterionDef, ScorecardDef
from scorecards.scoring import score_review

__all__ = ["AgentWhatIf", "ReviewRatings", "ReviewWhatIf", "WhatIf", "map_ratings", "rescore"]


@dataclass(frozen=True)
class ReviewRatings:
    """A scored review: stored score and pass; ratings key → (option label, None for N/A; option score)."""

    review_id: int
    agent_id: int | None
    score: float | None
    passed: bool | None
    ratings: Mapping[str, tuple[str | None, float | None]]


@dataclass(frozen=True)
class ReviewWhatIf:
    """One review's score and pass now and under the draft."""

    review_id: int
    agent_id: int | None
    score_now: float | None
    score_draft: float | None
    passed_now: bool | None
    passed_draft: bool | None


@dataclass(frozen=True)
class AgentWhatIf:
    """One agent's mean review score now and under the draft (None: no scored review)."""

    agent_id: int | None
    n_reviews: int
    mean_now: float | None
    mean_draft: float | None

    @property
    def change(self) -> float | None:
        """Draft mean minus current mean."""
        if self.mean_now is None or self.mean_draft is None:
            return None
        return self.mean_draft - self.mean_now


@dataclass(frozen=True)
class WhatIf:
    """The totals of a what-if over a set of reviews."""

    reviews: tuple[ReviewWhatIf, ...]
    agents: tuple[AgentWhatIf, ...]
    mean_now: float | None
    mean_draft: float | None
    pass_rate_now: float | None
    pass_rate_draft: float | None
    became_pass: int
    became_fail: int
    remapped: int
    dropped: int

    @property
    def n_reviews(self) -> int:
        """How many reviews were rescored."""
        return len(self.reviews)

    @property
    def changed_outcome(self) -> int:
        """How many reviews change between pass and fail."""
        return self.became_pass + self.became_fail


def _nearest_label(criterion: CriterionDef, score: float | None) -> str | None:
    if score is None:
        return None
    best = min(criterion.options, key=lambda option: (abs(option.score - score), option.score))
    return best.label


def map_ratings(
    draft: ScorecardDef, ratings: Mapping[str, tuple[str | None, float | None]]
) -> tuple[dict[str, str | None], int, int]:
    """The ratings as the draft reads them, with how many were remapped and how many dropped."""
    mapped: dict[str, str | None] = {}
    remapped = dropped = 0
    for criterion in draft.criteria:
        if criterion.key not in ratings:
            continue
        label, score = ratings[criterion.key]
        if label is None:
            if criterion.allow_na:
                mapped[criterion.key] = None
            else:
                dropped += 1
        elif any(option.label == label for option in criterion.options):
            mapped[criterion.key] = label
        elif (nearest := _nearest_label(criterion, score)) is not None:
            mapped[criterion.key] = nearest
            remapped += 1
        else:
            dropped += 1
    return mapped, remapped, dropped


def _mean(values: Iterable[float | None]) -> float | None:
    """The mean of the values present (of passes, as bools: the pass rate); None when there are none."""
    present = [value for value in values if value is not None]
    return math.fsum(present) / len(present) if present else None


def _agents(rows: Sequence[ReviewWhatIf]) -> tuple[AgentWhatIf, ...]:
    by_agent: dict[int | None, list[ReviewWhatIf]] = defaultdict(list)
    for row in rows:
        by_agent[row.agent_id].append(row)
    return tuple(
        AgentWhatIf(agent, len(items), _mean(r.score_now for r in items), _mean(r.score_draft for r in items))
        for agent, items in by_agent.items()
    )


def rescore(draft: ScorecardDef, reviews: Iterable[ReviewRatings]) -> WhatIf:
    """Score every review under the draft and compare with its stored score and pass."""
    rows: list[ReviewWhatIf] = []
    remapped = dropped = 0
    for review in reviews:
        mapped, n_remapped, n_dropped = map_ratings(draft, review.ratings)
        remapped, dropped = remapped + n_remapped, dropped + n_dropped
        result = score_review(draft, mapped)
        rows.append(
            ReviewWhatIf(
                review.review_id, review.agent_id, review.score, result.score, review.passed, result.passed
            )
        )
    return WhatIf(
        reviews=tuple(rows),
        agents=_agents(rows),
        mean_now=_mean(r.score_now for r in rows),
        mean_draft=_mean(r.score_draft for r in rows),
        pass_rate_now=_mean(r.passed_now for r in rows),
        pass_rate_draft=_mean(r.passed_draft for r in rows),
        became_pass=sum(1 for r in rows if r.passed_now is False and r.passed_draft is True),
        became_fail=sum(1 for r in rows if r.passed_now is True and r.passed_draft is False),
        remapped=remapped,
        dropped=dropped,
    )

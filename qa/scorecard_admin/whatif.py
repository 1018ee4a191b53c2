"""What-if rescoring of a scorecard's recent reviews under its draft (or any definition), before publishing.

The reviews are the submitted `manual` reviews of any version of the scorecard, submitted in the period
(whole UTC days, default the last 30 days), that the actor may see (`qa.auth.scope.review_filter`): the
same reviews reports count. "Now" is each review's stored score and pass (what reports show, corrections
included). Their ratings are read in one query and rescored by the pure `scorecards.whatif` (its docstring
says how ratings map onto changed scales).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, col, select

from qa.auth import scope
from qa.errors import InvalidInput
from qa.models import Agent, Rating, Review, ReviewKind, ReviewStatus, ScorecardVersion, User
from qa.scorecard_admin import editor
from qa.scorecard_admin import service as scorecard_service
from scorecards import ScorecardDef
from scorecards.whatif import AgentWhatIf, ReviewRatings, WhatIf, rescore

DEFAULT_DAYS = 30
MAX_DAYS = 3660


@dataclass(frozen=True)
class WhatIfReport:
    """A what-if over a period, with agent names for display."""

    start: date
    end: date
    result: WhatIf
    agent_names: dict[int, str]

    def agents(self) -> list[tuple[str, AgentWhatIf]]:
        """Agents by name, with their figures."""
        named = [
            (self.agent_names.get(a.agent_id, "—") if a.agent_id else "—", a) for a in self.result.agents
        ]
        return sorted(named, key=lambda pair: pair[0].lower())


def default_period(today: date | None = None) -> tuple[date, date]:
    """The last 30 days, today included."""
    end = today or datetime.now(UTC).date()
    return end - timedelta(days=DEFAULT_DAYS - 1), end


def _check_period(start: date, end: date) -> None:
    if start > end:
        raise InvalidInput("The start date must not be after the end date.", field="start")
    if (end - start).days >= MAX_DAYS:
        raise InvalidInput(f"The period may be at most {MAX_DAYS} days.", field="start")


def _review_ratings(
    session: Session, actor: User, scorecard_id: int, start: date, end: date
) -> list[ReviewRatings]:
    """The period's reviews with their ratings, read in one query."""
    query = (
        select(  # type: ignore[call-overload, misc]
            Review.id,
            Review.agent_id,
            Review.score,
            Review.passed,
            Rating.criterion_key,
            Rating.option_label,
            Rating.option_score,
        )
        .join(ScorecardVersion, col(ScorecardVersion.id) == col(Review.version_id))
        .outerjoin(Rating, col(Rating.review_id) == col(Review.id))
        .where(
            ScorecardVersion.scorecard_id == scorecard_id,
            Review.kind == ReviewKind.manual,
            Review.status == ReviewStatus.submitted,
            col(Review.submitted_at) >= datetime.combine(start, time.min, UTC),
            col(Review.submitted_at) < datetime.combine(end + timedelta(days=1), time.min, UTC),
            scope.review_filter(session, actor),
        )
        .order_by(col(Review.id))
    )
    reviews: dict[
        int, tuple[int | None, float | None, bool | None, dict[str, tuple[str | None, float | None]]]
    ] = {}
    for review_id, agent_id, score, passed, key, label, option_score in session.exec(query):
        entry = reviews.setdefault(review_id, (agent_id, score, passed, {}))
        if key is not None:
            entry[3][key] = (label, option_score)
    return [
        ReviewRatings(rid, agent, score, passed, ratings)
        for rid, (agent, score, passed, ratings) in reviews.items()
    ]


def what_if(
    session: Session,
    *,
    actor: User,
    scorecard_id: int,
    definition: ScorecardDef | None = None,
    start: date | None = None,
    end: date | None = None,
) -> WhatIfReport:
    """How the period's reviews would score under `definition` (default: the scorecard's draft)."""
    scorecard_service.get_scorecard(session, scorecard_id)
    if definition is None:
        draft = editor.get_draft(session, scorecard_id)
        if draft is None:
            raise InvalidInput(
                "The scorecard has no draft; send a definition or edit the scorecard first.",
                field="definition",
            )
        definition = editor.version_definition(session, draft)
    default_start, default_end = default_period(end)
    start, end = start or default_start, end or default_end
    _check_period(start, end)
    result = rescore(definition, _review_ratings(session, actor, scorecard_id, start, end))
    agent_ids = sorted({a.agent_id for a in result.agents if a.agent_id is not None})
    query = select(Agent.id, Agent.name).where(col(Agent.id).in_(agent_ids))
    rows = session.exec(query).all() if agent_ids else []
    return WhatIfReport(start, end, result, {int(k): name for k, name in rows if k is not None})

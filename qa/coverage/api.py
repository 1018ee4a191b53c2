"""/api/v1/coverage: the coverage report as JSON (same parameters and role rules as the page)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from qa.auth.deps import SessionDep, require_api_role
from qa.coverage import service as coverage_service
from qa.models import Role, User

router = APIRouter(tags=["coverage"])

ApiReviewer = Annotated[User, Depends(require_api_role(Role.reviewer, Role.manager))]


class CoverageRowOut(BaseModel):
    """One agent in one period (or the period's total, with agent_id null)."""

    agent_id: int | None
    agent: str
    handled: int = Field(description="Conversations of the agent created in the period.")
    reviewed: int = Field(description="Of those, conversations with a submitted manual review.")
    coverage: float | None = Field(description="reviewed / handled, in percent.")
    reviews: int = Field(description="Submitted manual reviews of those conversations.")
    scored: int = Field(description="Reviewed conversations with a score: the n of the interval.")
    score: float | None = Field(description="Mean score of the reviewed conversations (0–100).")
    sd: float | None = Field(description="Sample standard deviation of those scores.")
    margin: float | None = Field(description="Half-width of the t-interval, finite population corrected.")
    interval: tuple[float, float] | None = Field(description="score ± margin, clipped to 0–100.")
    reviews_needed: int | None = Field(description="More reviewed conversations for a margin ≤ target; "
                                                   "null when fewer than 2 are scored.")


class CoveragePeriodOut(BaseModel):
    """One week, month or the whole range."""

    start: date
    end: date
    label: str
    agents: list[CoverageRowOut]
    total: CoverageRowOut


class CoverageOut(BaseModel):
    """The report, newest period first."""

    start: date
    end: date
    period: coverage_service.Period
    team_id: int | None
    team: str | None
    confidence: float
    target: float
    conversations_without_agent: int
    periods: list[CoveragePeriodOut]



@router.get("/coverage", response_model=CoverageOut)
def get_coverage(
    user: ApiReviewer,
    session: SessionDep,
    start: Annotated[str, Query(max_length=40, description="First day, YYYY-MM-DD (UTC).")] = "",
    end: Annotated[str, Query(max_length=40, description="Last day, included.")] = "",
    team: Annotated[str, Query(max_length=40, description="A team id; empty for every team you see.")] = "",
    period: Annotated[str, Query(max_length=40, description="week, month or all.")] = "",
) -> CoverageOut:
    """Per agent and period: handled, reviewed, coverage, score ± margin of error, reviews needed.

    Without dates: the last four complete weeks. Agents may not call it (403).
    """
    query = coverage_service.parse_query({"start": start, "end": end, "team": team, "period": period})
    report = coverage_service.coverage(session, actor=user, start=query.start, end=query.end,
                                       team_id=query.team_id, period=query.period)
    return CoverageOut(
        start=query.start, end=query.end, period=query.period, team_id=query.team_id, team=report.team_name,
        confidence=report.confidence, target=report.target, conversations_without_agent=report.without_agent,
        periods=[CoveragePeriodOut(start=p.start, end=p.end, label=p.label, agents=[_row(r) for r in p.rows],
                                   total=_row(p.total)) for p in report.periods],
    )


def _row(row: coverage_service.CoverageRow) -> CoverageRowOut:
    return CoverageRowOut(
        agent_id=row.agent_id, agent=row.name, handled=row.handled, reviewed=row.reviewed,
        coverage=row.coverage, reviews=row.reviews, scored=row.scored, score=row.score, sd=row.sd,
        margin=row.margin, interval=row.interval, reviews_needed=row.needed,
    )

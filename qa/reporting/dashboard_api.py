"""/api/v1/dashboard: every dashboard panel as JSON, with the page's filters and role rules.

One endpoint answers all panels (they share the filters, and a client building a dashboard wants
them together); `agents` holds every agent matching the search and narrowing, sorted, not paged.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from qa.auth.deps import SessionDep, require_api_role
from qa.models import Role, User
from qa.reporting import dashboard as dash
from qa.reporting.stats import Quality

router = APIRouter(tags=["dashboard"])

ApiReviewer = Annotated[User, Depends(require_api_role(Role.reviewer, Role.manager))]


class FiltersOut(BaseModel):
    """The filters the figures are for (dates resolved from the preset)."""

    range: str = Field(description="7d, 30d, 90d, month, quarter or custom.")
    start: date
    end: date = Field(description="Last day, included (UTC).")
    previous_start: date = Field(description="First day of the period of equal length before, for `change`.")
    previous_end: date
    team: int | None
    channel: str | None
    scorecard: int | None


class QualityOut(BaseModel):
    """Review-level figures of a group of counted reviews."""

    reviews: int
    scored: int = Field(description="Reviews with a score (not every criterion N/A).")
    iqs: float | None = Field(description="Mean review score, 0–100.")
    passed: int
    pass_rate: float | None = Field(description="passed / reviews with a verdict, in percent.")
    critical_fails: int
    avg_seconds: float | None = Field(description="Mean time spent per review.")


class OverallOut(QualityOut):
    """The whole slice, with the previous period's IQS and the change."""

    previous_iqs: float | None
    change: float | None = Field(description="iqs − previous_iqs, in points.")


class TrendWeekOut(BaseModel):
    """One week (Monday to Sunday, clipped to the range) for the organisation and each team."""

    week: date = Field(description="The week's Monday.")
    start: date
    end: date
    all: QualityOut | None = Field(description="All teams; null: no review that week.")
    teams: dict[str, QualityOut] = Field(description="By team id ('none': conversations without a team).")


class TeamOut(BaseModel):
    """One team over the range."""

    team_id: int | None
    team: str
    quality: QualityOut


class AgentOut(BaseModel):
    """One agent over the range."""

    agent_id: int
    agent: str
    team_id: int | None
    team: str
    quality: QualityOut
    previous_iqs: float | None
    change: float | None
    conversations: int = Field(description="The agent's conversations created in the range.")
    reviewed_conversations: int = Field(description="Of those, conversations with a counted review.")
    coverage: float | None = Field(description="reviewed_conversations / conversations, in percent.")


class CriterionColumnOut(BaseModel):
    """A criterion matched by key across scorecard versions."""

    key: str
    name: str


class CellOut(BaseModel):
    """Mean option score × 100 over `n` ratings with an option (N/A left out)."""

    n: int
    mean: float | None


class CriteriaRowOut(BaseModel):
    """A team's or agent's criterion means (id null: all of them)."""

    id: int | None
    name: str
    cells: dict[str, CellOut] = Field(description="By criterion key; keys without ratings are absent.")


class CriteriaOut(BaseModel):
    """The heat map."""

    rows_are: dash.HeatRows
    columns: list[CriterionColumnOut]
    all: CriteriaRowOut
    rows: list[CriteriaRowOut]


class DisputesOut(BaseModel):
    """Disputes against a reviewer's reviews in the slice."""

    raised: int
    lost: int = Field(description="Accepted disputes.")
    rejected: int
    open: int
    rate: float | None = Field(description="Reviews with a dispute / reviews, in percent.")


class ReviewerOut(BaseModel):
    """One reviewer over the range."""

    reviewer_id: int
    reviewer: str
    quality: QualityOut = Field(description="Of the reviews they wrote; iqs = the average score they gave.")
    leniency: float | None = Field(
        description="Weighted mean of (their mean − others' mean) per shared agent; null: not enough overlap."
    )
    overlap_agents: int = Field(description="Agents they scored that someone else scored too.")
    disputes: DisputesOut


class DashboardOut(BaseModel):
    """Every panel of the dashboard."""

    filters: FiltersOut
    overall: OverallOut
    trend: list[TrendWeekOut]
    teams: list[TeamOut]
    agents: list[AgentOut]
    criteria: CriteriaOut
    reviewers: list[ReviewerOut]


def _quality(q: Quality) -> QualityOut:
    return QualityOut(
        reviews=q.reviews,
        scored=q.scored,
        iqs=q.iqs,
        passed=q.passed,
        pass_rate=q.pass_rate,
        critical_fails=q.critical_fails,
        avg_seconds=q.avg_seconds,
    )


@router.get("/dashboard", response_model=DashboardOut)
def get_dashboard(
    user: ApiReviewer,
    session: SessionDep,
    range: Annotated[
        str,
        Query(
            max_length=40,
            description="7d, 30d (default), 90d, month, quarter or custom (with start and end).",
        ),
    ] = "",
    start: Annotated[str, Query(max_length=40, description="First day, YYYY-MM-DD (UTC).")] = "",
    end: Annotated[str, Query(max_length=40, description="Last day, included.")] = "",
    team: Annotated[str, Query(max_length=40, description="A team id (the conversation's team).")] = "",
    channel: Annotated[str, Query(max_length=40, description="chat, email, phone, social or other.")] = "",
    scorecard: Annotated[str, Query(max_length=40, description="A scorecard id (all its versions).")] = "",
    heat: Annotated[
        str,
        Query(
            max_length=40, description="Criteria rows: teams (default) or agents (of `team`, required then)."
        ),
    ] = "",
    sort: Annotated[
        str,
        Query(
            max_length=40,
            description="Agents' order: agent, team, iqs (default), reviews, "
            "change, pass_rate, critical_fails, coverage.",
        ),
    ] = "",
    dir: Annotated[str, Query(max_length=10, description="asc (default) or desc; empty values last.")] = "",
    q: Annotated[str, Query(max_length=100, description="Only agents whose name contains this.")] = "",
    min_reviews: Annotated[str, Query(max_length=20, description="Only agents with this many reviews.")] = "",
    below: Annotated[
        str, Query(max_length=20, description="Only agents whose IQS is below this (0–100).")
    ] = "",
) -> DashboardOut:
    """The dashboard's figures: overall, weekly trend, teams, agents, criteria heat map, reviewers.

    Same rules as the page: managers and reviewers see the teams they are linked to (all when
    none), admins everything, agents get 403. Without dates: the last 30 days ending today (UTC).
    A bad filter is a 422 naming the field; a team or scorecard you can't see is a 404.
    """
    params = {
        "range": range,
        "start": start,
        "end": end,
        "team": team,
        "channel": channel,
        "scorecard": scorecard,
        "heat": heat,
        "sort": sort,
        "dir": dir,
        "q": q,
        "min_reviews": min_reviews,
        "below": below,
    }
    filters = dash.parse_filters(params)
    agent_query = dash.parse_agent_query(params)
    board = dash.dashboard(
        session, actor=user, filters=filters, agent_query=agent_query, heat_rows=dash.parse_heat_rows(params)
    )
    table = dash.agents_table(board.all_agents, agent_query.unpaged())
    return DashboardOut(
        filters=_filters(filters),
        overall=_overall(board.overview),
        trend=_trend(board.overview),
        teams=[
            TeamOut(team_id=t.team_id, team=t.name, quality=_quality(t.total)) for t in board.overview.teams
        ],
        agents=[_agent(r) for r in table.rows],
        criteria=_criteria(board.heat),
        reviewers=[_reviewer(r) for r in board.reviewers],
    )


def _filters(filters: dash.Filters) -> FiltersOut:
    prev = filters.previous()
    return FiltersOut(
        range=filters.preset,
        start=filters.start,
        end=filters.end,
        previous_start=prev.start,
        previous_end=prev.end,
        team=filters.team_id,
        channel=filters.channel,
        scorecard=filters.scorecard_id,
    )


def _overall(view: dash.Overview) -> OverallOut:
    return OverallOut(
        **_quality(view.overall).model_dump(), previous_iqs=view.previous.iqs, change=view.change
    )


def _trend(view: dash.Overview) -> list[TrendWeekOut]:
    weeks = []
    for i, week in enumerate(view.weeks):
        teams = {
            ("none" if t.team_id is None else str(t.team_id)): _quality(q)
            for t in view.teams
            if (q := t.weeks[i]) is not None
        }
        org = view.org.weeks[i]
        weeks.append(
            TrendWeekOut(
                week=week.monday,
                start=week.start,
                end=week.end,
                all=_quality(org) if org is not None else None,
                teams=teams,
            )
        )
    return weeks


def _agent(row: dash.AgentRow) -> AgentOut:
    return AgentOut(
        agent_id=row.agent_id,
        agent=row.name,
        team_id=row.team_id,
        team=row.team,
        quality=_quality(row.quality),
        previous_iqs=row.previous_iqs,
        change=row.change,
        conversations=row.handled,
        reviewed_conversations=row.reviewed,
        coverage=row.coverage,
    )


def _criteria(heat: dash.HeatMap) -> CriteriaOut:
    def row(r: dash.HeatRow) -> CriteriaRowOut:
        return CriteriaRowOut(
            id=r.key, name=r.name, cells={k: CellOut(n=c.n, mean=c.mean) for k, c in r.cells.items()}
        )

    return CriteriaOut(
        rows_are=heat.by,
        columns=[CriterionColumnOut(key=c.key, name=c.name) for c in heat.columns],
        all=row(heat.overall),
        rows=[row(r) for r in heat.rows],
    )


def _reviewer(row: dash.ReviewerRow) -> ReviewerOut:
    d = row.disputes
    return ReviewerOut(
        reviewer_id=row.reviewer_id,
        reviewer=row.name,
        quality=_quality(row.quality),
        leniency=row.leniency.points if row.leniency else None,
        overlap_agents=row.leniency.agents if row.leniency else 0,
        disputes=DisputesOut(
            raised=d.raised, lost=d.accepted, rejected=d.rejected, open=d.open, rate=row.dispute_rate
        ),
    )

"""/api/v1/agents/{id}/report: the agent feedback report as JSON (PRODUCT.md §5), same rules as the page."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from qa.auth.deps import ApiUser, SessionDep
from qa.reporting import agent_report as report_service

router = APIRouter(tags=["reports"])


class AgentOut(BaseModel):
    """The agent the report is about."""

    id: int
    name: str
    team: str | None = Field(description="The agent's team (its name); null without one.")
    team_id: int | None


class CriterionOut(BaseModel):
    """One criterion, matched by key across scorecard versions."""

    criterion: str = Field(description="The criterion key.")
    name: str = Field(description="Its name in the newest scorecard version that has it.")
    mean: float | None = Field(description="Mean rating × 100 (0–100), N/A left out.")
    n: int = Field(description="Ratings with an option.")
    team_mean: float | None = Field(description="The team's mean on the criterion.")
    team_n: int
    call_out: str | None = Field(description="strongest, weakest or null (see the report page).")


class WeekOut(BaseModel):
    """One week (Monday to Sunday, UTC) of the trend; every week of the period is listed."""

    week: date = Field(description="The week's Monday.")
    iqs: float | None = Field(description="Null when the week has no scored review.")
    reviews: int
    team_iqs: float | None
    team_reviews: int | None


class RootCauseOut(BaseModel):
    """How often a root cause was given on a criterion."""

    criterion: str
    name: str
    root_cause: str
    count: int


class CriticalFailOut(BaseModel):
    """A critically failed review and the critical rating that failed it."""

    review_id: int
    submitted_at: str
    criterion: str
    name: str
    option: str | None


class ReportOut(BaseModel):
    """The report of one agent over start..end (inclusive UTC days)."""

    agent: AgentOut
    start: date
    end: date
    iqs: float | None = Field(description="Mean score of the submitted manual reviews (PRODUCT.md §3).")
    reviews: int
    scored: int = Field(description="Reviews with a score (not every criterion N/A).")
    pass_rate: float | None = Field(description="Passed / reviews with a verdict, in percent.")
    passed: int
    change: float | None = Field(description="iqs minus previous_iqs.")
    previous_start: date
    previous_end: date
    previous_iqs: float | None
    team_iqs: float | None = Field(description="The team's IQS over the team's conversations.")
    team_reviews: int | None
    critical_fails: int
    criteria: list[CriterionOut]
    weekly: list[WeekOut]
    root_causes: list[RootCauseOut]
    critical_failures: list[CriticalFailOut]


@router.get("/agents/{agent_id}/report", response_model=ReportOut)
def get_agent_report(
    agent_id: str,
    user: ApiUser,
    session: SessionDep,
    start: Annotated[str, Query(max_length=40, description="First day, YYYY-MM-DD (UTC).")] = "",
    end: Annotated[str, Query(max_length=40, description="Last day, included.")] = "",
    period: Annotated[str, Query(max_length=40, description="A preset instead of dates: "
                                 + ", ".join(report_service.PRESETS))] = "",
) -> ReportOut:
    """IQS, reviews, pass rate, change, team average, per-criterion means, weekly trend, root causes and
    critical fails of one agent. Without dates: the last 30 days. Agents may ask only for themselves
    (404 otherwise); managers and reviewers for agents of their teams."""
    report_service.report_agent(session, user, agent_id)  # 404 before any date message
    chosen = report_service.resolve_period({"start": start, "end": end, "period": period})
    report = report_service.agent_report(session, actor=user, agent_id=agent_id, start=chosen.start,
                                         end=chosen.end, preset=chosen.preset)
    return _out(report)


def _out(report: report_service.AgentReport) -> ReportOut:
    q, team, prev = report.quality, report.team, report.previous_period
    strong, weak = {c.key for c in report.strongest}, {c.key for c in report.weakest}
    return ReportOut(
        agent=AgentOut(id=report.agent.id, name=report.agent.name, team=report.agent.team_name,
                       team_id=report.agent.team_id),
        start=report.period.start, end=report.period.end, iqs=q.iqs, reviews=q.reviews, scored=q.scored,
        pass_rate=q.pass_rate, passed=q.passed, change=report.change, previous_start=prev.start,
        previous_end=prev.end, previous_iqs=report.previous.iqs, team_iqs=report.team_iqs,
        team_reviews=team.reviews if team else None, critical_fails=q.critical_fails,
        criteria=[CriterionOut(criterion=c.key, name=c.name, mean=c.mean, n=c.n, team_mean=c.team_mean,
                               team_n=c.team_n, call_out=_call_out(c.key, strong, weak))
                  for c in report.criteria],
        weekly=[WeekOut(week=w.week, iqs=w.agent.iqs, reviews=w.agent.reviews,
                        team_iqs=w.team.iqs if w.team else None,
                        team_reviews=w.team.reviews if w.team else None)
                for w in report.weekly],
        root_causes=[RootCauseOut(criterion=r.criterion_key, name=r.criterion_name, root_cause=r.cause,
                                  count=r.count) for r in report.root_causes],
        critical_failures=[CriticalFailOut(review_id=f.review_id, submitted_at=f.submitted_at.isoformat(),
                                           criterion=f.criterion_key, name=f.criterion_name,
                                           option=f.option_label) for f in report.critical_fails],
    )


def _call_out(key: str, strong: set[str], weak: set[str]) -> str | None:
    return "strongest" if key in strong else "weakest" if key in weak else None

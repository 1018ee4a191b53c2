"""Leniency-adjusted scores per agent, and each reviewer's estimated leniency, for a period.

Decisions:
- **Rows**: submitted `manual` reviews with a score, submitted in the period (UTC days), with an
  agent, in the actor's report scope and the team/scorecard filters: exactly the reviews the IQS of
  qa.reporting.stats counts (its Slice and WHERE clauses are reused), read in ONE query of
  (agent, reviewer, score). The model is qa.calibration.leniency.fit_effects (ridge, alpha 1).
- **Raw IQS** is the official number (qa.reporting.stats.quality, one grouped query); the adjusted
  score is an estimate beside it and never replaces it anywhere else.
- **Who**: managers (their teams) and admins. A team outside the actor's scope is 404, as elsewhere.
- CSV: one line per agent then one per reviewer, every text cell through the formula guard.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from qa.calibration import grader
from qa.calibration.leniency import Effects, fit_effects
from qa.coverage import service as coverage_service
from qa.errors import NotFound
from qa.models import Agent, Review, Scorecard, User
from qa.reporting import stats
from qa.spreadsheet import spreadsheet_safe

DEFAULT_DAYS = 90
EXPLANATION = (
    "The adjusted score estimates what each agent's quality score would be if every review had been "
    "scored by an average reviewer, removing the effect of landing on lenient or strict reviewers."
)


@dataclass(frozen=True)
class LeniencyQuery:
    """The report's filters."""

    start: date
    end: date
    team_id: int | None = None
    scorecard_id: int | None = None


@dataclass(frozen=True)
class AgentRow:
    """One agent: official IQS, leniency-adjusted score and the difference."""

    agent_id: int
    name: str
    reviews: int
    iqs: float | None
    adjusted: float

    @property
    def difference(self) -> float | None:
        return None if self.iqs is None else self.adjusted - self.iqs


@dataclass(frozen=True)
class ReviewerRow:
    """One reviewer's estimated effect in points (+ lenient, - strict) over n reviews."""

    reviewer_id: int
    name: str
    reviews: int
    effect: float


@dataclass(frozen=True)
class LeniencyReport:
    """The page's figures."""

    query: LeniencyQuery
    agents: list[AgentRow]
    reviewers: list[ReviewerRow]
    intercept: float | None


def _optional_id(params: Mapping[str, str], name: str, what: str) -> int | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        raise NotFound(f"{what} {raw[:40]!r} not found.")
    return int(raw)


def parse_query(params: Mapping[str, str], *, today: date) -> LeniencyQuery:
    """Filters from a query string (start, end, team, scorecard); InvalidInput/NotFound on bad input."""
    start, end = grader.parse_range(params, today=today, days=DEFAULT_DAYS)
    return LeniencyQuery(
        start=start,
        end=end,
        team_id=_optional_id(params, "team", "Team"),
        scorecard_id=_optional_id(params, "scorecard", "Scorecard"),
    )


def _check_filters(session: Session, actor: User, query: LeniencyQuery) -> None:
    if query.team_id is not None:
        teams = {t.id for t in coverage_service.team_choices(session, actor=actor)}
        if query.team_id not in teams:
            raise NotFound(f"Team {query.team_id} not found.")
    if query.scorecard_id is not None and session.get(Scorecard, query.scorecard_id) is None:
        raise NotFound(f"Scorecard {query.scorecard_id} not found.")


def leniency(session: Session, *, actor: User, query: LeniencyQuery) -> LeniencyReport:
    """Fit the model on the period's counted reviews and pair it with the official IQS."""
    _check_filters(session, actor, query)
    piece = stats.Slice(
        start=query.start, end=query.end, team_id=query.team_id, scorecard_id=query.scorecard_id
    )
    rows_query = stats.reviews_of(
        session, actor, piece, col(Review.agent_id), col(Review.reviewer_id), col(Review.score)
    ).where(col(Review.score).is_not(None), col(Review.agent_id).is_not(None))
    rows = [(int(a), int(r), float(s)) for a, r, s in session.execute(rows_query)]
    effects = fit_effects(rows)
    quality = stats.quality(session, actor, piece, by=("agent",))
    return LeniencyReport(
        query=query,
        agents=_agent_rows(session, effects, quality),
        reviewers=_reviewer_rows(session, effects),
        intercept=effects.intercept,
    )


def _agent_rows(session: Session, effects: Effects, quality: dict[Any, stats.Quality]) -> list[AgentRow]:
    ids = list(effects.agents)
    names = {
        int(i or 0): n for i, n in session.exec(select(Agent.id, Agent.name).where(col(Agent.id).in_(ids)))
    }
    found = [
        AgentRow(
            agent_id=a,
            name=str(names.get(a, f"Agent {a}")),
            reviews=e.n,
            iqs=quality[a].iqs if a in quality else None,
            adjusted=e.adjusted,
        )
        for a, e in effects.agents.items()
    ]
    return sorted(found, key=lambda row: (row.name.lower(), row.agent_id))


def _reviewer_rows(session: Session, effects: Effects) -> list[ReviewerRow]:
    ids = list(effects.reviewers)
    names = {int(i or 0): n for i, n in session.exec(select(User.id, User.name).where(col(User.id).in_(ids)))}
    found = [
        ReviewerRow(reviewer_id=r, name=str(names.get(r, f"User {r}")), reviews=e.n, effect=e.effect)
        for r, e in effects.reviewers.items()
    ]
    return sorted(found, key=lambda row: (-row.effect, row.reviewer_id))


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def report_csv(report: LeniencyReport) -> str:
    """Agents then reviewers, one line each."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["kind", "id", "name", "reviews", "iqs", "adjusted", "difference", "reviewer_effect"])
    for a in report.agents:
        writer.writerow(
            [
                "agent",
                a.agent_id,
                spreadsheet_safe(a.name),
                a.reviews,
                _num(a.iqs),
                _num(a.adjusted),
                _num(a.difference),
                "",
            ]
        )
    for r in report.reviewers:
        writer.writerow(
            ["reviewer", r.reviewer_id, spreadsheet_safe(r.name), r.reviews, "", "", "", _num(r.effect)]
        )
    return out.getvalue()


def as_dict(report: LeniencyReport) -> dict[str, Any]:
    """The API shape."""
    q = report.query
    return {
        "start": q.start.isoformat(),
        "end": q.end.isoformat(),
        "team_id": q.team_id,
        "scorecard_id": q.scorecard_id,
        "explanation": EXPLANATION,
        "agents": [
            {
                "agent_id": a.agent_id,
                "name": a.name,
                "reviews": a.reviews,
                "iqs": a.iqs,
                "adjusted": a.adjusted,
                "difference": a.difference,
            }
            for a in report.agents
        ],
        "reviewers": [
            {"reviewer_id": r.reviewer_id, "name": r.name, "reviews": r.reviews, "effect": r.effect}
            for r in report.reviewers
        ],
    }

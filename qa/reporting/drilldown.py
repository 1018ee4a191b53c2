"""The drill-down: the list of the reviews behind any number of a report or a dashboard.

Every figure links here with the filters that made it (contracts: start, end, team, agent, channel,
scorecard, reviewer, criterion, outcome; plus root_cause with a criterion, for the report's root
causes). The list is taken with `stats.reviews_of`, the very query the figures are aggregated from,
so its count and mean equal the number it was opened from:

- without `criterion`, the mean is the mean review score (empty scores left out), i.e. the IQS;
- with `criterion`, only reviews with an option rating on that criterion key are listed, and the
  mean is the mean of those ratings × 100, i.e. the criterion average;
- `outcome`: passed = passed reviews; failed = reviews that did not pass (critical fails included);
  critical = critically failed reviews.
- `disputed`: any = reviews with at least one dispute (any status); accepted = reviews with an accepted
  dispute (the dashboard's disputes "lost"). A review disputed twice is listed once.

Who sees which rows: `stats.report_filter` (agents: their own reviews; managers and reviewers: their
teams', all when linked to no team; admins: all). A row links to the review page only when the viewer
may open it there (`scope.review_filter`: reviewers only the reviews they wrote); the others are
listed without a link. Naming an agent or a team the viewer may not report on is 404, as an unknown
id is, so the filter summary never names someone the viewer may not see.

Newest first (submitted time, then id), keyset-paged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from qa import org_settings
from qa.auth import scope
from qa.errors import InvalidInput, NotFound
from qa.models import (
    Agent,
    Channel,
    Conversation,
    Dispute,
    DisputeStatus,
    Rating,
    Review,
    Role,
    Scorecard,
    ScorecardVersion,
    Team,
    User,
)
from qa.reporting import stats
from qa.reporting.agent_report import format_range, openable_reviews, parse_day, report_agent, today_utc
from qa.reporting.stats import Slice
from scorecards.definition import KEY_PATTERN

OUTCOMES = {"passed": "passed only", "failed": "not passed only", "critical": "critical fails only"}
DISPUTED = {"any": "with a dispute", "accepted": "with an accepted dispute"}
PAGE_SIZE = 50
DEFAULT_DAYS = 30
ID_PATTERN = re.compile(r"^[0-9]{1,10}$")
PARAMS = ("start", "end", "team", "agent", "channel", "scorecard", "reviewer", "criterion", "root_cause",
          "outcome", "disputed")


@dataclass(frozen=True)
class DrillQuery:
    """Which reviews to list, parsed and checked."""

    piece: Slice
    criterion: str | None = None
    root_cause: str | None = None
    outcome: str | None = None
    disputed: str | None = None

    def params(self) -> dict[str, str]:
        """The query as URL parameters (for the next page and for links)."""
        p = self.piece
        values = {"start": p.start.isoformat(), "end": p.end.isoformat(), "team": p.team_id,
                  "agent": p.agent_id, "channel": p.channel, "scorecard": p.scorecard_id,
                  "reviewer": p.reviewer_id, "criterion": self.criterion, "root_cause": self.root_cause,
                  "outcome": self.outcome, "disputed": self.disputed}
        return {k: str(v) for k, v in values.items() if v is not None and v != ""}


@dataclass(frozen=True)
class DrillRow:
    """One review of the list."""

    review_id: int
    submitted_at: datetime
    subject: str
    agent_name: str
    reviewer: str
    scorecard: str
    version: int
    score: float | None
    passed: bool | None
    failed_critical: bool
    option_label: str | None  # the criterion's rating, when the list is about one criterion
    option_score: float | None  # × 100
    can_open: bool


@dataclass(frozen=True)
class DrillPage:
    """A page of the list, with the count and mean of all the reviews it lists."""

    query: DrillQuery
    summary: str
    total: int
    mean: float | None
    rows: list[DrillRow] = field(default_factory=list)
    next_cursor: str | None = None
    criterion_name: str | None = None


def _id(params: Mapping[str, str], name: str) -> int | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    if not ID_PATTERN.match(value):
        raise InvalidInput(f"{name.title()} must be an id (a number), not {value[:20]!r}.", field=name)
    if not 0 < int(value) <= scope.MAX_ID:  # ids are 32-bit on PostgreSQL: a larger one is simply not there
        raise NotFound(f"No {name} with id {value}.")
    return int(value)


def _text(params: Mapping[str, str], name: str, limit: int = 200) -> str | None:
    value = (params.get(name) or "").strip()
    if "\x00" in value:
        raise InvalidInput(f"{name.title()} contains a NUL character.", field=name)
    if len(value) > limit:
        raise InvalidInput(f"{name.title()} is longer than {limit} characters.", field=name)
    return value or None


def parse_query(params: Mapping[str, str], today: date | None = None) -> DrillQuery:
    """The drill-down's parameters, checked (InvalidInput names the field). Without dates: the last
    30 days ending today (UTC); with only one, the other is 30 days from it."""
    today = today or today_utc()
    start_text, end_text = _text(params, "start", 40), _text(params, "end", 40)
    end = parse_day(end_text, "end") if end_text else None
    start = parse_day(start_text, "start") if start_text else None
    if end is None:
        end = start + timedelta(days=DEFAULT_DAYS - 1) if start else today
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    channel = _text(params, "channel", 40)
    if channel and channel not in Channel.__members__:
        raise InvalidInput(f"Unknown channel {channel!r}; one of: {', '.join(Channel.__members__)}.",
                           field="channel")
    criterion = _text(params, "criterion", 64)
    if criterion and not KEY_PATTERN.match(criterion):
        raise InvalidInput(f"{criterion!r} is not a criterion key.", field="criterion")
    root_cause = _text(params, "root_cause")
    if root_cause and not criterion:
        raise InvalidInput("A root cause is listed per criterion: give the criterion too.",
                           field="root_cause")
    outcome = _text(params, "outcome", 20)
    if outcome and outcome not in OUTCOMES:
        raise InvalidInput(f"Unknown outcome {outcome!r}; one of: {', '.join(OUTCOMES)}.", field="outcome")
    disputed = _text(params, "disputed", 20)
    if disputed and disputed not in DISPUTED:
        raise InvalidInput(f"Unknown disputed filter {disputed!r}; one of: {', '.join(DISPUTED)}.",
                           field="disputed")
    piece = Slice(start, end, team_id=_id(params, "team"), agent_id=_id(params, "agent"), channel=channel,
                  scorecard_id=_id(params, "scorecard"), reviewer_id=_id(params, "reviewer"))
    return DrillQuery(piece, criterion, root_cause, outcome, disputed)


# ---------------------------------------------------------------------------------------------
# The list
# ---------------------------------------------------------------------------------------------


def _filtered(session: Session, actor: User, query: DrillQuery, *columns: Any) -> Select[Any]:
    """SELECT columns FROM the reviews the query lists (one row per review), in the actor's scope."""
    found = stats.reviews_of(session, actor, query.piece, *columns)
    if query.criterion:
        found = found.join(Rating, (col(Rating.review_id) == col(Review.id))
                           & (col(Rating.criterion_key) == query.criterion)).where(
            col(Rating.option_score).is_not(None))
        if query.root_cause:
            found = found.where(col(Rating.root_cause) == query.root_cause)
    if query.outcome == "passed":
        found = found.where(col(Review.passed).is_(True))
    elif query.outcome == "failed":
        found = found.where(col(Review.passed).is_(False))
    elif query.outcome == "critical":
        found = found.where(col(Review.failed_critical).is_(True))
    if query.disputed:
        disputes = select(Dispute.id).where(col(Dispute.review_id) == col(Review.id))
        if query.disputed == "accepted":
            disputes = disputes.where(col(Dispute.status) == DisputeStatus.accepted)
        found = found.where(disputes.exists())
    return found


def review_list(session: Session, *, actor: User, query: DrillQuery, cursor: str | None = None,
                limit: int = PAGE_SIZE) -> DrillPage:
    """One page of the reviews behind a number, newest first, with the count and mean of them all."""
    summary, criterion_name = describe(session, actor, query)
    value = (func.avg(col(Rating.option_score)) * 100 if query.criterion else func.avg(col(Review.score)))
    total, mean = session.execute(_filtered(session, actor, query, func.count(col(Review.id)), value)).one()
    rows, next_cursor = _rows(session, actor, query, cursor, max(1, min(limit, 500)))
    return DrillPage(query, summary, int(total or 0), float(mean) if mean is not None else None, rows,
                     next_cursor, criterion_name)


def _rows(session: Session, actor: User, query: DrillQuery, cursor: str | None,
          limit: int) -> tuple[list[DrillRow], str | None]:
    reviewer, version = aliased(User), aliased(ScorecardVersion)
    rating = (col(Rating.option_label), col(Rating.option_score)) if query.criterion else ()
    found = (
        _filtered(session, actor, query, col(Review.id), col(Review.submitted_at), col(Conversation.subject),
                  col(Agent.name), col(reviewer.name), col(version.name), col(version.version),
                  col(Review.score), col(Review.passed), col(Review.failed_critical), *rating)
        .outerjoin(Agent, col(Agent.id) == col(Review.agent_id))
        .join(reviewer, col(reviewer.id) == col(Review.reviewer_id))
        .join(version, col(version.id) == col(Review.version_id))
        .order_by(col(Review.submitted_at).desc(), col(Review.id).desc())
        .limit(limit + 1)
    )
    if cursor:
        at, last_id = decode_cursor(cursor)
        found = found.where((col(Review.submitted_at) < at)
                            | ((col(Review.submitted_at) == at) & (col(Review.id) < last_id)))
    result = session.execute(found).all()
    page, more = result[:limit], len(result) > limit
    openable = openable_reviews(session, actor, [r[0] for r in page])
    labels = {name: org_settings.reviewer_label(session, actor, name) for name in {r[4] for r in page}}
    rows = [DrillRow(r[0], r[1], r[2] or "(no subject)", r[3] or "—", labels[r[4]], r[5], r[6], r[7], r[8],
                     bool(r[9]), r[10] if rating else None,
                     r[11] * 100 if rating and r[11] is not None else None, r[0] in openable)
            for r in page]
    return rows, encode_cursor(page[-1][1], page[-1][0]) if more and page else None


def encode_cursor(at: datetime, review_id: int) -> str:
    """The position after a row: its submitted time and id."""
    return f"{at.isoformat()}_{review_id}"


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The inverse of encode_cursor; InvalidInput for anything else."""
    at, _, ident = cursor.rpartition("_")
    try:
        if not ID_PATTERN.match(ident) or not 0 < int(ident) <= scope.MAX_ID:
            raise ValueError(cursor)
        return datetime.fromisoformat(at), int(ident)
    except ValueError:
        raise InvalidInput("The page cursor is not valid; start from the first page.",
                           field="cursor") from None


# ---------------------------------------------------------------------------------------------
# The filters in words
# ---------------------------------------------------------------------------------------------


def describe(session: Session, actor: User, query: DrillQuery) -> tuple[str, str | None]:
    """The filters in words ("Reviews of Dana Ruiz, 1–30 Nov 2026, criterion Tone") and the criterion's
    name; NotFound for an agent, team, scorecard or reviewer the actor may not name."""
    piece = query.piece
    head = "Reviews"
    if piece.agent_id is not None:
        head = f"Reviews of {report_agent(session, actor, piece.agent_id).name}"
    parts = [head]
    if piece.team_id is not None:
        parts.append(f"team {_team_name(session, actor, piece.team_id)}")
    parts.append(format_range(piece.start, piece.end))
    if piece.channel:
        parts.append(f"channel {piece.channel}")
    if piece.scorecard_id is not None:
        card = session.get(Scorecard, piece.scorecard_id)
        if card is None:
            raise NotFound(f"Scorecard {piece.scorecard_id} not found.")
        parts.append(f"scorecard {card.name}")
    if piece.reviewer_id is not None:
        parts.append(f"reviewed by {_reviewer_name(session, actor, piece.reviewer_id)}")
    name = None
    if query.criterion:
        name = stats.criterion_names(session, [query.criterion]).get(query.criterion, query.criterion)
        parts.append(f"criterion {name}")
    if query.root_cause:
        parts.append(f"root cause “{query.root_cause}”")
    if query.outcome:
        parts.append(OUTCOMES[query.outcome])
    if query.disputed:
        parts.append(DISPUTED[query.disputed])
    return ", ".join(parts), name


def _team_name(session: Session, actor: User, team_id: int) -> str:
    """A team the actor may filter by: any (admins), their own agent's (agents), theirs (others)."""
    team = session.get(Team, team_id)
    allowed = team is not None
    if team is not None and actor.role is Role.agent:
        agent = session.get(Agent, actor.agent_id) if actor.agent_id else None
        allowed = agent is not None and agent.team_id == team.id
    elif team is not None and actor.role is not Role.admin:
        teams = scope.team_ids(session, actor)
        allowed = not teams or team.id in teams
    if not allowed or team is None:
        raise NotFound(f"Team {team_id} not found.")
    return team.name


def _reviewer_name(session: Session, actor: User, reviewer_id: int) -> str:
    user = session.get(User, reviewer_id)
    if user is None or user.role is Role.agent:
        raise NotFound(f"Reviewer {reviewer_id} not found.")
    return org_settings.reviewer_label(session, actor, user.name)

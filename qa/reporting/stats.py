"""The figures every report is built from, aggregated in SQL (grouped queries, never loops over rows).

Decisions (the report pages say the same in plain words):

- **What counts**: submitted `manual` reviews only (PRODUCT.md §3). Drafts, calibration and auto
  reviews never count. A review whose dispute was accepted has had its ratings and score corrected
  in place (qa.coaching.disputes), so it counts with the corrected figures; so does an edited review.
- **Which period a review belongs to**: the UTC day it was submitted (`Review.submitted_at`), as in
  the commercial tools: "quality in March" is what was reviewed in March. Editing a review or
  resolving a dispute changes its figures, not its day.
- **Which team**: the team of the review's conversation, the same rule that decides which manager
  may see the review (qa.auth.scope), so a dashboard's numbers and its drill-down always agree. It
  is read from Review.team_id/channel/scorecard_id, copies made when the review is written
  (qa.reporting.rollup), so figures need no join; a conversation moved to another team later keeps
  its earlier reviews in the team they were written for.
- **Speed**: review-level figures read the covering index ix_review_counted; organisation- and
  team-level criterion averages read the daily sums of qa.reporting.rollup (criterion_day) instead
  of every rating; agent- and reviewer-level criterion figures read the ratings (they are few).
- **Which agent**: `Review.agent_id`, the conversation's agent when the review was written.
- **IQS** = mean of the review scores, empty scores left out (SQL AVG skips NULL). **Pass rate** =
  passed / reviews with a pass verdict. **Critical fails** = reviews with `failed_critical`.
- **Criterion averages** = mean option score × 100 over ratings with an option (N/A left out),
  unaffected by other criteria's critical failures. Criteria are **matched by key** across
  scorecard versions (and scorecards): "tone" in version 1 and version 3 is one row. Its name is
  the one in the newest version that has the key.
- **Weeks** run Monday to Sunday, UTC, computed in SQL with each backend's date functions.
- **Who sees what** (`report_filter`): admins everything; managers and reviewers the teams they are
  linked to (all teams when linked to none); agents only their own reviews.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import ColumnElement, Date, Select, event, false, func, true
from sqlalchemy import case as sql_case
from sqlalchemy import cast as sql_cast
from sqlalchemy import select as select_rows
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col

from qa.auth import scope
from qa.errors import InvalidInput
from qa.models import Conversation, Criterion, CriterionDay, Rating, Review, Role, ScorecardVersion, User
from qa.reporting import rollup

MAX_DAYS = 3 * 366  # a report spans at most about three years


@dataclass(frozen=True)
class Slice:
    """Which reviews a figure is about: submitted on days start..end (inclusive, UTC) and matching
    every filter that is set."""

    start: date
    end: date
    team_id: int | None = None
    agent_id: int | None = None
    channel: str | None = None
    scorecard_id: int | None = None
    reviewer_id: int | None = None

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise InvalidInput("The start date is after the end date.", field="start")
        if (self.end - self.start).days >= MAX_DAYS:
            raise InvalidInput(
                f"A report spans at most {MAX_DAYS} days; choose a shorter range.", field="start"
            )

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Slice:
        """The period of the same length just before this one, same filters ("change vs previous")."""
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))

    def starts_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    def ends_before(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)


class Quality(NamedTuple):
    """Review-level figures of a group of reviews."""

    reviews: int
    scored: int  # reviews with a score (not all N/A)
    iqs: float | None
    passed: int
    judged: int  # reviews with a pass verdict
    critical_fails: int
    avg_seconds: float | None  # mean time spent per review

    @property
    def pass_rate(self) -> float | None:
        return 100.0 * self.passed / self.judged if self.judged else None


EMPTY = Quality(0, 0, None, 0, 0, 0, None)


class CriterionMean(NamedTuple):
    """A criterion's average (0–100) over `n` ratings with an option."""

    n: int
    mean: float | None


def counted() -> ColumnElement[bool]:
    """Reviews that count toward scores: submitted and manual (spelt with literals so that the
    partial index ix_review_counted serves it)."""
    return cast(ColumnElement[bool], rollup.counted_clause())


def report_filter(session: Session, actor: User) -> ColumnElement[bool]:
    """Which counted reviews `actor` may aggregate (Review's own copy of the conversation's team)."""
    if actor.role is Role.admin:
        return true()
    if actor.role is Role.agent:
        return col(Review.agent_id) == actor.agent_id if actor.agent_id else false()
    teams = _team_ids(session, actor)
    return col(Review.team_id).in_(teams) if teams else true()


_TEAMS = "qa.reporting.team_ids"


def _team_ids(session: Session, actor: User) -> list[int]:
    """scope.team_ids, remembered for the session until its next flush (a report asks a dozen times)."""
    cache: dict[int | None, list[int]] = session.info.setdefault(_TEAMS, {})
    if actor.id not in cache:
        cache[actor.id] = scope.team_ids(session, actor)
    return cache[actor.id]


@event.listens_for(OrmSession, "after_flush")
def _forget_team_ids(session: OrmSession, flush_context: Any) -> None:
    session.info.pop(_TEAMS, None)


@event.listens_for(OrmSession, "after_transaction_end")
def _forget_team_ids_at_end(session: OrmSession, transaction: Any) -> None:
    session.info.pop(_TEAMS, None)


def slice_where(session: Session, actor: User, piece: Slice) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a slice, the actor's scope included (they read only Review's columns)."""
    clauses = [
        counted(),
        report_filter(session, actor),
        col(Review.submitted_at) >= piece.starts_at(),
        col(Review.submitted_at) < piece.ends_before(),
    ]
    if piece.team_id is not None:
        clauses.append(col(Review.team_id) == piece.team_id)
    if piece.agent_id is not None:
        clauses.append(col(Review.agent_id) == piece.agent_id)
    if piece.channel:
        clauses.append(col(Review.channel) == piece.channel)
    if piece.reviewer_id is not None:
        clauses.append(col(Review.reviewer_id) == piece.reviewer_id)
    if piece.scorecard_id is not None:
        clauses.append(col(Review.scorecard_id) == piece.scorecard_id)
    return clauses


def reviews_of(session: Session, actor: User, piece: Slice, *columns: Any) -> Select[Any]:
    """SELECT `columns` FROM the slice's reviews (joined to their conversation) that `actor` may see."""
    query = (
        select_rows(*columns)
        .select_from(Review)
        .join(Conversation, col(Conversation.id) == col(Review.conversation_id))
    )
    return query.where(*slice_where(session, actor, piece))


def _counted_reviews(session: Session, actor: User, piece: Slice, *columns: Any) -> Select[Any]:
    """Like reviews_of without the join: the figures read only Review's columns (and its index)."""
    return select_rows(*columns).select_from(Review).where(*slice_where(session, actor, piece))


def week_of(session: Session, column: Any) -> ColumnElement[date]:
    """The Monday (UTC) of the week a timestamp column falls in, as a SQL date."""
    if session.get_bind().dialect.name == "sqlite":
        # Naive UTC text: 'weekday 0' moves to the coming Sunday (or stays), -6 days is its Monday.
        return func.date(column, "weekday 0", "-6 days", type_=Date)
    return sql_cast(func.date_trunc("week", column), Date)


def monday(day: date) -> date:
    """The Monday of `day`'s week."""
    return day - timedelta(days=day.weekday())


def weeks(piece: Slice) -> list[date]:
    """The Mondays of every week the slice touches, oldest first (for a trend with empty weeks)."""
    first, last = monday(piece.start), monday(piece.end)
    return [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]


GROUPS = ("agent", "team", "reviewer", "week", "channel")


def _group_columns(session: Session, by: Sequence[str]) -> list[Any]:
    columns = {
        "agent": col(Review.agent_id),
        "team": col(Review.team_id),
        "reviewer": col(Review.reviewer_id),
        "channel": col(Review.channel),
    }
    unknown = [g for g in by if g not in GROUPS]
    if unknown:
        raise ValueError(f"unknown grouping {unknown}")
    return [week_of(session, col(Review.submitted_at)) if g == "week" else columns[g] for g in by]


def _key(row: Sequence[Any], width: int) -> Any:
    if width == 0:
        return None
    return row[0] if width == 1 else tuple(row[:width])


def quality(session: Session, actor: User, piece: Slice, by: Sequence[str] = ()) -> dict[Any, Quality]:
    """Review-level figures per group (`by` of GROUPS; the key is the value, or a tuple of values for
    several groupings, or None without grouping). Groups without reviews are absent."""
    groups = _group_columns(session, by)
    passed = func.sum(sql_case((col(Review.passed).is_(True), 1), else_=0))
    fails = func.sum(sql_case((col(Review.failed_critical).is_(True), 1), else_=0))
    query = _counted_reviews(
        session,
        actor,
        piece,
        *groups,
        func.count(),
        func.count(col(Review.score)),
        func.avg(col(Review.score)),
        passed,
        func.count(col(Review.passed)),
        fails,
        func.avg(col(Review.time_spent_seconds)),
    )
    if groups:
        query = query.group_by(*groups)
    found: dict[Any, Quality] = {}
    width = len(groups)
    for row in session.execute(query):
        values = row[width:]
        if not values[0]:
            continue
        found[_key(row, width)] = Quality(
            reviews=int(values[0]),
            scored=int(values[1] or 0),
            iqs=float(values[2]) if values[2] is not None else None,
            passed=int(values[3] or 0),
            judged=int(values[4] or 0),
            critical_fails=int(values[5] or 0),
            avg_seconds=float(values[6]) if values[6] is not None else None,
        )
    return found


def criteria(
    session: Session, actor: User, piece: Slice, by: Sequence[str] = ()
) -> dict[Any, dict[str, CriterionMean]]:
    """Per group (as in `quality`), each criterion key's mean option score × 100 and rating count."""
    if _summary_serves(actor, piece, by):
        return _criteria_from_summary(session, actor, piece, by)
    groups = _group_columns(session, by)
    query = (
        _counted_reviews(
            session,
            actor,
            piece,
            *groups,
            col(Rating.criterion_key),
            func.count(col(Rating.option_score)),
            func.avg(col(Rating.option_score)),
        )
        .join(Rating, col(Rating.review_id) == col(Review.id))
        .where(col(Rating.option_score).is_not(None))
        .group_by(*groups, col(Rating.criterion_key))
    )
    found: dict[Any, dict[str, CriterionMean]] = {}
    width = len(groups)
    for row in session.execute(query):
        key, n, mean = row[width], int(row[width + 1]), row[width + 2]
        found.setdefault(_key(row, width), {})[key] = CriterionMean(
            n, float(mean) * 100 if mean is not None else None
        )
    return found


def _summary_serves(actor: User, piece: Slice, by: Sequence[str]) -> bool:
    """criterion_day answers groupings by team, channel and week, for every role but agents (whose
    scope is their own reviews), when no agent or reviewer filter is set."""
    return (
        actor.role is not Role.agent
        and piece.agent_id is None
        and piece.reviewer_id is None
        and set(by) <= {"team", "channel", "week"}
    )


def _criteria_from_summary(
    session: Session, actor: User, piece: Slice, by: Sequence[str]
) -> dict[Any, dict[str, CriterionMean]]:
    """The same answer the ratings give, read from qa.reporting.rollup's daily sums."""
    day = col(CriterionDay.day)
    columns = {"team": col(CriterionDay.team_id), "channel": col(CriterionDay.channel)}
    groups = [week_of(session, day) if g == "week" else columns[g] for g in by]
    clauses = [day >= piece.start, day <= piece.end]
    if actor.role is not Role.admin and (teams := _team_ids(session, actor)):
        clauses.append(col(CriterionDay.team_id).in_(teams))
    if piece.team_id is not None:
        clauses.append(col(CriterionDay.team_id) == piece.team_id)
    if piece.channel:
        clauses.append(col(CriterionDay.channel) == piece.channel)
    if piece.scorecard_id is not None:
        clauses.append(col(CriterionDay.scorecard_id) == piece.scorecard_id)
    key = col(CriterionDay.criterion_key)
    query = (
        select_rows(*groups, key, func.sum(col(CriterionDay.n)), func.sum(col(CriterionDay.total)))
        .where(*clauses)
        .group_by(*groups, key)
    )
    found: dict[Any, dict[str, CriterionMean]] = {}
    width = len(groups)
    for row in session.execute(query):
        n, total = int(row[width + 1] or 0), int(row[width + 2] or 0)
        if n <= 0:
            continue
        values = [
            None if g in ("team", "channel") and v in (0, "") else v for g, v in zip(by, row, strict=False)
        ]
        found.setdefault(_key(values, width), {})[row[width]] = CriterionMean(
            n, 100.0 * total / (n * rollup.SCALE)
        )
    return found


def criterion_names(session: Session, keys: Sequence[str]) -> dict[str, str]:
    """Each key's display name: the one in the newest published scorecard version that has the key
    (a draft's names stay out of reports until it is published)."""
    if not keys:
        return {}
    query = (
        select_rows(col(Criterion.key), col(Criterion.name))
        .join(ScorecardVersion, col(ScorecardVersion.id) == col(Criterion.version_id))
        .where(col(Criterion.key).in_(sorted(set(keys))), col(ScorecardVersion.published).is_(True))
        .order_by(col(Criterion.version_id))
    )
    return {key: name for key, name in session.execute(query)}  # newest version wins


def criterion_order(session: Session, keys: Sequence[str]) -> list[str]:
    """Keys in the order the newest published version that has them lists them (unknown keys last, by
    name)."""
    if not keys:
        return []
    query = (
        select_rows(col(Criterion.key), col(Criterion.version_id), col(Criterion.position))
        .join(ScorecardVersion, col(ScorecardVersion.id) == col(Criterion.version_id))
        .where(col(Criterion.key).in_(sorted(set(keys))), col(ScorecardVersion.published).is_(True))
    )
    newest: dict[str, tuple[int, int]] = {}
    for key, version_id, position in session.execute(query):
        if key not in newest or version_id > newest[key][0]:
            newest[key] = (version_id, position)
    return sorted(
        set(keys), key=lambda k: (k not in newest, -newest.get(k, (0, 0))[0], newest.get(k, (0, 0))[1], k)
    )

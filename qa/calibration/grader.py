"""Grader QA: a manager (or a benchmark reviewer) re-scores a sample of a reviewer's reviews blind.

Decisions:
- **Who grades**: managers and admins; reviewers who are the benchmark of at least one calibration
  session (they are the organisation's reference). Anyone else gets 403.
- **What is sampled**: the chosen reviewer's submitted `manual` reviews submitted in the period
  (UTC days, inclusive), of conversations the grader may open (qa.auth.scope.conversation_filter:
  a manager's teams), never the grader's own reviews nor their own conversations, and not already
  re-graded by this grader. A seeded random sample (``random.Random(seed).sample`` over the ids in
  id order) so a run can be repeated; the seed is written to the audit log.
- **A re-grade task** is a draft Review of kind ``calibration``, same conversation and scorecard
  version as the original, ``regrade_of_id`` = the original, ``calibration_id`` null. It is scored on
  the normal review page; kind ``calibration`` keeps it out of IQS, notifications and assignments.
  Each created task is audited (``grader_qa.create``, with the original's id and the seed).
- **Blind**: the comparison (original vs re-grade) is refused (409) while the re-grade is a draft.
- **Alignment** = 1 - |original option score - re-grade option score|, averaged over every criterion
  rating that has an option on both sides (N/A on either side left out; PRODUCT.md §6), pooled over
  the pairs of the group. **Deviation** = mean (original - re-grade) option score x 100: + means the
  original reviewer was more lenient than the grader. Both aggregated in SQL (one grouped query
  per table), by reviewer and by month of the re-grade's submission (UTC).
- **Who sees the figures**: pairs whose original conversation the actor may open; a benchmark
  reviewer sees only the pairs they graded.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, exists, func
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from qa.audit import service as audit
from qa.auth import scope
from qa.errors import Conflict, Forbidden, InvalidInput, NotFound
from qa.models import (
    CalibrationSession,
    Conversation,
    Rating,
    Review,
    ReviewKind,
    ReviewStatus,
    Role,
    User,
)
from qa.scorecard_admin import service as scorecard_service

MAX_SAMPLE = 50
DEFAULT_SAMPLE = 5
DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366

Original = aliased(Review, name="original_review")
OrigRating = aliased(Rating, name="original_rating")


@dataclass(frozen=True)
class TaskQuery:
    """What to sample: whose reviews, submitted when, how many and with which seed."""

    reviewer_id: int
    start: date
    end: date
    size: int
    seed: int


@dataclass(frozen=True)
class Figures:
    """Agreement of a group of re-grade pairs."""

    pairs: int
    ratings: int  # criterion ratings with an option on both sides
    alignment: float | None  # 0..1
    deviation: float | None  # points, + the original reviewer was more lenient


@dataclass(frozen=True)
class ReviewerFigures:
    """One re-graded reviewer: overall figures and by month."""

    reviewer_id: int
    name: str
    overall: Figures
    months: list[tuple[str, Figures]]


@dataclass(frozen=True)
class PairRow:
    """One submitted re-grade with its original."""

    regrade_id: int
    original_id: int
    reviewer: str
    grader: str
    subject: str
    submitted_at: datetime | None
    original_score: float | None
    regrade_score: float | None


@dataclass(frozen=True)
class CriterionPair:
    """One criterion of a pair: the original's and the re-grade's answers."""

    key: str
    name: str
    original: str | None
    original_score: float | None
    regrade: str | None
    regrade_score: float | None
    rated_original: bool
    rated_regrade: bool

    @property
    def difference(self) -> float | None:
        """(original - re-grade) x 100 where both chose an option."""
        if self.original_score is None or self.regrade_score is None:
            return None
        return (self.original_score - self.regrade_score) * 100


@dataclass(frozen=True)
class PairDetail:
    """The comparison page of one re-grade."""

    original: Review
    regrade: Review
    reviewer: str
    grader: str
    subject: str
    criteria: list[CriterionPair]
    figures: Figures


# --- who may grade -----------------------------------------------------------------------------------


def is_benchmark(session: Session, actor: User) -> bool:
    """Whether the actor is the benchmark reviewer of some calibration session."""
    query = select(CalibrationSession.id).where(CalibrationSession.benchmark_id == actor.id)
    return session.exec(query).first() is not None


def may_grade(session: Session, actor: User) -> bool:
    """Managers, admins and benchmark reviewers may re-grade."""
    if actor.role in (Role.admin, Role.manager):
        return True
    return actor.role is Role.reviewer and is_benchmark(session, actor)


def require_grader(session: Session, actor: User) -> None:
    """Forbidden unless the actor may re-grade."""
    if not may_grade(session, actor):
        raise Forbidden("Grader QA is for managers, admins and benchmark reviewers.")


# --- parsing -----------------------------------------------------------------------------------------


def _int(params: Mapping[str, str], name: str, default: int | None, low: int, high: int) -> int:
    raw = (params.get(name) or "").strip()
    if not raw:
        if default is None:
            raise InvalidInput(f"Choose a {name.replace('_', ' ')}.", field=name)
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(
            f"{name.replace('_', ' ').capitalize()} must be a whole number.", field=name
        ) from None
    if not low <= value <= high:
        raise InvalidInput(
            f"{name.replace('_', ' ').capitalize()} must be between {low} and {high}.", field=name
        )
    return value


def parse_day(params: Mapping[str, str], name: str, default: date) -> date:
    """A YYYY-MM-DD parameter, or the default when empty."""
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{name.capitalize()} must be a date like 2026-03-01.", field=name) from None
    if not 1900 <= day.year <= 9000:
        raise InvalidInput(f"{name.capitalize()} is out of range.", field=name)
    return day


def parse_range(params: Mapping[str, str], *, today: date, days: int = DEFAULT_DAYS) -> tuple[date, date]:
    """start..end (inclusive), by default the last `days` days; checked for order and length."""
    end = parse_day(params, "end", today)
    start = parse_day(params, "start", end - timedelta(days=days - 1))
    if start > end:
        raise InvalidInput("The start date is after the end date.", field="start")
    if (end - start).days >= MAX_DAYS:
        raise InvalidInput(f"Choose at most {MAX_DAYS} days.", field="start")
    return start, end


def parse_task_query(params: Mapping[str, str], *, today: date) -> TaskQuery:
    """The task form's fields, checked."""
    start, end = parse_range(params, today=today)
    return TaskQuery(
        reviewer_id=_int(params, "reviewer_id", None, 1, scope.MAX_ID),
        start=start,
        end=end,
        size=_int(params, "size", DEFAULT_SAMPLE, 1, MAX_SAMPLE),
        seed=_int(params, "seed", 0, 0, 2**31 - 1),
    )


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return datetime.combine(start, time.min, tzinfo=UTC), datetime.combine(
        end + timedelta(days=1), time.min, tzinfo=UTC
    )


# --- creating tasks ----------------------------------------------------------------------------------


def reviewer_choices(session: Session, *, actor: User) -> list[tuple[int, str]]:
    """Active reviewers, managers and admins other than the actor (whose reviews may be re-graded)."""
    query = (
        select(User.id, User.name)
        .where(
            col(User.is_active).is_(True),
            col(User.role).in_([Role.reviewer, Role.manager, Role.admin]),
            User.id != actor.id,
        )
        .order_by(col(User.name), col(User.id))
    )
    return [(int(i or 0), str(n)) for i, n in session.exec(query)]


def _candidates(session: Session, actor: User, query: TaskQuery) -> list[int]:
    low, high = _bounds(query.start, query.end)
    done = aliased(Review, name="done_regrade")
    already = exists().where(col(done.regrade_of_id) == col(Review.id), col(done.reviewer_id) == actor.id)
    clauses: list[ColumnElement[bool]] = [
        col(Review.reviewer_id) == query.reviewer_id,
        col(Review.kind) == ReviewKind.manual,
        col(Review.status) == ReviewStatus.submitted,
        col(Review.submitted_at) >= low,
        col(Review.submitted_at) < high,
        ~already,
        scope.conversation_filter(session, actor),
    ]
    if actor.agent_id is not None:
        clauses.append(func.coalesce(col(Conversation.agent_id), 0) != actor.agent_id)
    rows = session.exec(
        select(Review.id)
        .join(Conversation, col(Conversation.id) == col(Review.conversation_id))
        .where(*clauses)
        .order_by(col(Review.id))
    )
    return [int(r) for r in rows if r is not None]


def create_tasks(session: Session, *, actor: User, query: TaskQuery) -> list[Review]:
    """Draw the sample and create one draft re-grade per drawn review (audited)."""
    require_grader(session, actor)
    target = session.get(User, query.reviewer_id)
    if target is None or target.role is Role.agent:
        raise NotFound(f"Reviewer {query.reviewer_id} not found.")
    if target.id == actor.id:
        raise InvalidInput("You can't re-grade your own reviews.", field="reviewer_id")
    ids = _candidates(session, actor, query)
    if not ids:
        raise InvalidInput(
            f"{target.name} has no submitted reviews in that period left for you to re-grade.",
            field="reviewer_id",
        )
    drawn = sorted(random.Random(query.seed).sample(ids, min(query.size, len(ids))))
    originals = session.exec(select(Review).where(col(Review.id).in_(drawn)).order_by(col(Review.id)))
    created = []
    for original in originals:
        task = Review(
            conversation_id=original.conversation_id,
            version_id=original.version_id,
            reviewer_id=actor.id or 0,
            agent_id=original.agent_id,
            team_id=original.team_id,
            channel=original.channel,
            scorecard_id=original.scorecard_id,
            kind=ReviewKind.calibration,
            status=ReviewStatus.draft,
            regrade_of_id=original.id,
        )
        session.add(task)
        created.append(task)
    session.flush()
    for task in created:
        audit.record(
            session,
            actor=actor,
            action="grader_qa.create",
            entity="review",
            entity_id=task.id,
            after={
                "regrade_of_id": task.regrade_of_id,
                "reviewer_id": query.reviewer_id,
                "start": query.start.isoformat(),
                "end": query.end.isoformat(),
                "size": query.size,
                "seed": query.seed,
            },
        )
    return created


def open_tasks(session: Session, *, actor: User) -> list[PairRow]:
    """The actor's re-grades still in draft, oldest first."""
    return _pair_rows(session, actor, drafts=True)


# --- figures -----------------------------------------------------------------------------------------


def _rows(*columns: Any) -> Select[Any]:
    """A row SELECT of any width (sqlmodel's typed `select` stops at four columns)."""
    return Select(*columns)


def _month(session: Session, column: Any) -> ColumnElement[str]:
    if session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m", column, type_=String)
    return sql_cast(func.to_char(column, "YYYY-MM"), String)


def _pair_scope(session: Session, actor: User) -> list[ColumnElement[bool]]:
    """Submitted re-grades whose original the actor may see figures of."""
    in_scope = select(Conversation.id).where(scope.conversation_filter(session, actor))
    clauses: list[ColumnElement[bool]] = [
        col(Review.regrade_of_id).is_not(None),
        col(Review.calibration_id).is_(None),
        col(Review.kind) == ReviewKind.calibration,
        col(Original.conversation_id).in_(in_scope),
    ]
    if actor.role is Role.reviewer:
        clauses.append(col(Review.reviewer_id) == actor.id)
    return clauses


def _figures_query(session: Session, actor: User, *groups: Any) -> Select[Any]:
    both = and_(
        col(OrigRating.review_id) == col(Original.id),
        col(OrigRating.criterion_key) == col(Rating.criterion_key),
    )
    diff = col(OrigRating.option_score) - col(Rating.option_score)
    return (
        _rows(
            *groups,
            func.count(func.distinct(Review.id)),
            func.count(),
            func.avg(1 - func.abs(diff)),
            func.avg(diff),
        )
        .select_from(Review)
        .join(Original, col(Original.id) == col(Review.regrade_of_id))
        .join(Rating, col(Rating.review_id) == col(Review.id))
        .join(OrigRating, both)
        .where(
            *_pair_scope(session, actor),
            col(Review.status) == ReviewStatus.submitted,
            col(Rating.option_score).is_not(None),
            col(OrigRating.option_score).is_not(None),
        )
        .group_by(*groups)
    )


def _figures(row: Any) -> Figures:
    pairs, ratings, alignment, deviation = row
    return Figures(
        pairs=int(pairs),
        ratings=int(ratings),
        alignment=None if alignment is None else float(alignment),
        deviation=None if deviation is None else float(deviation) * 100,
    )


def reviewer_figures(session: Session, *, actor: User) -> list[ReviewerFigures]:
    """Per re-graded reviewer: figures over all their re-grades and by month (two grouped queries)."""
    require_grader(session, actor)
    who = col(Original.reviewer_id)
    month = _month(session, col(Review.submitted_at))
    overall = {int(r[0]): _figures(r[1:]) for r in session.execute(_figures_query(session, actor, who))}
    months: dict[int, list[tuple[str, Figures]]] = {}
    for row in session.execute(_figures_query(session, actor, who, month).order_by(who, month)):
        months.setdefault(int(row[0]), []).append((str(row[1]), _figures(row[2:])))
    names = _names(session, list(overall))
    found = [
        ReviewerFigures(rid, names.get(rid, f"User {rid}"), fig, months.get(rid, []))
        for rid, fig in overall.items()
    ]
    return sorted(found, key=lambda r: (r.name.lower(), r.reviewer_id))


def _names(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(select(User.id, User.name).where(col(User.id).in_(ids)))
    return {int(i or 0): str(n) for i, n in rows}


def _pair_rows(session: Session, actor: User, *, drafts: bool, limit: int = 100) -> list[PairRow]:
    grader = aliased(User, name="grader")
    reviewer = aliased(User, name="graded")
    status = ReviewStatus.draft if drafts else ReviewStatus.submitted
    query = (
        _rows(
            Review.id,
            Original.id,
            reviewer.name,
            grader.name,
            Conversation.subject,
            Review.submitted_at,
            Original.score,
            Review.score,
        )
        .select_from(Review)
        .join(Original, col(Original.id) == col(Review.regrade_of_id))
        .join(Conversation, col(Conversation.id) == col(Review.conversation_id))
        .outerjoin(reviewer, col(reviewer.id) == col(Original.reviewer_id))
        .outerjoin(grader, col(grader.id) == col(Review.reviewer_id))
        .where(*_pair_scope(session, actor), col(Review.status) == status)
    )
    if drafts:
        query = query.where(col(Review.reviewer_id) == actor.id).order_by(col(Review.id))
    else:
        query = query.order_by(col(Review.submitted_at).desc(), col(Review.id).desc())
    return [
        PairRow(
            int(r[0]),
            int(r[1]),
            r[2] or "a former user",
            r[3] or "a former user",
            r[4] or "(no subject)",
            r[5],
            r[6],
            r[7],
        )
        for r in session.execute(query.limit(limit))
    ]


def recent_pairs(session: Session, *, actor: User) -> list[PairRow]:
    """The latest submitted re-grades the actor may see (at most 100)."""
    require_grader(session, actor)
    return _pair_rows(session, actor, drafts=False)


# --- one pair ----------------------------------------------------------------------------------------


def banner(session: Session, review: Review) -> str | None:
    """The name of the reviewer whose review this re-grade re-scores (None if it is not a re-grade)."""
    if review.regrade_of_id is None:
        return None
    found = session.exec(
        select(User.name)
        .join(Review, col(Review.reviewer_id) == col(User.id))
        .where(Review.id == review.regrade_of_id)
    ).first()
    return found or "a former user"


def pair_detail(session: Session, *, actor: User, regrade_id: Any) -> PairDetail:
    """Original vs re-grade per criterion; the re-grade must be visible to the actor and submitted."""
    regrade = scope.get_review(session, actor, regrade_id)  # its author, managers, the re-graded reviewer
    if regrade.regrade_of_id is None or regrade.calibration_id is not None:
        raise NotFound(f"Review {regrade_id} is not a grader-QA re-score.")
    if regrade.status != ReviewStatus.submitted:
        raise Conflict("This re-score is still a draft: the comparison shows once it is submitted.")
    original = session.get(Review, regrade.regrade_of_id)
    if original is None:
        raise NotFound("The re-graded review no longer exists.")
    defn = scorecard_service.definition_for(session, regrade.version_id)
    ratings = session.exec(select(Rating).where(col(Rating.review_id).in_([original.id, regrade.id])))
    by_review: dict[int, dict[str, Rating]] = {original.id or 0: {}, regrade.id or 0: {}}
    for r in ratings:
        by_review[r.review_id][r.criterion_key] = r
    mine, theirs = by_review[regrade.id or 0], by_review[original.id or 0]
    criteria = [
        CriterionPair(
            key=c.key,
            name=c.name,
            original=theirs[c.key].option_label if c.key in theirs else None,
            original_score=theirs[c.key].option_score if c.key in theirs else None,
            regrade=mine[c.key].option_label if c.key in mine else None,
            regrade_score=mine[c.key].option_score if c.key in mine else None,
            rated_original=c.key in theirs,
            rated_regrade=c.key in mine,
        )
        for c in defn.criteria
    ]
    diffs = [c.difference / 100 for c in criteria if c.difference is not None]
    figures = Figures(
        pairs=1,
        ratings=len(diffs),
        alignment=sum(1 - abs(d) for d in diffs) / len(diffs) if diffs else None,
        deviation=sum(diffs) / len(diffs) * 100 if diffs else None,
    )
    names = _names(session, [original.reviewer_id, regrade.reviewer_id])
    subject = session.exec(
        select(Conversation.subject).where(Conversation.id == original.conversation_id)
    ).first()
    return PairDetail(
        original=original,
        regrade=regrade,
        reviewer=names.get(original.reviewer_id, "a former user"),
        grader=names.get(regrade.reviewer_id, "a former user"),
        subject=subject or "(no subject)",
        criteria=criteria,
        figures=figures,
    )


def scope_note(actor: User) -> str:
    """One sentence on which pairs the actor's figures cover."""
    if actor.role is Role.reviewer:
        return "Re-scores you made."
    if actor.role is Role.admin:
        return "Every re-score in the organisation."
    return "Re-scores of conversations in the teams you manage."

"""Coaching sessions: a coach schedules a 1:1 with an agent, links reviews, picks focus criteria, notes.

Decisions:

- **Who coaches**: managers and admins. A manager coaches the agents whose team is one of the manager's
  teams (all agents when linked to no team), the same scope as their reports; admins coach everyone.
  Any coach in scope may edit a session, not only the one who scheduled it (a team lead covers for
  another); every change is audited (`coaching_session.create` / `coaching_session.update`).
- **Who reads**: an agent reads their own sessions; a reviewer reads (never edits) the sessions of the
  agents in the teams they review, because reviewers see those agents' reports and pin moments for the
  next session; other agents' sessions answer 404 like every unknown id.
- **Private notes** are for coaches only (managers and admins): they never leave this module for an
  agent or a reviewer (the views carry `private_notes=None`).
- **Status** goes scheduled → completed or cancelled, never back; only a scheduled session can be moved
  to another time. Notes, links and focus criteria stay editable after the session (notes are often
  written afterwards).
- **Linked reviews** are the agent's submitted manual reviews that the coach may open. **Focus criteria**
  are criterion keys (matched by key across scorecard versions); any key some scorecard has is accepted,
  the picker offers the ones the agent has been rated on.
- **Times** are UTC; "upcoming" means scheduled at or after now, "past" before now, whatever the status.
- **Pins** brought into a session (`pin_ids`) are marked discussed in it (qa.coaching.pins.mark_discussed),
  which takes them off the board's open list; the board's "Schedule session" pre-ticks every open pin.
- The agent's users get a "session" notice when a session is scheduled, moved or cancelled.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, true
from sqlalchemy import select as select_rows
from sqlmodel import Session, col, select

from qa.audit import service as audit
from qa.auth import scope
from qa.errors import Conflict, Forbidden, InvalidInput, NotFound
from qa.models import (
    Agent,
    CoachingSession,
    CoachingSessionReview,
    CoachingStatus,
    Conversation,
    Criterion,
    Rating,
    Review,
    Role,
    Scorecard,
    ScorecardVersion,
    User,
    utcnow,
)
from qa.notifications import service as notifications
from qa.org_settings import reviewer_label
from qa.reporting import stats

COACH_ROLES = frozenset({Role.manager, Role.admin})
MAX_TITLE = 200
MAX_NOTES = 10_000
MIN_DURATION, MAX_DURATION = 5, 480
MIN_YEAR, MAX_YEAR = 2000, 2999
MAX_LINKED_REVIEWS = 50
MAX_FOCUS = 20
REVIEW_CHOICES = 50
MAX_PAGE = 200
DEFAULT_TITLE = "Coaching session"
WHEN = ("", "upcoming", "past")


# ---------------------------------------------------------------------------------------------
# Plain data handed to pages and the API
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """An option of a picker: the id or key sent and the name shown."""

    id: Any
    name: str


@dataclass(frozen=True)
class ReviewChoice:
    """One of the agent's submitted reviews, as the review picker and a session page list it."""

    id: int
    submitted_at: datetime | None
    subject: str
    score: float | None
    passed: bool | None
    failed_critical: bool
    reviewer: str
    may_open: bool


@dataclass(frozen=True)
class SessionRow:
    """A session in a list."""

    id: int
    agent_id: int
    agent_name: str
    coach_id: int
    coach_name: str
    title: str
    scheduled_at: datetime
    duration_minutes: int
    status: CoachingStatus
    review_count: int
    focus_criteria: tuple[str, ...]


@dataclass(frozen=True)
class SessionPage:
    """One page of a session list; `next_cursor` fetches the next."""

    rows: list[SessionRow]
    next_cursor: str | None


@dataclass(frozen=True)
class SessionView:
    """A session as its reader may see it: `private_notes` is None unless the reader is a coach."""

    id: int
    agent_id: int
    agent_name: str
    team_id: int | None
    coach_id: int
    coach_name: str
    title: str
    scheduled_at: datetime
    duration_minutes: int
    status: CoachingStatus
    notes: str
    private_notes: str | None
    focus: list[Choice]
    reviews: list[ReviewChoice]
    created_at: datetime
    updated_at: datetime
    can_edit: bool


@dataclass(frozen=True)
class SessionFilters:
    """What a session list is limited to (None / "" = any)."""

    agent_id: int | None = None
    coach_id: int | None = None
    status: str = ""
    when: str = ""


@dataclass
class SessionChanges:
    """A partial update: fields left None stay as they are."""

    title: str | None = None
    scheduled_at: datetime | None = None
    duration_minutes: Any = None  # minutes, as a number or its text (checked on use)
    status: str | None = None
    notes: str | None = None
    private_notes: str | None = None
    review_ids: Sequence[Any] | None = None
    focus_criteria: Sequence[str] | None = None
    pin_ids: Sequence[Any] = field(default_factory=tuple)


# ---------------------------------------------------------------------------------------------
# Who may see and coach whom
# ---------------------------------------------------------------------------------------------


def is_coach(user: User) -> bool:
    """Managers and admins coach."""
    return user.role in COACH_ROLES


def agent_filter(session: Session, actor: User) -> ColumnElement[bool]:
    """A WHERE clause (on Agent) limiting agents to those whose coaching `actor` may read."""
    if actor.role is Role.admin:
        return true()
    if actor.role is Role.agent:
        return col(Agent.id) == actor.agent_id if actor.agent_id else false()
    teams = scope.team_ids(session, actor)
    return col(Agent.team_id).in_(teams) if teams else true()


def get_agent(session: Session, *, actor: User, agent_id: Any) -> Agent:
    """The agent if `actor` may read their coaching; NotFound for unknown and forbidden ids alike."""
    found = session.exec(
        select(Agent).where(Agent.id == scope.as_id(agent_id), agent_filter(session, actor))
    ).first()
    if found is None:
        raise NotFound(f"Agent {agent_id} not found.")
    return found


def coached_agent(session: Session, *, actor: User, agent_id: Any) -> Agent:
    """The agent if `actor` may coach them (403 for roles that never coach, 404 outside the scope)."""
    require_coach(actor)
    return get_agent(session, actor=actor, agent_id=agent_id)


def require_coach(actor: User) -> None:
    """Refuse anyone but managers and admins."""
    if not is_coach(actor):
        raise Forbidden("Only managers and admins coach agents.")


def agent_choices(session: Session, *, actor: User) -> list[Choice]:
    """The agents `actor` may read (coaches: may coach), by name."""
    query = select_rows(col(Agent.id), col(Agent.name)).where(agent_filter(session, actor))
    return [Choice(i, n) for i, n in session.execute(query.order_by(col(Agent.name)).limit(2000))]


def coach_choices(session: Session) -> list[Choice]:
    """Everyone who may coach (active managers and admins), by name."""
    query = (
        select_rows(col(User.id), col(User.name))
        .where(col(User.role).in_([r.value for r in COACH_ROLES]), col(User.is_active).is_(True))
        .order_by(col(User.name))
    )
    return [Choice(i, n) for i, n in session.execute(query)]


def _visible_sessions(session: Session, actor: User, *columns: Any) -> Select[Any]:
    """SELECT columns FROM coaching sessions `actor` may read (joined to their agent and coach)."""
    return (
        select_rows(*columns)
        .select_from(CoachingSession)
        .join(Agent, col(Agent.id) == col(CoachingSession.agent_id))
        .join(User, col(User.id) == col(CoachingSession.coach_id))
        .where(agent_filter(session, actor))
    )


def get_session_row(session: Session, *, actor: User, session_id: Any) -> tuple[CoachingSession, Agent, User]:
    """The session (with its agent and coach) if `actor` may read it; NotFound otherwise."""
    found = session.execute(
        _visible_sessions(session, actor, CoachingSession, Agent, User).where(
            col(CoachingSession.id) == scope.as_id(session_id)
        )
    ).first()
    if found is None:
        raise NotFound(f"Coaching session {session_id} not found.")
    return found[0], found[1], found[2]


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------


def as_utc(value: datetime) -> datetime:
    """A timestamp in UTC (a naive one is taken to be UTC already)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_when(raw: str, field_name: str = "scheduled_at") -> datetime:
    """A date and time typed in a form or sent to the API (ISO 8601; without a zone, UTC)."""
    text = (raw or "").strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        value = None
    if value is None:
        raise InvalidInput(
            f"'{text[:40]}' is not a date and time (use YYYY-MM-DD HH:MM, UTC).", field=field_name
        )
    return check_when(value, field_name)


def check_when(value: datetime, field_name: str = "scheduled_at") -> datetime:
    """Refuse a date far outside any plausible session (usually a typo in the year)."""
    value = as_utc(value)
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise InvalidInput(f"Choose a date between {MIN_YEAR} and {MAX_YEAR}.", field=field_name)
    return value


def _duration(value: Any) -> int:
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        minutes = -1
    if isinstance(value, bool) or not MIN_DURATION <= minutes <= MAX_DURATION:
        raise InvalidInput(
            f"The duration is a number of minutes from {MIN_DURATION} to {MAX_DURATION}.",
            field="duration_minutes",
        )
    return minutes


def _text(value: str, limit: int, field_name: str) -> str:
    text = (value or "").replace("\x00", "").strip()
    if len(text) > limit:
        raise InvalidInput(
            f"Keep the {field_name.replace('_', ' ')} under {limit:,} characters.", field=field_name
        )
    return text


def _status(value: str) -> CoachingStatus:
    try:
        return CoachingStatus((value or "").strip())
    except ValueError:
        raise InvalidInput(
            f"'{str(value)[:40]}' is not a status (scheduled, completed, cancelled).", field="status"
        ) from None


def known_criteria(session: Session, keys: Iterable[str], field_name: str = "focus_criteria") -> list[str]:
    """The keys, in order, without duplicates, if some scorecard has each; else 422 naming an unknown one."""
    wanted: list[str] = []
    for key in keys:
        text = str(key).strip()
        if text and text not in wanted:
            wanted.append(text)
    if len(wanted) > MAX_FOCUS:
        raise InvalidInput(f"Pick at most {MAX_FOCUS} criteria.", field=field_name)
    if not wanted:
        return []
    present = set(session.exec(select(Criterion.key).where(col(Criterion.key).in_(wanted)).distinct()))
    unknown = [k for k in wanted if k not in present]
    if unknown:
        raise InvalidInput(f"Unknown criterion '{unknown[0][:64]}'.", field=field_name)
    return wanted


def _agent_reviews(session: Session, actor: User, agent_id: int) -> list[ColumnElement[bool]]:
    """The agent's submitted manual reviews that `actor` may open."""
    return [stats.counted(), col(Review.agent_id) == agent_id, scope.review_filter(session, actor)]


def _linkable(session: Session, actor: User, agent: Agent, values: Iterable[Any]) -> list[int]:
    ids = scope.as_ids(values, "review_ids")
    if len(ids) > MAX_LINKED_REVIEWS:
        raise InvalidInput(f"Link at most {MAX_LINKED_REVIEWS} reviews.", field="review_ids")
    if not ids:
        return []
    query = select(Review.id).where(col(Review.id).in_(ids), *_agent_reviews(session, actor, agent.id or 0))
    found = set(session.exec(query))
    missing = [i for i in ids if i not in found]
    if missing:
        raise InvalidInput(
            f"Review {missing[0]} is not a submitted review of {agent.name}.", field="review_ids"
        )
    return ids


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def create_session(
    session: Session,
    *,
    actor: User,
    agent_id: Any,
    scheduled_at: datetime,
    duration_minutes: Any = 30,
    title: str = "",
    review_ids: Sequence[Any] = (),
    focus_criteria: Sequence[str] = (),
    notes: str = "",
    private_notes: str = "",
    pin_ids: Sequence[Any] = (),
) -> CoachingSession:
    """Schedule a session with an agent the actor coaches; audited, and the agent is notified."""
    agent = coached_agent(session, actor=actor, agent_id=agent_id)
    row = CoachingSession(
        agent_id=agent.id or 0,
        coach_id=actor.id or 0,
        title=_text(title, MAX_TITLE, "title") or DEFAULT_TITLE,
        scheduled_at=check_when(scheduled_at),
        duration_minutes=_duration(duration_minutes),
        focus_criteria=known_criteria(session, focus_criteria),
        notes=_text(notes, MAX_NOTES, "notes"),
        private_notes=_text(private_notes, MAX_NOTES, "private_notes"),
    )
    links = _linkable(session, actor, agent, review_ids)
    pins = scope.as_ids(pin_ids, "pin_ids")
    session.add(row)
    session.flush()
    session.add_all(CoachingSessionReview(session_id=row.id or 0, review_id=r) for r in links)
    _discuss_pins(session, actor, row, pins)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="coaching_session.create",
        entity="coaching_session",
        entity_id=row.id,
        after={**_snapshot(row), "review_ids": links, "pin_ids": pins},
    )
    _notify_agent(session, row, "scheduled")
    return row


def update_session(
    session: Session, *, actor: User, session_id: Any, changes: SessionChanges
) -> CoachingSession:
    """Change a session (coaches in scope); audited with the changed fields before and after."""
    require_coach(actor)
    row, agent, _coach = get_session_row(session, actor=actor, session_id=session_id)
    before = {**_snapshot(row), "review_ids": _linked_ids(session, row.id or 0)}
    moved = _apply(session, actor, row, agent, changes)
    pins = scope.as_ids(changes.pin_ids, "pin_ids")
    _discuss_pins(session, actor, row, pins)
    after = {**_snapshot(row), "review_ids": _linked_ids(session, row.id or 0)}
    changed = [k for k in after if after[k] != before[k]]
    if changed or pins:
        row.updated_at = utcnow()
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="coaching_session.update",
            entity="coaching_session",
            entity_id=row.id,
            before={k: before[k] for k in changed},
            after={**{k: after[k] for k in changed}, **({"pin_ids": pins} if pins else {})},
        )
    if "status" in changed and row.status is CoachingStatus.cancelled:
        _notify_agent(session, row, "cancelled")
    elif moved:
        _notify_agent(session, row, "moved")
    return row


def _apply(
    session: Session, actor: User, row: CoachingSession, agent: Agent, changes: SessionChanges
) -> bool:
    """Apply `changes` to `row` (checking each); True when the session moved to another time."""
    moved = False
    if changes.scheduled_at is not None or changes.duration_minutes is not None:
        when = check_when(changes.scheduled_at) if changes.scheduled_at is not None else row.scheduled_at
        minutes = _duration(changes.duration_minutes) if changes.duration_minutes is not None else None
        if (
            when != row.scheduled_at or (minutes is not None and minutes != row.duration_minutes)
        ) and row.status is not CoachingStatus.scheduled:
            raise Conflict(f"This session is {row.status.value}; only a scheduled session can be moved.")
        moved = when != row.scheduled_at
        row.scheduled_at = when
        row.duration_minutes = minutes if minutes is not None else row.duration_minutes
    if changes.status is not None:
        _set_status(row, _status(changes.status))
    if changes.title is not None:
        row.title = _text(changes.title, MAX_TITLE, "title") or DEFAULT_TITLE
    if changes.notes is not None:
        row.notes = _text(changes.notes, MAX_NOTES, "notes")
    if changes.private_notes is not None:
        row.private_notes = _text(changes.private_notes, MAX_NOTES, "private_notes")
    if changes.focus_criteria is not None:
        row.focus_criteria = known_criteria(session, changes.focus_criteria)
    if changes.review_ids is not None:
        _relink(session, row, _linkable(session, actor, agent, changes.review_ids))
    return moved


def _set_status(row: CoachingSession, status: CoachingStatus) -> None:
    if status is row.status:
        return
    if row.status is not CoachingStatus.scheduled or status is CoachingStatus.scheduled:
        raise Conflict(f"This session is already {row.status.value}; its status can't change again.")
    row.status = status


def _relink(session: Session, row: CoachingSession, review_ids: list[int]) -> None:
    current = set(_linked_ids(session, row.id or 0))
    for stale in session.exec(
        select(CoachingSessionReview).where(
            CoachingSessionReview.session_id == row.id,
            col(CoachingSessionReview.review_id).not_in(review_ids),
        )
    ):
        session.delete(stale)
    session.add_all(
        CoachingSessionReview(session_id=row.id or 0, review_id=r) for r in review_ids if r not in current
    )
    session.flush()


def _linked_ids(session: Session, session_id: int) -> list[int]:
    query = select(CoachingSessionReview.review_id).where(CoachingSessionReview.session_id == session_id)
    return sorted(session.exec(query))


def _snapshot(row: CoachingSession) -> dict[str, Any]:
    return {
        "agent_id": row.agent_id,
        "coach_id": row.coach_id,
        "title": row.title,
        "scheduled_at": row.scheduled_at.isoformat(),
        "duration_minutes": row.duration_minutes,
        "status": row.status.value,
        "focus_criteria": list(row.focus_criteria),
        "notes": row.notes,
        "private_notes": row.private_notes,
    }


def _discuss_pins(session: Session, actor: User, row: CoachingSession, pin_ids: list[int]) -> None:
    if not pin_ids:
        return
    from qa.coaching import pins as pin_service  # written alongside (issue 5); imported when used

    for pin_id in pin_ids:
        pin_service.mark_discussed(session, actor=actor, pin_id=pin_id, coaching_session_id=row.id or 0)


def agent_user_ids(session: Session, agent_ids: Iterable[int]) -> dict[int, list[int]]:
    """The active users who log in as each agent."""
    wanted = sorted(set(agent_ids))
    found: dict[int, list[int]] = {}
    if wanted:
        query = select(User.agent_id, User.id).where(
            col(User.agent_id).in_(wanted), col(User.is_active).is_(True)
        )
        for agent_id, user_id in session.exec(query):
            found.setdefault(agent_id or 0, []).append(user_id or 0)
    return found


def session_link(session_id: int | None) -> str:
    """The session page's path (services have no request to build URLs from)."""
    return f"/coaching/sessions/{session_id}"


def _notify_agent(session: Session, row: CoachingSession, what: str) -> None:
    when = f"{row.scheduled_at:%a %d %b %Y, %H:%M} UTC"
    titles = {
        "scheduled": f"Coaching session scheduled: {row.title}, {when}",
        "moved": f"Coaching session moved: {row.title}, now {when}",
        "cancelled": f"Coaching session cancelled: {row.title} ({when})",
    }
    key = f"session:{row.id}:{what}:{row.scheduled_at.isoformat()}"
    notifications.notify(
        session,
        agent_user_ids(session, [row.agent_id]).get(row.agent_id, []),
        kind="session",
        title=titles[what],
        link=session_link(row.id),
        dedupe_key=key[:120],
    )


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def _review_choice_rows(
    session: Session, actor: User, where: list[ColumnElement[bool]], limit: int
) -> list[ReviewChoice]:
    query = (
        select_rows(
            col(Review.id),
            col(Review.submitted_at),
            col(Conversation.subject),
            col(Conversation.external_id),
            col(Review.score),
            col(Review.passed),
            col(Review.failed_critical),
            col(User.name),
            col(Review.reviewer_id),
        )
        .select_from(Review)
        .join(Conversation, col(Conversation.id) == col(Review.conversation_id))
        .join(User, col(User.id) == col(Review.reviewer_id))
        .where(*where)
        .order_by(col(Review.submitted_at).desc(), col(Review.id).desc())
        .limit(limit)
    )
    rows = session.execute(query).all()
    label_cache: dict[str, str] = {}
    found = []
    for rid, at, subject, external_id, score, passed, failed, name, reviewer_id in rows:
        if name not in label_cache:
            label_cache[name] = reviewer_label(session, actor, name)
        found.append(
            ReviewChoice(
                id=rid,
                submitted_at=at,
                subject=subject or f"Conversation {external_id}",
                score=score,
                passed=passed,
                failed_critical=bool(failed),
                reviewer=label_cache[name],
                may_open=actor.role is not Role.reviewer or reviewer_id == actor.id,
            )
        )
    return found


def review_choices(
    session: Session, *, actor: User, agent_id: Any, limit: int = REVIEW_CHOICES
) -> list[ReviewChoice]:
    """The picker: the agent's submitted manual reviews the coach may open, newest first, with scores."""
    agent = coached_agent(session, actor=actor, agent_id=agent_id)
    return _review_choice_rows(session, actor, _agent_reviews(session, actor, agent.id or 0), limit)


def criterion_choices(
    session: Session, *, actor: User, agent_id: Any, include: Sequence[str] = ()
) -> list[Choice]:
    """The criteria the agent has been rated on (with an option), plus `include`, in scorecard order."""
    agent = get_agent(session, actor=actor, agent_id=agent_id)
    query = (
        select_rows(col(Rating.criterion_key))
        .select_from(Review)
        .join(Rating, col(Rating.review_id) == col(Review.id))
        .where(stats.counted(), col(Review.agent_id) == agent.id, col(Rating.option_score).is_not(None))
        .distinct()
    )
    keys = [k for (k,) in session.execute(query)] + [k for k in include if k]
    return named_criteria(session, keys)


def named_criteria(session: Session, keys: Sequence[str]) -> list[Choice]:
    """Criterion keys with their current names, in the newest scorecard's order."""
    names = stats.criterion_names(session, list(keys))
    return [Choice(k, names.get(k, k)) for k in stats.criterion_order(session, list(keys))]


def active_criterion_keys(session: Session) -> list[str]:
    """The criterion keys of the scorecards not archived (any version)."""
    query = (
        select_rows(col(Criterion.key))
        .select_from(Criterion)
        .join(ScorecardVersion, col(ScorecardVersion.id) == col(Criterion.version_id))
        .join(Scorecard, col(Scorecard.id) == col(ScorecardVersion.scorecard_id))
        .where(col(Scorecard.archived).is_(False))
        .distinct()
        .limit(500)
    )
    return [k for (k,) in session.execute(query)]


def session_view(session: Session, *, actor: User, session_id: Any) -> SessionView:
    """One session as `actor` may see it (agents: their own, without private notes)."""
    row, agent, coach = get_session_row(session, actor=actor, session_id=session_id)
    reviews = _review_choice_rows(
        session,
        actor,
        [
            col(Review.id).in_(
                select(CoachingSessionReview.review_id).where(CoachingSessionReview.session_id == row.id)
            ),
            scope.review_filter(session, actor),
        ],
        MAX_LINKED_REVIEWS,
    )
    return SessionView(
        id=row.id or 0,
        agent_id=agent.id or 0,
        agent_name=agent.name,
        team_id=agent.team_id,
        coach_id=coach.id or 0,
        coach_name=coach.name,
        title=row.title,
        scheduled_at=row.scheduled_at,
        duration_minutes=row.duration_minutes,
        status=row.status,
        notes=row.notes,
        private_notes=row.private_notes if is_coach(actor) else None,
        focus=named_criteria(session, row.focus_criteria),
        reviews=reviews,
        created_at=row.created_at,
        updated_at=row.updated_at,
        can_edit=is_coach(actor),
    )


def check_filters(filters: SessionFilters) -> None:
    """Refuse a status or period that does not exist, and ids that can't be."""
    for name, value in (("agent", filters.agent_id), ("coach", filters.coach_id)):
        if value is not None and not 0 < value <= scope.MAX_ID:
            raise InvalidInput(f"'{value}' is not a valid {name}.", field=name)
    if filters.status:
        _status(filters.status)
    if filters.when not in WHEN:
        raise InvalidInput(f"'{filters.when[:20]}' is not a period (upcoming or past).", field="when")


def list_sessions(
    session: Session,
    *,
    actor: User,
    filters: SessionFilters,
    now: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> SessionPage:
    """Sessions `actor` may read, filtered; upcoming soonest first, otherwise newest first (keyset pages)."""
    check_filters(filters)
    now = now or utcnow()
    ascending = filters.when == "upcoming"
    linked = (
        select_rows(func.count())
        .where(col(CoachingSessionReview.session_id) == col(CoachingSession.id))
        .correlate(CoachingSession)
        .scalar_subquery()
    )
    query = _visible_sessions(session, actor, CoachingSession, col(Agent.name), col(User.name), linked)
    query = query.where(*_filter_clauses(filters, now))
    at, ident = col(CoachingSession.scheduled_at), col(CoachingSession.id)
    if cursor:
        last_at, last_id = _decode_cursor(cursor)
        query = query.where(
            or_(at > last_at, and_(at == last_at, ident > last_id))
            if ascending
            else or_(at < last_at, and_(at == last_at, ident < last_id))
        )
    limit = max(1, min(int(limit), MAX_PAGE))
    order = (at.asc(), ident.asc()) if ascending else (at.desc(), ident.desc())
    found = session.execute(query.order_by(*order).limit(limit + 1)).all()
    rows = [
        SessionRow(
            id=s.id or 0,
            agent_id=s.agent_id,
            agent_name=agent_name,
            coach_id=s.coach_id,
            coach_name=coach_name,
            title=s.title,
            scheduled_at=s.scheduled_at,
            duration_minutes=s.duration_minutes,
            status=s.status,
            review_count=int(count or 0),
            focus_criteria=tuple(s.focus_criteria),
        )
        for s, agent_name, coach_name, count in found[:limit]
    ]
    next_cursor = _encode_cursor(rows[-1].scheduled_at, rows[-1].id) if len(found) > limit else None
    return SessionPage(rows=rows, next_cursor=next_cursor)


def _filter_clauses(filters: SessionFilters, now: datetime) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.agent_id is not None:
        clauses.append(col(CoachingSession.agent_id) == filters.agent_id)
    if filters.coach_id is not None:
        clauses.append(col(CoachingSession.coach_id) == filters.coach_id)
    if filters.status:
        clauses.append(col(CoachingSession.status) == _status(filters.status))
    if filters.when == "upcoming":
        clauses.append(col(CoachingSession.scheduled_at) >= now)
    elif filters.when == "past":
        clauses.append(col(CoachingSession.scheduled_at) < now)
    return clauses


def _encode_cursor(at: datetime, ident: int) -> str:
    raw = json.dumps([as_utc(at).isoformat(), ident]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        stamp, ident = json.loads(
            base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode("ascii"))
        )
        at = as_utc(datetime.fromisoformat(stamp))
        if isinstance(ident, bool) or not isinstance(ident, int) or not 0 < ident <= scope.MAX_ID:
            raise ValueError(ident)
    except (ValueError, TypeError, UnicodeError, binascii.Error, RecursionError):
        raise InvalidInput(
            "This page link is invalid; start again from the first page.", field="cursor"
        ) from None
    return at, ident


def sessions_of_agent(
    session: Session, *, actor: User, agent_id: int, now: datetime
) -> tuple[list[SessionRow], list[SessionRow]]:
    """An agent's upcoming (soonest first) and past (newest first, last 20) sessions."""
    upcoming = list_sessions(
        session, actor=actor, filters=SessionFilters(agent_id=agent_id, when="upcoming"), now=now, limit=20
    ).rows
    past = list_sessions(
        session, actor=actor, filters=SessionFilters(agent_id=agent_id, when="past"), now=now, limit=20
    ).rows
    return upcoming, past

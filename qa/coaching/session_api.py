"""/api/v1 coaching sessions, goals and notifications (issue 5): the same rules as the pages.

Agents read their own sessions and goals (never private notes: `private_notes` is null for them and
for reviewers); managers and admins coach the agents in their scope; another agent's or an unknown
session answers 404. Times are UTC (a time without a zone is taken as UTC).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from qa.auth import scope
from qa.auth.deps import ApiUser, SessionDep
from qa.coaching import goals as goal_service
from qa.coaching import sessions as session_service
from qa.coaching.sessions import SessionChanges, SessionFilters
from qa.errors import InvalidInput
from qa.models import Notification
from qa.notifications import service as notification_service

router = APIRouter(tags=["coaching"])

MAX_TEXT = session_service.MAX_NOTES + 1000  # the service names the limit; this only stops huge bodies


class ReviewLinkOut(BaseModel):
    """A review linked to a session."""

    id: int
    submitted_at: datetime | None
    subject: str
    score: float | None
    passed: bool | None
    failed_critical: bool
    reviewer: str


class CriterionOut(BaseModel):
    """A criterion key and its current name."""

    key: str
    name: str


class ProgressOut(BaseModel):
    """A goal's figures so far: counted reviews in its window, how many carry its figure, their average."""

    reviews: int
    n: int
    average: float | None


class GoalOut(BaseModel):
    """A goal; `criterion` null is the overall quality score. `status` is as of today (UTC)."""

    id: int
    agent_id: int
    session_id: int | None
    coach_id: int
    criterion: str | None
    criterion_name: str
    target: float
    start_date: date
    due_date: date
    status: str
    progress: ProgressOut
    gap: float | None


class SessionRowOut(BaseModel):
    """A session in a list."""

    id: int
    agent_id: int
    agent_name: str
    coach_id: int
    coach_name: str
    title: str
    scheduled_at: datetime
    duration_minutes: int
    status: str
    review_count: int
    focus_criteria: list[str]


class SessionPageOut(BaseModel):
    """One page of sessions; pass `next` as `cursor` for the next."""

    items: list[SessionRowOut]
    next: str | None


class SessionOut(BaseModel):
    """A session with its linked reviews, focus criteria and goals."""

    id: int
    agent_id: int
    agent_name: str
    coach_id: int
    coach_name: str
    title: str
    scheduled_at: datetime
    duration_minutes: int
    status: str
    notes: str
    private_notes: str | None
    focus_criteria: list[CriterionOut]
    reviews: list[ReviewLinkOut]
    goals: list[GoalOut]
    created_at: datetime
    updated_at: datetime


class SessionIn(BaseModel):
    """A new session. `pin_ids`: open pins of the agent to mark as discussed in it."""

    model_config = ConfigDict(extra="forbid")

    agent_id: int
    scheduled_at: datetime
    duration_minutes: int = 30
    title: str = Field(default="", max_length=MAX_TEXT)
    review_ids: list[int] = Field(default_factory=list, max_length=500)
    focus_criteria: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=500)
    notes: str = Field(default="", max_length=MAX_TEXT)
    private_notes: str = Field(default="", max_length=MAX_TEXT)
    pin_ids: list[int] = Field(default_factory=list, max_length=500)


class SessionPatch(BaseModel):
    """Changes to a session: fields left out (or null) stay as they are; `review_ids` replaces the links."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=MAX_TEXT)
    scheduled_at: datetime | None = None
    duration_minutes: int | None = None
    status: str | None = Field(default=None, max_length=40)
    notes: str | None = Field(default=None, max_length=MAX_TEXT)
    private_notes: str | None = Field(default=None, max_length=MAX_TEXT)
    review_ids: list[int] | None = Field(default=None, max_length=500)
    focus_criteria: list[Annotated[str, Field(max_length=200)]] | None = Field(default=None, max_length=500)
    pin_ids: list[int] = Field(default_factory=list, max_length=500)


class GoalIn(BaseModel):
    """A goal: `criterion` key (null: the overall quality score), target 0–100, due date; start defaults to
    the session's day."""

    model_config = ConfigDict(extra="forbid")

    criterion: str | None = Field(default=None, max_length=200)
    target: float
    start_date: date | None = None
    due_date: date


class GoalPageOut(BaseModel):
    """An agent's goals, open ones first."""

    items: list[GoalOut]


class NotificationOut(BaseModel):
    """An in-app notice; `link` is a path in the web app."""

    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None


class NotificationPageOut(BaseModel):
    """The user's notices, newest first; pass `next` as `before` for older ones."""

    items: list[NotificationOut]
    unread: int
    next: int | None


class ReadIn(BaseModel):
    """Which notices to mark read: `ids` (others' ids are ignored), or `all`."""

    model_config = ConfigDict(extra="forbid")

    ids: list[int] = Field(default_factory=list, max_length=1000)
    all: bool = False


class ReadOut(BaseModel):
    """How many notices were marked read, and how many are still unread."""

    marked: int
    unread: int


def _goal_out(g: goal_service.GoalView) -> GoalOut:
    return GoalOut(
        id=g.id,
        agent_id=g.agent_id,
        session_id=g.session_id,
        coach_id=g.coach_id,
        criterion=g.criterion_key,
        criterion_name=g.label,
        target=g.target,
        start_date=g.start_date,
        due_date=g.due_date,
        status=g.status.value,
        gap=g.gap,
        progress=ProgressOut(reviews=g.progress.reviews, n=g.progress.n, average=g.progress.average),
    )


def _session_out(session: Any, user: Any, session_id: int) -> SessionOut:
    v = session_service.session_view(session, actor=user, session_id=session_id)
    goals = goal_service.list_goals(session, actor=user, session_id=v.id)
    return SessionOut(
        id=v.id,
        agent_id=v.agent_id,
        agent_name=v.agent_name,
        coach_id=v.coach_id,
        coach_name=v.coach_name,
        title=v.title,
        scheduled_at=v.scheduled_at,
        duration_minutes=v.duration_minutes,
        status=v.status.value,
        notes=v.notes,
        private_notes=v.private_notes,
        created_at=v.created_at,
        updated_at=v.updated_at,
        focus_criteria=[CriterionOut(key=c.id, name=c.name) for c in v.focus],
        reviews=[
            ReviewLinkOut(
                id=r.id,
                submitted_at=r.submitted_at,
                subject=r.subject,
                score=r.score,
                passed=r.passed,
                failed_critical=r.failed_critical,
                reviewer=r.reviewer,
            )
            for r in v.reviews
        ],
        goals=[_goal_out(g) for g in goals],
    )


@router.get("/coaching/sessions", response_model=SessionPageOut)
def list_sessions(
    session: SessionDep,
    user: ApiUser,
    agent: int | None = None,
    coach: int | None = None,
    status: Annotated[str, Query(max_length=40)] = "",
    when: Annotated[str, Query(max_length=40, description="upcoming or past")] = "",
    limit: Annotated[int, Query(ge=1, le=session_service.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> SessionPageOut:
    """Coaching sessions you may read (agents: their own); upcoming soonest first, otherwise newest first."""
    filters = SessionFilters(agent_id=agent, coach_id=coach, status=status, when=when)
    page = session_service.list_sessions(session, actor=user, filters=filters, cursor=cursor, limit=limit)
    items = [
        SessionRowOut(
            id=r.id,
            agent_id=r.agent_id,
            agent_name=r.agent_name,
            coach_id=r.coach_id,
            coach_name=r.coach_name,
            title=r.title,
            scheduled_at=r.scheduled_at,
            duration_minutes=r.duration_minutes,
            status=r.status.value,
            review_count=r.review_count,
            focus_criteria=list(r.focus_criteria),
        )
        for r in page.rows
    ]
    return SessionPageOut(items=items, next=page.next_cursor)


@router.post("/coaching/sessions", status_code=201, response_model=SessionOut)
def create_session(body: SessionIn, session: SessionDep, user: ApiUser) -> SessionOut:
    """Schedule a session with an agent you coach (managers, admins); the agent is notified."""
    row = session_service.create_session(
        session,
        actor=user,
        agent_id=body.agent_id,
        scheduled_at=body.scheduled_at,
        duration_minutes=body.duration_minutes,
        title=body.title,
        review_ids=body.review_ids,
        focus_criteria=body.focus_criteria,
        notes=body.notes,
        private_notes=body.private_notes,
        pin_ids=body.pin_ids,
    )
    return _session_out(session, user, row.id or 0)


@router.get("/coaching/sessions/{session_id}", response_model=SessionOut)
def get_session(session_id: int, session: SessionDep, user: ApiUser) -> SessionOut:
    """One session with its reviews, focus criteria and goals (private notes for coaches only)."""
    return _session_out(session, user, session_id)


@router.patch("/coaching/sessions/{session_id}", response_model=SessionOut)
def update_session(session_id: int, body: SessionPatch, session: SessionDep, user: ApiUser) -> SessionOut:
    """Change a session (coaches): time, status (scheduled → completed | cancelled), notes, links, focus."""
    changes = SessionChanges(
        title=body.title,
        scheduled_at=body.scheduled_at,
        duration_minutes=body.duration_minutes,
        status=body.status,
        notes=body.notes,
        private_notes=body.private_notes,
        review_ids=body.review_ids,
        focus_criteria=body.focus_criteria,
        pin_ids=body.pin_ids,
    )
    row = session_service.update_session(session, actor=user, session_id=session_id, changes=changes)
    return _session_out(session, user, row.id or 0)


@router.post("/coaching/sessions/{session_id}/goals", status_code=201, response_model=GoalOut)
def create_goal(session_id: int, body: GoalIn, session: SessionDep, user: ApiUser) -> GoalOut:
    """Set a goal on a session (coaches); it counts reviews from `start_date` (default: the session's day)."""
    goal = goal_service.create_goal(
        session,
        actor=user,
        session_id=session_id,
        criterion_key=body.criterion,
        target_score=body.target,
        start_date=body.start_date,
        due_date=body.due_date,
    )
    return _goal_out(goal_service.goal_view(session, actor=user, goal_id=goal.id))


@router.get("/agents/{agent_id}/goals", response_model=GoalPageOut)
def agent_goals(
    agent_id: int,
    session: SessionDep,
    user: ApiUser,
    state: Annotated[str, Query(max_length=20, description="open, closed, or empty for all")] = "",
) -> GoalPageOut:
    """An agent's goals with their progress (agents: only their own)."""
    agent = session_service.get_agent(session, actor=user, agent_id=agent_id)
    goals = goal_service.list_goals(session, actor=user, agent_id=agent.id, state=state)
    return GoalPageOut(items=[_goal_out(g) for g in goals])


def _notification_out(n: Notification) -> NotificationOut:
    return NotificationOut(
        id=n.id or 0,
        kind=n.kind,
        title=n.title,
        body=n.body,
        link=n.link,
        created_at=n.created_at,
        read_at=n.read_at,
    )


@router.get("/notifications", response_model=NotificationPageOut)
def list_notifications(
    session: SessionDep,
    user: ApiUser,
    before: Annotated[
        int | None, Query(ge=1, le=scope.MAX_ID, description="Only notices older than this id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotificationPageOut:
    """Your notices, newest first, and your unread count."""
    rows = notification_service.latest(session, user, limit=limit + 1, before_id=before)
    return NotificationPageOut(
        items=[_notification_out(n) for n in rows[:limit]],
        unread=notification_service.unread_count(session, user),
        next=rows[limit - 1].id if len(rows) > limit else None,
    )


@router.post("/notifications/read", response_model=ReadOut)
def read_notifications(body: ReadIn, session: SessionDep, user: ApiUser) -> ReadOut:
    """Mark your notices read: the given ids (others' ids are ignored) or all of them."""
    if not body.all and not body.ids:
        raise InvalidInput('Send the notice ids to mark read, or "all": true.', field="ids")
    ids = [i for i in body.ids if 0 < i <= scope.MAX_ID]  # a larger id can't exist (32-bit ids)
    marked = notification_service.mark_read(session, user, None if body.all else ids)
    return ReadOut(marked=marked, unread=notification_service.unread_count(session, user))

"""Coaching goals: a target average (0–100) on one criterion, or on the overall quality score, by a date.

Decisions:

- **Progress** is computed from the agent's *counted* reviews (submitted, manual: `stats.counted()`)
  submitted on the UTC days `start_date` .. min(today, `due_date`), by the rules of
  qa.reporting.stats: a criterion goal averages the option scores × 100 of the ratings with an option
  on that criterion **key** (N/A left out; any scorecard version); an overall goal averages the review
  scores (empty scores left out), i.e. the IQS of that window. It is the same for every reader who may
  see the goal: it covers all of the agent's reviews, not only those of the reader's teams, since a
  goal is about the agent. One SQL statement computes the progress of any number of goals (a UNION
  ALL of one grouped SELECT per goal, each using the review index by agent and day).
- **Met or missed**: once the due date has passed, the goal is *met* when the average reached the
  target, *missed* otherwise (also when no review was counted: nothing shows the target was reached).
  The verdict is **persisted by the scheduler's tick** (`process_due`, every minute); until it has
  run, every page computes the same verdict from the same figures, so nobody sees a stale "open".
- Coaches may **cancel** an open goal; a settled or cancelled goal stays as it is (409).
- **Due soon**: an open goal due today or within `DUE_SOON_DAYS` days gets one "goal_due" notice to
  the agent's users and to its coach (dedupe key `goal:{id}:due`), from the tick and from loading the
  notifications page or bell (`due_goal_notices`, one indexed query when there is nothing to send).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, cast, exists, false, func, literal, or_, union_all
from sqlalchemy import select as select_rows
from sqlmodel import Session, col, select

from qa.audit import service as audit
from qa.auth import scope
from qa.coaching import sessions as session_service
from qa.errors import Conflict, InvalidInput, NotFound
from qa.models import (
    Agent,
    CoachingGoal,
    CoachingSession,
    CoachingStatus,
    GoalStatus,
    Notification,
    Rating,
    Review,
    User,
    utcnow,
)
from qa.notifications import service as notifications
from qa.reporting import stats

OVERALL_LABEL = "Overall quality score"
DUE_SOON_DAYS = 2
MAX_GOALS_SHOWN = 200
SETTLE_BATCH = 500
UNION_CHUNK = 200  # SQLite allows at most 500 SELECTs in one compound statement
STATES = ("", "open", "closed")


@dataclass(frozen=True)
class Progress:
    """The window's figures: counted reviews, how many of them carry the goal's figure, its average."""

    reviews: int
    n: int
    average: float | None


NO_PROGRESS = Progress(0, 0, None)


@dataclass(frozen=True)
class GoalView:
    """A goal with its progress and its status as of `today` (settled by date even before the tick)."""

    id: int
    agent_id: int
    agent_name: str
    session_id: int | None
    coach_id: int
    coach_name: str
    criterion_key: str | None
    criterion_name: str
    target: float
    start_date: date
    due_date: date
    status: GoalStatus
    created_at: datetime
    closed_at: datetime | None
    progress: Progress
    today: date

    @property
    def label(self) -> str:
        return self.criterion_name or self.criterion_key or OVERALL_LABEL

    @property
    def is_open(self) -> bool:
        return self.status is GoalStatus.open

    @property
    def gap(self) -> float | None:
        """Average minus target (negative: still below the target)."""
        average = self.progress.average
        return None if average is None else average - self.target

    @property
    def on_track(self) -> bool:
        return self.progress.average is not None and self.progress.average >= self.target - 1e-9

    @property
    def days_left(self) -> int:
        return (self.due_date - self.today).days

    @property
    def bar_value(self) -> float:
        """The average for the progress bar, on its 0–100 scale (0 without reviews)."""
        return min(100.0, max(0.0, self.progress.average or 0.0))


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------


def parse_target(value: Any) -> float:
    """A target score from a form or JSON: a number from 0 to 100."""
    try:
        target = float(str(value).strip()) if not isinstance(value, bool) else math.nan
    except ValueError:
        target = math.nan
    if not 0 <= target <= 100:
        raise InvalidInput(f"'{str(value)[:20]}' is not a target from 0 to 100.", field="target")
    return target


def parse_day(raw: Any, field_name: str) -> date:
    """A YYYY-MM-DD date from a form or JSON."""
    text = str(raw or "").strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or not session_service.MIN_YEAR <= day.year <= session_service.MAX_YEAR:
        raise InvalidInput(f"'{text[:20]}' is not a date (use YYYY-MM-DD).", field=field_name)
    return day


def today_utc() -> date:
    """Today's date in UTC, the calendar every report uses."""
    return utcnow().date()


def _check_dates(start: date, due: date, today: date) -> None:
    if due < start:
        raise InvalidInput("The due date is before the start date.", field="due_date")
    if due < today:
        raise InvalidInput("The due date has passed; choose today or a later day.", field="due_date")
    if (due - start).days >= stats.MAX_DAYS:
        raise InvalidInput(f"A goal spans at most {stats.MAX_DAYS} days.", field="due_date")


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def create_goal(
    session: Session,
    *,
    actor: User,
    target_score: Any,
    due_date: date,
    criterion_key: str | None = None,
    agent_id: Any = None,
    session_id: Any = None,
    start_date: date | None = None,
    today: date | None = None,
) -> CoachingGoal:
    """Set a goal for an agent the actor coaches, on a session (start: its day) or directly (start: today)."""
    today = today or today_utc()
    agent, coaching = _goal_owner(session, actor, agent_id, session_id)
    start = start_date or (coaching.scheduled_at.date() if coaching else today)
    _check_dates(start, due_date, today)
    key = (criterion_key or "").strip() or None
    name = ""
    if key is not None:
        session_service.known_criteria(session, [key], field_name="criterion")
        name = stats.criterion_names(session, [key]).get(key, key)
    goal = CoachingGoal(
        agent_id=agent.id or 0,
        session_id=coaching.id if coaching else None,
        coach_id=actor.id or 0,
        criterion_key=key,
        criterion_name=name,
        target_score=parse_target(target_score),
        start_date=start,
        due_date=due_date,
    )
    session.add(goal)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="coaching_goal.create",
        entity="coaching_goal",
        entity_id=goal.id,
        after=_snapshot(goal),
    )
    return goal


def _goal_owner(
    session: Session, actor: User, agent_id: Any, session_id: Any
) -> tuple[Agent, CoachingSession | None]:
    session_service.require_coach(actor)
    if session_id is None:
        if agent_id is None:
            raise InvalidInput("Say which agent the goal is for.", field="agent_id")
        return session_service.coached_agent(session, actor=actor, agent_id=agent_id), None
    coaching, agent, _coach = session_service.get_session_row(session, actor=actor, session_id=session_id)
    if agent_id is not None and scope.as_id(agent_id) != agent.id:
        raise InvalidInput("The session is with another agent.", field="agent_id")
    if coaching.status is CoachingStatus.cancelled:
        raise Conflict("This session was cancelled; set the goal on the agent's board instead.")
    return agent, coaching


def cancel_goal(session: Session, *, actor: User, goal_id: Any, today: date | None = None) -> CoachingGoal:
    """Cancel an open goal (coaches in scope); audited."""
    session_service.require_coach(actor)
    goal = _visible_goal(session, actor, goal_id)
    view = _views(session, [goal], today or today_utc())[0]
    if not view.is_open:
        raise Conflict(f"This goal is already {view.status.value}.")
    before = _snapshot(goal)
    goal.status, goal.closed_at = GoalStatus.cancelled, utcnow()
    session.add(goal)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="coaching_goal.update",
        entity="coaching_goal",
        entity_id=goal.id,
        before={"status": before["status"]},
        after={"status": goal.status.value},
    )
    return goal


def _snapshot(goal: CoachingGoal) -> dict[str, Any]:
    return {
        "agent_id": goal.agent_id,
        "session_id": goal.session_id,
        "coach_id": goal.coach_id,
        "criterion_key": goal.criterion_key,
        "target_score": goal.target_score,
        "start_date": goal.start_date.isoformat(),
        "due_date": goal.due_date.isoformat(),
        "status": goal.status.value,
    }


# ---------------------------------------------------------------------------------------------
# Progress
# ---------------------------------------------------------------------------------------------


def window_end(goal: CoachingGoal, today: date) -> date:
    """The last day whose reviews count so far: today, or the due date once it has passed."""
    return min(today, goal.due_date)


def _progress_select(goal: CoachingGoal, today: date) -> Any:
    starts = datetime.combine(goal.start_date, time.min, tzinfo=UTC)
    ends = datetime.combine(window_end(goal, today) + timedelta(days=1), time.min, tzinfo=UTC)
    where = [
        stats.counted(),
        col(Review.agent_id) == goal.agent_id,
        col(Review.submitted_at) >= starts,
        col(Review.submitted_at) < ends,
    ]
    if goal.criterion_key is None:
        figures = (func.count(col(Review.score)), func.avg(col(Review.score)))
        return select_rows(literal(goal.id), func.count(col(Review.id)), *figures).where(*where)
    rating = and_(col(Rating.review_id) == col(Review.id), col(Rating.criterion_key) == goal.criterion_key)
    return (
        select_rows(
            literal(goal.id),
            func.count(col(Review.id)),
            func.count(col(Rating.option_score)),
            func.avg(col(Rating.option_score)) * 100,
        )
        .select_from(Review)
        .outerjoin(Rating, rating)
        .where(*where)
    )


def progress_of(session: Session, goals: Sequence[CoachingGoal], today: date) -> dict[int, Progress]:
    """Each goal's progress (by id), in one statement per UNION_CHUNK goals."""
    started = [g for g in goals if g.start_date <= window_end(g, today)]
    found: dict[int, Progress] = {g.id or 0: NO_PROGRESS for g in goals}
    for i in range(0, len(started), UNION_CHUNK):
        selects = [_progress_select(g, today) for g in started[i : i + UNION_CHUNK]]
        query: Any = selects[0] if len(selects) == 1 else union_all(*selects)
        for goal_id, reviews, n, average in session.execute(query):
            found[int(goal_id)] = Progress(
                int(reviews or 0), int(n or 0), float(average) if average is not None and n else None
            )
    return found


def verdict(goal: CoachingGoal, progress: Progress, today: date) -> GoalStatus:
    """The goal's status on `today`: as stored, or met/missed once an open goal's due date has passed."""
    if goal.status is not GoalStatus.open or today <= goal.due_date:
        return goal.status
    reached = progress.average is not None and progress.average >= goal.target_score - 1e-9
    return GoalStatus.met if reached else GoalStatus.missed


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def _visible_goal(session: Session, actor: User, goal_id: Any) -> CoachingGoal:
    query = (
        select(CoachingGoal)
        .join(Agent, col(Agent.id) == col(CoachingGoal.agent_id))
        .where(col(CoachingGoal.id) == scope.as_id(goal_id), session_service.agent_filter(session, actor))
    )
    goal = session.exec(query).first()
    if goal is None:
        raise NotFound(f"Goal {goal_id} not found.")
    return goal


def _views(session: Session, goals: Sequence[CoachingGoal], today: date) -> list[GoalView]:
    if not goals:
        return []
    progress = progress_of(session, goals, today)
    agents = dict(
        session.execute(
            select_rows(col(Agent.id), col(Agent.name)).where(col(Agent.id).in_({g.agent_id for g in goals}))
        ).all()
    )
    coaches = dict(
        session.execute(
            select_rows(col(User.id), col(User.name)).where(col(User.id).in_({g.coach_id for g in goals}))
        ).all()
    )
    return [
        GoalView(
            id=g.id or 0,
            agent_id=g.agent_id,
            agent_name=agents.get(g.agent_id, ""),
            session_id=g.session_id,
            coach_id=g.coach_id,
            coach_name=coaches.get(g.coach_id, ""),
            criterion_key=g.criterion_key,
            criterion_name=g.criterion_name if g.criterion_key else OVERALL_LABEL,
            target=g.target_score,
            start_date=g.start_date,
            due_date=g.due_date,
            status=verdict(g, progress[g.id or 0], today),
            created_at=g.created_at,
            closed_at=g.closed_at,
            progress=progress[g.id or 0],
            today=today,
        )
        for g in goals
    ]


def goal_view(session: Session, *, actor: User, goal_id: Any, today: date | None = None) -> GoalView:
    """One goal the actor may see, with its progress."""
    return _views(session, [_visible_goal(session, actor, goal_id)], today or today_utc())[0]


def list_goals(
    session: Session,
    *,
    actor: User,
    agent_id: int | None = None,
    coach_id: int | None = None,
    session_id: int | None = None,
    state: str = "",
    today: date | None = None,
    limit: int = MAX_GOALS_SHOWN,
) -> list[GoalView]:
    """Goals `actor` may see, open ones first (soonest due first), then the others (latest due first).

    `state` "open" keeps goals still running today; "closed" the met, missed and cancelled ones.
    """
    today = today or today_utc()
    if state not in STATES:
        raise InvalidInput(f"'{state[:20]}' is not a goal state (open or closed).", field="state")
    running = (col(CoachingGoal.status) == GoalStatus.open) & (col(CoachingGoal.due_date) >= today)
    query = (
        select(CoachingGoal)
        .join(Agent, col(Agent.id) == col(CoachingGoal.agent_id))
        .where(session_service.agent_filter(session, actor), *_goal_clauses(agent_id, coach_id, session_id))
    )
    if state == "open":
        query = query.where(running)
    elif state == "closed":
        query = query.where(~running)
    first = case((running, 0), else_=1)
    due_order = case((running, col(CoachingGoal.due_date)), else_=None)
    query = query.order_by(first, due_order, col(CoachingGoal.due_date).desc(), col(CoachingGoal.id).desc())
    return _views(session, list(session.exec(query.limit(max(1, min(limit, MAX_GOALS_SHOWN))))), today)


def _goal_clauses(
    agent_id: int | None, coach_id: int | None, session_id: int | None
) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if agent_id is not None:
        clauses.append(col(CoachingGoal.agent_id) == agent_id)
    if coach_id is not None:
        clauses.append(col(CoachingGoal.coach_id) == coach_id)
    if session_id is not None:
        clauses.append(col(CoachingGoal.session_id) == session_id)
    return clauses


# ---------------------------------------------------------------------------------------------
# The scheduler's part: settle goals past their due date, announce goals due soon
# ---------------------------------------------------------------------------------------------


def settle_due_goals(session: Session, today: date) -> int:
    """Persist met/missed for open goals whose due date has passed (audited as the system); how many."""
    goals = list(
        session.exec(
            select(CoachingGoal)
            .where(col(CoachingGoal.status) == GoalStatus.open, col(CoachingGoal.due_date) < today)
            .order_by(col(CoachingGoal.id))
            .limit(SETTLE_BATCH)
        )
    )
    progress = progress_of(session, goals, today)
    now = utcnow()
    for goal in goals:
        figures = progress[goal.id or 0]
        goal.status, goal.closed_at = verdict(goal, figures, today), now
        session.add(goal)
        audit.record(
            session,
            actor=None,
            action="coaching_goal.settle",
            entity="coaching_goal",
            entity_id=goal.id,
            before={"status": GoalStatus.open.value},
            after={"status": goal.status.value, "average": figures.average, "n": figures.n},
        )
    session.flush()
    return len(goals)


def due_goal_notices(session: Session, today: date, *, user: User | None = None) -> int:
    """Notify agent and coach of open goals due within DUE_SOON_DAYS (once each); only `user`'s when given."""
    who, agent_of = col(User.id), col(User.agent_id)
    key = literal("goal:", String) + cast(col(CoachingGoal.id), String) + literal(":due", String)
    sent = exists().where(col(Notification.user_id) == who, col(Notification.dedupe_key) == key)
    query = (
        select_rows(CoachingGoal, who, agent_of, col(Agent.name))
        .join(User, or_(who == col(CoachingGoal.coach_id), agent_of == col(CoachingGoal.agent_id)))
        .join(Agent, col(Agent.id) == col(CoachingGoal.agent_id))
        .where(
            col(CoachingGoal.status) == GoalStatus.open,
            col(CoachingGoal.due_date) >= today,
            col(CoachingGoal.due_date) <= today + timedelta(days=DUE_SOON_DAYS),
            col(User.is_active).is_(True),
            ~sent,
        )
    )
    if user is not None:
        query = query.where(who == user.id) if user.id else query.where(false())
    rows = session.execute(query).all()
    if not rows:
        return 0
    goals = {g.id: g for g, *_ in rows}
    progress = progress_of(session, list(goals.values()), today)
    written = 0
    for goal_id, goal in goals.items():
        agent_name = next(name for g, _u, _a, name in rows if g.id == goal_id)
        as_agent = [
            u for g, u, a, _n in rows if g.id == goal_id and a == goal.agent_id and u != goal.coach_id
        ]
        as_coach = [u for g, u, _a, _n in rows if g.id == goal_id and u == goal.coach_id]
        written += _notify_due(session, goal, progress[goal_id], agent_name, as_agent, as_coach, today)
    return written


def _notify_due(
    session: Session,
    goal: CoachingGoal,
    figures: Progress,
    agent_name: str,
    as_agent: list[int],
    as_coach: list[int],
    today: date,
) -> int:
    label = goal.criterion_name or goal.criterion_key or OVERALL_LABEL
    when = "today" if goal.due_date == today else f"on {goal.due_date:%a %d %b}"
    aim = f"{label} at {goal.target_score:g} or above"
    body = (
        f"Average so far {figures.average:.1f} over {figures.n} review{'s' if figures.n != 1 else ''}."
        if figures.average is not None
        else "No reviews counted yet."
    )
    link, key = f"/coaching/agents/{goal.agent_id}", f"goal:{goal.id}:due"
    return notifications.notify(
        session,
        as_agent,
        kind="goal_due",
        title=f"Your goal is due {when}: {aim}",
        body=body,
        link=link,
        dedupe_key=key,
    ) + notifications.notify(
        session,
        as_coach,
        kind="goal_due",
        title=f"{agent_name}'s goal is due {when}: {aim}",
        body=body,
        link=link,
        dedupe_key=key,
    )


def process_due(session: Session, today: date | None = None) -> tuple[int, int]:
    """The tick's call: settle goals past due, then announce goals due soon; (settled, notices)."""
    today = today or today_utc()
    return settle_due_goals(session, today), due_goal_notices(session, today)

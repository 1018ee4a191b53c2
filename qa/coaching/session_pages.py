"""Coaching pages: session lists, the session form and page, goals, an agent's coaching board, the summary.

Routes parse input, call the services in qa.coaching.sessions / goals and render. Forms are plain posts
(they work without JavaScript); htmx only refreshes the pickers when the agent changes and saves notes
and goals in place. A form with a problem is shown again with the message, what was typed kept, and a
422; its writes run in a savepoint, so nothing of a refused form is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response
from starlette.routing import NoMatchFound

from qa.auth.deps import CurrentUser, ManagerUser, SessionDep
from qa.coaching import goals as goal_service
from qa.coaching import sessions as session_service
from qa.coaching.sessions import SessionChanges, SessionFilters
from qa.errors import InvalidInput, NotFound
from qa.models import Role, User, utcnow
from qa.web.htmx import hx_redirect, hx_target, is_htmx
from qa.web.templates import render

router = APIRouter()

FLASH_KEY = "coaching_flash"
OVERALL = "__overall__"  # the goal form's value for "overall quality score" (criterion keys are never this)
T = TypeVar("T")


async def _form(request: Request) -> FormData:
    return await request.form()  # parsed once: verify_csrf may have read it already


FormDep = Annotated[FormData, Depends(_form)]


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def _flash(request: Request, message: str) -> None:
    request.session[FLASH_KEY] = message


def _opt_id(params: Mapping[str, Any], name: str) -> int | None:
    raw = str(params.get(name) or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        raise InvalidInput(f"'{raw[:20]}' is not a valid {name}.", field=name)
    return int(raw)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _texts(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def route_url(request: Request, name: str, fallback: str, **params: Any) -> str:
    """A route's URL, or `fallback` while the route does not exist yet (pages of other helpers)."""
    try:
        return str(request.url_for(name, **params))
    except NoMatchFound:
        return fallback


def _attempt(session: Session, work: Callable[[], T]) -> T | InvalidInput:
    """Run `work` in a savepoint: its writes stay only if it succeeds; InvalidInput is returned."""
    try:
        with session.begin_nested():
            return work()
    except InvalidInput as exc:
        return exc


def _now_minute() -> datetime:
    return utcnow().replace(second=0, microsecond=0)


def _local_input(value: datetime | None) -> str:
    """A UTC time as a datetime-local field shows it."""
    return value.strftime("%Y-%m-%dT%H:%M") if value else ""


# ---------------------------------------------------------------------------------------------
# Lists
# ---------------------------------------------------------------------------------------------


@router.get("/coaching", name="coaching:home")
def home(request: Request, user: CurrentUser) -> Response:
    """Agents go to their own board; everyone else to the session list."""
    if user.role is Role.agent:
        if not user.agent_id:
            raise NotFound("Your login is not linked to an agent, so there is no coaching to show.")
        return RedirectResponse(
            str(request.url_for("coaching:board", agent_id=user.agent_id)), status_code=303
        )
    return RedirectResponse(str(request.url_for("coaching:sessions")), status_code=303)


def _list_filters(params: Mapping[str, Any], user: User) -> SessionFilters:
    coach = str(params.get("coach") or "").strip()
    filters = SessionFilters(
        agent_id=_opt_id(params, "agent"),
        coach_id=user.id if coach == "me" else _opt_id(params, "coach"),
        status=str(params.get("status") or "").strip(),
        when=str(params.get("when") or "").strip(),
    )
    session_service.check_filters(filters)
    return filters


@router.get("/coaching/sessions", name="coaching:sessions")
def sessions_page(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    """Coaching sessions and goals per agent and per coach, filtered; sorted by date."""
    params = request.query_params
    error, status = None, 200
    try:
        filters = _list_filters(params, user)
        page = session_service.list_sessions(
            session, actor=user, filters=filters, cursor=params.get("cursor") or None
        )
    except InvalidInput as exc:
        filters, page = SessionFilters(), session_service.SessionPage([], None)
        error, status = exc.message, 422
    ctx: dict[str, Any] = {
        "page": page,
        "filters": filters,
        "error": error,
        "active_nav": "coaching",
        "next_url": _next_url(request, page.next_cursor),
        "coach_param": params.get("coach", ""),
        "is_coach": session_service.is_coach(user),
    }
    if is_htmx(request) and hx_target(request) == "session-more":
        return render(request, "coaching/_session_rows.html", ctx, status_code=status)
    ctx["goals"] = (
        goal_service.list_goals(
            session, actor=user, agent_id=filters.agent_id, coach_id=filters.coach_id, limit=100
        )
        if error is None
        else []
    )
    if user.role is not Role.agent:
        ctx["agents"] = session_service.agent_choices(session, actor=user)
        ctx["coaches"] = session_service.coach_choices(session)
    return render(request, "coaching/sessions.html", ctx, status_code=status)


def _next_url(request: Request, cursor: str | None) -> str | None:
    if not cursor:
        return None
    params = {k: v for k, v in request.query_params.items() if k != "cursor" and v}
    return str(request.url_for("coaching:sessions").include_query_params(**params, cursor=cursor))


# ---------------------------------------------------------------------------------------------
# The session form
# ---------------------------------------------------------------------------------------------


@dataclass
class SessionForm:
    """What the session form shows: the values typed (or stored) and the problem, if any."""

    agent_id: int | None = None
    scheduled_at: str = ""
    duration_minutes: str = "30"
    title: str = ""
    review_ids: tuple[int, ...] = ()
    focus_criteria: tuple[str, ...] = ()
    notes: str = ""
    private_notes: str = ""
    pin_ids: tuple[int, ...] = ()
    goal_criterion: str = ""
    goal_target: str = ""
    goal_due: str = ""
    error: str | None = None
    error_field: str | None = None


def _ids(values: list[str]) -> tuple[int, ...]:
    return tuple(
        int(v) for v in values if v.strip().isascii() and v.strip().isdigit() and len(v.strip()) < 10
    )


def _form_values(form: FormData) -> SessionForm:
    agent = _text(form, "agent_id").strip()
    return SessionForm(
        agent_id=int(agent) if agent.isascii() and agent.isdigit() and len(agent) < 10 else None,
        scheduled_at=_text(form, "scheduled_at"),
        duration_minutes=_text(form, "duration_minutes"),
        title=_text(form, "title"),
        review_ids=_ids(_texts(form, "review_ids")),
        focus_criteria=tuple(_texts(form, "focus_criteria")),
        notes=_text(form, "notes"),
        private_notes=_text(form, "private_notes"),
        pin_ids=_ids(_texts(form, "pin_ids")),
        goal_criterion=_text(form, "goal_criterion"),
        goal_target=_text(form, "goal_target"),
        goal_due=_text(form, "goal_due"),
    )


def _pickers(session: Session, user: User, agent_id: int | None, values: SessionForm) -> dict[str, Any]:
    """The agent-dependent parts of the form: their reviews, the criteria they were rated on, open pins."""
    if agent_id is None:
        return {"review_choices": [], "criteria": [], "pins": []}
    return {
        "review_choices": session_service.review_choices(session, actor=user, agent_id=agent_id),
        "criteria": session_service.criterion_choices(
            session, actor=user, agent_id=agent_id, include=values.focus_criteria
        ),
        "goal_criteria": goal_criteria(session, user, agent_id),
        "pins": open_pins(session, user, agent_id),
    }


def goal_criteria(session: Session, user: User, agent_id: int) -> list[session_service.Choice]:
    """Criteria a goal may name: those the agent was rated on and those of the scorecards in use."""
    rated = [c.id for c in session_service.criterion_choices(session, actor=user, agent_id=agent_id)]
    return session_service.named_criteria(session, rated + session_service.active_criterion_keys(session))


def open_pins(session: Session, user: User, agent_id: int) -> list[Any]:
    """The agent's pins not yet discussed nor archived (never for agents)."""
    if user.role is Role.agent:
        return []
    from qa.coaching import pins as pin_service  # written alongside (issue 5)

    return [
        p
        for p in pin_service.list_pins(session, actor=user, agent_id=agent_id)
        if p.session_id is None and p.archived_at is None
    ]


def _form_page(
    request: Request,
    session: Session,
    user: User,
    values: SessionForm,
    *,
    editing: session_service.SessionView | None = None,
    status: int = 200,
) -> Response:
    agent_id = editing.agent_id if editing else values.agent_id
    if agent_id is not None:
        session_service.coached_agent(session, actor=user, agent_id=agent_id)
    picks = _pickers(session, user, agent_id, values)
    if editing is not None:  # linked reviews older than the picker's newest stay offered (and linked)
        shown = {r.id for r in picks["review_choices"]}
        picks["review_choices"] += [r for r in editing.reviews if r.id not in shown]
    ctx: dict[str, Any] = {
        "v": values,
        "editing": editing,
        "active_nav": "coaching",
        "OVERALL": OVERALL,
        "agents": session_service.agent_choices(session, actor=user) if not editing else [],
        **picks,
    }
    return render(request, "coaching/session_form.html", ctx, status_code=status)


@router.get("/coaching/sessions/new", name="coaching:new")
def new_session(request: Request, user: ManagerUser, session: SessionDep) -> Response:
    """The form to schedule a session; `agent` and `pin` (repeated) pre-fill it from the board."""
    params = request.query_params
    start = (_now_minute() + timedelta(days=1)).replace(hour=9, minute=0)
    agent_id = _opt_id(params, "agent")
    pins = _ids(params.getlist("pin"))
    values = SessionForm(agent_id=agent_id, scheduled_at=_local_input(start), pin_ids=pins)
    return _form_page(request, session, user, values)


@router.get("/coaching/sessions/new/pickers", name="coaching:pickers")
def pickers(request: Request, user: ManagerUser, session: SessionDep) -> Response:
    """The reviews, criteria, pins and goal pickers for the agent chosen in the form (htmx swaps them in)."""
    agent_id = _opt_id(request.query_params, "agent_id")
    if agent_id is not None:
        agent_id = session_service.coached_agent(session, actor=user, agent_id=agent_id).id
    values = SessionForm(agent_id=agent_id)
    ctx = {"v": values, "OVERALL": OVERALL, "editing": None, **_pickers(session, user, agent_id, values)}
    return render(request, "coaching/_pickers.html", ctx)


@router.post("/coaching/sessions/new", name="coaching:create")
def create_session(request: Request, user: ManagerUser, session: SessionDep, form: FormDep) -> Response:
    """Schedule the session (and its first goal, when one is filled in)."""
    values = _form_values(form)

    def work() -> int:
        if values.agent_id is None:
            raise InvalidInput("Choose the agent to coach.", field="agent_id")
        row = session_service.create_session(
            session,
            actor=user,
            agent_id=values.agent_id,
            scheduled_at=session_service.parse_when(values.scheduled_at),
            duration_minutes=values.duration_minutes,
            title=values.title,
            review_ids=values.review_ids,
            focus_criteria=values.focus_criteria,
            notes=values.notes,
            private_notes=values.private_notes,
            pin_ids=values.pin_ids,
        )
        _form_goal(session, user, row.id or 0, values)
        return row.id or 0

    result = _attempt(session, work)
    if isinstance(result, InvalidInput):
        values.error, values.error_field = result.message, result.field
        return _form_page(request, session, user, values, status=422)
    _flash(request, "Session scheduled. The agent has been notified.")
    return hx_redirect(request, str(request.url_for("coaching:session", session_id=result)))


def _form_goal(session: Session, user: User, session_id: int, values: SessionForm) -> None:
    if not (values.goal_target.strip() or values.goal_due.strip()):
        return
    criterion = None if values.goal_criterion in ("", OVERALL) else values.goal_criterion
    goal_service.create_goal(
        session,
        actor=user,
        session_id=session_id,
        criterion_key=criterion,
        target_score=goal_service.parse_target(values.goal_target),
        due_date=goal_service.parse_day(values.goal_due, "goal_due"),
    )


@router.get("/coaching/sessions/{session_id}/edit", name="coaching:edit")
def edit_session(request: Request, session_id: str, user: ManagerUser, session: SessionDep) -> Response:
    """The session form filled with the stored session."""
    view = session_service.session_view(session, actor=user, session_id=session_id)
    values = SessionForm(
        agent_id=view.agent_id,
        scheduled_at=_local_input(view.scheduled_at),
        duration_minutes=str(view.duration_minutes),
        title=view.title,
        review_ids=tuple(r.id for r in view.reviews),
        focus_criteria=tuple(c.id for c in view.focus),
        notes=view.notes,
        private_notes=view.private_notes or "",
    )
    return _form_page(request, session, user, values, editing=view)


@router.post("/coaching/sessions/{session_id}/edit", name="coaching:update")
def update_session(
    request: Request, session_id: str, user: ManagerUser, session: SessionDep, form: FormDep
) -> Response:
    """Save the edited session (moving it notifies the agent)."""
    view = session_service.session_view(session, actor=user, session_id=session_id)
    values = _form_values(form)

    def work() -> None:
        changes = SessionChanges(
            title=values.title,
            notes=values.notes,
            private_notes=values.private_notes,
            review_ids=values.review_ids,
            focus_criteria=values.focus_criteria,
            pin_ids=values.pin_ids,
            duration_minutes=values.duration_minutes or None,
            scheduled_at=session_service.parse_when(values.scheduled_at),
        )
        session_service.update_session(session, actor=user, session_id=view.id, changes=changes)

    result = _attempt(session, work)
    if isinstance(result, InvalidInput):
        values.error, values.error_field = result.message, result.field
        return _form_page(request, session, user, values, editing=view, status=422)
    _flash(request, "Session saved.")
    return hx_redirect(request, str(request.url_for("coaching:session", session_id=view.id)))


# ---------------------------------------------------------------------------------------------
# The session page
# ---------------------------------------------------------------------------------------------


def _board_links(request: Request, agent_id: int) -> dict[str, str]:
    return {
        "board_url": str(request.url_for("coaching:board", agent_id=agent_id)),
        "report_url": route_url(request, "reports:agent", f"/reports/agents/{agent_id}", agent_id=agent_id),
    }


@router.get("/coaching/sessions/{session_id}", name="coaching:session")
def session_page(request: Request, session_id: str, user: CurrentUser, session: SessionDep) -> Response:
    """One session: when, focus, linked reviews, notes (private ones for coaches), goals."""
    view = session_service.session_view(session, actor=user, session_id=session_id)
    ctx: dict[str, Any] = {
        "s": view,
        "active_nav": "coaching",
        "flash": request.session.pop(FLASH_KEY, None),
        "goals": goal_service.list_goals(session, actor=user, session_id=view.id),
        "goal_form": _goal_form_ctx(
            session, user, view.agent_id, view.scheduled_at.date(),
            action=str(request.url_for("coaching:session_goal", session_id=view.id)),
        )
        if view.can_edit
        else None,
        "discussed_pins": _discussed_pins(session, user, view) if view.can_edit else [],
        **_board_links(request, view.agent_id),
    }
    return render(request, "coaching/session.html", ctx)


def _discussed_pins(session: Session, user: User, view: session_service.SessionView) -> list[Any]:
    from qa.coaching import pins as pin_service  # written alongside (issue 5)

    return [
        p
        for p in pin_service.list_pins(session, actor=user, agent_id=view.agent_id, include_archived=True)
        if p.session_id == view.id
    ]


@router.post("/coaching/sessions/{session_id}/status", name="coaching:status")
def set_status(
    request: Request, session_id: str, user: ManagerUser, session: SessionDep, form: FormDep
) -> Response:
    """Mark the session completed or cancelled."""
    status = _text(form, "status")
    row = session_service.update_session(
        session, actor=user, session_id=session_id, changes=SessionChanges(status=status)
    )
    _flash(
        request,
        {
            "completed": "Session marked as completed.",
            "cancelled": "Session cancelled. The agent has been notified.",
        }.get(status, "Saved."),
    )
    return hx_redirect(request, str(request.url_for("coaching:session", session_id=row.id)))


@router.post("/coaching/sessions/{session_id}/notes", name="coaching:notes")
def save_notes(
    request: Request, session_id: str, user: ManagerUser, session: SessionDep, form: FormDep
) -> Response:
    """Save the shared or the private notes in place (htmx), or as a plain post."""
    which = "private_notes" if _text(form, "which") == "private" else "notes"
    text = _text(form, which)
    changes = SessionChanges(private_notes=text) if which == "private_notes" else SessionChanges(notes=text)
    result = _attempt(
        session,
        lambda: session_service.update_session(session, actor=user, session_id=session_id, changes=changes),
    )
    if not is_htmx(request):
        if isinstance(result, InvalidInput):
            raise result
        return RedirectResponse(
            str(request.url_for("coaching:session", session_id=result.id)), status_code=303
        )
    view = session_service.session_view(session, actor=user, session_id=session_id)
    ctx = {
        "s": view,
        "which": which,
        "draft": text,
        "error": result.message if isinstance(result, InvalidInput) else None,
        "saved": not isinstance(result, InvalidInput),
    }
    return render(request, "coaching/_notes.html", ctx, status_code=422 if ctx["error"] else 200)


# ---------------------------------------------------------------------------------------------
# Goals
# ---------------------------------------------------------------------------------------------


def _goal_form_ctx(session: Session, user: User, agent_id: int, start: date, **extra: Any) -> dict[str, Any]:
    return {
        "criteria": goal_criteria(session, user, agent_id),
        "start": start.isoformat(),
        "due": (max(start, goal_service.today_utc()) + timedelta(days=28)).isoformat(),
        "OVERALL": OVERALL,
        "values": {},
        **extra,
    }


def _goal_post(
    request: Request,
    session: Session,
    user: User,
    form: FormData,
    *,
    agent_id: int,
    session_id: int | None,
    back: str,
) -> Response:
    values = {k: _text(form, k) for k in ("criterion", "target", "start_date", "due_date")}

    def work() -> None:
        criterion = None if values["criterion"] in ("", OVERALL) else values["criterion"]
        start = (
            goal_service.parse_day(values["start_date"], "start_date")
            if values["start_date"].strip()
            else None
        )
        goal_service.create_goal(
            session,
            actor=user,
            agent_id=agent_id,
            session_id=session_id,
            criterion_key=criterion,
            target_score=goal_service.parse_target(values["target"]),
            start_date=start,
            due_date=goal_service.parse_day(values["due_date"], "due_date"),
        )

    result = _attempt(session, work)
    if isinstance(result, InvalidInput):
        if not is_htmx(request):
            raise result
        ctx = _goal_form_ctx(
            session,
            user,
            agent_id,
            goal_service.today_utc(),
            values=values,
            error=result.message,
            action=str(request.url),
            back=back,
        )
        return render(request, "coaching/_goal_form.html", ctx, status_code=422)
    _flash(request, "Goal set.")
    return hx_redirect(request, back)


@router.post("/coaching/sessions/{session_id}/goals", name="coaching:session_goal")
def add_session_goal(
    request: Request, session_id: str, user: ManagerUser, session: SessionDep, form: FormDep
) -> Response:
    """Set a goal on a session (its start defaults to the session's day)."""
    view = session_service.session_view(session, actor=user, session_id=session_id)
    back = str(request.url_for("coaching:session", session_id=view.id))
    return _goal_post(request, session, user, form, agent_id=view.agent_id, session_id=view.id, back=back)


@router.post("/coaching/agents/{agent_id}/goals", name="coaching:agent_goal")
def add_agent_goal(
    request: Request, agent_id: str, user: ManagerUser, session: SessionDep, form: FormDep
) -> Response:
    """Set a goal directly on the agent's board (its start defaults to today)."""
    agent = session_service.coached_agent(session, actor=user, agent_id=agent_id)
    back = str(request.url_for("coaching:board", agent_id=agent.id))
    return _goal_post(request, session, user, form, agent_id=agent.id or 0, session_id=None, back=back)


@router.post("/coaching/goals/{goal_id}/cancel", name="coaching:goal_cancel")
def cancel_goal(request: Request, goal_id: str, user: ManagerUser, session: SessionDep) -> Response:
    """Cancel an open goal, then go back to where it was shown."""
    goal = goal_service.cancel_goal(session, actor=user, goal_id=goal_id)
    _flash(request, "Goal cancelled.")
    back = (
        request.url_for("coaching:session", session_id=goal.session_id)
        if goal.session_id
        and "/coaching/sessions/" in request.headers.get("HX-Current-URL", request.headers.get("referer", ""))
        else request.url_for("coaching:board", agent_id=goal.agent_id)
    )
    return hx_redirect(request, str(back))


# ---------------------------------------------------------------------------------------------
# The board and the report's summary
# ---------------------------------------------------------------------------------------------


@router.get("/coaching/agents/{agent_id}", name="coaching:board")
def board(request: Request, agent_id: str, user: CurrentUser, session: SessionDep) -> Response:
    """An agent's coaching board: open pins (not for agents), goals with progress, sessions."""
    agent = session_service.get_agent(session, actor=user, agent_id=agent_id)
    now = utcnow()
    upcoming, past = session_service.sessions_of_agent(session, actor=user, agent_id=agent.id or 0, now=now)
    pins = open_pins(session, user, agent.id or 0)
    is_coach = session_service.is_coach(user)
    ctx: dict[str, Any] = {
        "agent": agent,
        "upcoming": upcoming,
        "past": past,
        "pins": pins,
        "is_coach": is_coach,
        "own": user.role is Role.agent,
        "active_nav": "coaching",
        "flash": request.session.pop(FLASH_KEY, None),
        "goals": goal_service.list_goals(session, actor=user, agent_id=agent.id),
        "goal_form": _goal_form_ctx(session, user, agent.id or 0, goal_service.today_utc())
        if is_coach
        else None,
        "schedule_url": f"{request.url_for('coaching:new')}?"
        + urlencode([("agent", agent.id), *(("pin", p.id) for p in pins)])
        if is_coach
        else None,
        **_board_links(request, agent.id or 0),
    }
    return render(request, "coaching/board.html", ctx)


@router.get("/coaching/agents/{agent_id}/summary", name="coaching:summary")
def summary(request: Request, agent_id: str, user: CurrentUser, session: SessionDep) -> Response:
    """A fragment for the agent report: next and last session, open goals, open pins (coaches only)."""
    agent = session_service.get_agent(session, actor=user, agent_id=agent_id)
    upcoming, past = session_service.sessions_of_agent(
        session, actor=user, agent_id=agent.id or 0, now=utcnow()
    )
    ctx = {
        "agent": agent,
        "next": next((s for s in upcoming if s.status.value == "scheduled"), None),
        "last": next((s for s in past if s.status.value != "cancelled"), None),
        "goals": goal_service.list_goals(session, actor=user, agent_id=agent.id, state="open", limit=5),
        "pin_count": len(open_pins(session, user, agent.id or 0)) if user.role is not Role.agent else None,
        **_board_links(request, agent.id or 0),
    }
    return render(request, "coaching/_summary.html", ctx)

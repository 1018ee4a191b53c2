"""Notification pages: the bell in the top bar (unread count, polled) and the notifications list.

Loading either first writes any "goal due" notice the user is owed (qa.coaching.goals.due_goal_notices,
one indexed query when there is none), so a notice does not wait for the scheduler's next tick. That
write runs in a savepoint and is given up quietly if the database is busy or the tick wrote the same
notice a moment earlier: the tick or the next page load writes it then.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from qa.auth import scope
from qa.auth.deps import CurrentUser, SessionDep
from qa.coaching import goals as goal_service
from qa.errors import InvalidInput, NotFound
from qa.models import Notification, User
from qa.notifications import service as notification_service
from qa.web.htmx import hx_redirect, hx_target, is_htmx
from qa.web.templates import render

router = APIRouter()
log = logging.getLogger(__name__)

PAGE_SIZE = 30
KIND_LABELS = {
    "review": "Review",
    "dispute": "Dispute",
    "dispute_outcome": "Dispute outcome",
    "session": "Coaching session",
    "goal_due": "Goal due",
}


def owed_notices(session: Session, user: User) -> None:
    """Write the user's "goal due" notices now (see the module docstring)."""
    try:
        with session.begin_nested():
            goal_service.due_goal_notices(session, goal_service.today_utc(), user=user)
    except (IntegrityError, OperationalError):
        log.info("goal-due notices for user %s left to the scheduler", user.id)


def safe_link(link: str) -> str | None:
    """A notice's link if it stays inside Caliper (a path), else None."""
    return link if link.startswith("/") and not link.startswith("//") and "\\" not in link else None


@router.get("/notifications/bell", name="notifications:bell")
def bell(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    """The top bar's bell with the unread count; it keeps polling (same hx attributes as base.html)."""
    owed_notices(session, user)
    return render(
        request, "notifications/_bell.html", {"unread": notification_service.unread_count(session, user)}
    )


def _before(request: Request) -> int | None:
    raw = (request.query_params.get("before") or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) > scope.MAX_ID:
        raise InvalidInput(f"'{raw[:20]}' is not a page position.", field="before")
    return int(raw)


@router.get("/notifications", name="notifications:page")
def notifications_page(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    """The user's notices, newest first, unread highlighted; 30 a page (older pages by id)."""
    owed_notices(session, user)
    before = _before(request)
    rows = notification_service.latest(session, user, limit=PAGE_SIZE + 1, before_id=before)
    ctx: dict[str, Any] = {
        "items": rows[:PAGE_SIZE],
        "unread": notification_service.unread_count(session, user),
        "older_url": str(
            request.url_for("notifications:page").include_query_params(before=rows[PAGE_SIZE - 1].id)
        )
        if len(rows) > PAGE_SIZE
        else None,
        "is_later_page": before is not None,
        "kinds": KIND_LABELS,
        "safe_link": safe_link,
        "active_nav": "notifications",
    }
    return render(request, "notifications/page.html", ctx)


def _own(session: Session, user: User, notification_id: str) -> Notification:
    found = session.get(Notification, scope.as_id(notification_id))
    if found is None or found.user_id != user.id:
        raise NotFound(f"Notification {notification_id} not found.")
    return found


@router.post("/notifications/{notification_id}/read", name="notifications:read")
def mark_one_read(request: Request, notification_id: str, user: CurrentUser, session: SessionDep) -> Response:
    """Mark one notice read; htmx gets the row back and the bell out of band."""
    item = _own(session, user, notification_id)
    notification_service.mark_read(session, user, [item.id or 0])
    session.refresh(item)
    if not is_htmx(request) or hx_target(request) != f"note-{item.id}":
        return hx_redirect(request, _back(request))
    ctx = {
        "n": item,
        "kinds": KIND_LABELS,
        "safe_link": safe_link,
        "oob_bell": True,
        "unread": notification_service.unread_count(session, user),
    }
    return render(request, "notifications/_item.html", ctx)


@router.post("/notifications/read-all", name="notifications:read_all")
def mark_all_read(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    """Mark every notice of the user read."""
    notification_service.mark_read(session, user)
    return hx_redirect(request, _back(request))


@router.post("/notifications/{notification_id}/open", name="notifications:open")
def open_notice(request: Request, notification_id: str, user: CurrentUser, session: SessionDep) -> Response:
    """Mark the notice read and go to what it is about."""
    item = _own(session, user, notification_id)
    notification_service.mark_read(session, user, [item.id or 0])
    target = safe_link(item.link) or str(request.url_for("notifications:page"))
    if is_htmx(request):
        return hx_redirect(request, target)
    return RedirectResponse(target, status_code=303)


def _back(request: Request) -> str:
    page = str(request.url_for("notifications:page"))
    before = (request.query_params.get("before") or "").strip()
    return f"{page}?before={before}" if before.isascii() and before.isdigit() and len(before) <= 10 else page

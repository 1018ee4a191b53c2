"""FastAPI dependencies: the DB session, the current user (page or API) and role checks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, Request
from sqlmodel import Session

from qa.auth import tokens
from qa.db import SAFE_METHODS, session_scope
from qa.errors import Forbidden, Unauthorized
from qa.models import Role, User
from qa.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


# A worker process computes on one core (the GIL), so past a few requests at a time more threads only
# add contention: at 16 connections the CPU per queue page doubled. Worse, a request keeps its pool
# connection while it waits for a thread for its next step, so with more requests in flight than
# pool connections plus threads they waited on each other until the pool's 30 s timeout (64
# connections: 2 requests/s, then 500s; docs/benchmarks.md). Requests that use the database
# therefore first take one of DB_SLOTS places, waiting in the event loop, before any thread or connection.
DB_SLOTS = 4


async def db_slot(request: Request) -> AsyncIterator[None]:
    """Hold one of the app's DB_SLOTS places for as long as the request uses its database session."""
    loop = asyncio.get_running_loop()
    slots: tuple[asyncio.AbstractEventLoop, anyio.CapacityLimiter] | None = getattr(
        request.app.state, "db_slots", None)
    if slots is None or slots[0] is not loop:  # a limiter belongs to one event loop (tests start several)
        slots = request.app.state.db_slots = (loop, anyio.CapacityLimiter(DB_SLOTS))
    async with slots[1]:
        yield


def get_session(
    request: Request, _slot: Annotated[None, Depends(db_slot, scope="function")]
) -> Iterator[Session]:
    """One transaction per request: committed on success, rolled back on any error."""
    with session_scope(request.app.state.engine, write=request.method not in SAFE_METHODS) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


@dataclass(frozen=True)
class UserView:
    """What pages show of the logged-in user; safe to read after the DB session has ended."""

    id: int
    email: str
    name: str
    role: Role
    agent_id: int | None


class LoginRequired(Unauthorized):
    """A page needs a logged-in user; the handler redirects to the login page."""


def page_user(request: Request, session: SessionDep) -> User:
    """The logged-in user of a page request (session cookie)."""
    user_id = request.session.get("uid")
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active:
        request.session.pop("uid", None)
        raise LoginRequired("Please log in.")
    # Templates (error pages too, rendered after the session closed) get a detached snapshot.
    request.state.user = UserView(id=user.id or 0, email=user.email, name=user.name, role=user.role,
                                  agent_id=user.agent_id)
    return user


def api_user(request: Request, session: SessionDep) -> User:
    """The user of an API request (Authorization: Bearer <token>); cookies are never accepted here."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Missing API token: send 'Authorization: Bearer <token>'.")
    user = tokens.user_for_token(session, token.strip())
    if user is None:
        raise Unauthorized("Invalid or revoked API token.")
    return user


CurrentUser = Annotated[User, Depends(page_user)]
ApiUser = Annotated[User, Depends(api_user)]


def _check_role(user: User, roles: tuple[Role, ...], message: str) -> User:
    if user.role is not Role.admin and user.role not in roles:
        raise Forbidden(message)
    return user


def require_role(*roles: Role) -> Callable[[User], User]:
    """A page dependency that lets only `roles` through (admins always pass)."""

    def check(user: CurrentUser) -> User:
        return _check_role(user, roles, "Your role does not allow this page.")

    return check


def require_api_role(*roles: Role) -> Callable[[User], User]:
    """Like require_role, for token-authenticated API routes."""

    def check(user: ApiUser) -> User:
        return _check_role(user, roles, "Your role does not allow this.")

    return check


ManagerUser = Annotated[User, Depends(require_role(Role.manager))]
ReviewerUser = Annotated[User, Depends(require_role(Role.manager, Role.reviewer))]

"""FastAPI dependencies: the DB session, the current user (page or API) and role checks."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, ParamSpec, TypeVar

import anyio
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from qa.auth import tokens
from qa.db import SAFE_METHODS, session_scope
from qa.errors import Forbidden, Unauthorized
from qa.models import Role, User
from qa.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")


async def get_settings_dep(request: Request) -> Settings:
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


def inline_db(request: Request) -> bool:
    """Whether this request's database work runs on the event loop rather than on a worker thread.

    SQLite reads answer from the page cache in well under a millisecond and never wait for a lock
    (WAL), so handing each step to a thread cost more than the query. Worse, with requests in flight
    the threads and the event loop fought over the GIL at every fetched row (sqlite3 releases it per
    row), which doubled the CPU per page (docs/benchmarks.md). Writes can wait up to busy_timeout
    for another writer, and PostgreSQL waits on the network, so those keep their threads.
    """
    return request.method in SAFE_METHODS and request.app.state.engine.dialect.name == "sqlite"


async def run_db(request: Request, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Call `fn` inline or on a worker thread, as inline_db decides for this request."""
    if inline_db(request):
        return fn(*args, **kwargs)
    return await run_in_threadpool(fn, *args, **kwargs)


def db_route(endpoint: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Run a sync endpoint through run_db (it needs a `request` parameter): the reviewer's pages.

    Endpoints without it run on FastAPI's thread pool as usual; that is the right default for
    anything that may take long (an upload, an export).
    """

    @functools.wraps(endpoint)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        request = kwargs.get("request")
        assert isinstance(request, Request), f"{endpoint.__name__} needs a request parameter"
        return await run_db(request, endpoint, *args, **kwargs)

    return run


async def get_session(
    request: Request, _slot: Annotated[None, Depends(db_slot, scope="function")]
) -> AsyncIterator[Session]:
    """One transaction per request: committed on success, rolled back on any error."""
    scope = session_scope(request.app.state.engine, write=request.method not in SAFE_METHODS)
    session = await run_db(request, scope.__enter__)
    try:
        yield session
    except BaseException as exc:
        await run_db(request, scope.__exit__, type(exc), exc, exc.__traceback__)
        raise
    await run_db(request, scope.__exit__, None, None, None)


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


async def page_user(request: Request, session: SessionDep) -> User:
    """The logged-in user of a page request (session cookie)."""
    user_id = request.session.get("uid")
    user = await run_db(request, session.get, User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active:
        request.session.pop("uid", None)
        raise LoginRequired("Please log in.")
    # Templates (error pages too, rendered after the session closed) get a detached snapshot.
    request.state.user = UserView(id=user.id or 0, email=user.email, name=user.name, role=user.role,
                                  agent_id=user.agent_id)
    return user


async def api_user(request: Request, session: SessionDep) -> User:
    """The user of an API request (Authorization: Bearer <token>); cookies are never accepted here."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Missing API token: send 'Authorization: Bearer <token>'.")
    user = await run_db(request, tokens.user_for_token, session, token.strip())
    if user is None:
        raise Unauthorized("Invalid or revoked API token.")
    return user


CurrentUser = Annotated[User, Depends(page_user)]
ApiUser = Annotated[User, Depends(api_user)]


def _check_role(user: User, roles: tuple[Role, ...], message: str) -> User:
    if user.role is not Role.admin and user.role not in roles:
        raise Forbidden(message)
    return user


def require_role(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A page dependency that lets only `roles` through (admins always pass)."""

    async def check(user: CurrentUser) -> User:
        return _check_role(user, roles, "Your role does not allow this page.")

    return check


def require_api_role(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """Like require_role, for token-authenticated API routes."""

    async def check(user: ApiUser) -> User:
        return _check_role(user, roles, "Your role does not allow this.")

    return check


ManagerUser = Annotated[User, Depends(require_role(Role.manager))]
ReviewerUser = Annotated[User, Depends(require_role(Role.manager, Role.reviewer))]

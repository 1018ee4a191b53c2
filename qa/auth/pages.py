"""Login, logout and the home redirect."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote, urlsplit

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from qa.auth import service as auth_service
from qa.auth.deps import CurrentUser, SessionDep, SettingsDep
from qa.models import Role, User
from qa.web.templates import render

router = APIRouter()


def home_url(request: Request, user: User) -> str:
    """Where each role lands after login."""
    if user.role is Role.agent:
        return str(request.url_for("reviews:my_feedback"))
    if user.role is Role.reviewer:
        return str(request.url_for("reviews:queue"))
    return str(request.url_for("reviews:list"))


def _safe_next(value: str | None) -> str | None:
    """`value` if it is a path on this site, else None (the login form must not be an open redirect)."""
    # Browsers read a backslash as a slash and drop tabs and newlines ("/<backslash>evil" and
    # "/<tab>/evil" both mean "//evil"), so those are refused along with anything that has a host.
    if not value or not value.startswith("/") or value.startswith("//"):
        return None
    if "\\" in value or any(ch.isspace() or not ch.isprintable() for ch in value):
        return None
    if urlsplit(value).netloc or unquote(value).startswith(("//", "/\\")):
        return None
    return value


@router.get("/", name="home")
def home(request: Request, user: CurrentUser) -> Response:
    """Send each user to the page their role starts on."""
    return RedirectResponse(home_url(request, user), status_code=303)


@router.get("/login", name="auth:login")
def login_page(request: Request, next: str | None = None) -> Response:
    """The login form."""
    return render(request, "auth/login.html", {"next": _safe_next(next) or "", "email": ""})


@router.post("/login", name="auth:login_submit")
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Check the credentials, start a fresh session and go to `next` or the role's home."""
    ip = request.client.host if request.client else "unknown"
    user = auth_service.authenticate(session, email=email, password=password, ip=ip,
                                     max_failures=settings.login_max_failures,
                                     window_seconds=settings.login_window_seconds)
    if user is None:
        ctx = {"next": _safe_next(next) or "", "email": email, "error": "Wrong e-mail or password."}
        return render(request, "auth/login.html", ctx, status_code=400)
    request.session.clear()  # a new session on login: no fixation of a pre-login cookie
    request.session["uid"] = user.id
    return RedirectResponse(_safe_next(next) or home_url(request, user), status_code=303)


@router.post("/logout", name="auth:logout")
def logout(request: Request) -> Response:
    """End the session."""
    request.session.clear()
    return RedirectResponse(str(request.url_for("auth:login")), status_code=303)

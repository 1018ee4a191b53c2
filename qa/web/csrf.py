"""CSRF protection: a per-session token required on every state-changing cookie-authenticated request."""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

from qa.db import SAFE_METHODS
from qa.errors import CaliperError

SESSION_KEY = "csrf"
HEADER = "X-CSRF-Token"
FIELD = "csrf_token"


class CsrfError(CaliperError):
    """The request lacks the session's CSRF token."""

    status_code = 403


def csrf_token(request: Request) -> str:
    """This session's token, created on first use (templates put it in forms and hx-headers)."""
    token = request.session.get(SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_KEY] = token
    return str(token)


async def verify_csrf(request: Request) -> None:
    """Dependency for every page router: unsafe methods must carry the token (header or form field)."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get(SESSION_KEY)
    sent = request.headers.get(HEADER)
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # Starlette caches it, so route Form() parameters still work
        value = form.get(FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected).encode(), sent.encode()):
        raise CsrfError("The form has expired or was not sent from Caliper. Reload the page and try again.")

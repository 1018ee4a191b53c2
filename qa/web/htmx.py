"""HTMX request helpers: detect HTMX, redirect the browser, trigger client events."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response


def is_htmx(request: Request) -> bool:
    """True for requests made by htmx (not boosted history restores)."""
    headers = request.headers
    return headers.get("HX-Request") == "true" and headers.get("HX-History-Restore-Request") != "true"


def hx_target(request: Request) -> str | None:
    """The id of the element htmx will swap, if any."""
    return request.headers.get("HX-Target")


def hx_redirect(request: Request, url: str) -> Response:
    """Redirect after a write: HX-Redirect for htmx, 303 See Other for a plain form post."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": str(url)})
    return RedirectResponse(str(url), status_code=303)


def hx_trigger(response: Response, event: str, detail: object = None) -> Response:
    """Ask htmx to fire `event` (with optional detail) on the client after the swap."""
    response.headers["HX-Trigger"] = json.dumps({event: detail}) if detail is not None else event
    return response

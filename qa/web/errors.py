"""One error handler for the whole app: JSON for /api, a toast for HTMX, an error page otherwise."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from qa.auth.deps import LoginRequired
from qa.errors import CaliperError
from qa.web.htmx import is_htmx
from qa.web.middleware import security_headers
from qa.web.templates import render

log = logging.getLogger(__name__)

TITLES = {400: "Bad request", 401: "Please log in", 403: "Not allowed", 404: "Not found",
          405: "Method not allowed", 409: "Conflict", 413: "Too large", 422: "Invalid input",
          429: "Too many attempts", 500: "Something went wrong"}


def is_api(request: Request) -> bool:
    """True for /api/v1 requests, which always answer JSON."""
    return request.url.path.startswith("/api/")


def error_response(
    request: Request, status: int, detail: Any, headers: dict[str, str] | None = None
) -> Response:
    """Render an error in the shape this kind of request expects."""
    if is_api(request):
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)
    message = detail if isinstance(detail, str) else _validation_text(detail)
    if is_htmx(request):
        toast = render(request, "_toast.html", {"message": message, "kind": "error"}, status_code=status)
        toast.headers["HX-Retarget"] = "#toasts"
        toast.headers["HX-Reswap"] = "beforeend"
        return toast
    ctx = {"status": status, "title": TITLES.get(status, "Error"), "message": message}
    return render(request, "errors/error.html", ctx, status_code=status)


def _return_to(request: Request) -> str:
    """The page to come back to after logging in: for htmx, the page the browser shows, not the partial."""
    url = request.url
    if is_htmx(request):
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        if current.netloc == url.netloc and current.path:
            return current.path + (f"?{current.query}" if current.query else "")
    return url.path + (f"?{url.query}" if url.query else "")


def _validation_text(errors: Any) -> str:
    if isinstance(errors, list):
        parts = []
        for err in errors:
            loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form"))
            parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
        return "; ".join(parts)
    return str(errors)


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if is_api(request):
            return error_response(request, 401, exc.message, {"WWW-Authenticate": "Bearer"})
        target = request.url_for("auth:login").include_query_params(next=_return_to(request))
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": str(target)})
        return RedirectResponse(str(target), status_code=303)

    @app.exception_handler(CaliperError)
    async def _caliper_error(request: Request, exc: CaliperError) -> Response:
        detail: Any = exc.message
        field = getattr(exc, "field", None)
        if is_api(request) and field:
            detail = [{"loc": [field], "msg": exc.message, "type": "value_error"}]
        headers = {"WWW-Authenticate": "Bearer"} if is_api(request) and exc.status_code == 401 else None
        return error_response(request, exc.status_code, detail, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        return error_response(request, 422, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return error_response(request, exc.status_code, exc.detail, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        message = "Something went wrong on our side. The error has been logged."
        response = error_response(request, 500, message)
        # Starlette sends 500s from its outermost middleware, past SecurityHeaders.
        for name, value in security_headers(request.url.path):
            response.headers[name.decode()] = value.decode()
        return response

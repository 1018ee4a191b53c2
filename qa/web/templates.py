"""The Jinja2 environment: templates/ at the project root, with Caliper's filters and globals."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

from qa.web.csrf import csrf_token
from qa.web.htmx import is_htmx
from scorecards import format_score

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = PROJECT_ROOT / "static"
HTMX_VERSION = "2.0.11"

templates = Jinja2Templates(directory=str(TEMPLATE_DIR))


def format_dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC timestamp for display."""
    return "" if value is None else value.strftime(fmt)


def format_duration(seconds: int | float | None) -> str:
    """Seconds as a short human duration (1h 05m, 3m 20s)."""
    if seconds is None:
        return "—"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


templates.env.filters["score"] = format_score
templates.env.filters["dt"] = format_dt
templates.env.filters["duration"] = format_duration
templates.env.globals["csrf_token"] = csrf_token
templates.env.globals["is_htmx"] = is_htmx
templates.env.globals["HTMX_VERSION"] = HTMX_VERSION


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render one template with the request (and so url_for, csrf_token and the user) in context."""
    ctx = {"user": getattr(request.state, "user", None), **(context or {})}
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)

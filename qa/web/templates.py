"""The Jinja2 environment: templates/ at the project root, with Caliper's filters and globals."""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup, escape
from starlette.datastructures import URL, URLPath
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import NoMatchFound

from qa.web.csrf import csrf_token
from qa.web.htmx import is_htmx
from scorecards import format_score

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = PROJECT_ROOT / "static"
HTMX_VERSION = "2.0.11"

templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
# Templates change only with a release, and checking each file's time on every render cost ~0.3 ms
# a review page. `qa serve --reload` restarts the process when a template changes.
templates.env.auto_reload = False


DEFAULT_DT = "%Y-%m-%d %H:%M"


def format_dt(value: datetime | None, fmt: str = DEFAULT_DT) -> str:
    """A UTC timestamp for display."""
    if value is None:
        return ""
    if fmt == DEFAULT_DT:  # the common case, twice as fast as strftime
        return value.isoformat(" ", "minutes")[:16]
    return value.strftime(fmt)


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


def format_size(size: int | float | None) -> str:
    """Bytes for people: 512 B, 12.3 KB, 45.6 MB, 1.2 GB."""
    value = float(size or 0)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


_SLOT = "\x00"


def url_for(request: Request, name: str, /, **path_params: Any) -> URL:
    """`request.url_for`, with each route's path looked up once per app instead of on every call.

    Starlette finds a route by trying every route in turn (each miss raises NoMatchFound), which
    cost a 100-row table ~6 ms for its row links. The path is found once with placeholder values
    and filled in after; anything unusual (a value with "/", an int route) takes Starlette's path.
    """
    paths: dict[tuple[str, tuple[str, ...]], str | None] | None = getattr(request.app.state, "url_paths",
                                                                          None)
    if paths is None:
        paths = request.app.state.url_paths = {}
    key = (name, tuple(sorted(path_params)))
    if key not in paths:
        paths[key] = _path_template(request, name, key[1])
    path = paths[key]
    if path is None:
        return request.url_for(name, **path_params)
    for param, value in path_params.items():
        text = str(value)
        if not text or "/" in text or _SLOT in text:  # Starlette's string convertor refuses these
            return request.url_for(name, **path_params)
        path = path.replace(f"{_SLOT}{param}{_SLOT}", text)
    return URL(str(request.base_url).rstrip("/") + path)


def _path_template(request: Request, name: str, params: tuple[str, ...]) -> str | None:
    provider = request.scope.get("router") or request.scope.get("app")
    try:
        url_path = provider.url_path_for(name, **{p: f"{_SLOT}{p}{_SLOT}" for p in params})  # type: ignore[union-attr]
    except (NoMatchFound, AssertionError, ValueError, TypeError):
        return None  # unknown name or a typed parameter: Starlette answers (and raises) every time
    return None if url_path.host or url_path.protocol == "websocket" else str(url_path)


@functools.lru_cache(maxsize=256)
def options(choices: tuple[Any, ...], selected: Any = None) -> Markup:
    """`<option>`s for a filter select: each choice's id and escaped name, `selected` marked.

    Written out here rather than in a template loop (the queue's 250 agents cost ~1 ms as Jinja),
    and remembered: the choices are immutable tuples (`FilterChoices`).
    """
    parts = []
    for choice in choices:
        mark = " selected" if choice.id == selected else ""
        parts.append(f'<option value="{escape(choice.id)}"{mark}>{escape(choice.name)}</option>')
    return Markup("".join(parts))


# ---------------------------------------------------------------------------------------------
# Shared partials: fragments that depend only on the values passed in, rendered once per process
# ---------------------------------------------------------------------------------------------

SHARED_PARTIALS_PER_APP = 10_000  # ~1 KB each: a queue row


class SharedRequest:
    """What a shared partial may know of the request: the app and the base URL (for url_for).

    Nothing of the session, the user or the query string, so a fragment cached for one user can be
    served to another; `csrf_token(request)` fails here on purpose.
    """

    def __init__(self, request: Request) -> None:
        self.app = request.app
        self.base_url = request.base_url
        self.scope = {"app": request.scope.get("app"), "router": request.scope.get("router")}

    def url_for(self, name: str, /, **path_params: Any) -> URL:
        router: Any = self.scope["router"] or self.scope["app"]
        url_path: URLPath = router.url_path_for(name, **path_params)
        return url_path.make_absolute_url(self.base_url)


class _Fragments:
    """A least-recently-used map of rendered fragments, one per app (so tests' apps don't share)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.items: OrderedDict[Hashable, Markup] = OrderedDict()

    def get(self, key: Hashable) -> Markup | None:
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
            return found

    def put(self, key: Hashable, value: Markup) -> None:
        with self.lock:
            self.items[key] = value
            if len(self.items) > self.size:
                self.items.popitem(last=False)


@pass_context
def shared_partials(context: Mapping[str, Any], name: str, items: Iterable[Hashable], /, as_: str,
                    **values: Hashable) -> Markup:
    """Template `name` rendered for each of `items` (bound to the name `as_`), joined.

    Each fragment depends only on its values (hashable, e.g. named tuples) and url_for, so it is
    kept (per app, least recently used) and served again for the same values and base URL: a queue
    row renders once, not on every page view (100 rows cost ~2.5 ms of Jinja a page;
    docs/benchmarks.md).
    """
    return _shared(context["request"], name, [{as_: item, **values} for item in items])


def _shared(request: Request, name: str, each: list[dict[str, Hashable]]) -> Markup:
    app_state = request.app.state
    fragments: _Fragments | None = getattr(app_state, "shared_partials", None)
    if fragments is None:
        fragments = app_state.shared_partials = _Fragments(SHARED_PARTIALS_PER_APP)
    base_url = str(request.base_url)
    template, shared_request = None, None
    parts = []
    for values in each:
        key = (name, base_url, tuple(sorted(values.items())))
        found = fragments.get(key)
        if found is None:
            template = template or templates.get_template(name)
            shared_request = shared_request or SharedRequest(request)
            found = Markup(template.render(request=shared_request, **values))
            fragments.put(key, found)
        parts.append(found)
    return Markup("".join(parts))


@pass_context
def _template_url_for(context: Mapping[str, Any], name: str, /, **path_params: Any) -> URL:
    return url_for(context["request"], name, **path_params)


templates.env.globals["url_for"] = _template_url_for
templates.env.filters["score"] = format_score
templates.env.filters["dt"] = format_dt
templates.env.filters["duration"] = format_duration
templates.env.filters["filesize"] = format_size
templates.env.globals["csrf_token"] = csrf_token
templates.env.globals["options"] = options
templates.env.globals["shared_partials"] = shared_partials
templates.env.globals["is_htmx"] = is_htmx
templates.env.globals["HTMX_VERSION"] = HTMX_VERSION


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render one template with the request (and so url_for, csrf_token and the user) in context."""
    ctx = {"user": getattr(request.state, "user", None), **(context or {})}
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)

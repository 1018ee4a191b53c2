"""The manager dashboard page (/dashboard), its HTMX partials and the CSV export of each panel.

One GET route serves the page and its regions: htmx requests name the region they swap in
HX-Target (`dashboard-body` after a filter change, `dash-agents-table` when sorting, searching or
paging the agents, `dash-heat` when the heat map switches between teams and agents) and get only
that partial, computed alone. Every response to htmx carries HX-Push-Url with the canonical URL
of the state shown, so the address bar is always a link to share. Bad filters re-render the page
(or the region) with the message and a 4xx status, never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlmodel import Session
from starlette.responses import Response
from starlette.routing import NoMatchFound

from qa.auth.deps import ReviewerUser, SessionDep
from qa.errors import InvalidInput, NotFound
from qa.models import Channel, User
from qa.reporting import dashboard as dash
from qa.web.htmx import hx_target, is_htmx
from qa.web.templates import render, url_for

router = APIRouter()

BODY, AGENTS, HEAT = "dashboard-body", "dash-agents-table", "dash-heat"
FORM_FIELDS = ("range", "start", "end", "team", "channel", "scorecard")


def _path(request: Request, name: str, fallback: str, **params: Any) -> str:
    """A route's path, or `fallback` while the route does not exist yet (another module's)."""
    try:
        return url_for(request, name, **params).path
    except NoMatchFound:
        return fallback


class Links:
    """Every URL the dashboard prints: drill-downs, the agent report, its own states and the CSVs."""

    def __init__(
        self, request: Request, filters: dash.Filters, agents: dash.AgentQuery, heat: dash.HeatRows
    ) -> None:
        self.request, self.filters, self.agents, self.heat = request, filters, agents, heat
        self._reviews = _path(request, "reports:reviews", "/reports/reviews")
        self._page = _path(request, "dashboard:page", "/dashboard")
        self._drill = filters.drill()

    def reviews(self, **extra: Any) -> str:
        """The drill-down list of the reviews behind a number: the filters plus `extra`."""
        params = self._drill | {k: str(v) for k, v in extra.items() if v is not None}
        return f"{self._reviews}?{urlencode(params)}"

    def agent_report(self, agent_id: int) -> str:
        """The agent's feedback report for the same days."""
        path = _path(self.request, "reports:agent", f"/reports/agents/{agent_id}", agent_id=agent_id)
        return f"{path}?{urlencode({'start': self.filters.start, 'end': self.filters.end})}"

    def coverage(self) -> str:
        """The coverage report of the same days and team (conversations, by the agent)."""
        params = {"start": self.filters.start, "end": self.filters.end, "period": "all"}
        if self.filters.team_id is not None:
            params["team"] = self.filters.team_id
        return f"{_path(self.request, 'coverage:page', '/coverage')}?{urlencode(params)}"

    def state(self, *, heat: str | None = None, **agent_changes: Any) -> dict[str, str]:
        """The query parameters of the dashboard's current state, with changes."""
        params = self.filters.params() | self.agents.params(**agent_changes)
        heat = heat or self.heat
        return params | ({"heat": heat} if heat != "teams" else {})

    def page(self, *, heat: str | None = None, **agent_changes: Any) -> str:
        """The dashboard URL of the current state with changes (sort, page, heat...)."""
        return f"{self._page}?{urlencode(self.state(heat=heat, **agent_changes))}"

    def sort(self, key: str) -> str:
        """The agents table sorted by `key`: ascending first, reversed when it is the current sort."""
        descending = key == self.agents.sort and not self.agents.descending
        return self.page(sort=key, descending=descending, page=1)

    def csv(self, panel: str) -> str:
        """A panel's CSV export with the current filters (all the agents matching, not just this page)."""
        path = _path(self.request, "dashboard:csv", f"/dashboard/{panel}.csv", panel=panel)
        return f"{path}?{urlencode(self.state(page=1))}"


@router.get("/dashboard", name="dashboard:page")
def dashboard_page(request: Request, user: ReviewerUser, session: SessionDep) -> Response:
    """Quality over time, agents, the criteria heat map and reviewer statistics, with shared filters."""
    params = request.query_params
    target = hx_target(request) if is_htmx(request) else None
    try:
        filters = dash.parse_filters(params)
        agent_query = dash.parse_agent_query(params)
        heat = dash.parse_heat_rows(params) if filters.team_id is not None else "teams"
        ctx = dash.context(session, actor=user, filters=filters)
    except (InvalidInput, NotFound) as exc:
        return _error_page(request, session, user, exc, target)
    links = Links(request, filters, agent_query, heat)
    base = {
        "ctx": ctx,
        "filters": filters,
        "links": links,
        "form": _form(filters),
        "teams": ctx.teams,
        "scorecards": ctx.scorecards,
        **_statics(),
    }
    if target == AGENTS:
        table = dash.agents_table(dash.agent_rows(session, ctx), agent_query)
        response = render(request, "dashboard/_agents_table.html", base | {"agents": table})
    elif target == HEAT:
        response = render(request, "dashboard/_heat.html", base | {"heat": dash.heat_map(session, ctx, heat)})
    else:
        board = dash.panels(session, ctx, agent_query, heat)
        ctx_page = base | {
            "board": board,
            "agents": board.agents,
            "heat": board.heat,
            "active_nav": "dashboard",
        }
        name = "dashboard/_body.html" if target == BODY else "dashboard/dashboard.html"
        response = render(request, name, ctx_page)
    if target:
        response.headers["HX-Push-Url"] = links.page()
    return response


def _statics() -> dict[str, Any]:
    return {
        "presets": dash.PRESETS,
        "channels": [c.value for c in Channel],
        "bands": dash.BANDS,
        "band": dash.band,
    }


def _form(filters: dash.Filters) -> dict[str, str]:
    """What the filter fields show for valid filters."""
    return {
        "range": filters.preset,
        "start": filters.start.isoformat(),
        "end": filters.end.isoformat(),
        "team": "" if filters.team_id is None else str(filters.team_id),
        "channel": filters.channel or "",
        "scorecard": "" if filters.scorecard_id is None else str(filters.scorecard_id),
    }


def _error_page(
    request: Request, session: Session, user: User, exc: InvalidInput | NotFound, target: str | None
) -> Response:
    """The filters as typed, the message, and no panels (the page or its body for htmx)."""
    dash.check_actor(user)
    _, teams, scorecards = dash.choices(session, actor=user)
    raw: Mapping[str, str] = request.query_params
    form = {name: (raw.get(name) or "")[:40] for name in FORM_FIELDS}
    ctx = {
        "error": exc.message,
        "form": form,
        "teams": teams,
        "scorecards": scorecards,
        "board": None,
        "active_nav": "dashboard",
        **_statics(),
    }
    name = "dashboard/dashboard.html" if target is None else "dashboard/_body.html"
    response = render(request, name, ctx, status_code=exc.status_code)
    if target is not None:  # whichever region asked, the message goes with the filters
        response.headers["HX-Retarget"] = f"#{BODY}"
        response.headers["HX-Reswap"] = "outerHTML"
        response.headers["HX-Push-Url"] = "false"  # keep the last good state in the address bar
    return response


@router.get("/dashboard/{panel}.csv", name="dashboard:csv")
def dashboard_csv(panel: str, request: Request, user: ReviewerUser, session: SessionDep) -> Response:
    """One panel (trend, agents, criteria or reviewers) as CSV, with the page's filters."""
    params = request.query_params
    filters = dash.parse_filters(params)
    heat = dash.parse_heat_rows(params) if filters.team_id is not None else "teams"
    text = dash.panel_csv(
        session,
        actor=user,
        panel=panel,
        filters=filters,
        agent_query=dash.parse_agent_query(params),
        heat_rows=heat,
    )
    filename = dash.csv_filename(panel, filters)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

"""The agent feedback report (page, CSV, PDF, print) and the drill-down list of the reviews behind a number.

All read the same GET parameters: start, end (YYYY-MM-DD, inclusive, UTC) or period (a preset of
agent_report.PRESETS); the default is the last 30 days. Who may open whose report is decided in
agent_report.report_agent (404 for other people's agents, as for unknown ids). A bad date re-renders
the report page with the message and 422, so it can be fixed in place; CSV and PDF answer the usual
error page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response
from starlette.routing import NoMatchFound

from qa.auth.deps import CurrentUser, SessionDep, db_route
from qa.errors import InvalidInput, NotFound
from qa.models import Role, User
from qa.reporting import agent_report as report_service
from qa.reporting import drilldown
from qa.reporting.report_pdf import report_pdf
from qa.web.htmx import hx_target, is_htmx
from qa.web.templates import render

router = APIRouter()


def _url(request: Request, name: str, fallback: str, **params: Any) -> str:
    """A route's URL, or the contract's literal path while its owner has not written the route yet."""
    try:
        return str(request.url_for(name, **params))
    except NoMatchFound:
        return fallback


def _drill_links(request: Request, report: report_service.AgentReport) -> Callable[..., str]:
    """A function giving the drill-down URL of one of the report's numbers (agent and period preset)."""
    base = request.url_for("reports:reviews")
    period = report.period

    def drill(*, team: bool = False, start: Any = None, end: Any = None, **extra: Any) -> str:
        params = {"start": str(start or period.start), "end": str(end or period.end)}
        if team:
            params["team"] = str(report.agent.team_id)
        else:
            params["agent"] = str(report.agent.id)
        params.update({k: str(v) for k, v in extra.items() if v is not None})
        return str(base.include_query_params(**params))

    return drill


def _own(user: User, agent_id: int) -> bool:
    return user.role is Role.agent and user.agent_id == agent_id


@router.get("/reports/me", name="reports:me")
def my_report(request: Request, user: CurrentUser) -> Response:
    """An agent's own report: redirects to reports:agent with the same period parameters."""
    if user.agent_id is None:
        raise NotFound("Your login is not linked to an agent, so you have no feedback report.")
    target = request.url_for("reports:agent", agent_id=str(user.agent_id))
    params = {k: v for k, v in request.query_params.items() if k in ("start", "end", "period")}
    return RedirectResponse(str(target.include_query_params(**params)), status_code=303)


@router.get("/reports/agents/{agent_id}.csv", name="reports:agent_csv")
def agent_report_csv(request: Request, agent_id: str, user: CurrentUser, session: SessionDep) -> Response:
    """The report as CSV: summary, weekly trend, criteria, root causes, critical fails."""
    report = _report(session, user, agent_id, request.query_params)
    filename = report_service.export_filename(report, "csv")
    return Response(report_service.report_csv(report), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/reports/agents/{agent_id}.pdf", name="reports:agent_pdf")
def agent_report_pdf(request: Request, agent_id: str, user: CurrentUser, session: SessionDep) -> Response:
    """The report as a PDF file with the same figures and vector charts."""
    report = _report(session, user, agent_id, request.query_params)
    summary = report_service.summary_sentence(report, own=_own(user, report.agent.id))
    page = request.url_for("reports:agent", agent_id=str(report.agent.id))
    body = report_pdf(report, summary=summary, source_url=str(page.include_query_params(
        start=report.period.start.isoformat(), end=report.period.end.isoformat())))
    filename = report_service.export_filename(report, "pdf")
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _report(session: Session, user: User, agent_id: str,
            params: Mapping[str, str]) -> report_service.AgentReport:
    """The report for an export: 404 for someone else's agent comes before any message about the dates."""
    report_service.report_agent(session, user, agent_id)
    period = report_service.resolve_period(params)
    return report_service.agent_report(session, actor=user, agent_id=agent_id, start=period.start,
                                       end=period.end, preset=period.preset)


@router.get("/reports/agents/{agent_id}", name="reports:agent")
@db_route
def agent_report_page(request: Request, agent_id: str, user: CurrentUser, session: SessionDep) -> Response:
    """One agent's feedback report for a period: charts, call-outs, the reviews behind every number."""
    agent = report_service.report_agent(session, user, agent_id)
    params = request.query_params
    report, error, status = None, None, 200
    try:
        period = report_service.resolve_period(params)
        report = report_service.agent_report(session, actor=user, agent_id=agent.id, start=period.start,
                                             end=period.end, preset=period.preset)
    except InvalidInput as exc:
        error, status = exc.message, exc.status_code
    own = _own(user, agent.id or 0)
    ctx: dict[str, Any] = {
        "agent": agent, "report": report, "error": error, "own": own,
        "active_nav": "my_report" if own else "reports",
        "presets": report_service.PRESETS,
        "form": _form(params, report),
        "page_url": str(request.url_for("reports:agent", agent_id=str(agent.id))),
        "coaching_url": _url(request, "coaching:summary", f"/coaching/agents/{agent.id}/summary",
                             agent_id=str(agent.id)),
    }
    if report is not None:
        query = {"start": report.period.start.isoformat(), "end": report.period.end.isoformat()}
        ctx.update({
            "summary": report_service.summary_sentence(report, own=own),
            "drill": _drill_links(request, report),
            "csv_url": str(request.url_for("reports:agent_csv", agent_id=str(agent.id))
                           .include_query_params(**query)),
            "pdf_url": str(request.url_for("reports:agent_pdf", agent_id=str(agent.id))
                           .include_query_params(**query)),
            "call_out_reason": report_service.call_out_reason,
            "min_ratings": report_service.MIN_RATINGS,
        })
    return render(request, "reports/agent.html", ctx, status_code=status)


def _form(params: Any, report: report_service.AgentReport | None) -> dict[str, str]:
    """What the period fields show: the report's own dates, or what was typed when they failed."""
    if report is None:
        return {name: (params.get(name) or "")[:40] for name in ("start", "end", "period")}
    period = report.period
    return {"start": period.start.isoformat(), "end": period.end.isoformat(), "period": period.preset or ""}


@router.get("/reports/reviews", name="reports:reviews")
@db_route
def reviews_behind(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    """The reviews behind a number: the filters in words, count, mean, and the list newest first."""
    params = request.query_params
    page, error, status = None, None, 200
    try:
        query = drilldown.parse_query(params)
        page = drilldown.review_list(session, actor=user, query=query, cursor=params.get("cursor") or None,
                                     limit=drilldown.PAGE_SIZE)
    except InvalidInput as exc:
        error, status = exc.message, exc.status_code
    next_url = None
    if page is not None and page.next_cursor:
        next_url = str(request.url_for("reports:reviews").include_query_params(
            **page.query.params(), cursor=page.next_cursor))
    back_url = None
    if page is not None and page.query.piece.agent_id is not None:
        back_url = str(request.url_for("reports:agent", agent_id=str(page.query.piece.agent_id))
                       .include_query_params(start=page.query.piece.start.isoformat(),
                                             end=page.query.piece.end.isoformat()))
    ctx: dict[str, Any] = {"page": page, "error": error, "next_url": next_url, "back_url": back_url,
                           "is_later_page": bool(params.get("cursor")),
                           "active_nav": "my_report" if user.role is Role.agent else "reports"}
    if is_htmx(request) and hx_target(request) == "drill-more":
        return render(request, "reports/_review_rows.html", ctx, status_code=status)
    return render(request, "reports/reviews.html", ctx, status_code=status)

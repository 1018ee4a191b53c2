"""The coverage page and its CSV export: per agent and period, coverage and how sure each score is.

Both read the same GET parameters (start, end, team, period; see coverage_service.parse_query).
Bad input re-renders the page with the message and a 4xx, so the filters can be fixed in place;
the CSV answers the usual error page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from qa.auth.deps import ReviewerUser, SessionDep
from qa.coverage import service as coverage_service
from qa.errors import InvalidInput, NotFound
from qa.web.templates import render

router = APIRouter()

FORM_FIELDS = ("start", "end", "team", "period")


@router.get("/coverage", name="coverage:page")
def coverage_page(request: Request, user: ReviewerUser, session: SessionDep) -> Response:
    """Coverage, score and margin of error per agent and period, with the filters that chose them."""
    params = request.query_params
    report, error, status = None, None, 200
    try:
        query = coverage_service.parse_query(params)
        report = coverage_service.coverage(session, actor=user, start=query.start, end=query.end,
                                           team_id=query.team_id, period=query.period)
    except (InvalidInput, NotFound) as exc:
        error, status = exc.message, exc.status_code
    form = _form_values(params, report)
    ctx: dict[str, Any] = {
        "report": report, "error": error, "form": form, "active_nav": "coverage",
        "teams": report.teams if report else coverage_service.team_choices(session, actor=user),
        "csv_url": str(request.url_for("coverage:csv").include_query_params(**form)) if report else None,
        "periods": coverage_service.PERIODS,
    }
    return render(request, "coverage/coverage.html", ctx, status_code=status)


def _form_values(params: Any, report: coverage_service.CoverageReport | None) -> dict[str, str]:
    """What the filter fields show: the report's own parameters, or what was typed when it failed."""
    if report is None:
        return {name: (params.get(name) or "")[:40] for name in FORM_FIELDS}
    query = report.query
    return {"start": query.start.isoformat(), "end": query.end.isoformat(),
            "team": "" if query.team_id is None else str(query.team_id), "period": query.period}


@router.get("/coverage.csv", name="coverage:csv")
def coverage_csv(request: Request, user: ReviewerUser, session: SessionDep) -> Response:
    """The same report as CSV (one line per agent and period, plus each period's total)."""
    query = coverage_service.parse_query(request.query_params)
    report = coverage_service.coverage(session, actor=user, start=query.start, end=query.end,
                                       team_id=query.team_id, period=query.period)
    filename = coverage_service.csv_filename(query)
    return Response(coverage_service.report_csv(report), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})

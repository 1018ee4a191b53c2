"""The leniency-adjusted scores page and its CSV (managers of their teams, admins).

Bad filters re-render the page with the message and a 4xx; the CSV answers the usual error page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlmodel import col, select
from starlette.responses import Response

from qa.auth.deps import ManagerUser, SessionDep
from qa.calibration import leniency_report
from qa.coverage import service as coverage_service
from qa.errors import InvalidInput, NotFound
from qa.models import Scorecard, utcnow
from qa.web.templates import render

router = APIRouter()

FORM_FIELDS = ("start", "end", "team", "scorecard")


@router.get("/calibration/leniency", name="leniency:page")
def leniency_page(request: Request, user: ManagerUser, session: SessionDep) -> Response:
    """Each agent's official IQS beside the leniency-adjusted score; each reviewer's effect."""
    params = request.query_params
    report, error, status = None, None, 200
    try:
        query = leniency_report.parse_query(params, today=utcnow().date())
        report = leniency_report.leniency(session, actor=user, query=query)
    except (InvalidInput, NotFound) as exc:
        error, status = exc.message, exc.status_code
    form = _form(params, report)
    ctx: dict[str, Any] = {
        "report": report,
        "error": error,
        "form": form,
        "active_nav": "calibration",
        "explanation": leniency_report.EXPLANATION,
        "teams": coverage_service.team_choices(session, actor=user),
        "scorecards": list(session.exec(select(Scorecard.id, Scorecard.name).order_by(col(Scorecard.name)))),
        "csv_url": str(request.url_for("leniency:csv").include_query_params(**form)) if report else None,
    }
    return render(request, "calibration/leniency.html", ctx, status_code=status)


def _form(params: Any, report: leniency_report.LeniencyReport | None) -> dict[str, str]:
    if report is None:
        return {name: (params.get(name) or "")[:40] for name in FORM_FIELDS}
    q = report.query
    return {
        "start": q.start.isoformat(),
        "end": q.end.isoformat(),
        "team": "" if q.team_id is None else str(q.team_id),
        "scorecard": "" if q.scorecard_id is None else str(q.scorecard_id),
    }


@router.get("/calibration/leniency.csv", name="leniency:csv")
def leniency_csv(request: Request, user: ManagerUser, session: SessionDep) -> Response:
    """The same figures as CSV: one line per agent, then one per reviewer."""
    query = leniency_report.parse_query(request.query_params, today=utcnow().date())
    report = leniency_report.leniency(session, actor=user, query=query)
    name = f"leniency-{query.start.isoformat()}-{query.end.isoformat()}.csv"
    return Response(
        leniency_report.report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )

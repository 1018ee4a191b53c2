"""The agreement-over-time page (managers and admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlmodel import col, select
from starlette.responses import Response

from qa.auth.deps import ManagerUser, SessionDep
from qa.calibration import trends as trend_service
from qa.errors import InvalidInput, NotFound
from qa.models import Scorecard, utcnow
from qa.web.templates import render

router = APIRouter()


def _series(points: list[trend_service.Point], names: dict[int, str], which: int) -> list[dict[str, Any]]:
    """One line per reviewer: their deviation (0 benchmark, 1 others) at each point."""
    ids = sorted({r for p in points for r in p.reviewers})
    return [
        {
            "name": names.get(r, f"User {r}"),
            "points": [(p.label, p.reviewers.get(r, (None, None))[which]) for p in points],
        }
        for r in ids
    ]


def _overall(points: list[trend_service.Point]) -> list[dict[str, Any]]:
    return [
        {"name": "Alpha (ordinal)", "points": [(p.label, p.alpha_ordinal) for p in points]},
        {"name": "Alpha (interval)", "points": [(p.label, p.alpha_interval) for p in points]},
        {"name": "Percent agreement", "points": [(p.label, p.percent_agreement) for p in points]},
    ]


@router.get("/calibration/trends", name="trends:page")
def trends_page(request: Request, user: ManagerUser, session: SessionDep) -> Response:
    """Per scorecard: agreement per revealed session and per month of double-reviewed conversations."""
    params = request.query_params
    found, error, status = None, None, 200
    try:
        card = trend_service.parse_scorecard(session, params)
        start, end = trend_service.parse_range(params, today=utcnow().date())
        found = trend_service.trends(session, actor=user, scorecard_id=card, start=start, end=end)
    except (InvalidInput, NotFound) as exc:
        error, status = exc.message, exc.status_code
    ctx: dict[str, Any] = {
        "found": found,
        "error": error,
        "active_nav": "calibration",
        "scorecards": list(session.exec(select(Scorecard.id, Scorecard.name).order_by(col(Scorecard.name)))),
    }
    if found:
        ctx |= {
            "session_overall": _overall(found.sessions),
            "month_overall": _overall(found.months),
            "session_bench": _series(found.sessions, found.names, 0),
            "session_others": _series(found.sessions, found.names, 1),
            "month_others": _series(found.months, found.names, 1),
        }
    return render(request, "calibration/trends.html", ctx, status_code=status)

"""/api/v1/calibration-stats: leniency-adjusted scores and agreement over time as JSON (managers, admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from qa.auth.deps import SessionDep, require_api_role
from qa.calibration import leniency_report
from qa.calibration import trends as trend_service
from qa.models import Role, User, utcnow

router = APIRouter(prefix="/calibration-stats", tags=["calibration"])

ApiManager = Annotated[User, Depends(require_api_role(Role.manager))]


@router.get("/leniency")
def get_leniency(request: Request, user: ApiManager, session: SessionDep) -> dict[str, Any]:
    """Each agent's IQS and leniency-adjusted score, each reviewer's effect (start, end, team, scorecard)."""
    query = leniency_report.parse_query(request.query_params, today=utcnow().date())
    return leniency_report.as_dict(leniency_report.leniency(session, actor=user, query=query))


@router.get("/trends")
def get_trends(request: Request, user: ApiManager, session: SessionDep) -> dict[str, Any]:
    """Agreement per revealed session and per month of double reviews (scorecard_id, start, end)."""
    params = request.query_params
    card = trend_service.parse_scorecard(session, params)
    start, end = trend_service.parse_range(params, today=utcnow().date())
    return trend_service.as_dict(
        trend_service.trends(session, actor=user, scorecard_id=card, start=start, end=end)
    )

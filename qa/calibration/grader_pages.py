"""Grader QA pages: draw re-grade tasks, see each reviewer's alignment over time, compare one pair.

Bad task input re-renders the page with the message and 422 (403 for someone who may not grade).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from qa.auth.deps import CurrentUser, SessionDep
from qa.calibration import grader
from qa.errors import InvalidInput, NotFound
from qa.models import User, utcnow
from qa.web.templates import render

router = APIRouter()

FLASH_KEY = "grader_flash"


def _page(
    request: Request,
    session: Session,
    user: User,
    form: dict[str, str],
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    rows = grader.reviewer_figures(session, actor=user)
    months = sorted({m for r in rows for m, _ in r.months})
    ctx: dict[str, Any] = {
        "active_nav": "calibration",
        "form": form,
        "error": error,
        "rows": rows,
        "months": months,
        "series": [
            {"name": r.name, "points": [(m, f.alignment) for m, f in _by_month(r, months)]} for r in rows
        ],
        "choices": grader.reviewer_choices(session, actor=user),
        "tasks": grader.open_tasks(session, actor=user),
        "pairs": grader.recent_pairs(session, actor=user),
        "flash": request.session.pop(FLASH_KEY, None),
        "scope_note": grader.scope_note(user),
        "max_sample": grader.MAX_SAMPLE,
    }
    return render(request, "calibration/grader.html", ctx, status_code=status)


def _by_month(row: grader.ReviewerFigures, months: list[str]) -> list[tuple[str, grader.Figures]]:
    found = dict(row.months)
    empty = grader.Figures(0, 0, None, None)
    return [(m, found.get(m, empty)) for m in months]


def _default_form() -> dict[str, str]:
    today = utcnow().date()
    start, end = grader.parse_range({}, today=today)
    return {
        "reviewer_id": "",
        "start": start.isoformat(),
        "end": end.isoformat(),
        "size": str(grader.DEFAULT_SAMPLE),
        "seed": str(today.toordinal() % 10_000),
    }


@router.get("/calibration/grader-qa", name="grader:page")
def grader_page(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    """Per reviewer: re-grades done, alignment and deviation, by month; the task form; open tasks."""
    grader.require_grader(session, user)
    return _page(request, session, user, _default_form())


ShortField = Annotated[str, Form(max_length=40)]


@router.post("/calibration/grader-qa", name="grader:create")
def create_tasks(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    reviewer_id: ShortField = "",
    start: ShortField = "",
    end: ShortField = "",
    size: ShortField = "",
    seed: ShortField = "",
) -> Response:
    """Draw a sample of the reviewer's reviews and create the re-grade drafts."""
    form = {"reviewer_id": reviewer_id, "start": start, "end": end, "size": size, "seed": seed}
    return _create(request, user, session, form)


def _create(request: Request, user: User, session: Session, form: dict[str, str]) -> Response:
    grader.require_grader(session, user)
    try:
        query = grader.parse_task_query(form, today=utcnow().date())
        created = grader.create_tasks(session, actor=user, query=query)
    except (InvalidInput, NotFound) as exc:
        return _page(request, session, user, form, error=exc.message, status=422)
    count = len(created)
    request.session[FLASH_KEY] = (
        f"Created {count} re-grade task{'' if count == 1 else 's'}. "
        "Score each one blind; the comparison appears once you submit."
    )
    return RedirectResponse(str(request.url_for("grader:page")), status_code=303)


@router.get("/calibration/grader-qa/pairs/{regrade_id}", name="grader:pair")
def pair_page(request: Request, regrade_id: str, user: CurrentUser, session: SessionDep) -> Response:
    """The original review beside its re-grade, criterion by criterion."""
    pair = grader.pair_detail(session, actor=user, regrade_id=regrade_id)
    return render(request, "calibration/grader_pair.html", {"pair": pair, "active_nav": "calibration"})

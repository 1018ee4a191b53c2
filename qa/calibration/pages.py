"""Calibration pages: the sessions list, creating a session, scoring blind, the reveal, the side-by-side with
the consensus, and the agreement page with its CSV.

Paths use `{session_id:int}` so that helper pages under /calibration/ with a word (grader-qa, leniency,
trends) never fall into these routes. Writes answer htmx with a partial or HX-Redirect and plain
forms with a 303, so every screen also works without JavaScript. A GET never writes: the "Score"
button is a POST that creates the draft review, then goes to the normal review page.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from qa.assignments import service as assignment_service
from qa.auth.deps import CurrentUser, ManagerUser, ReviewerUser, SessionDep
from qa.calibration import measures
from qa.calibration import service as calibration_service
from qa.errors import InvalidInput
from qa.web.htmx import hx_redirect, is_htmx
from qa.web.templates import render

router = APIRouter()

NA_VALUE = "__na__"  # N/A in the consensus select (option labels are never empty)
NONE_VALUE = ""  # "no consensus yet"
FLASH_KEY = "calibration_flash"
TextField = Annotated[str, Form(max_length=12_000)]
ShortField = Annotated[str, Form(max_length=300)]


def _flash(request: Request, message: str) -> None:
    request.session[FLASH_KEY] = message


@router.get("/calibration", name="calibration:list")
def sessions_list(request: Request, user: ReviewerUser, session: SessionDep) -> Response:
    """The sessions the user takes part in or manages, with progress."""
    rows = calibration_service.list_sessions(session, actor=user)
    ctx = {
        "rows": rows,
        "active_nav": "calibration",
        "flash": request.session.pop(FLASH_KEY, None),
        "can_create": user.role.value in ("manager", "admin"),
    }
    return render(request, "calibration/list.html", ctx)


# ---------------------------------------------------------------------------------------------
# Creating a session
# ---------------------------------------------------------------------------------------------


def _form_ctx(request: Request, session: Any, user: Any, form: dict[str, Any]) -> dict[str, Any]:
    return {
        "form": form,
        "active_nav": "calibration",
        "scorecards": calibration_service.scorecard_choices(session),
        "people": calibration_service.participant_choices(session),
        "rules": assignment_service.list_rules(session, actor=user),
        "conversations": calibration_service.conversation_choices(
            session, actor=user, search=form.get("q", "")
        ),
    }


@router.get("/calibration/new", name="calibration:new")
def new_session(request: Request, user: ManagerUser, session: SessionDep) -> Response:
    """The form: scorecard, conversations (by hand or from a sampling rule), participants, benchmark."""
    form = {
        "q": (request.query_params.get("q") or "")[:100],
        "name": "",
        "scorecard_id": "",
        "due": "",
        "conversation_ids": [],
        "participant_ids": [],
        "benchmark_id": "",
        "ids": "",
        "source": "hand",
        "rule_id": "",
        "size": "5",
        "seed": "1",
        "notes": "",
    }
    return render(request, "calibration/new.html", _form_ctx(request, session, user, form))


def _int_list(values: list[str]) -> list[str]:
    return [v.strip() for v in values if v.strip()]


def _due(raw: str) -> datetime | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"'{raw[:30]}' is not a date (use YYYY-MM-DD).", field="due") from None
    if not 2000 <= day.year <= 9000:
        raise InvalidInput("Pick a due date between 2000 and 9000.", field="due")
    return datetime.combine(day, time(23, 59), tzinfo=UTC)


@router.post("/calibration/new", name="calibration:create")
def create_session(
    request: Request,
    user: ManagerUser,
    session: SessionDep,
    name: ShortField = "",
    scorecard_id: ShortField = "",
    due: ShortField = "",
    benchmark_id: ShortField = "",
    ids: TextField = "",
    source: ShortField = "hand",
    rule_id: ShortField = "",
    size: ShortField = "",
    seed: ShortField = "",
    notes: TextField = "",
    q: ShortField = "",
    conversation_ids: Annotated[list[str] | None, Form(max_length=1000)] = None,
    participant_ids: Annotated[list[str] | None, Form(max_length=200)] = None,
) -> Response:
    """Create the session; an invalid form comes back with the message and a 422."""
    form: dict[str, Any] = {
        "name": name,
        "scorecard_id": scorecard_id,
        "due": due,
        "benchmark_id": benchmark_id,
        "ids": ids,
        "source": source,
        "rule_id": rule_id,
        "size": size,
        "seed": seed,
        "notes": notes,
        "q": q,
        "conversation_ids": _int_list(conversation_ids or []),
        "participant_ids": _int_list(participant_ids or []),
    }
    try:
        return _create_sync(request, user, session, form)
    except InvalidInput as exc:
        ctx = _form_ctx(request, session, user, form) | {"error": exc.message}
        return render(request, "calibration/new.html", ctx, status_code=422)


def _create_sync(request: Request, user: Any, session: Any, form: dict[str, Any]) -> Response:
    by_hand = form["source"] != "rule"
    typed = [p for p in form["ids"].replace(",", " ").split() if p]
    seed = form["seed"].strip()
    if not by_hand and not (seed.isascii() and seed.isdigit() and len(seed) < 10):
        raise InvalidInput("The seed is a whole number.", field="seed")
    data = calibration_service.SessionIn(
        name=form["name"],
        scorecard_id=form["scorecard_id"],
        participant_ids=form["participant_ids"],
        conversation_ids=[*form["conversation_ids"], *typed] if by_hand else [],
        benchmark_id=form["benchmark_id"] or None,
        due_at=_due(form["due"]),
        notes=form["notes"],
        sampling_rule_id=None if by_hand else (form["rule_id"] or "x"),
        sample_size=form["size"],
        seed=int(seed) if not by_hand else 0,
    )
    if not by_hand and not form["rule_id"]:
        raise InvalidInput("Pick a sampling rule to draw from.", field="rule_id")
    cal = calibration_service.create_session(session, actor=user, data=data)
    _flash(request, "Session created. The participants have been notified.")
    return hx_redirect(request, str(request.url_for("calibration:detail", session_id=cal.id)))


# ---------------------------------------------------------------------------------------------
# One session
# ---------------------------------------------------------------------------------------------


@router.get("/calibration/{session_id:int}", name="calibration:detail")
def detail(request: Request, session_id: int, user: CurrentUser, session: SessionDep) -> Response:
    """Progress per participant, the conversations to score, and (for managers) the reveal."""
    view = calibration_service.session_view(session, actor=user, session_id=session_id)
    ctx = {"v": view, "active_nav": "calibration", "flash": request.session.pop(FLASH_KEY, None)}
    return render(request, "calibration/detail.html", ctx)


@router.post(
    "/calibration/{session_id:int}/conversations/{conversation_id:int}/score", name="calibration:score"
)
def score(
    request: Request, session_id: int, conversation_id: int, user: CurrentUser, session: SessionDep
) -> Response:
    """Open (creating on first use) the participant's blind review of the conversation."""
    review = calibration_service.open_review(
        session, actor=user, session_id=session_id, conversation_id=conversation_id
    )
    return hx_redirect(request, str(request.url_for("reviews:detail", review_id=review.id)))


@router.post("/calibration/{session_id:int}/reveal", name="calibration:reveal")
def reveal(request: Request, session_id: int, user: ManagerUser, session: SessionDep) -> Response:
    """Reveal the session to everyone and close its scoring."""
    calibration_service.reveal(session, actor=user, session_id=session_id)
    _flash(request, "Session revealed. Everyone can now compare the answers.")
    return hx_redirect(request, str(request.url_for("calibration:detail", session_id=session_id)))


@router.get("/calibration/{session_id:int}/conversations/{conversation_id:int}", name="calibration:compare")
def compare(
    request: Request, session_id: int, conversation_id: int, user: CurrentUser, session: SessionDep
) -> Response:
    """The side-by-side of one conversation: rows criteria, columns reviewers, the consensus."""
    found = calibration_service.comparison(
        session, actor=user, session_id=session_id, conversation_id=conversation_id
    )
    ctx = {"c": found, "v": found.view, "active_nav": "calibration", "NA": NA_VALUE}
    return render(request, "calibration/compare.html", ctx)


@router.post(
    "/calibration/{session_id:int}/conversations/{conversation_id:int}/consensus/{criterion_key}",
    name="calibration:consensus",
)
def consensus(
    request: Request,
    session_id: int,
    conversation_id: int,
    criterion_key: str,
    user: ManagerUser,
    session: SessionDep,
    option: ShortField = NONE_VALUE,
    comment: TextField = "",
) -> Response:
    """Record (or clear) the consensus of one criterion; htmx gets the row back."""
    error = None
    try:
        calibration_service.set_consensus(
            session,
            actor=user,
            session_id=session_id,
            conversation_id=conversation_id,
            criterion_key=criterion_key,
            option_label=None if option == NA_VALUE else option,
            clear=option == NONE_VALUE,
            comment=comment,
        )
    except InvalidInput as exc:
        if not is_htmx(request):
            raise
        error = exc.message
    if not is_htmx(request):
        url = request.url_for("calibration:compare", session_id=session_id, conversation_id=conversation_id)
        return RedirectResponse(f"{url}#crit-{criterion_key}", status_code=303)
    found = calibration_service.comparison(
        session, actor=user, session_id=session_id, conversation_id=conversation_id
    )
    row = next(r for r in found.rows if r.key == criterion_key)
    ctx = {"c": found, "v": found.view, "row": row, "NA": NA_VALUE, "error": error, "saved": error is None}
    return render(request, "calibration/_compare_row.html", ctx, status_code=422 if error else 200)


# ---------------------------------------------------------------------------------------------
# Agreement
# ---------------------------------------------------------------------------------------------


@router.get("/calibration/{session_id:int}/agreement", name="calibration:agreement")
def agreement_page(request: Request, session_id: int, user: CurrentUser, session: SessionDep) -> Response:
    """Alphas, percent agreement and benchmark alignment per criterion; reviewers' deviations; spreads."""
    found = measures.session_agreement(session, actor=user, session_id=session_id)
    view = calibration_service.session_view(session, actor=user, session_id=session_id)
    ctx = {
        "a": found,
        "data": found.as_dict(),
        "v": view,
        "active_nav": "calibration",
        "reading": measures.reading,
    }
    return render(request, "calibration/agreement.html", ctx)


@router.get("/calibration/{session_id:int}/agreement.csv", name="calibration:agreement_csv")
def agreement_csv(request: Request, session_id: int, user: CurrentUser, session: SessionDep) -> Response:
    """The agreement as CSV."""
    found = measures.session_agreement(session, actor=user, session_id=session_id)
    return Response(
        measures.agreement_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="calibration-{session_id}-agreement.csv"'},
    )

"""Dispute pages: the agent's dispute form on the review page, the resolvers' queue with statistics,
one dispute (accept with corrected ratings or reject), and pinning from the review page.

The resolution form holds one radio group per criterion (`rating.<key>`), so its routes read the
form themselves (the field names depend on the scorecard) and run the service on a worker thread.
Plain form posts answer with a 303 (or the page again with the error, 422); htmx gets partials.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from qa.auth import scope
from qa.auth.deps import CurrentUser, ReviewerUser, SessionDep, db_route
from qa.coaching import disputes as dispute_service
from qa.coaching import pins as pin_service
from qa.errors import InvalidInput
from qa.models import User
from qa.reviews import service as review_service
from qa.reviews.pages import NA_VALUE
from qa.reviews.service import RatingIn
from qa.web.htmx import hx_redirect, is_htmx
from qa.web.templates import render
from scorecards import format_score

router = APIRouter()

FLASH_KEY = "disputes_flash"
REVIEW_FLASH_KEY = "reviews_flash"  # the review page shows this one (qa.reviews.pages)
RATING_PREFIX = "rating."
MAX_RATING_FIELDS = 500
TextField = Annotated[str, Form(max_length=dispute_service.MAX_COMMENT + 1000)]


# ---------------------------------------------------------------------------------------------
# Raising a dispute (the agent, from the review page)
# ---------------------------------------------------------------------------------------------


@router.post("/reviews/{review_id}/disputes", name="disputes:create")
def create(
    request: Request,
    review_id: str,
    user: CurrentUser,
    session: SessionDep,
    criterion: Annotated[str, Form(max_length=200)] = "",
    reason: TextField = "",
) -> Response:
    """The agent disputes their review or one criterion; htmx gets the form back when it is refused."""
    try:
        dispute_service.open_dispute(
            session, actor=user, review_id=review_id, criterion_key=criterion or None, reason=reason
        )
    except InvalidInput as exc:
        if not is_htmx(request):
            raise
        review = review_service.review_detail(session, actor=user, review_id=review_id, transcript=False)
        ctx = {
            "review": review.review,
            "key": criterion,
            "reason": reason,
            "error": exc.message,
            "target_name": _target_name(review, criterion),
            "open": True,
        }
        return render(request, "disputes/_dispute_form.html", ctx, status_code=422)
    request.session[REVIEW_FLASH_KEY] = (
        "Your dispute was sent. You will be notified here when it is resolved."
    )
    # No "#disputes" anchor: from the review page itself, a new fragment alone would not reload it.
    return hx_redirect(request, str(request.url_for("reviews:detail", review_id=review_id)))


def _target_name(detail: review_service.ReviewDetail, key: str) -> str:
    return next((c.name for c in detail.definition.criteria if c.key == key), "the whole review")


# ---------------------------------------------------------------------------------------------
# Pins (reviewers, coaches, managers, from the review page)
# ---------------------------------------------------------------------------------------------


@router.post("/reviews/{review_id}/pins", name="pins:create")
def create_pin(
    request: Request,
    review_id: str,
    user: CurrentUser,
    session: SessionDep,
    kind: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=pin_service.MAX_NOTE + 1000)] = "",
    message_id: Annotated[str, Form(max_length=20)] = "",
    criterion: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Pin a message, a rating or the review; htmx gets the pin control back, showing the pin."""
    target = {"kind": kind, "message_id": message_id, "criterion": criterion}
    error, status, pinned = None, 200, False
    try:
        pin_service.create_pin(
            session,
            actor=user,
            review_id=review_id,
            kind=kind,
            note=note,
            message_id=message_id or None,
            criterion_key=criterion or None,
        )
        pinned = True
    except InvalidInput as exc:
        if not is_htmx(request):
            raise
        error, status = exc.message, 422
    if not is_htmx(request):
        url = request.url_for("reviews:detail", review_id=review_id)
        return RedirectResponse(str(url), status_code=303)
    rid = scope.as_id(review_id)  # create_pin has checked the user may see it (before any InvalidInput)
    pins = [p for p in pin_service.review_pins(session, actor=user, review_id=rid) if _matches(p, target)]
    ctx = {
        "review_id": rid,
        "target": target,
        "pins": pins,
        "error": error,
        "note": "" if pinned else note,
        "just_pinned": pinned,
        "open": error is not None,
    }
    return render(request, "pins/_pin_control.html", ctx, status_code=status)


def _matches(pin: pin_service.PinView, target: Mapping[str, str]) -> bool:
    return (
        pin.kind == target["kind"]
        and str(pin.message_id or "") == target["message_id"]
        and (pin.criterion_key or "") == target["criterion"]
    )


# ---------------------------------------------------------------------------------------------
# The queue
# ---------------------------------------------------------------------------------------------


def _opt_date(params: Mapping[str, str], name: str) -> date | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        day = None
    if day is None or not 1900 <= day.year <= 9000:
        raise InvalidInput(f"'{raw[:40]}' is not a date (use YYYY-MM-DD).", field=name)
    return day


@router.get("/disputes", name="disputes:queue")
@db_route
def queue(request: Request, user: ReviewerUser, session: SessionDep) -> Response:
    """Open disputes the user may resolve (oldest first), recently resolved ones, and statistics."""
    params = request.query_params
    error, status = None, 200
    try:
        stats = dispute_service.dispute_stats(
            session, actor=user, start=_opt_date(params, "start"), end=_opt_date(params, "end")
        )
    except InvalidInput as exc:
        stats = dispute_service.dispute_stats(session, actor=user)
        error, status = exc.message, 422
    ctx: dict[str, Any] = {
        "queue": dispute_service.queue(session, actor=user),
        "stats": stats,
        "error": error,
        "form": {name: (params.get(name) or "")[:40] for name in ("start", "end")},
        "active_nav": "disputes",
        "flash": request.session.pop(FLASH_KEY, None),
    }
    return render(request, "disputes/queue.html", ctx, status_code=status)


@router.get("/disputes/open-count", name="disputes:nav_count")
@db_route
def nav_count(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    """A badge with the number of open disputes the user may resolve (empty when none), for the nav."""
    count = dispute_service.open_count(session, actor=user)
    return render(request, "disputes/_nav_count.html", {"count": count})


# ---------------------------------------------------------------------------------------------
# One dispute: read, preview, accept, reject
# ---------------------------------------------------------------------------------------------


@router.get("/disputes/{dispute_id}", name="disputes:detail")
@db_route
def detail(request: Request, dispute_id: str, user: ReviewerUser, session: SessionDep) -> Response:
    """The dispute, the review's ratings (the disputed one highlighted), the transcript and the form."""
    found = dispute_service.get_dispute(session, actor=user, dispute_id=dispute_id)
    return render(request, "disputes/detail.html", _detail_ctx(request, found))


def _detail_ctx(request: Request, found: dispute_service.DisputeDetail, **extra: Any) -> dict[str, Any]:
    d = found.review
    chosen = {key: rating.option_label for key, rating in d.ratings.items()}
    return {
        "x": found,
        "row": found.row,
        "d": d,
        "review": d.review,
        "chosen": chosen,
        "NA": NA_VALUE,
        "RATING_PREFIX": RATING_PREFIX,
        "active_nav": "disputes",
        "error": None,
        "comment": "",
        "preview": None,
        "flash": request.session.pop(FLASH_KEY, None),
    } | extra


def _form_ratings(form: FormData) -> list[RatingIn]:
    """The resolver's choices: one `rating.<key>` field per criterion (NA_VALUE = N/A)."""
    ratings = []
    for name, value in form.multi_items()[:MAX_RATING_FIELDS]:
        if name.startswith(RATING_PREFIX) and isinstance(value, str):
            ratings.append(
                RatingIn(
                    criterion=name[len(RATING_PREFIX) :][:200],
                    option=None if value == NA_VALUE else value[:300],
                )
            )
    return ratings


def _form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value[: dispute_service.MAX_COMMENT + 1000] if isinstance(value, str) else ""


@router.post("/disputes/{dispute_id}/preview", name="disputes:preview")
async def preview(request: Request, dispute_id: str, user: ReviewerUser, session: SessionDep) -> Response:
    """The score the review would get with the form's ratings (htmx, on every change)."""
    ratings = _form_ratings(await request.form())
    return await run_in_threadpool(_preview, request, session, user, dispute_id, ratings)


def _preview(
    request: Request, session: Session, user: User, dispute_id: str, ratings: list[RatingIn]
) -> Response:
    try:
        current, result = dispute_service.preview(session, actor=user, dispute_id=dispute_id, ratings=ratings)
    except InvalidInput as exc:
        return render(request, "disputes/_preview.html", {"preview_error": exc.message}, status_code=422)
    return render(request, "disputes/_preview.html", {"current": current, "preview": result})


@router.post("/disputes/{dispute_id}/accept", name="disputes:accept")
async def accept(request: Request, dispute_id: str, user: ReviewerUser, session: SessionDep) -> Response:
    """Accept: save the corrected ratings (the review is rescored) and tell the agent."""
    form = await request.form()
    ratings, comment = _form_ratings(form), _form_text(form, "comment")
    return await run_in_threadpool(_resolve, request, session, user, dispute_id, ratings, comment, True)


@router.post("/disputes/{dispute_id}/reject", name="disputes:reject")
async def reject(request: Request, dispute_id: str, user: ReviewerUser, session: SessionDep) -> Response:
    """Reject with a comment for the agent; the review stays as it is."""
    form = await request.form()
    ratings, comment = _form_ratings(form), _form_text(form, "comment")
    return await run_in_threadpool(_resolve, request, session, user, dispute_id, ratings, comment, False)


def _resolve(
    request: Request,
    session: Session,
    user: User,
    dispute_id: str,
    ratings: list[RatingIn],
    comment: str,
    accepting: bool,
) -> Response:
    try:
        if accepting:
            dispute = dispute_service.accept_dispute(
                session, actor=user, dispute_id=dispute_id, ratings=ratings, comment=comment
            )
        else:
            dispute = dispute_service.reject_dispute(
                session, actor=user, dispute_id=dispute_id, comment=comment
            )
    except InvalidInput as exc:
        found = dispute_service.get_dispute(session, actor=user, dispute_id=dispute_id)
        ctx = _detail_ctx(request, found, error=exc.message, comment=comment)
        ctx["chosen"] |= {r.criterion: r.option for r in ratings}
        return render(request, "disputes/detail.html", ctx, status_code=422)
    if accepting:
        before, after = (dispute.before or {}).get("score"), (dispute.after or {}).get("score")
        message = (
            f"Dispute accepted: the review now scores {format_score(after)} (was {format_score(before)})."
        )
    else:
        message = "Dispute rejected. The agent can read your comment on the review."
    request.session[FLASH_KEY] = message + " The agent has been notified."
    return hx_redirect(request, str(request.url_for("disputes:queue")))

"""Review pages: the reviewer's queue, the review form with live scoring, the reviews list, My feedback.

Routes parse input, call one service function and render; writes answer htmx with a partial (or
HX-Redirect) and plain form posts with a 303, so every screen also works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from qa.assignments.pages import assignments_panel
from qa.auth.deps import CurrentUser, ReviewerUser, SessionDep, SettingsDep, db_route
from qa.calibration import grader as grader_service
from qa.calibration import service as calibration_service
from qa.coaching import disputes as dispute_service
from qa.coaching import pins as pin_service
from qa.errors import InvalidInput, NotFound
from qa.models import ReviewKind, User
from qa.reviews import service as review_service
from qa.reviews.service import QueueFilters, ReviewFilters
from qa.web.htmx import hx_redirect, hx_target, is_htmx
from qa.web.templates import render

router = APIRouter()

NA_VALUE = "__na__"  # the N/A radio's value; option labels are never empty, so this can't be a label
FLASH_KEY = "reviews_flash"
CommentField = Annotated[str, Form(max_length=review_service.MAX_COMMENT_LENGTH + 1000)]


# ---------------------------------------------------------------------------------------------
# Query-string parsing (filters come from GET forms, where an empty field means "any")
# ---------------------------------------------------------------------------------------------


MIN_FILTER_YEAR, MAX_FILTER_YEAR = 1900, 9000


def _opt_int(params: Mapping[str, str], name: str) -> int | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise InvalidInput(f"'{raw}' is not a valid {name.replace('_', ' ')}.", field=name)
    return int(raw)


def _opt_date(params: Mapping[str, str], name: str) -> date | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        day = None
    # Filters add a day to the end date; the calendar's last day has no next one.
    if day is None or not MIN_FILTER_YEAR <= day.year <= MAX_FILTER_YEAR:
        raise InvalidInput(f"'{raw}' is not a date between {MIN_FILTER_YEAR} and {MAX_FILTER_YEAR} "
                           "(use YYYY-MM-DD).", field=name)
    return day


def _opt_float(params: Mapping[str, str], name: str) -> float | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 100:
        raise InvalidInput(f"'{raw}' is not a score between 0 and 100.", field=name)
    return value


def _queue_filters(params: Mapping[str, str]) -> QueueFilters:
    return QueueFilters(
        team_id=_opt_int(params, "team"), agent_id=_opt_int(params, "agent"),
        channel=(params.get("channel") or "").strip() or None,
        date_from=_opt_date(params, "from"), date_to=_opt_date(params, "to"),
        status=(params.get("status") or "").strip(),
        assigned_only=params.get("assigned") in ("1", "on", "true"),
    )


def _review_filters(params: Mapping[str, str]) -> ReviewFilters:
    return ReviewFilters(
        team_id=_opt_int(params, "team"), agent_id=_opt_int(params, "agent"),
        reviewer_id=_opt_int(params, "reviewer"), scorecard_id=_opt_int(params, "scorecard"),
        status=(params.get("status") or "").strip(), date_from=_opt_date(params, "from"),
        date_to=_opt_date(params, "to"), score_below=_opt_float(params, "score_below"),
        outcome=(params.get("outcome") or "").strip(),
    )


def _next_url(request: Request, route: str, cursor: str | None) -> str | None:
    if not cursor:
        return None
    params = {k: v for k, v in request.query_params.items() if k != "cursor" and v}
    return str(request.url_for(route).include_query_params(**params, cursor=cursor))


def _flash(request: Request, message: str) -> None:
    request.session[FLASH_KEY] = message


# ---------------------------------------------------------------------------------------------
# The queue
# ---------------------------------------------------------------------------------------------


@router.get("/queue", name="reviews:queue")
@db_route
def queue(request: Request, user: ReviewerUser, session: SessionDep, settings: SettingsDep) -> Response:
    """The reviewer's home: conversations to review, filtered, newest first."""
    params = request.query_params
    error, status = None, 200
    try:
        filters = _queue_filters(params)
        page = review_service.queue_page(session, actor=user, filters=filters,
                                         cursor=params.get("cursor") or None, limit=settings.page_size,
                                         review_any=settings.reviewers_review_any)
    except InvalidInput as exc:
        filters, page = QueueFilters(), review_service.QueuePage(rows=[], next_cursor=None)
        error, status = exc.message, 422
    ctx: dict[str, Any] = {
        "page": page, "filters": filters, "error": error, "active_nav": "queue",
        "next_url": _next_url(request, "reviews:queue", page.next_cursor),
        "scorecard_id": _scorecard_param(params), "is_later_page": bool(params.get("cursor")),
    }
    if is_htmx(request) and hx_target(request) in ("queue-rows", "queue-more"):
        return render(request, "reviews/_queue_rows.html", ctx, status_code=status)
    ctx["choices"] = review_service.filter_choices(session, actor=user)
    ctx["panel"] = assignments_panel(request, session, user)  # "Your assignments", above the table
    return render(request, "reviews/queue.html", ctx, status_code=status)


def _scorecard_param(params: Mapping[str, str]) -> int | None:
    try:
        return _opt_int(params, "scorecard")
    except InvalidInput:
        return None


# ---------------------------------------------------------------------------------------------
# Starting a review
# ---------------------------------------------------------------------------------------------


@router.get("/conversations/{conversation_id}/review", name="reviews:start")
@db_route
def start(request: Request, conversation_id: str, user: ReviewerUser, session: SessionDep,
          settings: SettingsDep) -> Response:
    """Open the actor's review of a conversation, or offer to start one (a GET never writes)."""
    conversation, existing = review_service.review_start_info(
        session, actor=user, conversation_id=conversation_id, review_any=settings.reviewers_review_any)
    if existing is not None:
        url = request.url_for("reviews:detail", review_id=existing.id)
        return RedirectResponse(str(url), status_code=303)
    choices = review_service.filter_choices(session, actor=user)
    ctx = {"conversation": conversation, "scorecards": choices.scorecards, "active_nav": "queue"}
    return render(request, "reviews/start.html", ctx)


@router.post("/conversations/{conversation_id}/review", name="reviews:start_submit")
def start_submit(
    request: Request,
    conversation_id: str,
    user: ReviewerUser,
    session: SessionDep,
    settings: SettingsDep,
    scorecard_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Create (or reopen) the actor's draft review and go to it."""
    card = _opt_int({"scorecard_id": scorecard_id}, "scorecard_id")
    review = review_service.start_review(session, actor=user, conversation_id=conversation_id,
                                         scorecard_id=card, review_any=settings.reviewers_review_any)
    return hx_redirect(request, str(request.url_for("reviews:detail", review_id=review.id)))


# ---------------------------------------------------------------------------------------------
# The review page and its live parts
# ---------------------------------------------------------------------------------------------


def _detail_ctx(request: Request, session: Session, user: User, detail: review_service.ReviewDetail,
                editing: bool) -> dict[str, Any]:
    review = detail.review
    ctx = {"d": detail, "review": review, "editing": editing, "NA": NA_VALUE,
           "active_nav": _nav_for(user), "flash": request.session.pop(FLASH_KEY, None),
           "disputes": None, "pins": [], "can_pin": False,
           "calibration": calibration_service.banner(session, review),
           "regrade_of": grader_service.banner(session, review)}
    if review.kind == ReviewKind.calibration:  # never agent-facing: no disputes, pins or acknowledgement
        return ctx
    if not editing:  # disputes and pins show on the read-only review
        ctx["disputes"] = dispute_service.review_disputes(session, actor=user, review=review)
        ctx["pins"] = pin_service.review_pins(session, actor=user, review_id=review.id or 0)
        ctx["can_pin"] = pin_service.may_pin(user, review)
    return ctx


def _nav_for(user: User) -> str:
    return {"agent": "feedback", "reviewer": "queue"}.get(str(user.role), "reviews")


@router.get("/reviews/{review_id}", name="reviews:detail")
@db_route
def detail(request: Request, review_id: str, user: CurrentUser, session: SessionDep) -> Response:
    """A review: the form while its reviewer works on it, read-only otherwise."""
    d = review_service.review_detail(session, actor=user, review_id=review_id)
    editing = d.can_edit and (d.review.status == "draft" or request.query_params.get("edit") == "1")
    return render(request, "reviews/review.html", _detail_ctx(request, session, user, d, editing))


@router.post("/reviews/{review_id}/criteria/{criterion_key}", name="reviews:rate")
def rate(
    request: Request,
    review_id: str,
    criterion_key: str,
    user: CurrentUser,
    session: SessionDep,
    option: Annotated[str, Form(max_length=300)] = "",
    comment: CommentField = "",
    root_cause: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Answer one criterion; htmx gets the row back plus the score panel out of band."""
    review_service.check_editable(session, actor=user, review_id=review_id)
    draft = {"comment": comment, "root_cause": root_cause}
    error, note = None, None
    if option:
        try:
            review_service.rate(session, actor=user, review_id=review_id, criterion_key=criterion_key,
                                option_label=None if option == NA_VALUE else option, comment=comment,
                                root_cause=root_cause)
        except InvalidInput as exc:
            if not is_htmx(request):
                raise
            error = exc.message
    elif comment.strip() or root_cause:
        # Nothing chosen yet: a comment is stored with its rating, so keep it in the form until then.
        note = "Choose a rating to save this comment."
    d = review_service.review_detail(session, actor=user, review_id=review_id, transcript=False)
    if criterion_key not in {c.key for c in d.definition.criteria}:
        raise NotFound(f"This scorecard has no criterion {criterion_key!r}.")
    if not is_htmx(request):
        url = request.url_for("reviews:detail", review_id=d.review.id)
        return RedirectResponse(f"{url}{_edit_suffix(d)}#crit-{criterion_key}", status_code=303)
    criterion = next(c for c in d.definition.criteria if c.key == criterion_key)
    ctx = {"d": d, "review": d.review, "c": criterion, "editing": True, "NA": NA_VALUE, "error": error,
           "note": note, "saved": bool(option) and error is None, "draft": draft if error or note else {}}
    return render(request, "reviews/_rate_response.html", ctx, status_code=422 if error else 200)


def _edit_suffix(d: review_service.ReviewDetail) -> str:
    return "?edit=1" if d.review.status == "submitted" else ""


@router.post("/reviews/{review_id}/comment", name="reviews:comment")
def save_comment(request: Request, review_id: str, user: CurrentUser, session: SessionDep,
                 comment: CommentField = "") -> Response:
    """Autosave the overall comment."""
    review = review_service.set_comment(session, actor=user, review_id=review_id, comment=comment)
    if not is_htmx(request):
        return RedirectResponse(str(request.url_for("reviews:detail", review_id=review.id)), status_code=303)
    return render(request, "reviews/_comment_state.html", {"saved": True})


@router.post("/reviews/{review_id}/messages/{message_id}/comments", name="reviews:add_message_comment")
def add_message_comment(request: Request, review_id: str, message_id: str, user: CurrentUser,
                        session: SessionDep, body: CommentField = "") -> Response:
    """Pin a comment to a message; htmx gets the message back with its comments."""
    error, status = None, 200
    try:
        pinned = review_service.add_message_comment(session, actor=user, review_id=review_id,
                                                    message_id=message_id, body=body)
        mid = pinned.message_id
    except InvalidInput as exc:
        if not is_htmx(request):
            raise
        error, status, mid = exc.message, 422, int(message_id)
    return _message_response(request, user, session, review_id, mid, error=error, status=status)


@router.post("/reviews/{review_id}/pinned/{comment_id}/delete", name="reviews:delete_message_comment")
def delete_message_comment(request: Request, review_id: str, comment_id: str, user: CurrentUser,
                           session: SessionDep) -> Response:
    """Remove a pinned comment."""
    mid = review_service.delete_message_comment(session, actor=user, review_id=review_id,
                                                comment_id=comment_id)
    return _message_response(request, user, session, review_id, mid)


def _message_response(request: Request, user: User, session: Session, review_id: str, message_id: int, *,
                      error: str | None = None, status: int = 200) -> Response:
    if not is_htmx(request):
        url = request.url_for("reviews:detail", review_id=review_id)
        return RedirectResponse(f"{url}#msg-{message_id}", status_code=303)
    d = review_service.review_detail(session, actor=user, review_id=review_id, transcript=False)
    message, comments = review_service.message_view(session, actor=user, review_id=review_id,
                                                    message_id=message_id)
    ctx = {"d": d, "review": d.review, "m": message, "comments": comments, "editing": d.can_edit,
           "error": error}
    return render(request, "reviews/_message.html", ctx, status_code=status)


@router.post("/reviews/{review_id}/submit", name="reviews:submit")
def submit(
    request: Request,
    review_id: str,
    user: CurrentUser,
    session: SessionDep,
    comment: CommentField = "",
    time_spent_seconds: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Submit the review (all criteria answered), then show it read-only."""
    digits = time_spent_seconds.strip()
    seconds = int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 9 else None
    try:
        review = review_service.submit_review(session, actor=user, review_id=review_id, comment=comment,
                                              time_spent_seconds=seconds)
    except InvalidInput as exc:
        if exc.field != "ratings":
            raise
        d = review_service.review_detail(session, actor=user, review_id=review_id,
                                         transcript=not is_htmx(request))
        if is_htmx(request):
            ctx = {"d": d, "review": d.review, "submit_error": exc.message}
            return render(request, "reviews/_submit_feedback.html", ctx, status_code=422)
        ctx = _detail_ctx(request, session, user, d, editing=True) | {"submit_error": exc.message}
        return render(request, "reviews/review.html", ctx, status_code=422)
    _flash(request, "Re-score submitted: compare it with the original from the link below."
           if review.regrade_of_id is not None else
           "Calibration review submitted. The others see it only once the session is revealed."
           if review.kind == ReviewKind.calibration else "Review submitted. The agent can see it now.")
    return hx_redirect(request, str(request.url_for("reviews:detail", review_id=review.id)))


@router.post("/reviews/{review_id}/acknowledge", name="reviews:acknowledge")
def acknowledge(request: Request, review_id: str, user: CurrentUser, session: SessionDep) -> Response:
    """The reviewed agent acknowledges the review."""
    review = review_service.acknowledge_review(session, actor=user, review_id=review_id)
    _flash(request, "Thanks! The review is marked as acknowledged.")
    return hx_redirect(request, str(request.url_for("reviews:detail", review_id=review.id)))


# ---------------------------------------------------------------------------------------------
# Lists
# ---------------------------------------------------------------------------------------------


@router.get("/reviews", name="reviews:list")
@db_route
def list_reviews(request: Request, user: ReviewerUser, session: SessionDep,
                 settings: SettingsDep) -> Response:
    """Managers: every review of their teams; reviewers: their own reviews."""
    params = request.query_params
    error, status = None, 200
    try:
        filters = _review_filters(params)
        page = review_service.list_reviews(session, actor=user, filters=filters,
                                           cursor=params.get("cursor") or None, limit=settings.page_size)
    except InvalidInput as exc:
        filters, page = ReviewFilters(), review_service.ReviewPage(rows=[], next_cursor=None)
        error, status = exc.message, 422
    ctx: dict[str, Any] = {"page": page, "filters": filters, "error": error, "active_nav": "reviews",
                           "next_url": _next_url(request, "reviews:list", page.next_cursor),
                           "is_later_page": bool(params.get("cursor"))}
    if is_htmx(request) and hx_target(request) in ("review-rows", "review-more"):
        return render(request, "reviews/_review_rows.html", ctx, status_code=status)
    ctx["choices"] = review_service.filter_choices(session, actor=user)
    return render(request, "reviews/list.html", ctx, status_code=status)


@router.get("/feedback", name="reviews:my_feedback")
@db_route
def my_feedback(request: Request, user: CurrentUser, session: SessionDep, settings: SettingsDep) -> Response:
    """An agent's own reviews and how they are doing."""
    page = review_service.my_feedback(session, actor=user, cursor=request.query_params.get("cursor") or None,
                                      limit=settings.page_size)
    states = dispute_service.feedback_states(session, actor=user, review_ids=[r.review_id for r in page.rows])
    ctx = {"page": page, "active_nav": "feedback", "is_later_page": bool(request.query_params.get("cursor")),
           "next_url": _next_url(request, "reviews:my_feedback", page.next_cursor), "disputes": states}
    if is_htmx(request) and hx_target(request) == "feedback-more":
        return render(request, "reviews/_feedback_rows.html", ctx)
    return render(request, "reviews/feedback.html", ctx)

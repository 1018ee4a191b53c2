"""/api/v1 for disputes, acknowledgements and pins: the same services and rules as the pages.

Bodies are strict (a wrong type is a 422, never a guess); ids in paths are integers (a non-integer
is a 422, an unknown or invisible one a 404).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from qa import org_settings
from qa.auth.deps import ApiUser, SessionDep
from qa.coaching import disputes as dispute_service
from qa.coaching import pins as pin_service
from qa.models import Dispute
from qa.reviews import service as review_service

router = APIRouter(tags=["disputes"])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class DisputeIn(_Strict):
    """A dispute of the whole review (criterion null) or of one criterion, with the agent's reason."""

    criterion: str | None = Field(
        default=None, max_length=64, description="A criterion key; null = whole review."
    )
    reason: str = Field(max_length=dispute_service.MAX_REASON + 1000)


class RatingChangeIn(_Strict):
    """The corrected answer to one criterion: an option label, or null for N/A."""

    criterion: str = Field(min_length=1, max_length=64)
    option: str | None = Field(max_length=200)


class AcceptIn(_Strict):
    """The corrected ratings (criteria not listed keep their rating) and an optional comment."""

    ratings: list[RatingChangeIn] = Field(min_length=1, max_length=500)
    comment: str = Field(default="", max_length=dispute_service.MAX_COMMENT + 1000)


class RejectIn(_Strict):
    """Why the review stands (required)."""

    comment: str = Field(max_length=dispute_service.MAX_COMMENT + 1000)


class PinIn(_Strict):
    """What to pin: a message (message_id), a rating (criterion) or the whole review, with a note."""

    kind: str = Field(max_length=20, description="message, rating or review")
    note: str = Field(default="", max_length=pin_service.MAX_NOTE + 1000)
    message_id: int | None = Field(default=None, gt=0)
    criterion: str | None = Field(default=None, max_length=64)


class DisputeOut(BaseModel):
    """A dispute and its outcome; reviewer and resolver named as the caller may see them."""

    id: int
    review_id: int
    conversation_id: int
    agent_id: int
    reviewer_id: int | None
    reviewer_name: str
    criterion: str | None
    reason: str
    status: str
    created_at: datetime
    resolved_at: datetime | None
    resolver_name: str | None
    comment: str
    score_before: float | None
    score_after: float | None
    review_score: float | None


class DisputeList(BaseModel):
    """A page of disputes, newest first; `next` is the cursor of the following page (null at the end)."""

    items: list[DisputeOut]
    next: str | None


class AcknowledgedOut(BaseModel):
    """The review's acknowledgement."""

    id: int
    acknowledged_at: datetime | None


class PinOut(BaseModel):
    """A pin on the agent's coaching board."""

    id: int
    agent_id: int
    kind: str
    review_id: int | None
    message_id: int | None
    criterion: str | None
    note: str
    created_at: datetime


def _out(row: dispute_service.DisputeRow) -> DisputeOut:
    return DisputeOut(
        id=row.id,
        review_id=row.review_id,
        conversation_id=row.conversation_id,
        agent_id=row.agent_id,
        # With reviewer names hidden from agents, their ids would tell reviewers apart: left out too.
        reviewer_id=None if row.reviewer_name == org_settings.QA_TEAM_LABEL else row.reviewer_id,
        reviewer_name=row.reviewer_name,
        criterion=row.criterion_key,
        reason=row.reason,
        status=row.status,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        resolver_name=row.resolver_name,
        comment=row.resolution_comment,
        score_before=row.score_before,
        score_after=row.score_after,
        review_score=row.review_score,
    )


def _one(session: SessionDep, user: ApiUser, dispute: Dispute) -> DisputeOut:
    return _out(dispute_service.dispute_row(session, actor=user, dispute_id=dispute.id))


@router.post("/reviews/{review_id}/disputes", status_code=201, response_model=DisputeOut)
def open_dispute(review_id: int, body: DisputeIn, user: ApiUser, session: SessionDep) -> DisputeOut:
    """The reviewed agent disputes their submitted review (or one criterion of it); 409 if one is open."""
    dispute = dispute_service.open_dispute(
        session, actor=user, review_id=review_id, criterion_key=body.criterion, reason=body.reason
    )
    return _one(session, user, dispute)


@router.get("/disputes", response_model=DisputeList)
def list_disputes(
    user: ApiUser,
    session: SessionDep,
    status: Annotated[str, Query(max_length=20)] = "",
    limit: Annotated[int, Query(ge=1, le=dispute_service.MAX_LIST)] = 100,
    cursor: Annotated[int | None, Query(gt=0, lt=2**31)] = None,
) -> DisputeList:
    """Agents: their own disputes; others: those they may resolve (status: open, accepted, rejected)."""
    rows, following = dispute_service.list_disputes(
        session, actor=user, status=status or None, limit=limit, before_id=cursor
    )
    return DisputeList(items=[_out(r) for r in rows], next=str(following) if following else None)


@router.get("/disputes/{dispute_id}", response_model=DisputeOut)
def get_dispute(dispute_id: int, user: ApiUser, session: SessionDep) -> DisputeOut:
    """One dispute, for its resolvers and whoever may read its review."""
    return _out(dispute_service.dispute_row(session, actor=user, dispute_id=dispute_id))


@router.post("/disputes/{dispute_id}/accept", response_model=DisputeOut)
def accept_dispute(dispute_id: int, body: AcceptIn, user: ApiUser, session: SessionDep) -> DisputeOut:
    """Accept: correct the listed ratings (the review is rescored); 409 if already resolved."""
    ratings = [review_service.RatingIn(criterion=r.criterion, option=r.option) for r in body.ratings]
    dispute = dispute_service.accept_dispute(
        session, actor=user, dispute_id=dispute_id, ratings=ratings, comment=body.comment
    )
    return _one(session, user, dispute)


@router.post("/disputes/{dispute_id}/reject", response_model=DisputeOut)
def reject_dispute(dispute_id: int, body: RejectIn, user: ApiUser, session: SessionDep) -> DisputeOut:
    """Reject with a comment for the agent; 409 if already resolved."""
    dispute = dispute_service.reject_dispute(session, actor=user, dispute_id=dispute_id, comment=body.comment)
    return _one(session, user, dispute)


@router.post("/reviews/{review_id}/acknowledge", response_model=AcknowledgedOut)
def acknowledge(review_id: int, user: ApiUser, session: SessionDep) -> AcknowledgedOut:
    """The reviewed agent confirms they read the review (idempotent)."""
    review = review_service.acknowledge_review(session, actor=user, review_id=review_id)
    return AcknowledgedOut(id=review.id or 0, acknowledged_at=review.acknowledged_at)


@router.post("/reviews/{review_id}/pins", status_code=201, response_model=PinOut)
def create_pin(review_id: int, body: PinIn, user: ApiUser, session: SessionDep) -> PinOut:
    """Pin a message, a rating or the whole review to the agent's coaching board (not for agents)."""
    pin = pin_service.create_pin(
        session,
        actor=user,
        review_id=review_id,
        kind=body.kind,
        note=body.note,
        message_id=body.message_id,
        criterion_key=body.criterion,
    )
    return PinOut(
        id=pin.id or 0,
        agent_id=pin.agent_id,
        kind=pin.kind.value,
        review_id=pin.review_id,
        message_id=pin.message_id,
        criterion=pin.criterion_key,
        note=pin.note,
        created_at=pin.created_at,
    )

"""/api/v1/calibrations: create a session, score in it blind, reveal it, read its agreement (PRODUCT.md §5).

Bodies are strict (a wrong type is a 422, never a guess); unknown or foreign ids are a 422 naming them;
a session the token's user may not see is a 404; before the reveal the agreement is a 409.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from qa.auth.deps import ApiUser, SessionDep
from qa.calibration import measures
from qa.calibration import service as calibration_service
from qa.errors import InvalidInput
from qa.models import User
from qa.reviews import schemas as review_schemas
from qa.reviews import service as review_service

router = APIRouter(tags=["calibration"])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CalibrationIn(_Strict):
    """A new session: conversations by id (or drawn from a sampling rule), participants, a benchmark."""

    name: str = Field(max_length=200)
    scorecard_id: int
    conversation_ids: list[int] = Field(default_factory=list, max_length=1000)
    participant_ids: list[int] = Field(max_length=200)
    benchmark_id: int | None = Field(default=None, description="Added to the participants if missing.")
    due_at: datetime | None = Field(default=None, strict=False)
    notes: str = Field(default="", max_length=10_000)
    sampling_rule_id: int | None = Field(default=None, description="Draw the conversations from this rule.")
    sample_size: int | None = Field(default=None, description="How many conversations to draw.")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class ParticipantOut(BaseModel):
    """A participant and how many reviews they submitted (never a score before the reveal)."""

    user_id: int
    name: str
    submitted: int
    is_benchmark: bool


class CalibrationOut(BaseModel):
    """A calibration session."""

    id: int
    name: str
    status: str
    scorecard_id: int
    version_id: int
    version: int
    benchmark_id: int | None
    sampling_rule_id: int | None
    due_at: datetime | None
    created_at: datetime
    revealed_at: datetime | None
    conversation_ids: list[int]
    participants: list[ParticipantOut]


class CalibrationReviewIn(_Strict):
    """A complete review in the session (the body of POST /api/v1/reviews; the scorecard is the session's)."""

    conversation_id: int
    ratings: list[review_schemas.RatingIn] = Field(max_length=500)
    comment: str | None = Field(default=None, max_length=review_service.MAX_COMMENT_LENGTH)
    scorecard_id: int | None = Field(default=None, description="Optional; must be the session's scorecard.")


class ConsensusIn(_Strict):
    """The agreed answer for one criterion of one conversation (option null = N/A)."""

    conversation_id: int
    criterion: str = Field(min_length=1, max_length=64)
    option: str | None = Field(max_length=200)
    comment: str = Field(default="", max_length=review_service.MAX_COMMENT_LENGTH)


def _out(session: Session, user: User, session_id: Any) -> CalibrationOut:
    view = calibration_service.session_view(session, actor=user, session_id=session_id)
    cal = view.cal
    return CalibrationOut(
        id=cal.id or 0,
        name=cal.name,
        status=str(cal.status),
        scorecard_id=cal.scorecard_id,
        version_id=cal.version_id,
        version=view.version.version,
        benchmark_id=cal.benchmark_id,
        sampling_rule_id=cal.sampling_rule_id,
        due_at=cal.due_at,
        created_at=cal.created_at,
        revealed_at=cal.revealed_at,
        conversation_ids=[c.conversation_id for c in view.conversations],
        participants=[
            ParticipantOut(user_id=p.user_id, name=p.name, submitted=p.submitted, is_benchmark=p.is_benchmark)
            for p in view.participants
        ],
    )


@router.post("/calibrations", status_code=201, response_model=CalibrationOut)
def create_calibration(body: CalibrationIn, user: ApiUser, session: SessionDep) -> CalibrationOut:
    """Create a calibration session (managers and admins); participants are notified."""
    data = calibration_service.SessionIn(**body.model_dump())
    cal = calibration_service.create_session(session, actor=user, data=data)
    return _out(session, user, cal.id)


@router.get("/calibrations", response_model=list[CalibrationOut])
def list_calibrations(user: ApiUser, session: SessionDep) -> list[CalibrationOut]:
    """The sessions the token's user takes part in or manages, newest first."""
    return [
        _out(session, user, row.id) for row in calibration_service.list_sessions(session, actor=user)[:100]
    ]


@router.get("/calibrations/{session_id}", response_model=CalibrationOut)
def get_calibration(session_id: int, user: ApiUser, session: SessionDep) -> CalibrationOut:
    """One session with each participant's progress."""
    return _out(session, user, session_id)


@router.post(
    "/calibrations/{session_id}/reviews", status_code=201, response_model=review_schemas.ReviewCreated
)
def create_calibration_review(
    session_id: int, body: CalibrationReviewIn, user: ApiUser, session: SessionDep
) -> review_schemas.ReviewCreated:
    """Score one conversation of the session (participants only, once each, before the reveal)."""
    cal = calibration_service.get_session(session, actor=user, session_id=session_id)
    if body.scorecard_id is not None and body.scorecard_id != cal.scorecard_id:
        raise InvalidInput(
            f"This session uses scorecard {cal.scorecard_id}, not {body.scorecard_id}.", field="scorecard_id"
        )
    ratings = [
        review_service.RatingIn(
            criterion=r.criterion, option=r.option, comment=r.comment, root_cause=r.root_cause
        )
        for r in body.ratings
    ]
    review = calibration_service.submit_review(
        session,
        actor=user,
        session_id=session_id,
        conversation_id=body.conversation_id,
        ratings=ratings,
        comment=body.comment,
    )
    return review_schemas.ReviewCreated(
        id=review.id or 0, score=review.score, failed_critical=review.failed_critical, passed=review.passed
    )


@router.post("/calibrations/{session_id}/reveal", response_model=CalibrationOut)
def reveal_calibration(session_id: int, user: ApiUser, session: SessionDep) -> CalibrationOut:
    """Reveal the session: everyone's answers become visible and scoring closes."""
    calibration_service.reveal(session, actor=user, session_id=session_id)
    return _out(session, user, session_id)


@router.put("/calibrations/{session_id}/consensus")
def put_consensus(session_id: int, body: ConsensusIn, user: ApiUser, session: SessionDep) -> dict[str, Any]:
    """Record the consensus answer for one criterion of one conversation (after the reveal)."""
    row = calibration_service.set_consensus(
        session,
        actor=user,
        session_id=session_id,
        conversation_id=body.conversation_id,
        criterion_key=body.criterion,
        option_label=body.option,
        comment=body.comment,
    )
    assert row is not None
    return {
        "conversation_id": row.conversation_id,
        "criterion": row.criterion_key,
        "option": row.option_label,
        "score": row.option_score,
        "comment": row.comment,
    }


@router.get("/calibrations/{session_id}/agreement")
def get_agreement(session_id: int, user: ApiUser, session: SessionDep) -> dict[str, Any]:
    """Agreement of a revealed session: per criterion alphas, percent agreement and benchmark alignment,
    overall, per reviewer deviations, per conversation spread (409 before the reveal)."""
    return measures.session_agreement(session, actor=user, session_id=session_id).as_dict()

"""/api/v1/reviews: create a complete review in one call, read one back (subject to the role rules)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from qa.auth.deps import ApiUser, SessionDep, SettingsDep, require_api_role
from qa.models import Role, User
from qa.reviews import schemas
from qa.reviews import service as review_service

router = APIRouter(tags=["reviews"])

ApiReviewer = Annotated[User, Depends(require_api_role(Role.reviewer, Role.manager))]


@router.post("/reviews", status_code=201, response_model=schemas.ReviewCreated)
def create_review(
    body: schemas.ReviewIn, user: ApiReviewer, session: SessionDep, settings: SettingsDep
) -> schemas.ReviewCreated:
    """Create a submitted review with every criterion rated (option label, or null for N/A)."""
    ratings = [review_service.RatingIn(criterion=r.criterion, option=r.option, comment=r.comment,
                                       root_cause=r.root_cause) for r in body.ratings]
    review = review_service.create_review(
        session, actor=user, conversation_id=body.conversation_id, scorecard_id=body.scorecard_id,
        ratings=ratings, comment=body.comment, reviewer_id=body.reviewer_id,
        review_any=settings.reviewers_review_any,
    )
    return schemas.ReviewCreated(id=review.id or 0, score=review.score,
                                 failed_critical=review.failed_critical, passed=review.passed)


@router.get("/reviews/{review_id}", response_model=schemas.ReviewOut)
def get_review(review_id: int, user: ApiUser, session: SessionDep) -> schemas.ReviewOut:
    """A review with its ratings; agents see only their own submitted reviews."""
    detail = review_service.review_detail(session, actor=user, review_id=review_id, transcript=False)
    review = detail.review
    ratings = [schemas.RatingOut(criterion=c.key, option=r.option_label, score=r.option_score,
                                 comment=r.comment, root_cause=r.root_cause)
               for c in detail.definition.criteria if (r := detail.ratings.get(c.key)) is not None]
    return schemas.ReviewOut(
        id=review.id or 0, conversation_id=review.conversation_id, scorecard_id=detail.scorecard.id or 0,
        version=detail.version.version, kind=str(review.kind), status=str(review.status),
        reviewer_id=review.reviewer_id, agent_id=review.agent_id, score=review.score,
        failed_critical=review.failed_critical, passed=review.passed, comment=review.comment,
        time_spent_seconds=review.time_spent_seconds, submitted_at=review.submitted_at,
        acknowledged_at=review.acknowledged_at, ratings=ratings,
    )

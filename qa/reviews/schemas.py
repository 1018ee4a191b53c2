"""JSON shapes of the reviews API (PRODUCT.md §5); strict, so a wrong type is a 422, never a guess."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from qa.reviews.service import MAX_COMMENT_LENGTH


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RatingIn(_Strict):
    """One criterion's answer: an option label, or null for N/A."""

    criterion: str = Field(min_length=1, max_length=64, description="The criterion's key.")
    option: str | None = Field(max_length=200, description="The option's label; null means N/A.")
    comment: str | None = Field(default=None, max_length=MAX_COMMENT_LENGTH)
    root_cause: str | None = Field(default=None, max_length=200)


class ReviewIn(_Strict):
    """A complete review, submitted in one call."""

    conversation_id: int = Field(gt=0)
    scorecard_id: int = Field(gt=0)
    ratings: list[RatingIn] = Field(max_length=500)
    comment: str | None = Field(default=None, max_length=MAX_COMMENT_LENGTH)
    reviewer_id: int | None = Field(default=None, gt=0, description="Managers and admins only.")


class ReviewCreated(BaseModel):
    """The new review's id and score."""

    id: int
    score: float | None
    failed_critical: bool
    passed: bool | None


class RatingOut(BaseModel):
    """A stored rating; option and score are null for N/A."""

    criterion: str
    option: str | None
    score: float | None = Field(description="The option's score in [0, 1].")
    comment: str
    root_cause: str | None


class ReviewOut(BaseModel):
    """A review with its ratings and computed score."""

    id: int
    conversation_id: int
    scorecard_id: int
    version: int
    kind: str
    status: str
    reviewer_id: int
    agent_id: int | None
    score: float | None
    failed_critical: bool
    passed: bool | None
    comment: str
    time_spent_seconds: int
    submitted_at: datetime | None
    acknowledged_at: datetime | None
    ratings: list[RatingOut]

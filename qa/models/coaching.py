"""Coaching: disputes of reviews, coaching sessions and their goals, pins, in-app notifications and
the organisation's settings (PRODUCT.md §2, issue 5)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from qa.models.base import JSONType, StrEnumType, UTCDateTime, utcnow


class DisputeStatus(StrEnum):
    """Open until the resolver accepts (the ratings are corrected) or rejects it (with a comment)."""

    open = "open"
    accepted = "accepted"
    rejected = "rejected"


class Dispute(SQLModel, table=True):
    """An agent's objection to a submitted review: the whole review (criterion_key null) or one criterion.

    `before`/`after` keep the review's ratings and score around an accepted resolution, so the
    dispute page shows what changed even after later edits.
    """

    __table_args__ = (
        Index("ix_dispute_status_created_at", "status", "created_at"),
        Index("ix_dispute_review_id_status", "review_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="review.id", ondelete="CASCADE")
    agent_id: int = Field(foreign_key="agent.id", index=True)
    reviewer_id: int = Field(foreign_key="user.id", index=True)  # who wrote the review (for statistics)
    raised_by_id: int = Field(foreign_key="user.id")
    criterion_key: str | None = Field(default=None, max_length=64)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    status: DisputeStatus = Field(default=DisputeStatus.open,
                                  sa_column=Column(StrEnumType(DisputeStatus), nullable=False))
    resolved_by_id: int | None = Field(default=None, foreign_key="user.id")
    resolution_comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CoachingStatus(StrEnum):
    """A session is scheduled, then completed (or cancelled)."""

    scheduled = "scheduled"
    completed = "completed"
    cancelled = "cancelled"


class CoachingSession(SQLModel, table=True):
    """A 1:1 between a coach and an agent: when, what to focus on, notes, the reviews discussed.

    `notes` are shared with the agent; `private_notes` are for the coach and managers only.
    `focus_criteria` holds criterion keys (matched by key across scorecard versions).
    """

    __tablename__ = "coaching_session"
    __table_args__ = (
        Index("ix_coaching_session_agent_id_scheduled_at", "agent_id", "scheduled_at"),
        Index("ix_coaching_session_coach_id_scheduled_at", "coach_id", "scheduled_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id")
    coach_id: int = Field(foreign_key="user.id")
    title: str = Field(default="", max_length=200)
    scheduled_at: datetime = Field(sa_type=UTCDateTime)
    duration_minutes: int = Field(default=30)
    status: CoachingStatus = Field(default=CoachingStatus.scheduled,
                                   sa_column=Column(StrEnumType(CoachingStatus), nullable=False))
    focus_criteria: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    notes: str = Field(default="", sa_column=Column(Text, nullable=False))
    private_notes: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CoachingSessionReview(SQLModel, table=True):
    """A review brought to a coaching session."""

    __tablename__ = "coaching_session_review"

    session_id: int = Field(foreign_key="coaching_session.id", primary_key=True, ondelete="CASCADE")
    review_id: int = Field(foreign_key="review.id", primary_key=True, index=True, ondelete="CASCADE")


class GoalStatus(StrEnum):
    """Open until its due date; then met or missed (computed from the reviews), or cancelled by the coach."""

    open = "open"
    met = "met"
    missed = "missed"
    cancelled = "cancelled"


class CoachingGoal(SQLModel, table=True):
    """A target: an average of `target_score` (0–100) on a criterion (or the overall quality score when
    criterion_key is null) over the agent's reviews submitted from `start_date` to `due_date`."""

    __tablename__ = "coaching_goal"
    __table_args__ = (Index("ix_coaching_goal_status_due_date", "status", "due_date"),)

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    session_id: int | None = Field(default=None, foreign_key="coaching_session.id", index=True,
                                   ondelete="SET NULL")
    coach_id: int = Field(foreign_key="user.id", index=True)
    criterion_key: str | None = Field(default=None, max_length=64)
    criterion_name: str = Field(default="", max_length=200)
    target_score: float
    start_date: date
    due_date: date
    status: GoalStatus = Field(default=GoalStatus.open,
                               sa_column=Column(StrEnumType(GoalStatus), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PinKind(StrEnum):
    """What a pin points at."""

    message = "message"
    rating = "rating"
    review = "review"


class Pin(SQLModel, table=True):
    """A moment pinned to an agent's coaching board with a note, to bring up in the next session.

    A message pin has review_id and message_id; a rating pin review_id and criterion_key; a review
    pin review_id alone. `session_id` is set when the pin was discussed in a session.
    """

    __table_args__ = (Index("ix_pin_agent_id_created_at", "agent_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id")
    author_id: int = Field(foreign_key="user.id", index=True)
    kind: PinKind = Field(sa_column=Column(StrEnumType(PinKind), nullable=False))
    review_id: int | None = Field(default=None, foreign_key="review.id", index=True, ondelete="CASCADE")
    # A re-import that drops the message keeps the pin (on its review) instead of failing.
    message_id: int | None = Field(default=None, foreign_key="message.id", ondelete="SET NULL")
    criterion_key: str | None = Field(default=None, max_length=64)
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    session_id: int | None = Field(default=None, foreign_key="coaching_session.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Notification(SQLModel, table=True):
    """An in-app notice for one user; `dedupe_key` makes a notice (e.g. "goal 7 due") happen once."""

    __table_args__ = (
        Index("ix_notification_user_id_read_at_id", "user_id", "read_at", "id"),
        UniqueConstraint("user_id", "dedupe_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE")
    kind: str = Field(max_length=40)
    title: str = Field(max_length=300)
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    link: str = Field(default="", max_length=500)
    dedupe_key: str | None = Field(default=None, sa_column=Column(String(120)))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OrgSetting(SQLModel, table=True):
    """An organisation-wide setting an admin changes on the settings page (qa.org_settings)."""

    __tablename__ = "org_setting"

    key: str = Field(primary_key=True, max_length=64)
    value: Any = Field(default=None, sa_column=Column(JSONType))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")

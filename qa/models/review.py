"""Reviews, their per-criterion ratings, comments pinned to messages, and assignments."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from qa.models.base import StrEnumType, UTCDateTime, utcnow


class ReviewKind(StrEnum):
    """Why the review exists; only `manual` reviews count toward an agent's score."""

    manual = "manual"
    calibration = "calibration"
    auto = "auto"


class ReviewStatus(StrEnum):
    """A draft is saved as the reviewer works; submitted reviews are what agents see."""

    draft = "draft"
    submitted = "submitted"


class Review(SQLModel, table=True):
    """A reviewer's scoring of one conversation against one scorecard version."""

    __table_args__ = (
        # Covering: an agent's figures (and the dashboard's per-agent groups) never read the table.
        Index("ix_review_agent_id_status_submitted_at", "agent_id", "status", "submitted_at", "kind", "score",
              "passed", "failed_critical", "time_spent_seconds", "reviewer_id", "team_id", "channel",
              "scorecard_id"),
        Index("ix_review_reviewer_id_status", "reviewer_id", "status"),
        Index("ix_review_conversation_id_kind_status", "conversation_id", "kind", "status"),
        Index("ix_review_status_submitted_at", "status", "submitted_at"),
        # Reports read counted reviews (submitted, manual) of a period from this index alone
        # (qa.reporting.stats). Not a partial index: SQLite's planner passed it over for skip-scans.
        Index("ix_review_counted", "status", "kind", "submitted_at", "team_id", "agent_id", "reviewer_id",
              "channel", "scorecard_id", "score", "passed", "failed_critical", "time_spent_seconds"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    version_id: int = Field(foreign_key="scorecard_version.id", index=True)
    reviewer_id: int = Field(foreign_key="user.id")
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    # Copied from the conversation and the version when the review is created (qa.reporting.rollup
    # fills them), so that reports group and filter without joining: the team and channel of the
    # conversation at review time. Copies, not relations: no foreign keys (adding one would make
    # SQLite rebuild the review table).
    team_id: int | None = Field(default=None)
    channel: str | None = Field(default=None, max_length=20)
    scorecard_id: int | None = Field(default=None)
    kind: ReviewKind = Field(default=ReviewKind.manual,
                             sa_column=Column(StrEnumType(ReviewKind), nullable=False))
    status: ReviewStatus = Field(default=ReviewStatus.draft,
                                 sa_column=Column(StrEnumType(ReviewStatus), nullable=False))
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    score: float | None = Field(default=None)
    failed_critical: bool = Field(default=False)
    passed: bool | None = Field(default=None)
    time_spent_seconds: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Issue 6 (qa.models.calibration): the calibration session of a `calibration` review, and the review a
    # grader-QA re-score re-scores. Plain indexed ids, no foreign keys (one would make SQLite rebuild
    # the table).
    calibration_id: int | None = Field(default=None, index=True)
    regrade_of_id: int | None = Field(default=None, index=True)


class Rating(SQLModel, table=True):
    """The answer to one criterion: an option (its label and score) or N/A (both null)."""

    __table_args__ = (UniqueConstraint("review_id", "criterion_id"),)

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="review.id", ondelete="CASCADE")
    criterion_id: int = Field(foreign_key="criterion.id", index=True)
    criterion_key: str = Field(max_length=64)
    option_label: str | None = Field(default=None, max_length=200)
    option_score: float | None = Field(default=None)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    root_cause: str | None = Field(default=None, max_length=200)


class CriterionDay(SQLModel, table=True):
    """Criterion sums per day, team, channel and scorecard over counted ratings with an option.

    A summary kept by qa.reporting.rollup in the same transaction as every change to reviews and
    ratings, so that organisation-wide criterion averages read a few thousand rows instead of every
    rating of the period. Never edited by hand; `qa reports rebuild` recomputes it from the ratings.
    Keys are never null (0 / '' stand for "none"), so changes are commutative upserts; `total` is
    the sum of option scores in units of 1e-9 (an integer, so sums and differences are exact).
    """

    __tablename__ = "criterion_day"
    __table_args__ = (
        Index("ix_criterion_day_key", "day", "team_id", "channel", "scorecard_id", "criterion_key",
              unique=True),
        Index("ix_criterion_day_team_id_day", "team_id", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    day: date
    team_id: int = Field(default=0)
    channel: str = Field(default="", max_length=20)
    scorecard_id: int = Field(default=0)
    criterion_key: str = Field(max_length=64)
    n: int = Field(default=0)
    total: int = Field(default=0, sa_type=BigInteger)


class MessageComment(SQLModel, table=True):
    """A reviewer's comment pinned to one message of the transcript."""

    __tablename__ = "message_comment"

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="review.id", index=True, ondelete="CASCADE")
    message_id: int = Field(foreign_key="message.id", index=True)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AssignmentStatus(StrEnum):
    """An assignment's life: open until reviewed (done), skipped with a reason, replaced by another
    conversation, or expired when its due date passed before the reviewer started it."""

    open = "open"
    done = "done"
    skipped = "skipped"
    replaced = "replaced"
    expired = "expired"


class Assignment(SQLModel, table=True):
    """A conversation handed to a reviewer to score with a scorecard, by a sampling run or by hand."""

    __table_args__ = (
        Index("ix_assignment_reviewer_id_status_due_at", "reviewer_id", "status", "due_at"),
        Index("ix_assignment_rule_id_period_key", "rule_id", "period_key"),
        Index("ix_assignment_status_due_at", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    reviewer_id: int = Field(foreign_key="user.id")
    scorecard_id: int = Field(foreign_key="scorecard.id")
    status: str = Field(default="open", sa_column=Column(String(20), nullable=False))
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    review_id: int | None = Field(default=None, foreign_key="review.id")
    run_id: int | None = Field(default=None, foreign_key="sampling_run.id", index=True)
    rule_id: int | None = Field(default=None, foreign_key="sampling_rule.id")
    period_key: str | None = Field(default=None, max_length=20)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    stratum: str | None = Field(default=None, max_length=200)
    skip_reason: str | None = Field(default=None, sa_column=Column(Text))
    replaced_by_id: int | None = Field(default=None, foreign_key="assignment.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

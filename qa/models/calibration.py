"""Calibration and scorecard management (PRODUCT.md §1, §6; issue 6).

- A **calibration session** asks several reviewers to score the same conversations blind against one
  scorecard version. Their reviews are ordinary `Review` rows of kind `calibration` carrying the
  session's id (`Review.calibration_id`); they never count toward an agent's score and agents never
  see them. Until the manager reveals the session a participant sees only their own reviews.
- The **consensus** is the answer the group agreed on after the reveal, per conversation and criterion.
- A **scorecard scope** says which teams and channels a scorecard is the default for.
- **Grader QA** re-scores: a manager or benchmark reviewer scores a reviewer's ordinary review again;
  that second review is of kind `calibration`, with `Review.regrade_of_id` pointing at the original.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from qa.models.base import StrEnumType, UTCDateTime, utcnow


class CalibrationStatus(StrEnum):
    """Open while participants score blind; revealed once the manager shows everyone's answers."""

    open = "open"
    revealed = "revealed"


class CalibrationSession(SQLModel, table=True):
    """Reviewers scoring the same conversations blind with one scorecard version."""

    __tablename__ = "calibration_session"
    __table_args__ = (Index("ix_calibration_session_scorecard_id_created_at", "scorecard_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    scorecard_id: int = Field(foreign_key="scorecard.id")
    version_id: int = Field(foreign_key="scorecard_version.id")  # every review of the session uses it
    benchmark_id: int | None = Field(default=None, foreign_key="user.id")  # the gold-standard reviewer
    sampling_rule_id: int | None = Field(default=None, foreign_key="sampling_rule.id", ondelete="SET NULL")
    status: CalibrationStatus = Field(default=CalibrationStatus.open,
                                      sa_column=Column(StrEnumType(CalibrationStatus), nullable=False))
    notes: str = Field(default="", sa_column=Column(Text, nullable=False))
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revealed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CalibrationParticipant(SQLModel, table=True):
    """A reviewer taking part in a session (the benchmark reviewer is one too)."""

    __tablename__ = "calibration_participant"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="calibration_session.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True)


class CalibrationConversation(SQLModel, table=True):
    """A conversation of a session, in the order participants see them."""

    __tablename__ = "calibration_conversation"
    __table_args__ = (UniqueConstraint("session_id", "conversation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="calibration_session.id", ondelete="CASCADE")
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    position: int = Field(default=0)


class CalibrationConsensus(SQLModel, table=True):
    """The answer the group agreed on for one criterion of one conversation (option null: N/A)."""

    __tablename__ = "calibration_consensus"
    __table_args__ = (UniqueConstraint("session_id", "conversation_id", "criterion_key"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="calibration_session.id", ondelete="CASCADE")
    conversation_id: int = Field(foreign_key="conversation.id")
    criterion_key: str = Field(max_length=64)
    option_label: str | None = Field(default=None, max_length=200)
    option_score: float | None = Field(default=None)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    decided_by_id: int | None = Field(default=None, foreign_key="user.id")
    decided_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ScorecardScope(SQLModel, table=True):
    """A scorecard is the default for a team, a channel, or a team's channel (null: any)."""

    __tablename__ = "scorecard_scope"
    __table_args__ = (UniqueConstraint("scorecard_id", "team_id", "channel"),)

    id: int | None = Field(default=None, primary_key=True)
    scorecard_id: int = Field(foreign_key="scorecard.id", index=True, ondelete="CASCADE")
    team_id: int | None = Field(default=None, foreign_key="team.id", ondelete="CASCADE")
    channel: str | None = Field(default=None, max_length=20)

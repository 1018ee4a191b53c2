"""Sampling rules and the runs that turned them into assignments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from qa.models.base import JSONType, UTCDateTime, utcnow


class SamplingRule(SQLModel, table=True):
    """A rule as its author wrote it (the native dict in `definition`); a few fields copied out to query."""

    __tablename__ = "sampling_rule"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    scorecard_id: int = Field(foreign_key="scorecard.id", index=True)
    period: str = Field(default="once", max_length=10, index=True)
    active: bool = Field(default=True)
    definition: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SamplingRun(SQLModel, table=True):
    """One execution of a rule: its parameters, what it found and made, and who ran it.

    `schedule_key` is the period a scheduled run claimed: unique per rule, so a period runs once even with
    several app processes (extra manual runs in a period leave it empty)."""

    __tablename__ = "sampling_run"
    __table_args__ = (
        UniqueConstraint("rule_id", "schedule_key"),
        Index("ix_sampling_run_rule_id_started_at", "rule_id", "started_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int | None = Field(default=None, foreign_key="sampling_rule.id")
    schedule_key: str | None = Field(default=None, max_length=20)
    period_key: str = Field(max_length=20)
    trigger: str = Field(max_length=20)  # page, api, cli, schedule
    run_by_id: int | None = Field(default=None, foreign_key="user.id")
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(default="running", max_length=20)
    message: str = Field(default="", sa_column=Column(Text, nullable=False))
    parameters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    matched: int = Field(default=0)
    picked: int = Field(default=0)
    from_backup: int = Field(default=0)
    assigned: int = Field(default=0)
    unassigned: int = Field(default=0)
    shortfall: int = Field(default=0)
    per_agent: list[Any] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    per_stratum: list[Any] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    per_reviewer: list[Any] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))

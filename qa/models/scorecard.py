"""Scorecards and their immutable versions; criteria belong to a version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from qa.models.base import JSONType, UTCDateTime, utcnow


class Scorecard(SQLModel, table=True):
    """A named scorecard; what it asks lives in its versions."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    archived: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")


class ScorecardVersion(SQLModel, table=True):
    """An immutable version; reviews point at the version they were scored with."""

    __tablename__ = "scorecard_version"
    __table_args__ = (UniqueConstraint("scorecard_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    scorecard_id: int = Field(foreign_key="scorecard.id", index=True)
    version: int
    name: str = Field(max_length=200)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    pass_threshold: float = Field(default=80.0)
    published: bool = Field(default=True)  # False: a draft, edited in place until it is published
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")


class Criterion(SQLModel, table=True):
    """One question of a scorecard version, with its scale and rules (PRODUCT.md §2, §3)."""

    __table_args__ = (UniqueConstraint("version_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="scorecard_version.id", index=True, ondelete="CASCADE")
    position: int
    key: str = Field(max_length=64)
    name: str = Field(max_length=200)
    section: str | None = Field(default=None, max_length=200)
    guidance: str = Field(default="", sa_column=Column(Text, nullable=False))
    scale: str = Field(max_length=20)
    options: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    weight: float = Field(default=1.0)
    critical: bool = Field(default=False)
    fail_below: float = Field(default=0.5)
    allow_na: bool = Field(default=False)
    root_causes: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))

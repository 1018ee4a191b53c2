"""Import jobs: a file uploaded on the import page, imported in the background with its progress."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from qa.models.base import JSONType, StrEnumType, UTCDateTime, utcnow


class JobStatus(StrEnum):
    """Where an import job is; `running` with an old heartbeat reads as interrupted."""

    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    interrupted = "interrupted"


class ImportJob(SQLModel, table=True):
    """One uploaded file and what importing it did so far."""

    __tablename__ = "import_job"
    __table_args__ = (Index("ix_import_job_created_by_id", "created_by", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: JobStatus = Field(default=JobStatus.queued,
                              sa_column=Column(StrEnumType(JobStatus), nullable=False))
    format: str = Field(max_length=20)
    source: str | None = Field(default=None, max_length=100)
    csv_mapping: dict[str, str] | None = Field(default=None, sa_column=Column(JSONType))
    filename: str = Field(max_length=255)
    stored_path: str | None = Field(default=None, sa_column=Column(Text))
    total_bytes: int = Field(default=0)
    bytes_read: int = Field(default=0)
    created: int = Field(default=0)
    updated: int = Field(default=0)
    rejected: int = Field(default=0)
    error: str | None = Field(default=None, sa_column=Column(Text))
    rejections: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))

"""Support conversations and their ordered messages, as imported from a helpdesk."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from qa.models.base import JSONType, StrEnumType, UTCDateTime, utcnow


class Channel(StrEnum):
    """Where the conversation happened."""

    chat = "chat"
    email = "email"
    phone = "phone"
    social = "social"
    other = "other"


class AuthorRole(StrEnum):
    """Who wrote a message."""

    agent = "agent"
    customer = "customer"
    bot = "bot"
    system = "system"


class Conversation(SQLModel, table=True):
    """One support conversation; `(source, external_id)` is its identity across imports."""

    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_conversation_created_at_id", "created_at", "id"),
        Index("ix_conversation_agent_id_created_at", "agent_id", "created_at"),
        Index("ix_conversation_team_id_created_at", "team_id", "created_at"),
        Index("ix_conversation_channel_created_at", "channel", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    external_id: str = Field(max_length=255)
    channel: Channel = Field(sa_column=Column(StrEnumType(Channel), nullable=False))
    subject: str | None = Field(default=None, sa_column=Column(Text))
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    team_id: int | None = Field(default=None, foreign_key="team.id")
    customer_external_id: str | None = Field(default=None, max_length=255)
    customer_name: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    csat: int | None = Field(default=None)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    language: str | None = Field(default=None, max_length=35)
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column("metadata", JSONType, nullable=False))
    message_count: int = Field(default=0)
    agent_message_count: int = Field(default=0)
    customer_message_count: int = Field(default=0)
    first_response_seconds: int | None = Field(default=None)
    handle_seconds: int | None = Field(default=None)
    reopen_count: int | None = Field(default=None)  # when the source tells
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Message(SQLModel, table=True):
    """One message of a conversation, in order; `internal` marks notes customers never saw."""

    __table_args__ = (UniqueConstraint("conversation_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", ondelete="CASCADE")
    position: int
    author: AuthorRole = Field(sa_column=Column(StrEnumType(AuthorRole), nullable=False))
    author_id: str | None = Field(default=None, max_length=255)
    author_name: str | None = Field(default=None, max_length=255)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    internal: bool = Field(default=False)

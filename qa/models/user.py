"""People: teams, the agents being reviewed, users who log in, their API tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from qa.models.base import StrEnumType, UTCDateTime, utcnow


class Role(StrEnum):
    """What a user may do (PRODUCT.md §1)."""

    admin = "admin"
    manager = "manager"
    reviewer = "reviewer"
    agent = "agent"


class Team(SQLModel, table=True):
    """A support team; conversations and agents belong to one."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Agent(SQLModel, table=True):
    """A support agent as the helpdesk knows them; may be linked to a login (User.agent_id)."""

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(max_length=255, unique=True)
    name: str = Field(max_length=255)
    email: str | None = Field(default=None, max_length=320)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class User(SQLModel, table=True):
    """Someone who logs in: an admin, manager, reviewer or agent."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    name: str = Field(max_length=255)
    role: Role = Field(sa_column=Column(StrEnumType(Role), nullable=False, index=True))
    password_hash: str = Field(max_length=255)
    agent_id: int | None = Field(default=None, foreign_key="agent.id", unique=True)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UserTeam(SQLModel, table=True):
    """The teams a manager manages or a reviewer reviews; none means the whole organisation."""

    __tablename__ = "user_team"

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    team_id: int = Field(foreign_key="team.id", primary_key=True, index=True, ondelete="CASCADE")
    # A designated resolver of the team's disputes; a team without one has them resolved by its managers.
    resolves_disputes: bool = Field(default=False)


class ApiToken(SQLModel, table=True):
    """A bearer token for /api/v1; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    name: str = Field(default="", max_length=200)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginAttempt(SQLModel, table=True):
    """Each login try, kept so that rate limiting works across several app processes."""

    __tablename__ = "login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, index=True)
    ip: str = Field(max_length=64, index=True)
    success: bool
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)

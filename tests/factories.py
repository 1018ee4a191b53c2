"""Plain factory functions: fill defaults, flush, return the object (keyword-only overrides)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from qa.auth.passwords import hash_password
from qa.models import Agent, Conversation, Message, Role, Team, User, UserTeam

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)
_PASSWORD_HASH = hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per run

EXAMPLE_SCORECARD: dict[str, Any] = {
    "name": "Support QA",
    "pass_threshold": 80,
    "criteria": [
        {"key": "greeting", "name": "Greeting", "section": "Opening", "scale": "binary", "weight": 1},
        {"key": "accuracy", "name": "Correct solution", "section": "Resolution", "scale": "5", "weight": 3,
         "critical": True},
        {"key": "tone", "name": "Tone", "scale": "custom", "weight": 2, "allow_na": True,
         "options": [{"label": "Poor", "score": 0}, {"label": "OK", "score": 0.6},
                     {"label": "Great", "score": 1}],
         "root_causes": ["Robotic", "Rude", "Too casual"]},
    ],
}


def _n() -> int:
    return next(_seq)


def make_team(session: Session, *, name: str | None = None) -> Team:
    """A team."""
    team = Team(name=name or f"Team {_n()}")
    session.add(team)
    session.flush()
    return team


def make_agent(session: Session, *, team: Team | None = None, **overrides: Any) -> Agent:
    """A support agent (no login)."""
    n = _n()
    values: dict[str, Any] = {"external_id": f"agent-{n}", "name": f"Agent {n}",
                              "email": f"agent{n}@example.com", "team_id": team.id if team else None}
    values.update(overrides)
    agent = Agent(**values)
    session.add(agent)
    session.flush()
    return agent


def make_user(
    session: Session,
    *,
    role: Role | str = Role.reviewer,
    agent: Agent | None = None,
    teams: list[Team] | None = None,
    **overrides: Any,
) -> User:
    """A user with the password PASSWORD; an agent user gets (or is linked to) an Agent."""
    role = Role(role)
    n = _n()
    if role is Role.agent and agent is None:
        agent = make_agent(session)
    values: dict[str, Any] = {"email": f"{role.value}{n}@example.com", "name": f"{role.value.title()} {n}",
                              "role": role, "password_hash": _PASSWORD_HASH,
                              "agent_id": agent.id if agent else None}
    values.update(overrides)
    user = User(**values)
    session.add(user)
    session.flush()
    for team in teams or []:
        session.add(UserTeam(user_id=user.id, team_id=team.id))  # type: ignore[arg-type]
    session.flush()
    return user


def make_conversation(
    session: Session,
    *,
    agent: Agent | None = None,
    team: Team | None = None,
    messages: list[dict[str, Any]] | None = None,
    **overrides: Any,
) -> Conversation:
    """A conversation with a short customer/agent exchange (or the given messages)."""
    n = _n()
    start = overrides.pop("created_at", datetime(2026, 3, 1, 10, 0, tzinfo=UTC) + timedelta(minutes=n))
    agent = agent or make_agent(session, team=team)
    msgs = messages or [
        {"author": "customer", "body": f"Hi, I was charged twice (#{n})"},
        {"author": "agent", "author_id": agent.external_id, "body": "Sorry about that! Let me check."},
        {"author": "agent", "author_id": agent.external_id, "body": "Refunded. Anything else?",
         "internal": False},
    ]
    values: dict[str, Any] = {
        "source": "test", "external_id": f"T-{n}", "channel": "chat", "subject": f"Refund {n}",
        "agent_id": agent.id, "team_id": team.id if team else agent.team_id, "customer_external_id": f"c-{n}",
        "customer_name": f"Customer {n}", "created_at": start, "closed_at": start + timedelta(minutes=20),
        "csat": 4, "tags": ["refund"], "language": "en", "meta": {}, "message_count": len(msgs),
    }
    values.update(overrides)
    conversation = Conversation(**values)
    session.add(conversation)
    session.flush()
    for position, msg in enumerate(msgs):
        session.add(Message(conversation_id=conversation.id, position=position,  # type: ignore[arg-type]
                            created_at=msg.get("created_at", start + timedelta(minutes=position)),
                            **{k: v for k, v in msg.items() if k != "created_at"}))
    session.flush()
    return conversation


def make_scorecard(
    session: Session, *, definition: dict[str, Any] | None = None, actor: User | None = None
) -> Any:
    """A published scorecard (version 1) from a native definition dict; returns the ScorecardVersion."""
    from qa.scorecard_admin import service as scorecard_service
    from scorecards import validate_definition

    return scorecard_service.create_scorecard(
        session, actor=actor, definition=validate_definition(definition or EXAMPLE_SCORECARD)
    )


def bearer(session: Session, user: User) -> dict[str, str]:
    """Authorization headers with a fresh API token for `user`."""
    from qa.auth import tokens

    return {"Authorization": f"Bearer {tokens.create_token(session, actor=None, user=user)}"}

"""Helpers for the review tests: a small organisation, reviews built through the service, HTML parsing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bs4 import BeautifulSoup
from httpx import Response
from sqlmodel import Session, col, select

from qa.auth import tokens
from qa.models import Agent, AuditLog, Conversation, Review, ReviewKind, ScorecardVersion, Team, User
from qa.reviews import service as review_service
from tests.factories import make_agent, make_conversation, make_scorecard, make_team, make_user

HX = {"HX-Request": "true"}

# EXAMPLE_SCORECARD: greeting (binary, w1), accuracy (5-point, w3, critical), tone (custom, w2, N/A allowed).
GOOD = {"greeting": "Yes", "accuracy": "4", "tone": "OK"}  # (1·1 + 0.75·3 + 0.6·2) / 6 = 74.1666…
GOOD_SCORE = 100 * (1 + 0.75 * 3 + 0.6 * 2) / 6


@dataclass
class World:
    """Two teams, their agents, one user of each role, a scorecard and a few conversations."""

    team: Team
    other_team: Team
    agent: Agent
    other_agent: Agent
    agent_user: User
    other_agent_user: User
    reviewer: User
    other_reviewer: User
    manager: User
    other_manager: User
    admin: User
    version: ScorecardVersion
    conversation: Conversation
    other_conversation: Conversation


def make_world(session: Session) -> World:
    """The standard cast of the review tests."""
    team, other_team = make_team(session), make_team(session)
    agent, other_agent = make_agent(session, team=team), make_agent(session, team=other_team)
    version = make_scorecard(session)
    return World(
        team=team,
        other_team=other_team,
        agent=agent,
        other_agent=other_agent,
        agent_user=make_user(session, role="agent", agent=agent),
        other_agent_user=make_user(session, role="agent", agent=other_agent),
        reviewer=make_user(session, role="reviewer"),
        other_reviewer=make_user(session, role="reviewer"),
        manager=make_user(session, role="manager", teams=[team]),
        other_manager=make_user(session, role="manager", teams=[other_team]),
        admin=make_user(session, role="admin"),
        version=version,
        conversation=make_conversation(session, agent=agent, team=team),
        other_conversation=make_conversation(session, agent=other_agent, team=other_team),
    )


def rated_review(
    session: Session,
    world: World,
    *,
    reviewer: User | None = None,
    conversation: Conversation | None = None,
    ratings: dict[str, str | None] | None = None,
    submit: bool = True,
) -> Review:
    """A review built through the service (draft, rated, optionally submitted)."""
    actor = reviewer or world.reviewer
    review = review_service.start_review(
        session, actor=actor, conversation_id=(conversation or world.conversation).id
    )
    for key, label in (GOOD if ratings is None else ratings).items():
        review_service.rate(session, actor=actor, review_id=review.id, criterion_key=key, option_label=label)
    if submit:
        review_service.submit_review(session, actor=actor, review_id=review.id)
    return review


def calibration_review(session: Session, world: World) -> Review:
    """A submitted calibration review of the agent's conversation (never shown to the agent)."""
    review = rated_review(session, world)
    review.kind = ReviewKind.calibration
    session.flush()
    return review


def conversations_at(
    session: Session,
    count: int,
    *,
    agent: Agent,
    team: Team,
    start: datetime | None = None,
    step: timedelta = timedelta(hours=1),
    **overrides: object,
) -> list[Conversation]:
    """`count` conversations one `step` apart (oldest first)."""
    base = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    return [
        make_conversation(session, agent=agent, team=team, created_at=base + i * step, **overrides)
        for i in range(count)
    ]


def token_for(session: Session, user: User) -> dict[str, str]:
    """Authorization headers with a fresh API token of `user`."""
    return {"Authorization": f"Bearer {tokens.create_token(session, actor=None, user=user)}"}


def audit_actions(session: Session, review_id: int | None) -> list[AuditLog]:
    """The audit entries of one review, oldest first."""
    query = select(AuditLog).where(AuditLog.entity == "review", AuditLog.entity_id == review_id)
    return list(session.exec(query.order_by(col(AuditLog.id))))


def soup(response: Response) -> BeautifulSoup:
    """The response parsed as HTML."""
    return BeautifulSoup(response.text, "html.parser")

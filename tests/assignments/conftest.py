"""Fixtures of the sampling tests: a Billing team of four agents with varied conversations, reviewers
(one of them a peer reviewer who is also an agent), managers and a scorecard."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from qa.models import Agent, Conversation, ScorecardVersion, Team, User
from tests.factories import make_agent, make_conversation, make_scorecard, make_team, make_user

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday, ISO week 2026-W48


@dataclass
class Org:
    """The cast of the sampling tests."""

    team: Team
    other_team: Team
    agents: list[Agent]
    outsider: Agent
    idle_agent: Agent  # in the team, no conversations
    reviewers: list[User]
    peer: User  # a reviewer who is also agents[0]
    manager: User
    other_manager: User
    admin: User
    agent_user: User
    version: ScorecardVersion
    conversations: dict[int, list[Conversation]] = field(default_factory=dict)

    def rule(self, **overrides: Any) -> dict[str, Any]:
        """A native rule over the team: 3 per agent, random, the three reviewers."""
        base: dict[str, Any] = {
            "name": "Billing weekly",
            "scorecard_id": self.version.scorecard_id,
            "strategy": "random",
            "quota": {"per_agent": 3},
            "filters": {"teams": [self.team.id]},
            "reviewers": [{"id": r.id} for r in self.reviewers],
            "period": "once",
            "due_days": 7,
            "seed": 7,
        }
        base.update(overrides)
        return base


def _messages(agent: Agent, replies: int, customer_text: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"author": "customer", "body": customer_text}]
    for i in range(replies):
        out.append(
            {"author": "agent", "author_id": agent.external_id, "body": f"Reply {i}: let me check that."}
        )
    return out


def build_org(session: Session) -> Org:
    """Four agents with 8, 6, 2 and 5 conversations of varied channel, CSAT, tags, replies and times."""
    team, other_team = make_team(session, name=None), make_team(session)
    agents = [make_agent(session, team=team) for _ in range(4)]
    idle = make_agent(session, team=team)
    outsider = make_agent(session, team=other_team)
    version = make_scorecard(session)
    peer = make_user(session, role="reviewer", agent=agents[0])
    reviewers = [make_user(session, role="reviewer"), make_user(session, role="reviewer"), peer]
    org = Org(
        team=team,
        other_team=other_team,
        agents=agents,
        outsider=outsider,
        idle_agent=idle,
        reviewers=reviewers,
        peer=peer,
        manager=make_user(session, role="manager", teams=[team]),
        other_manager=make_user(session, role="manager", teams=[other_team]),
        admin=make_user(session, role="admin"),
        agent_user=make_user(session, role="agent", agent=agents[1]),
        version=version,
    )
    channels = ["chat", "email", "chat", "social"]
    for a, (agent, count) in enumerate(zip(agents, (8, 6, 2, 5), strict=True)):
        org.conversations[agent.id or 0] = []
        for i in range(count):
            replies = 1 + (i % 4)
            created = NOW - timedelta(days=1 + i, hours=a)
            conversation = make_conversation(
                session,
                agent=agent,
                team=team,
                channel=channels[(a + i) % 4],
                csat=None if i % 3 == 0 else 1 + (i % 5),
                tags=["refund", "vip"] if i % 2 else ["login"],
                language="en" if i % 5 else "de",
                agent_message_count=replies,
                customer_message_count=1,
                message_count=replies + 1,
                handle_seconds=600 * (1 + i),
                first_response_seconds=60 * (1 + i),
                created_at=created,
                closed_at=created + timedelta(hours=1),
                messages=_messages(agent, replies, f"My invoice {i} was charged twice on card"),
            )
            org.conversations[agent.id or 0].append(conversation)
    for i in range(3):
        make_conversation(session, agent=outsider, team=other_team, created_at=NOW - timedelta(days=1 + i))
    return org


@pytest.fixture
def org(session: Session) -> Org:
    """The sampling cast, in the test's rolled-back transaction."""
    return build_org(session)

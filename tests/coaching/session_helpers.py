"""A small organisation for the coaching session and goal tests; every figure is worked out by hand here.

Scorecard "Support QA" (v1, then v2 renaming "Tone" to "Tone of voice"; same keys), pass threshold 80:
  greeting  binary                         weight 1
  accuracy  5-point (1 → 0 … 5 → 1)        weight 3, critical (fails below 0.5: "1", "2")
  tone      Poor 0 / OK 0.6 / Great 1      weight 2, N/A allowed
Review score = 100 × Σ w·s / Σ w over rated criteria (N/A left out); a critical fail scores 0.

Teams: Billing (agents Dana Ruiz, Eli Park), Tech (agent Fay Lim).
Users: admin Ada; managers Mona (Billing) and Tom (Tech); reviewers Rita (Billing) and Sam (no team: all);
agent logins Dana and Fay.

Dana's reviews (g, a, t):
  P0  v1  1 Nov 10:00     Yes, 5, Great  = 100               (before the goals' start: never counted)
  G1  v1  3 Nov 09:00     No, 4, Poor    = (0 + 2.25 + 0)/6 = 37.5
  G2  v1  5 Nov 12:00     Yes, 3, N/A    = (1 + 1.5)/4      = 62.5        tone N/A: left out of tone
  CAL     6 Nov           a calibration review (Yes, 5, Great): never counted
  DRAFT   7 Nov           a draft (No, 1, Poor): never counted
  G3  v2  8 Nov 16:00     Yes, 5, OK     = (1 + 3 + 1.2)/6  = 86.667
  G4  v2 10 Nov 23:59:59  Yes, 2, Great  = 0 (critical fail on accuracy)
  A1  v2 16 Nov 00:00     No, 1, Poor    = 0 (critical)     (after the goals' due date 15 Nov)
Eli: E1 v2 4 Nov Yes, 5, Great = 100 (another agent: never in Dana's goals).

Goals of Dana, 2–15 Nov:
  tone ≥ 50:     G1 0, G2 N/A, G3 60, G4 100 → n 3, mean 160/3 = 53.333  → met after 15 Nov
  overall ≥ 60:  37.5, 62.5, 86.667, 0 → n 4, mean 186.667/4 = 46.667     → missed after 15 Nov
  as of 9 Nov (window 2–9 Nov): overall (37.5 + 62.5 + 86.667)/3 = 62.222 (n 3); tone (0 + 60)/2 = 30 (n 2)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from bs4 import BeautifulSoup
from httpx import Response
from sqlmodel import Session, col, select

from qa.models import (
    Agent,
    AuditLog,
    Notification,
    Rating,
    Review,
    ReviewKind,
    ReviewStatus,
    Role,
    Team,
    User,
)
from qa.scorecard_admin import service as scorecard_service
from scorecards import validate_definition
from tests.factories import make_agent, make_conversation, make_team, make_user

HX = {"HX-Request": "true"}
GOAL_START, GOAL_DUE = date(2026, 11, 2), date(2026, 11, 15)


def definition(tone_name: str) -> dict[str, Any]:
    """The scorecard (v1 names tone "Tone", v2 "Tone of voice")."""
    return {
        "name": "Support QA",
        "pass_threshold": 80,
        "criteria": [
            {"key": "greeting", "name": "Greeting", "scale": "binary", "weight": 1},
            {"key": "accuracy", "name": "Correct solution", "scale": "5", "weight": 3, "critical": True},
            {
                "key": "tone",
                "name": tone_name,
                "scale": "custom",
                "weight": 2,
                "allow_na": True,
                "options": [
                    {"label": "Poor", "score": 0},
                    {"label": "OK", "score": 0.6},
                    {"label": "Great", "score": 1},
                ],
            },
        ],
    }


def at(day: int, hour: int = 10, minute: int = 0, second: int = 0, month: int = 11) -> datetime:
    """A UTC moment in 2026."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


@dataclass
class World:
    """The organisation of the module docstring, and Dana's reviews by name."""

    billing: Team
    tech: Team
    dana: Agent
    eli: Agent
    fay: Agent
    admin: User
    mona: User
    tom: User
    rita: User
    sam: User
    dana_user: User
    fay_user: User
    scorecard_id: int = 0
    reviews: dict[str, Review] = field(default_factory=dict)


OPTION_SCORES = {
    "greeting": {"No": 0.0, "Yes": 1.0},
    "tone": {"Poor": 0.0, "OK": 0.6, "Great": 1.0},
    "accuracy": {"1": 0.0, "2": 0.25, "3": 0.5, "4": 0.75, "5": 1.0},
}


def _review(
    session: Session,
    world: World,
    name: str,
    agent: Agent,
    when: datetime,
    options: tuple[str | None, ...],
    score: float,
    kind: ReviewKind = ReviewKind.manual,
) -> Review:
    """A submitted review written straight to the tables, with its hand-computed score (module docstring)."""
    version = scorecard_service.current_version(session, world.scorecard_id)
    criteria = {c.key: c.id for c in scorecard_service.criteria_for(session, version.id or 0)}
    team = world.billing if agent.team_id == world.billing.id else world.tech
    conversation = make_conversation(
        session,
        agent=agent,
        team=team,
        created_at=at(1, month=10),
        subject=f"Conversation {name}",
        messages=[{"author": "customer", "body": "Hi"}],
    )
    review = Review(
        conversation_id=conversation.id or 0,
        version_id=version.id or 0,
        reviewer_id=world.sam.id or 0,
        agent_id=agent.id,
        kind=kind,
        status=ReviewStatus.submitted,
        score=score,
        failed_critical=score == 0 and options[1] in ("1", "2"),
        passed=score >= 80,
        submitted_at=when,
    )
    session.add(review)
    session.flush()
    for key, label in zip(("greeting", "accuracy", "tone"), options, strict=True):
        session.add(
            Rating(
                review_id=review.id or 0,
                criterion_id=criteria[key],
                criterion_key=key,
                option_label=label,
                option_score=None if label is None else OPTION_SCORES[key][label],
            )
        )
    session.flush()
    world.reviews[name] = review
    return review


def build(session: Session) -> World:
    """The data set of the module docstring."""
    billing, tech = make_team(session, name="Billing"), make_team(session, name="Tech")
    dana = make_agent(session, team=billing, name="Dana Ruiz")
    eli = make_agent(session, team=billing, name="Eli Park")
    fay = make_agent(session, team=tech, name="Fay Lim")
    world = World(
        billing=billing,
        tech=tech,
        dana=dana,
        eli=eli,
        fay=fay,
        admin=make_user(session, role=Role.admin, name="Ada Admin"),
        mona=make_user(session, role=Role.manager, teams=[billing], name="Mona Billing"),
        tom=make_user(session, role=Role.manager, teams=[tech], name="Tom Tech"),
        rita=make_user(session, role=Role.reviewer, teams=[billing], name="Rita Reed"),
        sam=make_user(session, role=Role.reviewer, name="Sam Stone"),
        dana_user=make_user(session, role=Role.agent, agent=dana, name="Dana Ruiz"),
        fay_user=make_user(session, role=Role.agent, agent=fay, name="Fay Lim"),
    )
    v1 = scorecard_service.create_scorecard(
        session, actor=world.admin, definition=validate_definition(definition("Tone"))
    )
    world.scorecard_id = v1.scorecard_id
    _review(session, world, "P0", dana, at(1, 10), ("Yes", "5", "Great"), 100.0)
    _review(session, world, "G1", dana, at(3, 9), ("No", "4", "Poor"), 37.5)
    _review(session, world, "G2", dana, at(5, 12), ("Yes", "3", None), 62.5)
    _review(session, world, "CAL", dana, at(6), ("Yes", "5", "Great"), 100.0, kind=ReviewKind.calibration)
    _review(session, world, "DRAFT", dana, at(7), ("No", "1", "Poor"), 0.0).status = ReviewStatus.draft
    scorecard_service.update_scorecard(
        session,
        actor=world.admin,
        scorecard_id=world.scorecard_id,
        definition=validate_definition(definition("Tone of voice")),
    )
    _review(session, world, "G3", dana, at(8, 16), ("Yes", "5", "OK"), 520 / 6)
    _review(session, world, "G4", dana, at(10, 23, 59, 59), ("Yes", "2", "Great"), 0.0)
    _review(session, world, "A1", dana, at(16, 0), ("No", "1", "Poor"), 0.0)
    _review(session, world, "E1", eli, at(4), ("Yes", "5", "Great"), 100.0)
    session.flush()
    return world


def soup(response: Response) -> BeautifulSoup:
    """The response parsed as HTML."""
    return BeautifulSoup(response.text, "html.parser")


def audit_actions(session: Session, entity: str, entity_id: int | None) -> list[AuditLog]:
    """The audit entries of one object, oldest first."""
    query = select(AuditLog).where(AuditLog.entity == entity, AuditLog.entity_id == entity_id)
    return list(session.exec(query.order_by(col(AuditLog.id))))


def notices(session: Session, user: User, kind: str | None = None) -> list[Notification]:
    """A user's notices (of one kind), oldest first."""
    query = select(Notification).where(Notification.user_id == user.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(session.exec(query.order_by(col(Notification.id))))

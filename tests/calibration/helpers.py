"""A hand-built calibration session whose agreement figures are computed by hand in the tests.

Scorecard (tests.factories.EXAMPLE_SCORECARD): greeting (binary, w1), accuracy (5-point, w3, critical),
tone (custom Poor/OK/Great, w2, N/A allowed). Reviewers r1 (benchmark), r2, r3 score c1 and c2:

    c1: r1 Yes/5/Great (100)   r2 Yes/5/Great (100)   r3 Yes/3/Great (75)
    c2: r1 Yes/4/Great (87.5)  r2 Yes/4/Great (87.5)  r3 Yes/4/N/A   (81.25)

and r3 leaves a draft on c3 (never counted, never shown to others).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from qa.calibration import service as calibration_service
from qa.models import Agent, CalibrationSession, Conversation, Review, ScorecardVersion, Team, User
from qa.reviews.service import RatingIn
from tests.factories import make_agent, make_conversation, make_scorecard, make_team, make_user

ANSWERS: dict[tuple[str, str], tuple[str, str, str | None]] = {
    ("r1", "c1"): ("Yes", "5", "Great"),
    ("r2", "c1"): ("Yes", "5", "Great"),
    ("r3", "c1"): ("Yes", "3", "Great"),
    ("r1", "c2"): ("Yes", "4", "Great"),
    ("r2", "c2"): ("Yes", "4", "Great"),
    ("r3", "c2"): ("Yes", "4", None),
}


def ratings(greeting: str, accuracy: str, tone: str | None, comment: str | None = None) -> list[RatingIn]:
    """The three ratings of a complete review."""
    return [
        RatingIn("greeting", greeting),
        RatingIn("accuracy", accuracy, comment=comment),
        RatingIn("tone", tone),
    ]


def as_json(greeting: str, accuracy: str, tone: str | None) -> list[dict[str, Any]]:
    """The same ratings as an API body."""
    return [
        {"criterion": "greeting", "option": greeting},
        {"criterion": "accuracy", "option": accuracy},
        {"criterion": "tone", "option": tone},
    ]


@dataclass
class Cal:
    """The organisation and the session (not yet scored: see score_all)."""

    team: Team
    other_team: Team
    ann: Agent
    bob: Agent
    admin: User
    manager: User
    other_manager: User
    r1: User
    r2: User
    r3: User
    outsider: User
    cat: Agent
    peer: User  # a reviewer who is also agent Cat (conversation c4)
    agent_user: User
    version: ScorecardVersion
    convs: dict[str, Conversation]
    cal: CalibrationSession
    reviews: dict[tuple[str, str], Review] = field(default_factory=dict)


def build(session: Session) -> Cal:
    """Two teams, three reviewers and a session on c1, c2, c3 (team A) with r1 as benchmark."""
    team, other_team = make_team(session), make_team(session)
    ann, bob = make_agent(session, team=team, name="Ann"), make_agent(session, team=team, name="Bob")
    cat = make_agent(session, team=team, name="Cat")
    manager = make_user(session, role="manager", teams=[team], name="Mia Manager")
    r1 = make_user(session, role="reviewer", name="Rita One")
    r2 = make_user(session, role="reviewer", name="Raj Two")
    r3 = make_user(session, role="reviewer", name="Rosa Three")
    convs = {
        "c1": make_conversation(session, agent=ann, team=team),
        "c2": make_conversation(session, agent=bob, team=team),
        "c3": make_conversation(session, agent=bob, team=team),
        "c4": make_conversation(session, agent=cat, team=team),
    }  # not in the session
    version = make_scorecard(session)
    cal = calibration_service.create_session(
        session,
        actor=manager,
        data=calibration_service.SessionIn(
            name="March calibration",
            scorecard_id=version.scorecard_id,
            participant_ids=[r2.id, r3.id],
            conversation_ids=[convs["c1"].id, convs["c2"].id, convs["c3"].id],
            benchmark_id=r1.id,
        ),
    )
    return Cal(
        team=team,
        other_team=other_team,
        ann=ann,
        bob=bob,
        admin=make_user(session, role="admin"),
        manager=manager,
        other_manager=make_user(session, role="manager", teams=[other_team]),
        r1=r1,
        r2=r2,
        r3=r3,
        outsider=make_user(session, role="reviewer", name="Olga Outside"),
        cat=cat,
        peer=make_user(session, role="reviewer", agent=cat),
        agent_user=make_user(session, role="agent", agent=ann),
        version=version,
        convs=convs,
        cal=cal,
    )


def score_all(session: Session, c: Cal) -> Cal:
    """Every answer of ANSWERS submitted through the service, plus r3's draft on c3."""
    for (who, conv), answer in ANSWERS.items():
        c.reviews[(who, conv)] = calibration_service.submit_review(
            session,
            actor=getattr(c, who),
            session_id=c.cal.id,
            conversation_id=c.convs[conv].id,
            ratings=ratings(*answer, comment=f"{who} on {conv}"),
        )
    c.reviews[("r3", "c3")] = calibration_service.open_review(
        session, actor=c.r3, session_id=c.cal.id, conversation_id=c.convs["c3"].id
    )
    session.flush()
    return c

"""A small organisation built by hand for the agent report tests; every figure below is worked out by hand.

Scorecard "Support QA", pass threshold 80 (v1, then v2 which renames "Tone" to "Tone of voice"; same keys):
  greeting  binary          weight 1
  accuracy  5-point scale   weight 3, critical (fails below 0.5: "1" and "2"), causes Wrong answer, Incomplete
  tone      Poor 0 / OK 0.6 / Great 1, weight 2, N/A allowed, causes Robotic, Rude, Too casual
Review score = 100 × Σ w·s / Σ w over rated criteria; a critical fail scores 0.

Teams: Billing (agents Dana Ruiz, Eli Park), Tech (agent Fay Lim).
Users: admin; manager_billing (Billing), manager_tech (Tech); reviewer Rita Reed (Billing), reviewer Sam Stone
(no team: all); agent logins dana (Dana Ruiz) and fay (Fay Lim).

The period: PERIOD = 4–24 Nov 2026 (21 days; weeks of 2, 9, 16 and 23 Nov). Previous: 14 Oct – 3 Nov 2026.

Dana's reviews (g, a, t = greeting, accuracy, tone):
  R1 v1 Rita  4 Nov 10:00  Yes, 5, Great = 100, pass; comment "Great job", tone "Warm and clear"
  R2 v1 Sam   6 Nov 09:00  No, 4 (Incomplete), Poor (Robotic) = (0 + 3·.75 + 0)/6 = 37.5, fail
  R3 v2 Rita 10 Nov 15:00  Yes, 2 (Wrong answer), Poor (Rude) = 0, CRITICAL FAIL on accuracy "2";
                           comment "Wrong refund amount"; subject "=SUM(1,2) refund" (a formula, for the CSV)
  R4 v2 Sam  12 Nov 11:00  Yes, 5 → EDITED after submit to 3 (Incomplete), N/A (cause Too casual: not counted)
                           = (1 + 3·.5)/4 = 62.5 (was 100), fail; comment "Solid, but verify the answer"
  R5 v2 Rita 23 Nov 08:00  Yes, 4, Great = (1 + 2.25 + 2)/6 = 87.5, pass;
                           accuracy comment "Check the refund policy"
  not counted: a draft (8 Nov), a calibration review (7 Nov, score 0, critical, cause Robotic, comment),
  one at 25 Nov 00:00:00 (after the period: No, 1, Poor = 0 critical), and the previous period's:
  B1 3 Nov 23:59:59  Yes, 5, OK (Too casual) = (1+3+1.2)/6 = 86.667    comment "Old comment"
  B3 20 Oct 12:00    No, 5, Great            = (0+3+2)/6   = 83.333
Eli's: E1 v1 Rita 5 Nov Yes, 5, Great = 100; E2 v2 Sam 17 Nov No, 4, OK = (0+2.25+1.2)/6 = 57.5.
Fay's: F1 v2 Sam 10 Nov Yes, 5, Great = 100.

Hand-computed figures of Dana's report (4–24 Nov):
  IQS = (100 + 37.5 + 0 + 62.5 + 87.5)/5 = 287.5/5 = 57.5; reviews 5; passed 2 of 5 → 40.0 %; critical fails 1
  previous IQS = (86.667 + 83.333)/2 = 85.0; change = 57.5 − 85.0 = −27.5
  team (Billing: Dana's 5 + Eli's 2) IQS = (287.5 + 100 + 57.5)/7 = 445/7 = 63.571 → 63.6; 7 reviews
  weekly: 2 Nov (4–8): (100 + 37.5)/2 = 68.75 (2)   team (100 + 37.5 + 100)/3 = 79.167 (3)
          9 Nov:       (0 + 62.5)/2 = 31.25 (2)     team 31.25 (2)
          16 Nov:      no reviews (a gap)           team E2 57.5 (1)
          23 Nov (23–24): 87.5 (1)                  team 87.5 (1)
  criteria (Dana | team):
    greeting  1,0,1,1,1 = 4/5 → 80.0 (n 5)    | + Eli 1,0 → 5/7 = 71.429 (n 7)   gap +8.571  → strongest
    accuracy  1,.75,.25,.5,.75 = 3.25/5 → 65.0 | + Eli 1,.75 → 5/7 = 71.429      gap −6.429  → weakest (2nd)
    tone      1,0,0,–,1 = 2/4 → 50.0 (n 4)    | + Eli 1,.6 → 3.6/6 = 60.0 (n 6)  gap −10.0   → weakest (1st)
  root causes: accuracy/Incomplete 2, accuracy/Wrong answer 1, tone/Robotic 1, tone/Rude 1
  critical fails: R3 on accuracy ("Correct solution"), rating "2"
  comments, newest first: R5 accuracy, R4 review, R3 review, R1 review, R1 tone
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session

from qa.models import Agent, Review, ReviewKind, ReviewStatus, Role, Team, User
from qa.reviews import service as review_service
from qa.reviews.service import RatingIn
from qa.scorecard_admin import service as scorecard_service
from scorecards import validate_definition
from tests.factories import make_agent, make_conversation, make_team, make_user

START, END = date(2026, 11, 4), date(2026, 11, 24)
PERIOD = {"start": "2026-11-04", "end": "2026-11-24"}
TODAY = date(2026, 11, 24)


def definition(tone_name: str) -> dict[str, Any]:
    """The scorecard (v1 names "Tone", v2 "Tone of voice")."""
    return {
        "name": "Support QA",
        "pass_threshold": 80,
        "criteria": [
            {"key": "greeting", "name": "Greeting", "scale": "binary", "weight": 1},
            {
                "key": "accuracy",
                "name": "Correct solution",
                "scale": "5",
                "weight": 3,
                "critical": True,
                "root_causes": ["Wrong answer", "Incomplete"],
            },
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
                "root_causes": ["Robotic", "Rude", "Too casual"],
            },
        ],
    }


def at(day: int, hour: int = 10, minute: int = 0, second: int = 0, month: int = 11) -> datetime:
    """A UTC moment in 2026."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


@dataclass
class Data:
    """The organisation and the reviews by name (R1… as in the module docstring)."""

    billing: Team
    tech: Team
    dana: Agent
    eli: Agent
    fay: Agent
    admin: User
    manager_billing: User
    manager_tech: User
    rita: User
    sam: User
    dana_user: User
    fay_user: User
    scorecard_id: int = 0
    reviews: dict[str, Review] = field(default_factory=dict)


def _ratings(g: str | None, a: str | None, t: str | None, **extra: dict[str, str]) -> list[RatingIn]:
    values = {"greeting": g, "accuracy": a, "tone": t}
    return [RatingIn(criterion=key, option=option, **extra.get(key, {})) for key, option in values.items()]


def _review(
    session: Session,
    data: Data,
    name: str,
    *,
    reviewer: User,
    agent: Agent,
    when: datetime | None,
    ratings: list[RatingIn],
    comment: str = "",
    subject: str | None = None,
    kind: ReviewKind = ReviewKind.manual,
) -> Review:
    team = data.billing if agent.team_id == data.billing.id else data.tech
    overrides = {"subject": subject} if subject else {}
    conversation = make_conversation(session, agent=agent, team=team, created_at=at(1, month=10), **overrides)
    review = review_service.create_review(
        session,
        actor=reviewer,
        conversation_id=conversation.id,
        scorecard_id=data.scorecard_id,
        ratings=ratings,
        comment=comment,
    )
    review.submitted_at, review.kind = when, kind
    session.flush()
    data.reviews[name] = review
    return review


def build(session: Session) -> Data:
    """The data set of the module docstring."""
    billing, tech = make_team(session, name="Billing"), make_team(session, name="Tech")
    dana = make_agent(session, team=billing, name="Dana Ruiz")
    eli = make_agent(session, team=billing, name="Eli Park")
    fay = make_agent(session, team=tech, name="Fay Lim")
    data = Data(
        billing=billing,
        tech=tech,
        dana=dana,
        eli=eli,
        fay=fay,
        admin=make_user(session, role=Role.admin, name="Ada Admin"),
        manager_billing=make_user(session, role=Role.manager, teams=[billing], name="Mona Billing"),
        manager_tech=make_user(session, role=Role.manager, teams=[tech], name="Tom Tech"),
        rita=make_user(session, role=Role.reviewer, teams=[billing], name="Rita Reed"),
        sam=make_user(session, role=Role.reviewer, name="Sam Stone"),
        dana_user=make_user(session, role=Role.agent, agent=dana, name="Dana Ruiz"),
        fay_user=make_user(session, role=Role.agent, agent=fay, name="Fay Lim"),
    )
    v1 = scorecard_service.create_scorecard(
        session, actor=data.admin, definition=validate_definition(definition("Tone"))
    )
    data.scorecard_id = v1.scorecard_id
    _version_1_reviews(session, data)
    scorecard_service.update_scorecard(
        session,
        actor=data.admin,
        scorecard_id=data.scorecard_id,
        definition=validate_definition(definition("Tone of voice")),
    )
    _version_2_reviews(session, data)
    return data


def _version_1_reviews(session: Session, data: Data) -> None:
    rita, sam, dana = data.rita, data.sam, data.dana
    _review(
        session,
        data,
        "R1",
        reviewer=rita,
        agent=dana,
        when=at(4, 10),
        comment="Great job",
        ratings=_ratings("Yes", "5", "Great", tone={"comment": "Warm and clear"}),
    )
    _review(
        session,
        data,
        "R2",
        reviewer=sam,
        agent=dana,
        when=at(6, 9),
        ratings=_ratings(
            "No", "4", "Poor", accuracy={"root_cause": "Incomplete"}, tone={"root_cause": "Robotic"}
        ),
    )
    _review(
        session,
        data,
        "B1",
        reviewer=rita,
        agent=dana,
        when=at(3, 23, 59, 59),
        comment="Old comment",
        ratings=_ratings("Yes", "5", "OK", tone={"root_cause": "Too casual"}),
    )
    _review(
        session,
        data,
        "B3",
        reviewer=sam,
        agent=dana,
        when=at(20, 12, month=10),
        ratings=_ratings("No", "5", "Great"),
    )
    _review(
        session,
        data,
        "E1",
        reviewer=rita,
        agent=data.eli,
        when=at(5, 10),
        ratings=_ratings("Yes", "5", "Great"),
    )
    _review(
        session,
        data,
        "CAL",
        reviewer=sam,
        agent=dana,
        when=at(7, 10),
        comment="Calibration note",
        kind=ReviewKind.calibration,
        ratings=_ratings("No", "1", "Poor", tone={"root_cause": "Robotic"}),
    )
    draft = _review(
        session,
        data,
        "DRAFT",
        reviewer=sam,
        agent=dana,
        when=at(8, 10),
        comment="Draft note",
        ratings=_ratings("No", "2", "Poor", tone={"root_cause": "Rude"}),
    )
    draft.status = ReviewStatus.draft  # counted() must leave it out whatever its timestamps say
    session.flush()


def _version_2_reviews(session: Session, data: Data) -> None:
    rita, sam, dana = data.rita, data.sam, data.dana
    _review(
        session,
        data,
        "R3",
        reviewer=rita,
        agent=dana,
        when=at(10, 15),
        comment="Wrong refund amount",
        subject="=SUM(1,2) refund",
        ratings=_ratings(
            "Yes", "2", "Poor", accuracy={"root_cause": "Wrong answer"}, tone={"root_cause": "Rude"}
        ),
    )
    r4 = _review(
        session,
        data,
        "R4",
        reviewer=sam,
        agent=dana,
        when=at(12, 11),
        comment="Solid, but verify the answer",
        ratings=_ratings("Yes", "5", None, tone={"root_cause": "Too casual"}),
    )
    assert r4.score == 100.0
    review_service.rate(
        session,
        actor=sam,
        review_id=r4.id,
        criterion_key="accuracy",
        option_label="3",
        root_cause="Incomplete",
    )  # edited after submit: 100 → 62.5
    _review(
        session,
        data,
        "R5",
        reviewer=rita,
        agent=dana,
        when=at(23, 8),
        ratings=_ratings("Yes", "4", "Great", accuracy={"comment": "Check the refund policy"}),
    )
    _review(
        session,
        data,
        "AFTER",
        reviewer=rita,
        agent=dana,
        when=at(25, 0, 0, 0),
        ratings=_ratings("No", "1", "Poor"),
    )
    _review(
        session, data, "E2", reviewer=sam, agent=data.eli, when=at(17, 10), ratings=_ratings("No", "4", "OK")
    )
    _review(
        session,
        data,
        "F1",
        reviewer=sam,
        agent=data.fay,
        when=at(10, 10),
        ratings=_ratings("Yes", "5", "Great"),
    )

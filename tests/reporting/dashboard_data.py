"""A hand-made organisation for the dashboard tests; every figure the tests assert is worked out below.

Scorecard "Support QA" (pass mark 80), two versions, criteria matched by key:
  v1: greeting (binary, w1), accuracy (1–5: 0, .25, .5, .75, 1; w1, critical: below .5 fails),
      tone ("Tone": Poor 0, OK .5, Great 1; w2, N/A allowed)
  v2: accuracy (w1, critical), tone (renamed "Tone of voice", w2, N/A allowed), empathy (binary, w1)
  Score = 100 × Σ w·s / Σ w over the rated criteria (N/A left out); a critical fail scores 0.
A second scorecard, "Phone QA", has no reviews (the scorecard filter must empty every panel).

Teams: Alpha (agents Ann, Bob, Eve), Beta (agents Cy, Dee). Reviewers Rita, Sam, Tom see every team.
The range is RANGE = 2–15 March 2026 (two weeks, Monday to Sunday); the previous period of equal
length is 16 February – 1 March.

Counted reviews in the range (v = version; ratings in scorecard order; submitted day; time spent):
  r1  Ann  Rita v1 Yes,5,Great   = (1+1+2)/4      = 100      Tue 3 Mar   300 s  chat  Alpha
  r2  Ann  Sam  v1 Yes,4,OK      = (1+.75+1)/4    = 68.75    Wed 4 Mar   600 s  email Alpha
      (written as Yes,3,OK = 62.5; Ann disputed accuracy, the dispute was ACCEPTED: edited to 4)
  r3  Ann  Tom  v2 5,Great,Yes   = (1+2+1)/4      = 100      Tue 10 Mar  200 s  chat  Alpha
  r4  Bob  Rita v1 Yes,2,Great   critical fail    = 0        Thu 5 Mar   400 s  chat  Alpha
  r5  Bob  Sam  v2 4,Great,Yes   = (.75+2+1)/4    = 93.75    Wed 11 Mar  500 s  chat  Alpha (dispute OPEN)
  r6  Bob  Sam  v2 5,N/A,No      = (1+0)/2        = 50       Thu 12 Mar  100 s  chat  Alpha
  r7  Cy   Rita v2 4,OK,No       = (.75+1+0)/4    = 43.75    Fri 6 Mar   300 s  chat  Beta (dispute REJECTED)
  r8  Cy   Tom  v1 Yes,3,Great   = (1+.5+2)/4     = 87.5     Fri 13 Mar  400 s  chat  Beta
      (its conversation was created on 27 Feb: it counts in March's scores, not in March's coverage)
  r9  Dee  Tom  v2 3,OK,Yes      = (.5+1+1)/4     = 62.5     Mon 9 Mar   600 s  email Beta
  r10 Dee  Rita v2 5,Great,Yes   = 100                       Sat 14 Mar  200 s  chat  Beta
Not counted: Tom's draft of an Ann conversation, Rita's calibration review of a Bob conversation, an
auto review of an Eve conversation, Rita's review of Ann on 16 March (after the range), and in the
previous period p1 Ann/Rita v1 No,5,Great = 75 (20 Feb; a rejected dispute), p2 Bob/Sam v1
Yes,4,Great = 93.75 (25 Feb), p3 Cy/Tom v1 Yes,5,N/A = (1+1)/2 = 100 (Sun 1 Mar).
Conversations without reviews in the range: Ann 1, Cy 2, Eve 2 (and Eve's auto-reviewed one).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from qa.app import create_app
from qa.auth.deps import get_session
from qa.models import (
    Agent,
    Conversation,
    Dispute,
    DisputeStatus,
    Review,
    ReviewKind,
    ReviewStatus,
    ScorecardVersion,
    Team,
    User,
)
from qa.reviews import service as review_service
from qa.scorecard_admin import service as scorecard_service
from qa.settings import Settings
from scorecards import validate_definition
from tests.factories import make_agent, make_conversation, make_scorecard, make_team, make_user

RANGE = {"start": "2026-03-02", "end": "2026-03-15"}
START, END = date(2026, 3, 2), date(2026, 3, 15)

ACCURACY = {"key": "accuracy", "name": "Correct solution", "scale": "5", "weight": 1, "critical": True}
TONE_OPTIONS = [{"label": "Poor", "score": 0}, {"label": "OK", "score": 0.5}, {"label": "Great", "score": 1}]
V1: dict[str, Any] = {
    "name": "Support QA",
    "pass_threshold": 80,
    "criteria": [
        {"key": "greeting", "name": "Greeting", "scale": "binary", "weight": 1},
        ACCURACY,
        {
            "key": "tone",
            "name": "Tone",
            "scale": "custom",
            "weight": 2,
            "allow_na": True,
            "options": TONE_OPTIONS,
        },
    ],
}
V2: dict[str, Any] = {
    "name": "Support QA",
    "pass_threshold": 80,
    "criteria": [
        ACCURACY,
        {
            "key": "tone",
            "name": "Tone of voice",
            "scale": "custom",
            "weight": 2,
            "allow_na": True,
            "options": TONE_OPTIONS,
        },
        {"key": "empathy", "name": "Empathy", "scale": "binary", "weight": 1},
    ],
}


def at(day: int, month: int = 3, hour: int = 10) -> datetime:
    """A UTC moment in 2026."""
    return datetime(2026, month, day, hour, tzinfo=UTC)


@dataclass
class Org:
    """The people, teams, scorecards and reviews of the data set (reviews by name: r1…r10, p1…p3)."""

    alpha: Team
    beta: Team
    agents: dict[str, Agent]
    rita: User
    sam: User
    tom: User
    admin: User
    manager_alpha: User
    manager_all: User
    reviewer_beta: User
    agent_user: User  # Ann's login
    v1: ScorecardVersion
    v2: ScorecardVersion
    phone_scorecard_id: int
    reviews: dict[str, Review] = field(default_factory=dict)
    conversations: dict[str, list[Conversation]] = field(default_factory=dict)


class _Builder:
    def __init__(self, session: Session, org: Org) -> None:
        self.session, self.org = session, org

    def conversation(self, agent: str, created: datetime, channel: str = "chat") -> Conversation:
        found = make_conversation(
            self.session, agent=self.org.agents[agent], created_at=created, channel=channel
        )
        self.org.conversations.setdefault(agent, []).append(found)
        return found

    def review(
        self,
        name: str,
        agent: str,
        reviewer: User,
        options: list[str | None],
        submitted: datetime,
        seconds: int,
        *,
        channel: str = "chat",
        created: datetime | None = None,
    ) -> Review:
        """A submitted manual review through the real service (so the score is the real scoring)."""
        conversation = self.conversation(agent, created or submitted.replace(hour=8), channel)
        version = scorecard_service.definition_for(self.session, self._current().id or 0)
        ratings = [
            review_service.RatingIn(criterion=c.key, option=o)
            for c, o in zip(version.criteria, options, strict=True)
        ]
        review = review_service.create_review(
            self.session,
            actor=reviewer,
            conversation_id=conversation.id,
            scorecard_id=self.org.v1.scorecard_id,
            ratings=ratings,
        )
        review.submitted_at, review.time_spent_seconds = submitted, seconds
        self.session.flush()
        self.org.reviews[name] = review
        return review

    def _current(self) -> ScorecardVersion:
        return scorecard_service.current_version(self.session, self.org.v1.scorecard_id)

    def dispute(self, review: Review, status: DisputeStatus, raised_by: User) -> None:
        self.session.add(
            Dispute(
                review_id=review.id or 0,
                agent_id=review.agent_id or 0,
                reviewer_id=review.reviewer_id,
                raised_by_id=raised_by.id or 0,
                criterion_key="accuracy",
                reason="I did solve it.",
                status=status,
            )
        )
        self.session.flush()


def build_org(session: Session) -> Org:
    """Build the data set described in the module docstring."""
    alpha, beta = make_team(session, name="Alpha"), make_team(session, name="Beta")
    agents = {
        name: make_agent(session, team=team, name=name)
        for name, team in (("Ann", alpha), ("Bob", alpha), ("Eve", alpha), ("Cy", beta), ("Dee", beta))
    }
    v1 = make_scorecard(session, definition=V1)
    phone = make_scorecard(session, definition={**V1, "name": "Phone QA"})
    org = Org(
        alpha=alpha,
        beta=beta,
        agents=agents,
        rita=make_user(session, role="reviewer", name="Rita"),
        sam=make_user(session, role="reviewer", name="Sam"),
        tom=make_user(session, role="reviewer", name="Tom"),
        admin=make_user(session, role="admin"),
        manager_alpha=make_user(session, role="manager", teams=[alpha]),
        manager_all=make_user(session, role="manager"),
        reviewer_beta=make_user(session, role="reviewer", teams=[beta]),
        agent_user=make_user(session, role="agent", agent=agents["Ann"]),
        v1=v1,
        v2=v1,
        phone_scorecard_id=phone.scorecard_id,
    )
    bob_user = make_user(session, role="agent", agent=agents["Bob"])
    cy_user = make_user(session, role="agent", agent=agents["Cy"])
    b = _Builder(session, org)
    # Version 1 reviews (the previous period first).
    p1 = b.review("p1", "Ann", org.rita, ["No", "5", "Great"], at(20, 2), 100)
    b.review("p2", "Bob", org.sam, ["Yes", "4", "Great"], at(25, 2), 100)
    b.review("p3", "Cy", org.tom, ["Yes", "5", None], at(1, 3, 20), 100)
    b.review("r1", "Ann", org.rita, ["Yes", "5", "Great"], at(3), 300)
    r2 = b.review("r2", "Ann", org.sam, ["Yes", "3", "OK"], at(4), 600, channel="email")
    assert r2.score == 62.5
    review_service.rate(session, actor=org.sam, review_id=r2.id, criterion_key="accuracy", option_label="4")
    b.review("r4", "Bob", org.rita, ["Yes", "2", "Great"], at(5), 400)
    b.review("r8", "Cy", org.tom, ["Yes", "3", "Great"], at(13), 400, created=at(27, 2))
    b.review("late", "Ann", org.rita, ["Yes", "5", "Great"], at(16), 100)
    # Version 2.
    org.v2 = scorecard_service.update_scorecard(
        session, actor=None, scorecard_id=v1.scorecard_id, definition=validate_definition(V2)
    )
    b.review("r3", "Ann", org.tom, ["5", "Great", "Yes"], at(10), 200)
    r5 = b.review("r5", "Bob", org.sam, ["4", "Great", "Yes"], at(11), 500)
    b.review("r6", "Bob", org.sam, ["5", None, "No"], at(12), 100)
    r7 = b.review("r7", "Cy", org.rita, ["4", "OK", "No"], at(6), 300)
    b.review("r9", "Dee", org.tom, ["3", "OK", "Yes"], at(9), 600, channel="email")
    b.review("r10", "Dee", org.rita, ["5", "Great", "Yes"], at(14), 200)
    b.dispute(r2, DisputeStatus.accepted, org.agent_user)
    b.dispute(r5, DisputeStatus.open, bob_user)
    b.dispute(r7, DisputeStatus.rejected, cy_user)
    b.dispute(p1, DisputeStatus.rejected, org.agent_user)
    # What must not count.
    for agent, reviewer, kind, status in (
        ("Ann", org.tom, ReviewKind.manual, ReviewStatus.draft),
        ("Bob", org.rita, ReviewKind.calibration, ReviewStatus.submitted),
        ("Eve", org.rita, ReviewKind.auto, ReviewStatus.submitted),
    ):
        conversation = b.conversation(agent, at(7))
        session.add(
            Review(
                conversation_id=conversation.id or 0,
                version_id=org.v2.id or 0,
                reviewer_id=reviewer.id or 0,
                agent_id=conversation.agent_id,
                kind=kind,
                status=status,
                score=10.0,
                passed=False,
                submitted_at=at(7),
            )
        )
    for agent, day in (("Ann", 8), ("Cy", 3), ("Cy", 10), ("Eve", 2), ("Eve", 15)):
        b.conversation(agent, at(day))
    session.flush()
    return org


# ---------------------------------------------------------------------------------------------
# Fixtures. A test module imports them (`from tests.reporting.dashboard_data import fixtures`
# style: the names below end in _fixture; pytest knows them by their `name`). The data set is
# built once per module and backend inside a transaction rolled back at the end; each test runs
# in a savepoint of its own (rolled back after it), so tests never see each other's changes.
# Building it costs ~350 queries, which per test made the suites slow on PostgreSQL.
# ---------------------------------------------------------------------------------------------


@pytest.fixture(name="_dashboard_db")  # per test: a module-long open transaction blocks other connections
def dashboard_db_fixture(engine: Engine) -> Iterator[tuple[Connection, Org]]:
    """The data set, built on a connection whose outer transaction is rolled back at the end."""
    connection = engine.connect()
    outer = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    org = build_org(db)
    db.commit()  # releases the session's savepoint; the outer transaction stays open
    db.close()
    try:
        yield connection, org
    finally:
        outer.rollback()
        connection.close()


@pytest.fixture(name="session")
def session_fixture(_dashboard_db: tuple[Connection, Org]) -> Iterator[Session]:
    """tests/conftest.py's `session`, on the data set's connection, in a savepoint of its own."""
    connection, _ = _dashboard_db
    nested = connection.begin_nested()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db
    finally:
        db.close()
        if nested.is_active:
            nested.rollback()


@pytest.fixture(name="org")
def org_fixture(_dashboard_db: tuple[Connection, Org], session: Session) -> Org:
    """The people, teams and reviews of the module docstring."""
    return _dashboard_db[1]


@pytest.fixture(scope="module", name="_dashboard_app")
def dashboard_app_fixture(db_url: str, engine: Engine) -> FastAPI:
    """One app per module (creating one takes about a second)."""
    settings = Settings(
        database_url=db_url,
        secret_key="test-secret-key-" + "x" * 32,
        caliper_env="test",
        login_max_failures=5,
        sampling_scheduler=False,
    )
    return create_app(settings, engine=engine)


@pytest.fixture(name="app")
def app_fixture(_dashboard_app: FastAPI, session: Session) -> Iterator[FastAPI]:
    """tests/conftest.py's `app`: requests share the test's savepoint (`client` and `api` use it)."""

    def _test_session() -> Iterator[Session]:
        session.commit()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    _dashboard_app.dependency_overrides[get_session] = _test_session
    try:
        yield _dashboard_app
    finally:
        _dashboard_app.dependency_overrides.pop(get_session, None)

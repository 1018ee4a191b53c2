"""A hand-built organisation for the coverage tests, its review scores chosen to make the maths easy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bs4 import BeautifulSoup
from httpx import Response
from sqlmodel import Session

from qa.models import Agent, Conversation, Review, ReviewKind, ReviewStatus, ScorecardVersion, Team, User
from tests.factories import make_agent, make_conversation, make_scorecard, make_team, make_user

WEEK1 = date(2026, 3, 2)  # a Monday
WEEK2 = date(2026, 3, 9)
RANGE = {"start": "2026-03-02", "end": "2026-03-15"}


def at(day: date, hour: int = 10, minute: int = 0, second: int = 0) -> datetime:
    """A UTC moment on `day`."""
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def make_review(
    session: Session,
    conversation: Conversation,
    *,
    version: ScorecardVersion,
    reviewer: User,
    score: float | None,
    kind: ReviewKind = ReviewKind.manual,
    status: ReviewStatus = ReviewStatus.submitted,
    submitted_at: datetime | None = None,
) -> Review:
    """A review with the given score, written straight to the table (coverage reads only these columns)."""
    review = Review(conversation_id=conversation.id or 0, version_id=version.id or 0,
                    reviewer_id=reviewer.id or 0, agent_id=conversation.agent_id, kind=kind, status=status,
                    score=score, submitted_at=submitted_at or conversation.created_at + timedelta(days=1))
    session.add(review)
    session.flush()
    return review


@dataclass
class Org:
    """Two teams. Team A: Ann and Bob (and one conversation without an agent); team B: Cy."""

    team_a: Team
    team_b: Team
    ann: Agent
    bob: Agent
    cy: Agent
    admin: User
    manager_a: User
    manager_b: User
    manager_all: User
    reviewer: User
    reviewer_b: User
    agent_user: User
    version: ScorecardVersion
    conversations: dict[str, list[Conversation]] = field(default_factory=dict)


def build_org(session: Session) -> Org:
    """The dataset every number in the tests is computed from by hand.

    Week 1 (2–8 March 2026):
      Ann: 10 conversations; 4 reviewed, scores 70, 80, 90, 100. Also a draft, a calibration and an
           auto review on other conversations (none count).
      Bob: 3 conversations; 1 reviewed, score 60.
      Cy (team B): 5 conversations; 2 reviewed, scores 40, 80.
      One team-A conversation without an agent.
    Week 2 (9–15 March):
      Bob: 2 conversations, both reviewed (50, 70): everything reviewed, margin 0.
    Outside the range: one of Ann's on 16 March, reviewed (never counted).
    """
    team_a, team_b = make_team(session, name="Alpha support"), make_team(session, name="Beta support")
    ann = make_agent(session, team=team_a, name="Ann Archer")
    bob = make_agent(session, team=team_a, name="Bob Baker")
    cy = make_agent(session, team=team_b, name="Cy Cole")
    reviewer = make_user(session, role="reviewer")
    org = Org(
        team_a=team_a, team_b=team_b, ann=ann, bob=bob, cy=cy, admin=make_user(session, role="admin"),
        manager_a=make_user(session, role="manager", teams=[team_a]),
        manager_b=make_user(session, role="manager", teams=[team_b]),
        manager_all=make_user(session, role="manager"), reviewer=reviewer,
        reviewer_b=make_user(session, role="reviewer", teams=[team_b]),
        agent_user=make_user(session, role="agent", agent=ann), version=make_scorecard(session),
    )

    def convs(key: str, agent: Agent, day: date, count: int) -> list[Conversation]:
        made = [make_conversation(session, agent=agent, team=team_a if agent is not cy else team_b,
                                  created_at=at(day, 9 + i % 8, i)) for i in range(count)]
        org.conversations[key] = made
        return made

    def review(conversation: Conversation, score: float | None, **extra: object) -> Review:
        return make_review(session, conversation, version=org.version, reviewer=reviewer, score=score,
                           **extra)  # type: ignore[arg-type]

    ann_w1 = convs("ann_w1", ann, WEEK1 + timedelta(days=1), 10)
    for conversation, score in zip(ann_w1, (70, 80, 90, 100), strict=False):
        review(conversation, score)
    review(ann_w1[4], 10, status=ReviewStatus.draft)
    review(ann_w1[5], 0, kind=ReviewKind.calibration)
    review(ann_w1[6], 5, kind=ReviewKind.auto)
    bob_w1 = convs("bob_w1", bob, WEEK1 + timedelta(days=6), 3)  # Sunday
    review(bob_w1[0], 60, submitted_at=at(WEEK2 + timedelta(days=2)))  # written in week 2, counts in week 1
    cy_w1 = convs("cy_w1", cy, WEEK1 + timedelta(days=2), 5)
    review(cy_w1[0], 40)
    review(cy_w1[1], 80)
    bob_w2 = convs("bob_w2", bob, WEEK2, 2)  # Monday
    review(bob_w2[0], 50)
    review(bob_w2[1], 70)
    later = convs("ann_later", ann, date(2026, 3, 16), 1)
    review(later[0], 0)
    nobody = make_conversation(session, agent=ann, team=team_a, created_at=at(WEEK1 + timedelta(days=3)))
    nobody.agent_id = None
    session.flush()
    return org


def soup(response: Response) -> BeautifulSoup:
    """The response parsed as HTML."""
    return BeautifulSoup(response.text, "html.parser")


def table_rows(page: BeautifulSoup, period_start: str) -> dict[str, dict[str, str]]:
    """A period table's rows by agent name (the total as "total"), each cell's text by its data-col."""
    section = page.select_one(f"#period-{period_start}")
    assert section is not None, f"no period {period_start}"
    rows: dict[str, dict[str, str]] = {}
    for tr in section.select("tbody tr, tfoot tr"):
        first = tr.find(["td", "th"])
        assert first is not None
        name = "total" if "cov-total" in (tr.get("class") or []) else first.get_text(strip=True)
        rows[name] = {str(td["data-col"]): td.get_text(" ", strip=True) for td in tr.select("td[data-col]")}
    return rows

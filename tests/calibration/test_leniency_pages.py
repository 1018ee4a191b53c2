"""The leniency page, CSV and API: figures against the model and hand-computed IQS, roles, bad input.

Team T: agents Ann and Bob. Lenient reviewer Len scores Ann 100 twice (Yes/5/Great); fair reviewer Fay
scores Ann 75 (Yes/3/Great) and Bob 75 and 45 (No/3/OK). Raw IQS by hand: Ann (100 + 100 + 75) / 3 =
91.7, Bob (75 + 45) / 2 = 60. Team O's agent Zed (scored by Len) only for scope checks.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import Session

from qa.calibration.leniency import fit_effects
from qa.models import Agent, User
from qa.reviews import service as review_service
from qa.reviews.service import RatingIn
from tests.conftest import login_as
from tests.factories import bearer, make_agent, make_conversation, make_scorecard, make_team, make_user

WHEN = datetime(2026, 3, 10, 12, tzinfo=UTC)


@dataclass
class World:
    manager: User
    other_manager: User
    admin: User
    reviewer: User
    agent_user: User
    len: User
    fay: User
    ann: Agent
    bob: Agent
    zed: Agent
    scores: list[tuple[int, int, float]]


def _review(
    session: Session, reviewer: User, agent: Agent, team: object, answer: tuple[str, str, str], card: int
) -> float:
    conv = make_conversation(session, agent=agent, team=team)  # type: ignore[arg-type]
    review = review_service.create_review(
        session,
        actor=reviewer,
        conversation_id=conv.id,
        scorecard_id=card,
        ratings=[
            RatingIn("greeting", answer[0]),
            RatingIn("accuracy", answer[1]),
            RatingIn("tone", answer[2]),
        ],
    )
    review.submitted_at = WHEN
    assert review.score is not None
    return review.score


@pytest.fixture
def world(session: Session) -> World:
    team, other = make_team(session), make_team(session)
    ann, bob = make_agent(session, team=team, name="Ann"), make_agent(session, team=team, name="Bob")
    zed = make_agent(session, team=other, name="Zed")
    card = make_scorecard(session).scorecard_id
    len_, fay = (
        make_user(session, role="reviewer", name="Len"),
        make_user(session, role="reviewer", name="Fay"),
    )
    plan = [
        (len_, ann, "a"),
        (len_, ann, "a"),
        (fay, ann, "b"),
        (fay, bob, "b"),
        (fay, bob, "c"),
        (len_, zed, "a"),
    ]
    pick = {"a": ("Yes", "5", "Great"), "b": ("Yes", "3", "Great"), "c": ("No", "3", "OK")}
    scores = []
    for reviewer, agent, key in plan:
        team_of = other if agent is zed else team
        score = _review(session, reviewer, agent, team_of, pick[key], card)
        if agent is not zed:
            scores.append((agent.id or 0, reviewer.id or 0, score))
    session.flush()
    return World(
        manager=make_user(session, role="manager", teams=[team]),
        other_manager=make_user(session, role="manager", teams=[other]),
        admin=make_user(session, role="admin"),
        reviewer=make_user(session, role="reviewer"),
        agent_user=make_user(session, role="agent", agent=ann),
        len=len_,
        fay=fay,
        ann=ann,
        bob=bob,
        zed=zed,
        scores=scores,
    )


PERIOD = "start=2026-03-01&end=2026-03-31"


class TestFigures:
    def test_page_matches_model_and_iqs(self, client: TestClient, world: World) -> None:
        # hand-checked scores: a = 100; b = (1 + 3 x .5 + 2 x 1) / 6 = 75; c = (0 + 1.5 + 1.2) / 6 = 45
        assert sorted({s for _, _, s in world.scores}) == pytest.approx([45.0, 75.0, 100.0])
        effects = fit_effects(world.scores)
        login_as(client, world.manager)
        page = client.get(f"/calibration/leniency?{PERIOD}")
        assert page.status_code == 200
        soup = BeautifulSoup(page.text, "html.parser")
        rows = {
            tr.select("td")[0].text: [td.text.strip() for td in tr.select("td")]
            for tr in soup.select(".leniency-agents tbody tr")
        }
        assert set(rows) == {"Ann", "Bob"}  # Zed is another team's
        assert rows["Ann"][1:3] == ["3", "91.7"]  # (100 + 100 + 75) / 3
        assert rows["Bob"][1:3] == ["2", "60.0"]  # (75 + 45) / 2
        assert rows["Ann"][3] == f"{effects.agents[world.ann.id or 0].adjusted:.1f}"
        # Ann was scored mostly by the lenient reviewer: adjusted down; Bob only by the fair one: up
        assert effects.agents[world.ann.id or 0].adjusted < 100 * 275 / 300
        assert effects.agents[world.bob.id or 0].adjusted > 60
        reviewers = {
            tr.select("td")[0].text: tr.select("td")[2].text
            for tr in soup.select(".leniency-reviewers tbody tr")
        }
        assert reviewers["Len"].startswith("+") and reviewers["Fay"].startswith("-")
        assert "average reviewer" in page.text

    def test_csv_and_api(self, client: TestClient, api: TestClient, session: Session, world: World) -> None:
        login_as(client, world.manager)
        response = client.get(f"/calibration/leniency.csv?{PERIOD}")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        lines = list(csv.DictReader(io.StringIO(response.text)))
        ann = next(r for r in lines if r["name"] == "Ann")
        assert (ann["kind"], ann["reviews"], ann["iqs"]) == ("agent", "3", "91.67")
        assert {r["name"] for r in lines if r["kind"] == "reviewer"} == {"Len", "Fay"}
        body = api.get(
            f"/api/v1/calibration-stats/leniency?{PERIOD}", headers=bearer(session, world.manager)
        ).json()
        effects = fit_effects(world.scores)
        by_id = {a["agent_id"]: a for a in body["agents"]}
        assert by_id[world.ann.id]["adjusted"] == pytest.approx(effects.agents[world.ann.id or 0].adjusted)
        assert by_id[world.bob.id]["iqs"] == pytest.approx(60.0)
        admin = api.get(
            f"/api/v1/calibration-stats/leniency?{PERIOD}", headers=bearer(session, world.admin)
        ).json()
        assert {a["name"] for a in admin["agents"]} == {"Ann", "Bob", "Zed"}

    def test_empty_period(self, client: TestClient, world: World) -> None:
        login_as(client, world.manager)
        page = client.get("/calibration/leniency?start=2025-01-01&end=2025-01-31")
        assert page.status_code == 200 and "No scored reviews in this period" in page.text


class TestRolesAndInput:
    @pytest.mark.parametrize("who", ["agent_user", "reviewer"])
    def test_forbidden(
        self, client: TestClient, api: TestClient, session: Session, world: World, who: str
    ) -> None:
        user = getattr(world, who)
        login_as(client, user)
        assert client.get("/calibration/leniency").status_code == 403
        assert client.get("/calibration/leniency.csv").status_code == 403
        assert api.get("/api/v1/calibration-stats/leniency", headers=bearer(session, user)).status_code == 403
        assert api.get("/api/v1/calibration-stats/trends", headers=bearer(session, user)).status_code == 403

    def test_other_teams_are_not_found(self, client: TestClient, world: World) -> None:
        login_as(client, world.other_manager)
        team = world.ann.team_id
        assert client.get(f"/calibration/leniency?team={team}").status_code == 404

    @pytest.mark.parametrize(
        ("query", "status"),
        [
            ("start=2026-02-30", 422),
            ("start=2026-04-01&end=2026-03-01", 422),
            ("team=abc", 404),
            ("scorecard=99999", 404),
            ("start=1800-01-01", 422),
        ],
    )
    def test_bad_filters(
        self, client: TestClient, api: TestClient, session: Session, world: World, query: str, status: int
    ) -> None:
        login_as(client, world.manager)
        page = client.get(f"/calibration/leniency?{query}")
        assert page.status_code == status and "alert-error" in page.text
        assert client.get(f"/calibration/leniency.csv?{query}").status_code == status
        response = api.get(
            f"/api/v1/calibration-stats/leniency?{query}", headers=bearer(session, world.manager)
        )
        assert response.status_code == status and "detail" in response.json()

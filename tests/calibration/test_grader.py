"""Grader QA through HTTP: task creation, blindness, figures computed by hand, roles and bad input.

Reviewer Rex's reviews (EXAMPLE_SCORECARD: greeting binary, accuracy 1..5, tone Poor/OK/Great, N/A ok):
    c1 Yes/5/Great, c2 No/3/OK, c3 Yes/4/N/A (team T, March 2026), c4 (team O, March).
Manager Mia (team T) re-scores c1 Yes/4/Great, c2 Yes/3/Poor (March), c3 Yes/4/OK (April):
    original - re-score: c1 0, +.25, 0; c2 -1, 0, +.6; c3 0, 0, (N/A left out)
    alignment = (1 + .75 + 1 + 0 + 1 + .4 + 1 + 1) / 8 = 0.76875; deviation = -0.15 / 8 x 100 = -1.875
    March: 4.15 / 6 = 0.69167 and -2.5; April: 1 and 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from qa.calibration import grader
from qa.models import (
    AuditLog,
    CalibrationSession,
    Conversation,
    Review,
    ReviewKind,
    ReviewStatus,
    ScorecardVersion,
    User,
)
from qa.reporting import stats
from qa.reviews import service as review_service
from qa.reviews.service import RatingIn
from tests.conftest import login_as
from tests.factories import make_agent, make_conversation, make_scorecard, make_team, make_user

ORIGINALS = {
    "c1": ("Yes", "5", "Great"),
    "c2": ("No", "3", "OK"),
    "c3": ("Yes", "4", None),
    "c4": ("Yes", "5", "Great"),
}
REGRADES = {"c1": ("Yes", "4", "Great"), "c2": ("Yes", "3", "Poor"), "c3": ("Yes", "4", "OK")}
MARCH = datetime(2026, 3, 10, 12, tzinfo=UTC)


@dataclass
class World:
    mia: User
    other_manager: User
    admin: User
    rex: User
    rae: User
    agent_user: User
    convs: dict[str, Conversation]
    originals: dict[str, Review]
    version_id: int


def _ratings(answer: tuple[str, str, str | None]) -> list[RatingIn]:
    return [RatingIn("greeting", answer[0]), RatingIn("accuracy", answer[1]), RatingIn("tone", answer[2])]


@pytest.fixture
def world(session: Session) -> World:
    team, other = make_team(session), make_team(session)
    ann, zed = make_agent(session, team=team, name="Ann"), make_agent(session, team=other, name="Zed")
    version = make_scorecard(session)
    rex = make_user(session, role="reviewer", name="Rex Reviewer")
    convs = {
        k: make_conversation(session, agent=zed if k == "c4" else ann, team=other if k == "c4" else team)
        for k in ORIGINALS
    }
    originals = {}
    for key, answer in ORIGINALS.items():
        review = review_service.create_review(
            session,
            actor=rex,
            conversation_id=convs[key].id,
            scorecard_id=version.scorecard_id,
            ratings=_ratings(answer),
        )
        review.submitted_at = MARCH
        originals[key] = review
    session.flush()
    return World(
        mia=make_user(session, role="manager", teams=[team], name="Mia Manager"),
        other_manager=make_user(session, role="manager", teams=[other]),
        admin=make_user(session, role="admin"),
        rex=rex,
        rae=make_user(session, role="reviewer", name="Rae"),
        agent_user=make_user(session, role="agent", agent=ann),
        convs=convs,
        originals=originals,
        version_id=version.id,
    )


def _create(client: TestClient, w: World, **fields: str) -> object:
    data = {
        "reviewer_id": str(w.rex.id),
        "start": "2026-03-01",
        "end": "2026-03-31",
        "size": "10",
        "seed": "1",
    }
    data.update(fields)
    return client.post("/calibration/grader-qa", data=data, follow_redirects=False)


def _regrade_all(session: Session, w: World) -> dict[str, Review]:
    tasks = {}
    for key, answer in REGRADES.items():
        task = session.exec(select(Review).where(Review.regrade_of_id == w.originals[key].id)).one()
        for criterion, label in zip(("greeting", "accuracy", "tone"), answer, strict=True):
            review_service.rate(
                session, actor=w.mia, review_id=task.id, criterion_key=criterion, option_label=label
            )
        review_service.submit_review(session, actor=w.mia, review_id=task.id)
        task.submitted_at = (
            datetime(2026, 4, 2, tzinfo=UTC) if key == "c3" else datetime(2026, 3, 20, tzinfo=UTC)
        )
        tasks[key] = task
    session.flush()
    return tasks


class TestCreatingTasks:
    def test_sample_becomes_blind_drafts(self, client: TestClient, session: Session, world: World) -> None:
        login_as(client, world.mia)
        response = _create(client, world)
        assert response.status_code == 303  # type: ignore[attr-defined]
        tasks = list(session.exec(select(Review).where(col(Review.regrade_of_id).is_not(None))))
        # c4 is another team's conversation: not Mia's to re-grade
        assert sorted(t.regrade_of_id for t in tasks) == sorted(
            world.originals[k].id for k in ("c1", "c2", "c3")
        )
        for task in tasks:
            original = session.get(Review, task.regrade_of_id)
            assert original is not None
            assert (task.kind, task.status, task.calibration_id) == (
                ReviewKind.calibration,
                ReviewStatus.draft,
                None,
            )
            assert (task.reviewer_id, task.conversation_id, task.version_id) == (
                world.mia.id,
                original.conversation_id,
                original.version_id,
            )
        audits = session.exec(select(AuditLog).where(AuditLog.action == "grader_qa.create")).all()
        assert len(audits) == 3 and all(a.actor_id == world.mia.id for a in audits)
        assert audits[0].after is not None and audits[0].after["seed"] == 1
        page = client.get("/calibration/grader-qa")
        assert "Created 3 re-grade tasks" in page.text
        assert len(BeautifulSoup(page.text, "html.parser").select(".grader-tasks li")) == 3
        # already re-graded by Mia: nothing left
        again = _create(client, world)
        assert again.status_code == 422  # type: ignore[attr-defined]
        assert "no submitted reviews in that period left" in again.text  # type: ignore[attr-defined]

    def test_seeded_sample_is_repeatable(self, session: Session, world: World) -> None:
        query = grader.TaskQuery(
            reviewer_id=world.rex.id or 0, start=MARCH.date(), end=MARCH.date(), size=2, seed=7
        )
        first = grader.create_tasks(session, actor=world.admin, query=query)
        drawn = sorted(t.regrade_of_id or 0 for t in first)
        for task in first:
            session.delete(task)
        session.flush()
        second = grader.create_tasks(session, actor=world.admin, query=query)
        assert sorted(t.regrade_of_id or 0 for t in second) == drawn and len(drawn) == 2

    def test_review_page_is_blind_until_submitted(
        self, client: TestClient, session: Session, world: World
    ) -> None:
        login_as(client, world.mia)
        _create(client, world)
        task = session.exec(select(Review).where(Review.regrade_of_id == world.originals["c1"].id)).one()
        page = client.get(f"/reviews/{task.id}")
        assert page.status_code == 200
        banner = BeautifulSoup(page.text, "html.parser").select_one("#grader-banner")
        assert banner is not None and "Grader QA re-score of Rex Reviewer" in banner.text
        assert "Compare with the original" not in banner.text
        assert client.get(f"/calibration/grader-qa/pairs/{task.id}").status_code == 409


class TestFigures:
    def test_by_hand(self, client: TestClient, session: Session, world: World) -> None:
        grader.create_tasks(
            session,
            actor=world.mia,
            query=grader.TaskQuery(
                reviewer_id=world.rex.id or 0, start=MARCH.date(), end=MARCH.date(), size=10, seed=0
            ),
        )
        tasks = _regrade_all(session, world)
        (row,) = grader.reviewer_figures(session, actor=world.mia)
        assert (row.reviewer_id, row.overall.pairs, row.overall.ratings) == (world.rex.id, 3, 8)
        assert row.overall.alignment == pytest.approx(0.76875)
        assert row.overall.deviation == pytest.approx(-1.875)
        (m1, march), (m2, april) = row.months
        assert (m1, march.pairs, m2, april.pairs) == ("2026-03", 2, "2026-04", 1)
        assert march.alignment == pytest.approx(4.15 / 6) and march.deviation == pytest.approx(-2.5)
        assert april.alignment == pytest.approx(1.0) and april.deviation == pytest.approx(0.0)

        login_as(client, world.mia)
        page = BeautifulSoup(client.get("/calibration/grader-qa").text, "html.parser")
        cells = [td.text.strip() for td in page.select(".grader-table tbody tr")[0].select("td")]
        assert cells[:4] == ["Rex Reviewer", "3", "76.9 %", "-1.9"]
        assert page.select("svg.cal-line-chart polyline")
        pair = client.get(f"/calibration/grader-qa/pairs/{tasks['c1'].id}")
        assert pair.status_code == 200
        rows = BeautifulSoup(pair.text, "html.parser").select(".grader-pair tbody tr")
        assert [r.select("td")[-1].text.strip() for r in rows] == ["+0.0", "+25.0", "+0.0"]
        c3 = BeautifulSoup(client.get(f"/calibration/grader-qa/pairs/{tasks['c3'].id}").text, "html.parser")
        assert [r.select("td")[1].text.strip() for r in c3.select(".grader-pair tbody tr")] == [
            "Yes",
            "4",
            "N/A",
        ]
        # the review page of a submitted re-score links to the comparison
        banner = BeautifulSoup(client.get(f"/reviews/{tasks['c1'].id}").text, "html.parser").select_one(
            "#grader-banner"
        )
        assert banner is not None and "Compare with the original" in banner.text

    def test_regrades_never_count_in_iqs(self, session: Session, world: World) -> None:
        piece = stats.Slice(start=datetime(2026, 3, 1).date(), end=datetime(2026, 4, 30).date())
        before = stats.quality(session, world.admin, piece)
        grader.create_tasks(
            session,
            actor=world.mia,
            query=grader.TaskQuery(
                reviewer_id=world.rex.id or 0, start=MARCH.date(), end=MARCH.date(), size=10, seed=0
            ),
        )
        _regrade_all(session, world)
        assert stats.quality(session, world.admin, piece) == before

    def test_the_regraded_reviewer_sees_the_pair_after_submission(
        self, client: TestClient, session: Session, world: World
    ) -> None:
        grader.create_tasks(
            session,
            actor=world.mia,
            query=grader.TaskQuery(
                reviewer_id=world.rex.id or 0, start=MARCH.date(), end=MARCH.date(), size=10, seed=0
            ),
        )
        tasks = _regrade_all(session, world)
        login_as(client, world.rex)
        assert client.get(f"/calibration/grader-qa/pairs/{tasks['c2'].id}").status_code == 200
        assert client.get("/calibration/grader-qa").status_code == 403  # not a grader


class TestRoles:
    @pytest.mark.parametrize("who", ["agent_user", "rae", "rex"])
    def test_not_graders(self, client: TestClient, world: World, who: str) -> None:
        login_as(client, getattr(world, who))
        assert client.get("/calibration/grader-qa").status_code == 403
        assert _create(client, world).status_code == 403  # type: ignore[attr-defined]

    def test_benchmark_reviewer_may_grade(self, client: TestClient, session: Session, world: World) -> None:
        version = session.get(ScorecardVersion, world.version_id)
        assert version is not None
        session.add(
            CalibrationSession(
                name="S",
                scorecard_id=version.scorecard_id,
                version_id=world.version_id,
                benchmark_id=world.rae.id,
            )
        )
        session.flush()
        login_as(client, world.rae)
        assert client.get("/calibration/grader-qa").status_code == 200
        assert _create(client, world).status_code == 303  # type: ignore[attr-defined]

    def test_other_team_manager_sees_no_pairs(
        self, client: TestClient, session: Session, world: World
    ) -> None:
        grader.create_tasks(
            session,
            actor=world.mia,
            query=grader.TaskQuery(
                reviewer_id=world.rex.id or 0, start=MARCH.date(), end=MARCH.date(), size=10, seed=0
            ),
        )
        tasks = _regrade_all(session, world)
        assert grader.reviewer_figures(session, actor=world.other_manager) == []
        login_as(client, world.other_manager)
        assert client.get(f"/calibration/grader-qa/pairs/{tasks['c1'].id}").status_code == 404
        # only c4 is in their team
        assert _create(client, world).status_code == 303  # type: ignore[attr-defined]
        mine = session.exec(select(Review).where(Review.reviewer_id == world.other_manager.id)).all()
        assert [r.regrade_of_id for r in mine] == [world.originals["c4"].id]


class TestBadInput:
    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"reviewer_id": "abc"}, "whole number"),
            ({"reviewer_id": ""}, "Choose a reviewer"),
            ({"reviewer_id": "999999"}, "not found"),
            ({"size": "0"}, "between 1 and 50"),
            ({"size": "x"}, "whole number"),
            ({"start": "2026-13-01"}, "date like"),
            ({"start": "2026-04-01", "end": "2026-03-01"}, "after the end date"),
        ],
    )
    def test_clear_4xx(self, client: TestClient, world: World, fields: dict[str, str], message: str) -> None:
        login_as(client, world.mia)
        response = _create(client, world, **fields)
        assert response.status_code == 422  # type: ignore[attr-defined]
        assert message in response.text  # type: ignore[attr-defined]

    def test_own_reviews_and_unknown_pairs(self, client: TestClient, world: World) -> None:
        login_as(client, world.mia)
        response = _create(client, world, reviewer_id=str(world.mia.id))
        assert response.status_code == 422 and "your own reviews" in response.text  # type: ignore[attr-defined]
        assert client.get("/calibration/grader-qa/pairs/abc").status_code == 404
        assert client.get("/calibration/grader-qa/pairs/99999999").status_code == 404
        assert client.get(f"/calibration/grader-qa/pairs/{world.originals['c1'].id}").status_code == 404

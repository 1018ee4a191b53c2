"""Agreement over time: a revealed session (tests.calibration.helpers) and ordinary double reviews.

Session (benchmark r1): items (conversation, criterion) c1 greeting Yes x3, accuracy 5/5/3, tone Great x3;
c2 greeting Yes x3, accuracy 4 x3, tone Great/Great/N/A -> agreeing pairs 3+1+3+3+3+1 = 14 of 18.
r3 - r1 over pairs with options: c1 0, -.5, 0; c2 0, 0 -> -0.5 / 5 = -10 points; r2 0.
Ordinary reviews (r1 and r2 on the same conversation): March X r1 Yes/5/Great vs r2 Yes/4/Great -> 2 of 3
pairs agree, r1 +.25 / 3 x 100 = +8.33 from the other; April Y identical -> 100 %; Z has one review
(left out).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import Session

from qa.calibration import service as calibration_service
from qa.calibration import trends
from qa.reviews import service as review_service
from qa.reviews.service import RatingIn
from tests.calibration.helpers import Cal, build, score_all
from tests.conftest import login_as
from tests.factories import bearer, make_conversation

PERIOD = "start=2026-01-01&end=2026-06-30"


def _ordinary(session: Session, c: Cal) -> None:
    card = c.version.scorecard_id
    plan = [
        ("X", c.r1, ("Yes", "5", "Great"), 3),
        ("X", c.r2, ("Yes", "4", "Great"), 3),
        ("Y", c.r1, ("No", "2", "OK"), 4),
        ("Y", c.r2, ("No", "2", "OK"), 4),
        ("Z", c.r1, ("Yes", "5", "Great"), 4),
    ]
    convs = {k: make_conversation(session, agent=c.ann, team=c.team) for k in "XYZ"}
    for key, who, answer, month in plan:
        review = review_service.create_review(
            session,
            actor=who,
            conversation_id=convs[key].id,
            scorecard_id=card,
            ratings=[
                RatingIn("greeting", answer[0]),
                RatingIn("accuracy", answer[1]),
                RatingIn("tone", answer[2]),
            ],
        )
        review.submitted_at = datetime(2026, month, 10, tzinfo=UTC)
    session.flush()


@pytest.fixture
def world(session: Session) -> Cal:
    c = score_all(session, build(session))
    calibration_service.reveal(session, actor=c.manager, session_id=c.cal.id)
    _ordinary(session, c)
    return c


class TestFigures:
    def test_by_hand(self, session: Session, world: Cal) -> None:
        found = trends.trends(
            session,
            actor=world.manager,
            scorecard_id=world.version.scorecard_id,
            start=datetime(2026, 1, 1).date(),
            end=datetime(2026, 6, 30).date(),
        )
        (point,) = found.sessions
        assert point.session_id == world.cal.id and point.n_units == 2
        assert point.percent_agreement == pytest.approx(14 / 18)
        assert point.reviewers[world.r3.id or 0][0] == pytest.approx(-10.0)
        assert point.reviewers[world.r2.id or 0][0] == pytest.approx(0.0)
        assert point.reviewers[world.r1.id or 0][0] is None  # the benchmark itself
        march, april = found.months
        assert (march.label, march.n_units, april.label, april.n_units) == ("2026-03", 1, "2026-04", 1)
        assert march.percent_agreement == pytest.approx(2 / 3)
        assert march.reviewers[world.r1.id or 0][1] == pytest.approx(25 / 3)
        assert march.reviewers[world.r2.id or 0][1] == pytest.approx(-25 / 3)
        assert april.percent_agreement == pytest.approx(1.0)
        assert april.alpha_ordinal == pytest.approx(1.0)  # items differ, every pair agrees

    def test_unrevealed_sessions_are_left_out(self, session: Session) -> None:
        c = score_all(session, build(session))
        found = trends.trends(
            session,
            actor=c.admin,
            scorecard_id=c.version.scorecard_id,
            start=datetime(2026, 1, 1).date(),
            end=datetime(2026, 6, 30).date(),
        )
        assert found.sessions == []

    def test_page_and_api(self, client: TestClient, api: TestClient, session: Session, world: Cal) -> None:
        login_as(client, world.manager)
        page = client.get(f"/calibration/trends?scorecard_id={world.version.scorecard_id}&{PERIOD}")
        assert page.status_code == 200
        soup = BeautifulSoup(page.text, "html.parser")
        cells = [td.text.strip() for td in soup.select(".trends-sessions tbody tr td")]
        assert cells[0] == "March calibration" and cells[-1] == "77.8 %"
        months = [
            [td.text.strip() for td in tr.select("td")] for tr in soup.select(".trends-months tbody tr")
        ]
        assert [(m[0], m[-1]) for m in months] == [("2026-03", "66.7 %"), ("2026-04", "100.0 %")]
        assert soup.select("svg.cal-line-chart")
        body = api.get(
            f"/api/v1/calibration-stats/trends?scorecard_id={world.version.scorecard_id}&{PERIOD}",
            headers=bearer(session, world.manager),
        ).json()
        assert body["sessions"][0]["percent_agreement"] == pytest.approx(14 / 18)
        r3 = next(r for r in body["sessions"][0]["reviewers"] if r["reviewer_id"] == world.r3.id)
        assert r3["deviation_from_benchmark"] == pytest.approx(-10.0) and r3["name"] == "Rosa Three"
        assert [m["label"] for m in body["months"]] == ["2026-03", "2026-04"]


class TestRolesAndInput:
    @pytest.mark.parametrize("who", ["agent_user", "r2"])
    def test_forbidden(self, client: TestClient, world: Cal, who: str) -> None:
        login_as(client, getattr(world, who))
        assert client.get("/calibration/trends").status_code == 403

    def test_other_team_manager(self, session: Session, world: Cal) -> None:
        found = trends.trends(
            session,
            actor=world.other_manager,
            scorecard_id=world.version.scorecard_id,
            start=datetime(2026, 1, 1).date(),
            end=datetime(2026, 6, 30).date(),
        )
        assert found.sessions == [] and found.months == []

    @pytest.mark.parametrize(
        ("query", "status"),
        [
            ("scorecard_id=abc", 404),
            ("scorecard_id=99999", 404),
            ("start=2026-02-31", 422),
            ("start=2026-05-01&end=2026-01-01", 422),
        ],
    )
    def test_bad_input(
        self, client: TestClient, api: TestClient, session: Session, world: Cal, query: str, status: int
    ) -> None:
        login_as(client, world.manager)
        assert client.get(f"/calibration/trends?{query}").status_code == status
        response = api.get(
            f"/api/v1/calibration-stats/trends?{query}", headers=bearer(session, world.manager)
        )
        assert response.status_code == status and "detail" in response.json()

"""Blind scoring: before the reveal nobody but its author reads a calibration review, by any door."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from qa.auth import scope
from qa.calibration import service as calibration_service
from qa.errors import NotFound
from qa.models import Review, User
from tests.calibration.helpers import Cal
from tests.conftest import login_as
from tests.factories import bearer

OTHERS = ("r2", "r3", "manager", "admin", "other_manager", "outsider", "agent_user")


def _visible(session: Session, user: User, review: Review) -> bool:
    try:
        scope.get_review(session, user, review.id)
    except NotFound:
        return False
    return True


class TestBeforeReveal:
    @pytest.mark.parametrize("who", OTHERS)
    def test_scope_hides_r1s_review(self, session: Session, scored: Cal, who: str) -> None:
        assert not _visible(session, getattr(scored, who), scored.reviews[("r1", "c1")])

    def test_author_sees_own(self, session: Session, scored: Cal) -> None:
        assert _visible(session, scored.r1, scored.reviews[("r1", "c1")])
        assert _visible(session, scored.r3, scored.reviews[("r3", "c3")])

    @pytest.mark.parametrize("who", ["r2", "manager", "admin"])
    def test_api_get_review_is_404(self, session: Session, api: TestClient, scored: Cal, who: str) -> None:
        review = scored.reviews[("r1", "c1")]
        answer = api.get(f"/api/v1/reviews/{review.id}", headers=bearer(session, getattr(scored, who)))
        assert answer.status_code == 404, answer.text
        assert "100" not in answer.text

    def test_api_author_reads_own(self, session: Session, api: TestClient, scored: Cal) -> None:
        review = scored.reviews[("r1", "c1")]
        answer = api.get(f"/api/v1/reviews/{review.id}", headers=bearer(session, scored.r1))
        assert answer.status_code == 200
        assert answer.json()["kind"] == "calibration" and answer.json()["score"] == 100

    @pytest.mark.parametrize("who", ["r2", "manager", "admin"])
    def test_review_page_is_404(self, client: TestClient, scored: Cal, who: str) -> None:
        login_as(client, getattr(scored, who))
        assert client.get(f"/reviews/{scored.reviews[('r1', 'c1')].id}").status_code == 404

    @pytest.mark.parametrize("who", ["r1", "manager", "admin"])
    def test_agreement_api_is_409_for_everyone(
        self, session: Session, api: TestClient, scored: Cal, who: str
    ) -> None:
        answer = api.get(
            f"/api/v1/calibrations/{scored.cal.id}/agreement", headers=bearer(session, getattr(scored, who))
        )
        assert answer.status_code == 409
        assert "not revealed" in answer.json()["detail"]

    @pytest.mark.parametrize("path", ["agreement", "agreement.csv", "conversations/{c1}"])
    def test_agreement_and_compare_pages_are_409(self, client: TestClient, scored: Cal, path: str) -> None:
        login_as(client, scored.manager)
        url = f"/calibration/{scored.cal.id}/" + path.format(c1=scored.convs["c1"].id)
        assert client.get(url).status_code == 409

    def test_session_page_shows_progress_not_scores(self, client: TestClient, scored: Cal) -> None:
        login_as(client, scored.manager)
        page = client.get(f"/calibration/{scored.cal.id}")
        assert page.status_code == 200
        assert "2/3" in page.text  # every reviewer has submitted 2 of 3
        for score in ("100.0", "87.5", "81.3", "75.0"):
            assert score not in page.text
        login_as(client, scored.r2)
        own = client.get(f"/calibration/{scored.cal.id}").text
        assert "100.0" in own and "87.5" in own  # r2's own scores
        assert "75.0" not in own and "81.3" not in own  # r3's stay hidden

    def test_manager_lists_have_no_calibration(self, client: TestClient, scored: Cal) -> None:
        login_as(client, scored.admin)
        listing = client.get("/reviews")
        assert listing.status_code == 200
        assert f'/reviews/{scored.reviews[("r1", "c1")].id}"' not in listing.text

    def test_comparison_service_refuses(self, session: Session, scored: Cal) -> None:
        from qa.errors import Conflict

        with pytest.raises(Conflict):
            calibration_service.comparison(
                session, actor=scored.admin, session_id=scored.cal.id, conversation_id=scored.convs["c1"].id
            )


class TestAfterReveal:
    @pytest.fixture
    def revealed(self, session: Session, scored: Cal) -> Cal:
        calibration_service.reveal(session, actor=scored.manager, session_id=scored.cal.id)
        session.flush()
        return scored

    @pytest.mark.parametrize("who", ["r2", "r3", "manager", "admin"])
    def test_participants_and_managers_see(self, session: Session, revealed: Cal, who: str) -> None:
        assert _visible(session, getattr(revealed, who), revealed.reviews[("r1", "c1")])

    @pytest.mark.parametrize("who", ["other_manager", "outsider", "agent_user", "peer"])
    def test_others_still_do_not(self, session: Session, revealed: Cal, who: str) -> None:
        assert not _visible(session, getattr(revealed, who), revealed.reviews[("r1", "c1")])

    @pytest.mark.parametrize("who", ["r1", "manager", "admin"])
    def test_late_draft_stays_hidden(self, session: Session, revealed: Cal, who: str) -> None:
        assert not _visible(session, getattr(revealed, who), revealed.reviews[("r3", "c3")])
        assert _visible(session, revealed.r3, revealed.reviews[("r3", "c3")])

    def test_api_and_page_open(
        self, session: Session, api: TestClient, client: TestClient, revealed: Cal
    ) -> None:
        review = revealed.reviews[("r1", "c1")]
        answer = api.get(f"/api/v1/reviews/{review.id}", headers=bearer(session, revealed.r2))
        assert answer.status_code == 200 and answer.json()["score"] == 100
        login_as(client, revealed.r2)
        page = client.get(f"/reviews/{review.id}")
        assert page.status_code == 200
        assert "calibration-banner" in page.text and "Acknowledge review" not in page.text

    def test_scoring_closed(self, session: Session, revealed: Cal, client: TestClient) -> None:
        login_as(client, revealed.r3)
        draft = revealed.reviews[("r3", "c3")]
        answer = client.post(f"/reviews/{draft.id}/criteria/greeting", data={"option": "Yes"})
        assert answer.status_code == 409
        assert client.post(f"/reviews/{draft.id}/submit", data={}).status_code == 409

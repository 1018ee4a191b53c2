"""Calibration reviews never reach agents nor their scores; the calibration pages work end to end."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from qa.calibration import service as calibration_service
from qa.models import Assignment, CalibrationConsensus, Notification, Review, ReviewKind
from qa.reviews import service as review_service
from tests.calibration.helpers import Cal, ratings
from tests.conftest import login_as
from tests.factories import bearer


class TestAgentsNeverSee:
    def test_agent_doors(self, session: Session, api: TestClient, client: TestClient, scored: Cal) -> None:
        calibration_service.reveal(session, actor=scored.manager, session_id=scored.cal.id)
        review = scored.reviews[("r1", "c1")]  # of Ann's conversation
        assert (
            api.get(f"/api/v1/reviews/{review.id}", headers=bearer(session, scored.agent_user)).status_code
            == 404
        )
        login_as(client, scored.agent_user)
        assert client.get(f"/reviews/{review.id}").status_code == 404
        assert client.get("/feedback").status_code == 200
        assert f'/reviews/{review.id}"' not in client.get("/feedback").text
        assert client.get("/calibration").status_code == 403
        assert client.get(f"/calibration/{scored.cal.id}").status_code == 404
        notices = session.exec(select(Notification).where(Notification.user_id == scored.agent_user.id))
        assert list(notices) == []

    def test_scores_unchanged(self, session: Session, api: TestClient, scored: Cal) -> None:
        """Cat's report counts her one manual review only, before and after the reveal; Ann's counts none."""
        manual = review_service.create_review(
            session,
            actor=scored.r1,
            conversation_id=scored.convs["c4"].id,
            scorecard_id=scored.version.scorecard_id,
            ratings=ratings("No", "5", "Great"),
        )  # (0 + 3 + 2) / 6
        url = f"/api/v1/agents/{scored.cat.id}/report?start=2026-01-01&end=2026-12-31"
        before = api.get(url, headers=bearer(session, scored.admin)).json()
        calibration_service.reveal(session, actor=scored.manager, session_id=scored.cal.id)
        ann = api.get(
            f"/api/v1/agents/{scored.ann.id}/report?start=2026-01-01&end=2026-12-31",
            headers=bearer(session, scored.admin),
        )
        assert ann.status_code == 200, ann.text
        assert ann.json()["reviews"] == 0  # three calibration reviews of her c1, none counted
        after = api.get(url, headers=bearer(session, scored.admin)).json()
        assert before == after and after["reviews"] == 1
        assert abs(after["iqs"] - 500 / 6) < 1e-9
        assert manual.score is not None and abs(manual.score - 500 / 6) < 1e-9

    def test_no_assignment_completed(self, session: Session, cal: Cal) -> None:
        assignment = Assignment(
            conversation_id=cal.convs["c1"].id or 0,
            reviewer_id=cal.r2.id or 0,
            scorecard_id=cal.version.scorecard_id,
        )
        session.add(assignment)
        session.flush()
        calibration_service.submit_review(
            session,
            actor=cal.r2,
            session_id=cal.cal.id,
            conversation_id=cal.convs["c1"].id,
            ratings=ratings("Yes", "5", "OK"),
        )
        session.refresh(assignment)
        assert assignment.status == "open" and assignment.review_id is None


class TestPages:
    def test_score_flow(self, session: Session, client: TestClient, cal: Cal) -> None:
        login_as(client, cal.r2)
        listing = client.get("/calibration")
        assert listing.status_code == 200 and "March calibration" in listing.text
        answer = client.post(
            f"/calibration/{cal.cal.id}/conversations/{cal.convs['c1'].id}/score", follow_redirects=False
        )
        assert answer.status_code == 303
        review_url = answer.headers["location"]
        page = client.get(review_url)
        assert page.status_code == 200 and "blind until revealed" in page.text
        review_id = int(review_url.rstrip("/").rsplit("/", 1)[1])
        for key, option in (("greeting", "Yes"), ("accuracy", "4"), ("tone", "OK")):
            assert (
                client.post(f"/reviews/{review_id}/criteria/{key}", data={"option": option}).status_code
                == 200
            )
        assert client.post(f"/reviews/{review_id}/submit", data={}).status_code == 200
        review = session.get(Review, review_id)
        assert review is not None and review.status == "submitted" and review.kind == ReviewKind.calibration
        again = client.post(
            f"/calibration/{cal.cal.id}/conversations/{cal.convs['c1'].id}/score", follow_redirects=False
        )
        assert again.headers["location"] == review_url  # the same review, not a second one

    def test_create_form(self, session: Session, client: TestClient, cal: Cal) -> None:
        login_as(client, cal.manager)
        assert client.get("/calibration/new").status_code == 200
        form = {
            "name": "Form session",
            "scorecard_id": str(cal.version.scorecard_id),
            "source": "hand",
            "conversation_ids": [str(cal.convs["c1"].id)],
            "ids": str(cal.convs["c2"].id),
            "participant_ids": [str(cal.r1.id), str(cal.r2.id)],
            "due": "2026-12-01",
        }
        answer = client.post("/calibration/new", data=form, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        detail = client.get(answer.headers["location"])
        assert detail.status_code == 200 and "Form session" in detail.text and "Reveal answers" in detail.text
        bad = client.post("/calibration/new", data=form | {"ids": "12345678"})
        assert bad.status_code == 422 and "12345678" in bad.text and "Form session" in bad.text
        bad_date = client.post("/calibration/new", data=form | {"due": "soon"})
        assert bad_date.status_code == 422 and "not a date" in bad_date.text

    def test_reviewer_may_not_create(self, client: TestClient, cal: Cal) -> None:
        login_as(client, cal.r1)
        assert client.get("/calibration/new").status_code == 403

    def test_reveal_compare_consensus_agreement(
        self, session: Session, client: TestClient, scored: Cal
    ) -> None:
        login_as(client, scored.manager)
        assert client.post(f"/calibration/{scored.cal.id}/reveal").status_code == 200
        c1 = scored.convs["c1"].id
        page = client.get(f"/calibration/{scored.cal.id}/conversations/{c1}")
        assert page.status_code == 200
        assert 'id="crit-accuracy" class="cal-disagree"' in page.text  # 5, 5, 3
        assert 'id="crit-greeting" class=""' in page.text
        assert "r3 on c1" in page.text  # comments shown
        row = client.post(
            f"/calibration/{scored.cal.id}/conversations/{c1}/consensus/accuracy",
            data={"option": "5", "comment": "agreed"},
            headers={"HX-Request": "true"},
        )
        assert row.status_code == 200 and "Saved" in row.text
        saved = session.exec(select(CalibrationConsensus)).one()
        assert (saved.option_label, saved.option_score, saved.comment) == ("5", 1.0, "agreed")
        bad = client.post(
            f"/calibration/{scored.cal.id}/conversations/{c1}/consensus/accuracy",
            data={"option": "9"},
            headers={"HX-Request": "true"},
        )
        assert bad.status_code == 422 and "not an option" in bad.text
        agreement = client.get(f"/calibration/{scored.cal.id}/agreement")
        assert agreement.status_code == 200
        assert "Clarify the guidance of <strong>Correct solution</strong>" in agreement.text
        assert "0.545" in agreement.text and "-0.125" in agreement.text
        assert "cal-diverging" in agreement.text
        csv = client.get(f"/calibration/{scored.cal.id}/agreement.csv")
        assert csv.status_code == 200 and csv.text.startswith("section,id,name")
        assert "criterion,accuracy,Correct solution,0.5455,-0.1250" in csv.text
        assert ",-10.0000," in csv.text  # r3 vs the benchmark, a number, not guarded text

    def test_bad_ids(self, client: TestClient, scored: Cal) -> None:
        login_as(client, scored.manager)
        assert client.get("/calibration/999999").status_code == 404
        assert client.get("/calibration/abc").status_code == 404
        assert client.get(f"/calibration/{scored.cal.id}/conversations/999999").status_code in (404, 409)

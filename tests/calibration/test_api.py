"""/api/v1/calibrations: create, score, reveal, consensus, agreement — figures computed by hand (helpers)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from qa.calibration import service as calibration_service
from qa.models import AuditLog, Notification, Review, ReviewKind
from tests.calibration.helpers import Cal, as_json
from tests.factories import bearer


def _body(c: Cal, **overrides: Any) -> dict[str, Any]:
    body = {
        "name": "API session",
        "scorecard_id": c.version.scorecard_id,
        "conversation_ids": [c.convs["c1"].id, c.convs["c2"].id],
        "participant_ids": [c.r1.id, c.r2.id],
    }
    return body | overrides


class TestCreate:
    def test_created_with_frozen_version_and_benchmark_added(
        self, session: Session, api: TestClient, cal: Cal
    ) -> None:
        answer = api.post(
            "/api/v1/calibrations",
            json=_body(cal, benchmark_id=cal.r3.id),
            headers=bearer(session, cal.manager),
        )
        assert answer.status_code == 201, answer.text
        data = answer.json()
        assert data["status"] == "open" and data["version_id"] == cal.version.id and data["version"] == 1
        assert data["conversation_ids"] == [cal.convs["c1"].id, cal.convs["c2"].id]
        assert {p["user_id"] for p in data["participants"]} == {cal.r1.id, cal.r2.id, cal.r3.id}
        assert [p["is_benchmark"] for p in data["participants"] if p["user_id"] == cal.r3.id] == [True]
        notified = session.exec(
            select(Notification.user_id).where(
                Notification.kind == "calibration", Notification.link == f"/calibration/{data['id']}"
            )
        )
        assert set(notified) == {cal.r1.id, cal.r2.id, cal.r3.id}
        assert (
            session.exec(
                select(AuditLog).where(
                    AuditLog.action == "calibration.create", AuditLog.entity_id == data["id"]
                )
            ).first()
            is not None
        )

    @pytest.mark.parametrize(
        ("overrides", "needle"),
        [
            ({"conversation_ids": [999999]}, "999999"),
            ({"participant_ids": [999998, 1]}, "999998"),
            ({"participant_ids": []}, "at least two"),
            ({"conversation_ids": []}, "at least one conversation"),
            ({"scorecard_id": 999997}, "999997"),
            ({"name": "  "}, "name"),
            ({"benchmark_id": 999996}, "999996"),
        ],
    )
    def test_bad_ids_are_422_naming_them(
        self, session: Session, api: TestClient, cal: Cal, overrides: dict[str, Any], needle: str
    ) -> None:
        answer = api.post(
            "/api/v1/calibrations", json=_body(cal, **overrides), headers=bearer(session, cal.manager)
        )
        assert answer.status_code == 422, answer.text
        assert needle in str(answer.json()["detail"])

    def test_foreign_conversation_is_422(self, session: Session, api: TestClient, cal: Cal) -> None:
        answer = api.post("/api/v1/calibrations", json=_body(cal), headers=bearer(session, cal.other_manager))
        assert answer.status_code == 422
        assert str(cal.convs["c1"].id) in str(answer.json()["detail"])

    def test_participant_who_is_the_agent_is_422(self, session: Session, api: TestClient, cal: Cal) -> None:
        body = _body(cal, conversation_ids=[cal.convs["c4"].id], participant_ids=[cal.r1.id, cal.peer.id])
        answer = api.post("/api/v1/calibrations", json=body, headers=bearer(session, cal.manager))
        assert answer.status_code == 422
        assert "own conversation" in str(answer.json()["detail"]) and str(cal.convs["c4"].id) in str(
            answer.json()["detail"]
        )

    @pytest.mark.parametrize(
        "body",
        [
            {"name": "x"},
            {"name": "x", "scorecard_id": "1", "participant_ids": [1]},
            {"name": "x", "scorecard_id": 1, "participant_ids": ["a"]},
            [],
        ],
    )
    def test_wrong_types_are_422(self, session: Session, api: TestClient, cal: Cal, body: Any) -> None:
        answer = api.post("/api/v1/calibrations", json=body, headers=bearer(session, cal.manager))
        assert answer.status_code == 422

    def test_reviewers_may_not_create(self, session: Session, api: TestClient, cal: Cal) -> None:
        assert (
            api.post("/api/v1/calibrations", json=_body(cal), headers=bearer(session, cal.r1)).status_code
            == 403
        )

    def test_anonymous_is_401(self, api: TestClient, cal: Cal) -> None:
        assert api.post("/api/v1/calibrations", json=_body(cal)).status_code == 401


class TestScoring:
    def _post(self, session: Session, api: TestClient, c: Cal, who: str, conv: str, **extra: Any) -> Any:
        body = {"conversation_id": c.convs[conv].id, "ratings": as_json("Yes", "5", "OK")} | extra
        return api.post(
            f"/api/v1/calibrations/{c.cal.id}/reviews", json=body, headers=bearer(session, getattr(c, who))
        )

    def test_submit_then_conflict(self, session: Session, api: TestClient, cal: Cal) -> None:
        first = self._post(session, api, cal, "r2", "c1")
        assert first.status_code == 201, first.text
        # 1*1 + 3*1 + 2*0.6 over 6 = 5.2 / 6
        assert first.json()["score"] == pytest.approx(520 / 6) and first.json()["passed"] is True
        review = session.get(Review, first.json()["id"])
        assert (
            review is not None
            and review.kind == ReviewKind.calibration
            and review.calibration_id == cal.cal.id
        )
        assert review.version_id == cal.version.id
        assert self._post(session, api, cal, "r2", "c1").status_code == 409

    def test_only_participants(self, session: Session, api: TestClient, cal: Cal) -> None:
        assert self._post(session, api, cal, "outsider", "c1").status_code == 404  # can't see the session
        assert self._post(session, api, cal, "manager", "c1").status_code == 403  # sees it, doesn't take part

    def test_only_session_conversations(self, session: Session, api: TestClient, cal: Cal) -> None:
        answer = self._post(session, api, cal, "r2", "c4")
        assert answer.status_code == 422 and "not part of this session" in str(answer.json()["detail"])

    def test_bad_ratings_name_the_field(self, session: Session, api: TestClient, cal: Cal) -> None:
        body = {"conversation_id": cal.convs["c1"].id, "ratings": as_json("Yes", "9", "OK")}
        answer = api.post(
            f"/api/v1/calibrations/{cal.cal.id}/reviews", json=body, headers=bearer(session, cal.r2)
        )
        assert answer.status_code == 422 and "'9' is not an option" in answer.text

    def test_wrong_scorecard_is_422(self, session: Session, api: TestClient, cal: Cal) -> None:
        assert self._post(session, api, cal, "r2", "c1", scorecard_id=999).status_code == 422

    def test_closed_after_reveal(self, session: Session, api: TestClient, cal: Cal) -> None:
        assert (
            api.post(
                f"/api/v1/calibrations/{cal.cal.id}/reveal", headers=bearer(session, cal.manager)
            ).status_code
            == 200
        )
        assert self._post(session, api, cal, "r2", "c1").status_code == 409

    def test_unknown_session_is_404(self, session: Session, api: TestClient, cal: Cal) -> None:
        body = {"conversation_id": cal.convs["c1"].id, "ratings": as_json("Yes", "5", "OK")}
        for ident in (999999, 2**40):
            answer = api.post(
                f"/api/v1/calibrations/{ident}/reviews", json=body, headers=bearer(session, cal.r2)
            )
            assert answer.status_code == 404


class TestReveal:
    def test_only_managers_of_the_session(self, session: Session, api: TestClient, scored: Cal) -> None:
        url = f"/api/v1/calibrations/{scored.cal.id}/reveal"
        assert api.post(url, headers=bearer(session, scored.r1)).status_code == 403
        assert api.post(url, headers=bearer(session, scored.other_manager)).status_code == 404
        answer = api.post(url, headers=bearer(session, scored.manager))
        assert answer.status_code == 200 and answer.json()["status"] == "revealed"
        assert api.post(url, headers=bearer(session, scored.admin)).status_code == 409
        assert (
            session.exec(select(AuditLog).where(AuditLog.action == "calibration.reveal")).first() is not None
        )


class TestAgreement:
    @pytest.fixture
    def data(self, session: Session, api: TestClient, scored: Cal) -> dict[str, Any]:
        calibration_service.reveal(session, actor=scored.manager, session_id=scored.cal.id)
        calibration_service.set_consensus(
            session,
            actor=scored.manager,
            session_id=scored.cal.id,
            conversation_id=scored.convs["c1"].id,
            criterion_key="accuracy",
            option_label="5",
            comment="The refund was right",
        )
        answer = api.get(
            f"/api/v1/calibrations/{scored.cal.id}/agreement", headers=bearer(session, scored.r2)
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def test_criteria(self, data: dict[str, Any]) -> None:
        by_key = {c["criterion"]: c for c in data["criteria"]}
        assert list(by_key) == ["greeting", "accuracy", "tone"]
        greeting, accuracy, tone = by_key["greeting"], by_key["accuracy"], by_key["tone"]
        # Greeting: everyone "Yes": no variation, alpha undefined; all pairs agree.
        assert greeting["alpha_nominal"] is None and greeting["percent_agreement"] == 1
        assert greeting["benchmark_alignment"] == 1 and greeting["n_units"] == 2
        # Accuracy: c1 {5,5,3}, c2 {4,4,4}. Nominal 1 - 5*2/22; ordinal on ranks 1 - 5*40.5/180;
        # interval on scores 1 - 5*0.5/2.125 (coincidence matrices worked by hand).
        assert accuracy["alpha_nominal"] == pytest.approx(12 / 22)
        assert accuracy["alpha_ordinal"] == pytest.approx(-0.125)
        assert accuracy["alpha_interval"] == pytest.approx(1 - 2.5 / 2.125)
        assert accuracy["percent_agreement"] == pytest.approx(4 / 6)
        # vs benchmark r1: r2 (1, 1), r3 (0.5, 1)
        assert accuracy["benchmark_alignment"] == pytest.approx(3.5 / 4)
        assert accuracy["n_units"] == 2 and accuracy["n_ratings"] == 6
        # Tone: c1 Great x3, c2 Great, Great, N/A (N/A is a category for nominal): 4 of 6 pairs agree.
        assert tone["percent_agreement"] == pytest.approx(4 / 6)
        assert accuracy["flagged"] is True and greeting["flagged"] is False
        assert accuracy["reading"] == "not reliable"

    def test_reviewers(self, data: dict[str, Any], scored: Cal) -> None:
        by_id = {r["reviewer_id"]: r for r in data["reviewers"]}
        assert set(by_id) == {scored.r1.id, scored.r2.id, scored.r3.id}
        assert by_id[scored.r1.id]["deviation_from_benchmark"] is None and by_id[scored.r1.id]["is_benchmark"]
        assert by_id[scored.r2.id]["deviation_from_benchmark"] == pytest.approx(0)
        # r3's pairs with r1: greeting 0, 0; accuracy -50, 0; tone 0 (c2 N/A left out): -50 / 5 points
        assert by_id[scored.r3.id]["deviation_from_benchmark"] == pytest.approx(-10)
        # consensus only on c1 accuracy ("5"): r3 chose "3"
        assert by_id[scored.r3.id]["deviation_from_consensus"] == pytest.approx(-50)
        assert by_id[scored.r1.id]["deviation_from_consensus"] == pytest.approx(0)
        assert by_id[scored.r3.id]["name"] == "Rosa Three"

    def test_conversations(self, data: dict[str, Any], scored: Cal) -> None:
        rows = {r["conversation_id"]: r for r in data["conversations"]}
        c1, c2, c3 = (rows[scored.convs[k].id] for k in ("c1", "c2", "c3"))
        assert c1["n_reviews"] == 3 and c1["mean"] == pytest.approx(275 / 3)
        assert (c1["min"], c1["max"]) == (75, 100) and c1["stdev"] == pytest.approx((625 / 3) ** 0.5)
        assert c2["min"] == pytest.approx(81.25) and c2["max"] == pytest.approx(87.5)
        assert c3["n_reviews"] == 0 and c3["mean"] is None  # r3's draft is not counted

    def test_overall(self, data: dict[str, Any]) -> None:
        assert data["overall"]["n_units"] == 2
        # pairs over the 6 (conversation, criterion) units, 3 each: 3+1+3 on c1, 3+3+1 on c2
        assert data["overall"]["percent_agreement"] == pytest.approx(14 / 18)

    def test_unknown_is_404_and_agents_404(self, session: Session, api: TestClient, scored: Cal) -> None:
        assert (
            api.get("/api/v1/calibrations/999999/agreement", headers=bearer(session, scored.r1)).status_code
            == 404
        )
        url = f"/api/v1/calibrations/{scored.cal.id}/agreement"
        assert api.get(url, headers=bearer(session, scored.agent_user)).status_code == 404
        assert api.get(url, headers=bearer(session, scored.outsider)).status_code == 404


class TestConsensusApi:
    def test_put_and_errors(self, session: Session, api: TestClient, scored: Cal) -> None:
        url = f"/api/v1/calibrations/{scored.cal.id}/consensus"
        body = {"conversation_id": scored.convs["c2"].id, "criterion": "tone", "option": None}
        assert (
            api.put(url, json=body, headers=bearer(session, scored.manager)).status_code == 409
        )  # not revealed
        calibration_service.reveal(session, actor=scored.manager, session_id=scored.cal.id)
        answer = api.put(url, json=body, headers=bearer(session, scored.manager))
        assert answer.status_code == 200 and answer.json()["option"] is None
        assert (
            api.put(url, json=body | {"option": "Nope"}, headers=bearer(session, scored.manager)).status_code
            == 422
        )
        assert (
            api.put(
                url, json=body | {"criterion": "nope"}, headers=bearer(session, scored.manager)
            ).status_code
            == 404
        )
        assert api.put(url, json=body, headers=bearer(session, scored.r1)).status_code == 403

"""/api/v1/reviews: create and read reviews with bearer tokens; strict JSON; role rules."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.reviews.helpers import GOOD, World, audit_actions, rated_review, token_for


def _body(world: World, ratings: dict[str, str | None] | None = None, **extra: Any) -> dict[str, Any]:
    values = GOOD if ratings is None else ratings
    return {
        "conversation_id": world.conversation.id,
        "scorecard_id": world.version.scorecard_id,
        "ratings": [{"criterion": k, "option": v} for k, v in values.items()],
        **extra,
    }


class TestCreate:
    @pytest.mark.parametrize(
        ("ratings", "score", "failed", "passed"),
        [
            (GOOD, 100 * 4.45 / 6, False, False),  # 74.1666…
            (
                {"greeting": "Yes", "accuracy": "4", "tone": None},
                81.25,
                False,
                True,
            ),  # N/A left out of both sums
            ({"greeting": "Yes", "accuracy": "5", "tone": "Great"}, 100.0, False, True),
            ({"greeting": "Yes", "accuracy": "2", "tone": "Great"}, 0.0, True, False),  # critical below 0.5
            ({"greeting": "No", "accuracy": "3", "tone": "Poor"}, 25.0, False, False),  # 0.5 is not below 0.5
        ],
    )
    def test_scores_match_the_product_rules(
        self,
        api: TestClient,
        session: Session,
        world: World,
        ratings: dict[str, str | None],
        score: float,
        failed: bool,
        passed: bool,
    ) -> None:
        response = api.post(
            "/api/v1/reviews", json=_body(world, ratings), headers=token_for(session, world.reviewer)
        )
        assert response.status_code == 201, response.text
        data = response.json()
        assert set(data) == {"id", "score", "failed_critical", "passed"}
        assert data["score"] == pytest.approx(score, abs=1e-9)
        assert (data["failed_critical"], data["passed"]) == (failed, passed)
        assert [e.action for e in audit_actions(session, data["id"])] == ["review.create"]

    def test_comment_root_cause_and_read_back(self, api: TestClient, session: Session, world: World) -> None:
        headers = token_for(session, world.reviewer)
        body = _body(world, comment="Solid")
        body["ratings"][2].update(comment="A bit flat", root_cause="Robotic")
        created = api.post("/api/v1/reviews", json=body, headers=headers).json()
        data = api.get(f"/api/v1/reviews/{created['id']}", headers=headers).json()
        assert data["status"] == "submitted" and data["kind"] == "manual" and data["comment"] == "Solid"
        assert (data["reviewer_id"], data["agent_id"]) == (world.reviewer.id, world.agent.id)
        assert (data["scorecard_id"], data["version"]) == (world.version.scorecard_id, 1)
        assert data["ratings"] == [
            {"criterion": "greeting", "option": "Yes", "score": 1.0, "comment": "", "root_cause": None},
            {"criterion": "accuracy", "option": "4", "score": 0.75, "comment": "", "root_cause": None},
            {
                "criterion": "tone",
                "option": "OK",
                "score": 0.6,
                "comment": "A bit flat",
                "root_cause": "Robotic",
            },
        ]
        assert data["score"] == pytest.approx(74.16666666666667) and data["submitted_at"]

    @pytest.mark.parametrize(
        ("mutate", "loc"),
        [
            (lambda b: b["ratings"].append({"criterion": "bogus", "option": "x"}), "ratings[3].criterion"),
            (lambda b: b["ratings"][1].update(option="9"), "ratings[1].option"),
            (lambda b: b["ratings"][0].update(option=None), "ratings[0].option"),
            (lambda b: b["ratings"][2].update(root_cause="Late"), "ratings[2].root_cause"),
            (lambda b: b["ratings"].pop(), "ratings"),
        ],
    )
    def test_rule_errors_are_422_naming_the_field(
        self, api: TestClient, session: Session, world: World, mutate: Any, loc: str
    ) -> None:
        body = _body(world)
        mutate(body)
        response = api.post("/api/v1/reviews", json=body, headers=token_for(session, world.reviewer))
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == [loc]

    @pytest.mark.parametrize(
        "change",
        [
            {"conversation_id": "1"},
            {"scorecard_id": 1.5},
            {"ratings": "all good"},
            {"ratings": [{"criterion": "greeting", "option": 1}]},
            {"ratings": [{"criterion": "greeting"}]},
            {"comment": 5},
            {"reviewer_id": True},
            {"extra_field": 1},
            {"conversation_id": -3},
        ],
    )
    def test_wrong_types_are_422(
        self, api: TestClient, session: Session, world: World, change: dict[str, Any]
    ) -> None:
        response = api.post(
            "/api/v1/reviews", json={**_body(world), **change}, headers=token_for(session, world.reviewer)
        )
        assert response.status_code == 422
        assert isinstance(response.json()["detail"], list)

    def test_malformed_json_is_422(self, api: TestClient, session: Session, world: World) -> None:
        headers = {**token_for(session, world.reviewer), "Content-Type": "application/json"}
        assert api.post("/api/v1/reviews", content=b"{not json", headers=headers).status_code == 422

    def test_unknown_or_invisible_conversation_is_404(
        self, api: TestClient, session: Session, world: World
    ) -> None:
        headers = token_for(session, world.other_manager)
        assert api.post("/api/v1/reviews", json=_body(world), headers=headers).status_code == 404
        assert (
            api.post("/api/v1/reviews", json=_body(world, conversation_id=10**9), headers=headers).status_code
            == 404
        )
        assert (
            api.post(
                "/api/v1/reviews",
                json=_body(world, scorecard_id=10**9),
                headers=token_for(session, world.reviewer),
            ).status_code
            == 404
        )

    def test_agents_get_403_and_anonymous_401(self, api: TestClient, session: Session, world: World) -> None:
        assert (
            api.post(
                "/api/v1/reviews", json=_body(world), headers=token_for(session, world.agent_user)
            ).status_code
            == 403
        )
        response = api.post("/api/v1/reviews", json=_body(world))
        assert response.status_code == 401 and "detail" in response.json()

    def test_reviewer_id_rules(self, api: TestClient, session: Session, world: World) -> None:
        as_reviewer = api.post(
            "/api/v1/reviews",
            json=_body(world, reviewer_id=world.other_reviewer.id),
            headers=token_for(session, world.reviewer),
        )
        assert as_reviewer.status_code == 403
        not_a_reviewer = api.post(
            "/api/v1/reviews",
            json=_body(world, reviewer_id=world.agent_user.id),
            headers=token_for(session, world.manager),
        )
        assert not_a_reviewer.status_code == 422 and not_a_reviewer.json()["detail"][0]["loc"] == [
            "reviewer_id"
        ]
        ok = api.post(
            "/api/v1/reviews",
            json=_body(world, reviewer_id=world.other_reviewer.id),
            headers=token_for(session, world.manager),
        )
        assert ok.status_code == 201
        read = api.get(f"/api/v1/reviews/{ok.json()['id']}", headers=token_for(session, world.other_reviewer))
        assert read.json()["reviewer_id"] == world.other_reviewer.id

    def test_duplicate_is_409(self, api: TestClient, session: Session, world: World) -> None:
        headers = token_for(session, world.reviewer)
        assert api.post("/api/v1/reviews", json=_body(world), headers=headers).status_code == 201
        assert api.post("/api/v1/reviews", json=_body(world), headers=headers).status_code == 409


class TestRead:
    def test_agent_reads_own_submitted_review_only(
        self, api: TestClient, session: Session, world: World
    ) -> None:
        own = rated_review(session, world)
        foreign = rated_review(session, world, conversation=world.other_conversation)
        headers = token_for(session, world.agent_user)
        assert api.get(f"/api/v1/reviews/{own.id}", headers=headers).status_code == 200
        response = api.get(f"/api/v1/reviews/{foreign.id}", headers=headers)
        assert response.status_code == 404 and response.json() == {
            "detail": f"Review {foreign.id} not found."
        }

    def test_agent_never_reads_drafts_or_calibration(
        self, api: TestClient, session: Session, world: World
    ) -> None:
        draft = rated_review(session, world, submit=False)
        calibration = rated_review(session, world, reviewer=world.other_reviewer)
        calibration.kind = "calibration"  # type: ignore[assignment]
        session.flush()
        headers = token_for(session, world.agent_user)
        assert api.get(f"/api/v1/reviews/{draft.id}", headers=headers).status_code == 404
        assert api.get(f"/api/v1/reviews/{calibration.id}", headers=headers).status_code == 404

    def test_reviewers_read_their_own_and_managers_their_teams(
        self, api: TestClient, session: Session, world: World
    ) -> None:
        review = rated_review(session, world)
        assert (
            api.get(
                f"/api/v1/reviews/{review.id}", headers=token_for(session, world.other_reviewer)
            ).status_code
            == 404
        )
        assert (
            api.get(f"/api/v1/reviews/{review.id}", headers=token_for(session, world.manager)).status_code
            == 200
        )
        assert (
            api.get(
                f"/api/v1/reviews/{review.id}", headers=token_for(session, world.other_manager)
            ).status_code
            == 404
        )

    @pytest.mark.parametrize(
        ("path", "status"), [("abc", 422), ("999999", 404), ("0", 404), ("99999999999999999999999", 404)]
    )
    def test_bad_ids(self, api: TestClient, session: Session, world: World, path: str, status: int) -> None:
        response = api.get(f"/api/v1/reviews/{path}", headers=token_for(session, world.admin))
        assert response.status_code == status and "detail" in response.json()

    def test_openapi_documents_the_routes(self, api: TestClient) -> None:
        paths = api.get("/api/v1/openapi.json").json()["paths"]
        assert "post" in paths["/api/v1/reviews"] and "get" in paths["/api/v1/reviews/{review_id}"]

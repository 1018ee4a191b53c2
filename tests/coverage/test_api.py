"""GET /api/v1/coverage: the same report as JSON, with the same role rules and errors."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.coverage.helpers import RANGE, Org
from tests.factories import bearer


def get(api: TestClient, session: Session, user: object, **params: str):  # type: ignore[no-untyped-def]
    return api.get("/api/v1/coverage", params=params, headers=bearer(session, user))  # type: ignore[arg-type]


class TestReport:
    def test_numbers_per_agent_and_week(self, api: TestClient, session: Session, org: Org) -> None:
        response = get(api, session, org.manager_a, **RANGE)
        assert response.status_code == 200
        body = response.json()
        assert (body["start"], body["end"], body["period"], body["team_id"]) == (
            "2026-03-02", "2026-03-15", "week", None)
        assert (body["confidence"], body["target"], body["conversations_without_agent"]) == (0.95, 5.0, 1)
        assert [p["label"] for p in body["periods"]] == [
            "Week 11 · 9 – 15 Mar 2026", "Week 10 · 2 – 8 Mar 2026"]
        week1 = body["periods"][1]
        ann = next(a for a in week1["agents"] if a["agent"] == "Ann Archer")
        assert ann["agent_id"] == org.ann.id
        assert (ann["handled"], ann["reviewed"], ann["reviews"], ann["scored"]) == (10, 4, 4, 4)
        assert ann["coverage"] == pytest.approx(40.0)
        assert ann["score"] == pytest.approx(85.0)
        assert ann["margin"] == pytest.approx(16.77296, abs=1e-5)
        assert ann["interval"] == pytest.approx([68.22704, 100.0], abs=1e-5)
        assert ann["reviews_needed"] == 5
        bob = next(a for a in week1["agents"] if a["agent"] == "Bob Baker")
        assert (bob["score"], bob["sd"], bob["margin"], bob["interval"], bob["reviews_needed"]) == (
            60.0, None, None, None, None)
        assert week1["total"]["agent_id"] is None and week1["total"]["handled"] == 13

    def test_team_and_period(self, api: TestClient, session: Session, org: Org) -> None:
        body = get(api, session, org.admin, **RANGE, team=str(org.team_b.id), period="all").json()
        assert body["team"] == "Beta support" and len(body["periods"]) == 1
        assert [a["agent"] for a in body["periods"][0]["agents"]] == ["Cy Cole"]

    def test_is_documented(self, api: TestClient) -> None:
        schema = api.get("/api/v1/openapi.json").json()
        operation = schema["paths"]["/api/v1/coverage"]["get"]
        assert {p["name"] for p in operation["parameters"]} == {"start", "end", "team", "period"}


class TestRules:
    def test_needs_a_token(self, api: TestClient) -> None:
        assert api.get("/api/v1/coverage").status_code == 401

    def test_agents_are_refused(self, api: TestClient, session: Session, org: Org) -> None:
        response = get(api, session, org.agent_user, **RANGE)
        assert response.status_code == 403
        assert "detail" in response.json()

    def test_reviewer_scope(self, api: TestClient, session: Session, org: Org) -> None:
        body = get(api, session, org.reviewer_b, **RANGE).json()
        assert {a["agent"] for p in body["periods"] for a in p["agents"]} == {"Cy Cole"}

    @pytest.mark.parametrize("team", ["other", "987654", "x"])
    def test_unknown_or_foreign_team_is_404(self, api: TestClient, session: Session, org: Org,
                                            team: str) -> None:
        value = str(org.team_b.id) if team == "other" else team
        response = get(api, session, org.manager_a, **RANGE, team=value)
        assert response.status_code == 404
        assert "not found" in response.json()["detail"]

    @pytest.mark.parametrize(("params", "field"), [
        ({"start": "2026-02-30"}, "start"),
        ({"start": "2026-03-15", "end": "2026-03-01"}, "start"),
        ({"period": "year"}, "period"),
        ({"end": "x" * 41}, "end"),
    ])
    def test_bad_input_is_422_naming_the_field(self, api: TestClient, session: Session, org: Org,
                                               params: dict[str, str], field: str) -> None:
        response = get(api, session, org.manager_a, **params)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][-1] == field

"""GET /api/v1/dashboard: the figures of dashboard_data.py as JSON, the role rules and bad input."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import bearer
from tests.reporting.dashboard_data import (  # noqa: F401 (fixtures)
    RANGE,
    Org,
    app_fixture,
    dashboard_app_fixture,
    dashboard_db_fixture,
    org_fixture,
    session_fixture,
)

approx = pytest.approx


def get(api: TestClient, session: Session, user: Any, **params: Any) -> Any:
    return api.get("/api/v1/dashboard", params={**RANGE, **params}, headers=bearer(session, user))


class TestFigures:
    def test_every_panel(self, api: TestClient, session: Session, org: Org) -> None:
        response = get(api, session, org.admin)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["filters"] == {
            "range": "custom",
            "start": "2026-03-02",
            "end": "2026-03-15",
            "previous_start": "2026-02-16",
            "previous_end": "2026-03-01",
            "team": None,
            "channel": None,
            "scorecard": None,
        }
        overall = body["overall"]
        # 706.25 / 10; previous (75 + 93.75 + 100) / 3
        assert overall["reviews"] == 10 and overall["iqs"] == approx(70.625)
        assert overall["previous_iqs"] == approx(268.75 / 3) and overall["change"] == approx(
            70.625 - 268.75 / 3
        )
        assert (overall["pass_rate"], overall["critical_fails"], overall["avg_seconds"]) == (50, 1, 360)
        weeks = body["trend"]
        assert [w["week"] for w in weeks] == ["2026-03-02", "2026-03-09"]
        assert weeks[0]["all"]["iqs"] == approx(53.125) and weeks[1]["all"]["reviews"] == 6
        assert weeks[0]["teams"][str(org.beta.id)]["iqs"] == approx(43.75)
        assert [(t["team"], t["quality"]["iqs"]) for t in body["teams"]] == [
            ("Alpha", approx(68.75)),
            ("Beta", approx(73.4375)),
        ]
        agents = {a["agent"]: a for a in body["agents"]}
        assert [a["agent"] for a in body["agents"]] == ["Bob", "Cy", "Dee", "Ann", "Eve"]
        assert agents["Cy"] == {
            "agent_id": org.agents["Cy"].id,
            "agent": "Cy",
            "team_id": org.beta.id,
            "team": "Beta",
            "quality": {
                "reviews": 2,
                "scored": 2,
                "iqs": 65.625,
                "passed": 1,
                "pass_rate": 50.0,
                "critical_fails": 0,
                "avg_seconds": 350.0,
            },
            "previous_iqs": 100.0,
            "change": -34.375,
            "conversations": 3,
            "reviewed_conversations": 1,
            "coverage": approx(100 / 3),
        }
        criteria = body["criteria"]
        assert criteria["rows_are"] == "teams"
        assert [c["key"] for c in criteria["columns"]] == ["accuracy", "tone", "empathy", "greeting"]
        assert criteria["all"]["cells"]["tone"] == {"n": 9, "mean": approx(250 / 3)}
        alpha = next(r for r in criteria["rows"] if r["id"] == org.alpha.id)
        assert alpha["cells"]["accuracy"] == {"n": 6, "mean": approx(475 / 6)}
        reviewers = {r["reviewer"]: r for r in body["reviewers"]}
        assert reviewers["Sam"]["leniency"] == approx(37.5) and reviewers["Sam"]["overlap_agents"] == 2
        assert reviewers["Sam"]["disputes"] == {
            "raised": 2,
            "lost": 1,
            "rejected": 0,
            "open": 1,
            "rate": approx(200 / 3),
        }
        assert (
            reviewers["Rita"]["leniency"] == approx(-15.625)
            and reviewers["Rita"]["quality"]["iqs"] == 60.9375
        )

    def test_agents_heat_map_sorting_and_narrowing(self, api: TestClient, session: Session, org: Org) -> None:
        body = get(
            api, session, org.admin, team=org.alpha.id, heat="agents", sort="coverage", dir="desc"
        ).json()
        assert [a["agent"] for a in body["agents"]] == ["Bob", "Ann", "Eve"]  # 75, 60, 0
        rows = {r["name"]: r for r in body["criteria"]["rows"]}
        assert body["criteria"]["rows_are"] == "agents" and set(rows) == {"Ann", "Bob"}
        assert rows["Bob"]["cells"]["empathy"] == {"n": 2, "mean": 50.0}
        body = get(api, session, org.admin, q="E", below="90").json()
        assert [a["agent"] for a in body["agents"]] == ["Dee"]  # Eve has no IQS
        assert body["overall"]["reviews"] == 10  # the narrowing is the agents table's only

    def test_a_preset(self, api: TestClient, session: Session, org: Org) -> None:
        response = api.get("/api/v1/dashboard", params={"range": "7d"}, headers=bearer(session, org.admin))
        filters = response.json()["filters"]
        assert response.status_code == 200 and filters["range"] == "7d"
        assert filters["start"] < filters["end"]


class TestRules:
    def test_agents_are_forbidden_and_a_token_is_needed(
        self, api: TestClient, session: Session, org: Org
    ) -> None:
        assert get(api, session, org.agent_user).status_code == 403
        assert api.get("/api/v1/dashboard").status_code == 401

    def test_a_manager_sees_only_their_team(self, api: TestClient, session: Session, org: Org) -> None:
        body = get(api, session, org.manager_alpha).json()
        assert body["overall"]["iqs"] == approx(68.75)
        assert {a["agent"] for a in body["agents"]} == {"Ann", "Bob", "Eve"}
        assert [t["team"] for t in body["teams"]] == ["Alpha"]
        assert all(set(w["teams"]) <= {str(org.alpha.id)} for w in body["trend"])
        assert "Beta" not in str(body) and "Cy" not in str(body)
        response = get(api, session, org.manager_alpha, team=org.beta.id)
        assert response.status_code == 404 and response.json() == {"detail": f"Team {org.beta.id} not found."}

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"start": "2026-02-31"}, "start"),
            ({"range": "forever"}, "range"),
            ({"channel": "fax"}, "channel"),
            ({"team": "x"}, "team"),
            ({"heat": "agents"}, "heat"),
            ({"sort": "x"}, "sort"),
            ({"min_reviews": "1.5e99"}, "min_reviews"),
            ({"below": "inf"}, "below"),
            ({"start": "2026-03-15", "end": "2026-03-01"}, "start"),
        ],
    )
    def test_bad_input_is_a_422_naming_the_field(
        self, api: TestClient, session: Session, org: Org, params: dict[str, str], field: str
    ) -> None:
        response = get(api, session, org.admin, **params)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == [field]

    def test_too_long_input_is_refused(self, api: TestClient, session: Session, org: Org) -> None:
        assert get(api, session, org.admin, q="x" * 101).status_code == 422

    def test_documented(self, api: TestClient) -> None:
        schema = api.get("/api/v1/openapi.json").json()
        operation = schema["paths"]["/api/v1/dashboard"]["get"]
        assert "leniency" in str(schema["components"]["schemas"]["ReviewerOut"]).lower()
        assert {p["name"] for p in operation["parameters"]} >= {
            "start",
            "end",
            "team",
            "channel",
            "scorecard",
        }

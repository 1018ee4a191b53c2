"""GET /api/v1/agents/{id}/report against the hand-computed figures of report_data.py."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import bearer
from tests.reporting.report_data import PERIOD, Data

approx = pytest.approx


def url(org: Data, agent: str = "dana") -> str:
    return f"/api/v1/agents/{getattr(org, agent).id}/report"


class TestReport:
    def test_the_agents_own_report(self, report_client: TestClient, report_org: Data, db: Session) -> None:
        response = report_client.get(url(report_org), params=PERIOD, headers=bearer(db, report_org.dana_user))
        assert response.status_code == 200
        body = response.json()
        assert body["agent"] == {
            "id": report_org.dana.id,
            "name": "Dana Ruiz",
            "team": "Billing",
            "team_id": report_org.billing.id,
        }
        assert (body["start"], body["end"]) == ("2026-11-04", "2026-11-24")
        assert body["iqs"] == approx(57.5) and body["reviews"] == 5 and body["scored"] == 5
        assert body["pass_rate"] == approx(40.0) and body["passed"] == 2
        assert body["previous_iqs"] == approx(85.0) and body["change"] == approx(-27.5)
        assert (body["previous_start"], body["previous_end"]) == ("2026-10-14", "2026-11-03")
        assert body["team_iqs"] == approx(445 / 7) and body["team_reviews"] == 7
        assert body["critical_fails"] == 1
        assert body["criteria"] == [
            {
                "criterion": "greeting",
                "name": "Greeting",
                "mean": approx(80.0),
                "n": 5,
                "team_mean": approx(500 / 7),
                "team_n": 7,
                "call_out": "strongest",
            },
            {
                "criterion": "accuracy",
                "name": "Correct solution",
                "mean": approx(65.0),
                "n": 5,
                "team_mean": approx(500 / 7),
                "team_n": 7,
                "call_out": "weakest",
            },
            {
                "criterion": "tone",
                "name": "Tone of voice",
                "mean": approx(50.0),
                "n": 4,
                "team_mean": approx(60.0),
                "team_n": 6,
                "call_out": "weakest",
            },
        ]
        assert body["weekly"] == [
            {
                "week": "2026-11-02",
                "iqs": approx(68.75),
                "reviews": 2,
                "team_iqs": approx(237.5 / 3),
                "team_reviews": 3,
            },
            {
                "week": "2026-11-09",
                "iqs": approx(31.25),
                "reviews": 2,
                "team_iqs": approx(31.25),
                "team_reviews": 2,
            },
            {"week": "2026-11-16", "iqs": None, "reviews": 0, "team_iqs": approx(57.5), "team_reviews": 1},
            {
                "week": "2026-11-23",
                "iqs": approx(87.5),
                "reviews": 1,
                "team_iqs": approx(87.5),
                "team_reviews": 1,
            },
        ]
        assert body["root_causes"] == [
            {"criterion": "accuracy", "name": "Correct solution", "root_cause": "Incomplete", "count": 2},
            {"criterion": "accuracy", "name": "Correct solution", "root_cause": "Wrong answer", "count": 1},
            {"criterion": "tone", "name": "Tone of voice", "root_cause": "Robotic", "count": 1},
            {"criterion": "tone", "name": "Tone of voice", "root_cause": "Rude", "count": 1},
        ]
        assert body["critical_failures"] == [
            {
                "review_id": report_org.reviews["R3"].id,
                "submitted_at": "2026-11-10T15:00:00+00:00",
                "criterion": "accuracy",
                "name": "Correct solution",
                "option": "2",
            }
        ]

    def test_a_preset(self, report_client: TestClient, report_org: Data, db: Session) -> None:
        response = report_client.get(
            url(report_org), params={"period": "last7"}, headers=bearer(db, report_org.manager_billing)
        )
        assert response.status_code == 200
        body = response.json()
        assert len(body["weekly"]) in (1, 2)  # 7 days touch one or two weeks

    @pytest.mark.parametrize(
        ("viewer", "agent"),
        [
            ("dana_user", "fay"),
            ("dana_user", "eli"),
            ("fay_user", "dana"),
            ("manager_tech", "dana"),
            ("rita", "fay"),
        ],
    )
    def test_other_agents_are_404(
        self, report_client: TestClient, report_org: Data, db: Session, viewer: str, agent: str
    ) -> None:
        response = report_client.get(
            url(report_org, agent), params={"start": "bad"}, headers=bearer(db, getattr(report_org, viewer))
        )
        assert response.status_code == 404 and "detail" in response.json()

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"start": "2026-11-31", "end": "2026-12-01"}, "is not a date"),
            ({"start": "2026-11-24", "end": "2026-11-01"}, "after the end"),
            ({"end": "2026-11-24"}, "both a start and an end"),
            ({"period": "fortnight"}, "Unknown period"),
            ({"start": "2026-11-01\x00", "end": "2026-11-02"}, "is not a date"),
        ],
    )
    def test_bad_dates_are_422(
        self, report_client: TestClient, report_org: Data, db: Session, params: dict[str, str], message: str
    ) -> None:
        response = report_client.get(url(report_org), params=params, headers=bearer(db, report_org.admin))
        assert response.status_code == 422 and message in str(response.json()["detail"])

    @pytest.mark.parametrize("agent_id", ["999999", "x", "0", "1e3", "²"])
    def test_unknown_agents_are_404(
        self, report_client: TestClient, report_org: Data, db: Session, agent_id: str
    ) -> None:
        response = report_client.get(
            f"/api/v1/agents/{agent_id}/report", headers=bearer(db, report_org.admin)
        )
        assert response.status_code == 404 and "detail" in response.json()

    def test_needs_a_token(self, report_client: TestClient, report_org: Data) -> None:
        response = report_client.get(url(report_org))
        assert response.status_code == 401

    def test_documented(self, report_client: TestClient, report_org: Data) -> None:
        schema = report_client.get("/api/v1/openapi.json").json()
        assert "/api/v1/agents/{agent_id}/report" in schema["paths"]

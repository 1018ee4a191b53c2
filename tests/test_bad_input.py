"""Hostile and odd input answers with a clear 4xx, never a 500 (findings of a review, kept as tests)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.conftest import page_csrf
from tests.factories import EXAMPLE_SCORECARD, bearer, make_user


@pytest.fixture
def manager_headers(session: Session) -> dict[str, str]:
    return bearer(session, make_user(session, role="manager"))


class TestCsrfToken:
    def test_a_non_ascii_token_is_refused_not_crashed(self, client: TestClient) -> None:
        page_csrf(client)
        response = client.post("/login", data={"email": "a@b.co", "password": "x", "csrf_token": "é"})
        assert response.status_code == 403


class TestLogin:
    def test_nul_in_the_email_is_a_failed_login(self, client: TestClient) -> None:
        token = page_csrf(client)
        response = client.post("/login", data={"email": "a\x00@b.co", "password": "x", "csrf_token": token})
        assert response.status_code == 400
        assert "Wrong e-mail or password." in response.text


class TestConversationQueries:
    def test_unicode_digit_agent_is_just_an_unknown_agent(self, api: TestClient,
                                                          manager_headers: dict[str, str]) -> None:
        response = api.get("/api/v1/conversations", params={"agent": "²"}, headers=manager_headers)
        assert response.status_code == 200
        assert response.json()["items"] == []

    @pytest.mark.parametrize("name", ["source", "external_id", "agent"])
    def test_nul_in_a_filter_is_422(
        self, api: TestClient, manager_headers: dict[str, str], name: str
    ) -> None:
        response = api.get("/api/v1/conversations", params={name: "a\x00b"}, headers=manager_headers)
        assert response.status_code == 422
        assert "NUL" in json.dumps(response.json())


class TestImportNesting:
    @pytest.mark.parametrize(("body", "content_type"), [
        ("[" * 5000 + "]" * 5000, "application/json"),
        ('{"a":' * 3000 + "1" + "}" * 3000, "application/json"),
        ('{"a":' * 3000 + "1" + "}" * 3000 + "\n", "application/x-ndjson"),
    ])
    def test_deeply_nested_json_is_refused(self, api: TestClient, manager_headers: dict[str, str],
                                           body: str, content_type: str) -> None:
        response = api.post("/api/v1/conversations", content=body,
                            headers={**manager_headers, "Content-Type": content_type})
        if content_type == "application/x-ndjson":  # JSON Lines: the line is rejected, the rest would go on
            assert response.status_code == 200
            assert response.json()["rejected"][0]["error"] == "invalid JSON: nested too deeply"
        else:
            assert response.status_code == 400
            assert "nested too deeply" in response.json()["detail"]


class TestScorecardNumbers:
    @pytest.mark.parametrize("weight", [2**1100, 5e-324, 0])
    def test_absurd_weights_are_422(
        self, api: TestClient, manager_headers: dict[str, str], weight: float
    ) -> None:
        card = {"name": "y", "criteria": [{"key": "a", "name": "b", "scale": "5", "weight": weight}]}
        response = api.post("/api/v1/scorecards", content=json.dumps(card),
                            headers={**manager_headers, "Content-Type": "application/json"})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][-1] == "weight"

    def test_nul_in_a_name_is_422_naming_the_field(self, api: TestClient,
                                                   manager_headers: dict[str, str]) -> None:
        card = json.loads(json.dumps(EXAMPLE_SCORECARD))
        card["criteria"][1]["name"] = "Correct\x00solution"
        response = api.post("/api/v1/scorecards", json=card, headers=manager_headers)
        assert response.status_code == 422
        assert ["body", "criteria", 1, "name"] in [err["loc"] for err in response.json()["detail"]]

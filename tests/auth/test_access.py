"""Anonymous visitors: pages send them to the login form (and back afterwards), HTMX gets HX-Redirect."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from qa.models import Role
from tests.auth.helpers import location, next_param, post_login
from tests.factories import make_user

PAGES = ["/", "/queue", "/reviews", "/feedback"]


class TestAnonymousPage:
    @pytest.mark.parametrize("path", PAGES)
    def test_redirects_to_login_with_next(self, client: TestClient, path: str) -> None:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        target = location(response)
        assert urlsplit(target).path == "/login"
        assert next_param(target) == path

    def test_next_keeps_the_query_string(self, client: TestClient) -> None:
        response = client.get("/reviews", params={"status": "draft", "q": "a&b"}, follow_redirects=False)
        assert next_param(location(response)) == "/reviews?status=draft&q=a%26b"

    def test_round_trip_lands_on_the_requested_page(self, client: TestClient, session: Session) -> None:
        user = make_user(session, role=Role.manager)
        login_url = location(client.get("/reviews?status=draft", follow_redirects=False))
        form_next = next_param(login_url)
        response = post_login(client, user.email, next=form_next)
        assert response.status_code == 303
        assert location(response) == "/reviews?status=draft"


class TestAnonymousHtmx:
    def test_gets_204_with_hx_redirect(self, client: TestClient) -> None:
        response = client.get("/queue", headers={"HX-Request": "true"}, follow_redirects=False)
        assert response.status_code == 204
        assert response.text == ""
        target = response.headers["HX-Redirect"]
        assert urlsplit(target).path == "/login"
        assert next_param(target) == "/queue"

    def test_returns_to_the_page_not_the_partial(self, client: TestClient) -> None:
        headers = {"HX-Request": "true", "HX-Current-URL": "http://testserver/reviews?page=2"}
        response = client.get("/queue", headers=headers, follow_redirects=False)
        assert next_param(response.headers["HX-Redirect"]) == "/reviews?page=2"

    def test_ignores_a_foreign_current_url(self, client: TestClient) -> None:
        headers = {"HX-Request": "true", "HX-Current-URL": "https://evil.example/phish"}
        response = client.get("/queue", headers=headers, follow_redirects=False)
        assert next_param(response.headers["HX-Redirect"]) == "/queue"


def test_anonymous_api_is_401_json_not_a_redirect(api: TestClient) -> None:
    response = api.get("/api/v1/me", follow_redirects=False)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")

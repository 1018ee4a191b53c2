"""Small helpers shared by the auth tests."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from httpx import Response

from tests.conftest import page_csrf
from tests.factories import PASSWORD


def post_login(
    client: TestClient, email: str, password: str = PASSWORD, *, next: str | None = None,
    csrf: str | None = None,
) -> Response:
    """Submit the login form as a browser would (the CSRF token read from the form unless given)."""
    token = csrf if csrf is not None else page_csrf(client)
    data = {"email": email, "password": password, "csrf_token": token}
    if next is not None:
        data["next"] = next
    return client.post("/login", data=data, follow_redirects=False)


def location(response: Response) -> str:
    """The redirect target as path?query, asserting it stays on this site."""
    parts = urlsplit(response.headers["location"])
    assert parts.netloc in ("", "testserver"), f"redirect leaves the site: {response.headers['location']}"
    assert not parts.path.startswith("//")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def next_param(url: str) -> str:
    """The ?next= value of a login URL."""
    return parse_qs(urlsplit(url).query)["next"][0]


def soup(response: Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def is_logged_in(client: TestClient) -> bool:
    """True when the client's session cookie identifies a user (the home page does not send to /login)."""
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    return not urlsplit(response.headers["location"]).path.startswith("/login")

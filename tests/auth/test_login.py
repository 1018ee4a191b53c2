"""Logging in and out through the form: redirects, failures, rate limiting, cookies, CSRF, open redirects."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlmodel import Session, col, func, select

from qa.models import LoginAttempt, Role, utcnow
from qa.settings import Settings
from tests.auth.helpers import is_logged_in, location, post_login, soup
from tests.conftest import login_as, page_csrf
from tests.factories import make_user

WRONG = "Wrong e-mail or password."


class TestLoginPage:
    def test_renders_the_form(self, client: TestClient) -> None:
        response = client.get("/login")
        assert response.status_code == 200
        page = soup(response)
        form = page.select_one("form[method=post]")
        assert form is not None and urlsplit(form["action"]).path == "/login"
        assert form.select_one("input[name=email][type=email]") is not None
        assert form.select_one("input[name=password][type=password]") is not None
        token = form.select_one("input[name=csrf_token]")
        assert token is not None and len(token["value"]) >= 32
        assert "Log in" in page.title.text

    def test_keeps_a_safe_next_and_drops_an_unsafe_one(self, client: TestClient) -> None:
        safe = soup(client.get("/login", params={"next": "/reviews?status=draft"}))
        assert safe.select_one("input[name=next]")["value"] == "/reviews?status=draft"
        unsafe = soup(client.get("/login", params={"next": "//evil.example/x"}))
        assert unsafe.select_one("input[name=next]")["value"] == ""


class TestLoginSuccess:
    @pytest.mark.parametrize(("role", "home"), [(Role.agent, "/feedback"), (Role.reviewer, "/queue"),
                                                (Role.manager, "/reviews"), (Role.admin, "/reviews")])
    def test_redirects_by_role(self, client: TestClient, session: Session, role: Role, home: str) -> None:
        user = make_user(session, role=role)
        response = post_login(client, user.email)
        assert response.status_code == 303
        assert location(response) == home
        assert is_logged_in(client)

    def test_email_is_case_and_space_insensitive(self, client: TestClient, session: Session) -> None:
        user = make_user(session, role=Role.reviewer)
        response = post_login(client, f"  {user.email.upper()} ")
        assert response.status_code == 303

    def test_goes_to_a_safe_next(self, client: TestClient, session: Session) -> None:
        user = make_user(session, role=Role.reviewer)
        response = post_login(client, user.email, next="/reviews?status=draft")
        assert location(response) == "/reviews?status=draft"

    @pytest.mark.parametrize("target", [
        "//evil.example", "https://evil.example", "https://evil.example/queue", "http:evil.example",
        "/\\evil.example", "/\t/evil.example", "%2F%2Fevil.example", "/%2F%2Fevil.example",
        "/%5Cevil.example", "javascript:alert(1)", "evil.example", "/ok\n//evil.example",
    ])
    def test_refuses_an_open_redirect(self, client: TestClient, session: Session, target: str) -> None:
        user = make_user(session, role=Role.reviewer)
        response = post_login(client, user.email, next=target)
        assert response.status_code == 303
        assert location(response) == "/queue"
        assert "evil" not in response.headers["location"]


class TestLoginFailure:
    def test_wrong_password(self, client: TestClient, session: Session) -> None:
        user = make_user(session, role=Role.reviewer)
        response = post_login(client, user.email, "not-the-password")
        assert response.status_code == 400
        page = soup(response)
        assert page.select_one("[role=alert]").get_text(strip=True) == WRONG
        assert page.select_one("input[name=email]")["value"] == user.email
        assert "not-the-password" not in response.text
        assert not is_logged_in(client)

    def test_unknown_email_gets_the_same_answer(self, client: TestClient) -> None:
        response = post_login(client, "nobody@example.com", "whatever-password")
        assert response.status_code == 400
        assert soup(response).select_one("[role=alert]").get_text(strip=True) == WRONG
        assert not is_logged_in(client)

    def test_inactive_user_is_refused(self, client: TestClient, session: Session) -> None:
        user = make_user(session, role=Role.manager, is_active=False)
        response = post_login(client, user.email)
        assert response.status_code == 400
        assert WRONG in response.text
        assert not is_logged_in(client)

    def test_deactivated_user_loses_their_session(self, client: TestClient, session: Session) -> None:
        user = make_user(session, role=Role.manager)
        login_as(client, user)
        user.is_active = False
        session.flush()
        assert not is_logged_in(client)

    def test_missing_fields_are_a_clear_error_not_500(self, client: TestClient) -> None:
        response = client.post("/login", data={"csrf_token": page_csrf(client)}, follow_redirects=False)
        assert response.status_code == 422


class TestRateLimit:
    """settings.login_max_failures is 5 in tests: the 6th try is refused, even with the right password."""

    def test_sixth_attempt_is_refused_even_with_the_right_password(
        self, client: TestClient, session: Session
    ) -> None:
        user = make_user(session, role=Role.reviewer)
        for _ in range(5):
            assert post_login(client, user.email, "wrong-password").status_code == 400
        response = post_login(client, user.email)
        assert response.status_code == 429
        assert "Too many failed logins" in soup(response).get_text()
        assert not is_logged_in(client)

    def test_five_failures_still_allow_the_right_password(self, client: TestClient, session: Session) -> None:
        user = make_user(session, role=Role.reviewer)
        for _ in range(4):
            post_login(client, user.email, "wrong-password")
        assert post_login(client, user.email).status_code == 303

    def test_failures_count_per_ip_across_emails(self, client: TestClient, session: Session) -> None:
        user = make_user(session, role=Role.reviewer)
        for n in range(5):
            post_login(client, f"guess{n}@example.com", "wrong-password")
        assert post_login(client, user.email).status_code == 429

    def test_failures_count_per_email_across_ips(self, app: FastAPI, session: Session) -> None:
        user = make_user(session, role=Role.reviewer)
        for n in range(5):
            with TestClient(app, client=(f"10.0.0.{n + 1}", 4000)) as attacker:
                post_login(attacker, user.email, "wrong-password")
        with TestClient(app, client=("10.9.9.9", 4000)) as other:
            assert post_login(other, user.email).status_code == 429

    def test_other_email_from_other_ip_is_not_blocked(self, app: FastAPI, session: Session) -> None:
        victim, bystander = make_user(session), make_user(session)
        with TestClient(app, client=("10.0.0.1", 4000)) as attacker:
            for _ in range(6):
                post_login(attacker, victim.email, "wrong-password")
        with TestClient(app, client=("10.0.0.2", 4000)) as other:
            assert post_login(other, bystander.email).status_code == 303

    def test_old_failures_expire(self, client: TestClient, session: Session, settings: Settings) -> None:
        user = make_user(session, role=Role.reviewer)
        long_ago = utcnow() - timedelta(seconds=settings.login_window_seconds + 60)
        for _ in range(10):
            session.add(LoginAttempt(email=user.email, ip="testclient", success=False, at=long_ago))
        session.flush()
        assert post_login(client, user.email).status_code == 303

    def test_every_attempt_is_recorded(self, client: TestClient, session: Session) -> None:
        user = make_user(session, role=Role.reviewer)
        post_login(client, user.email, "wrong-password")
        post_login(client, user.email)
        rows = session.exec(select(LoginAttempt.success).where(LoginAttempt.email == user.email)
                            .order_by(col(LoginAttempt.id))).all()
        assert rows == [False, True]


class TestSessionCookie:
    def test_is_httponly_and_samesite_lax(self, client: TestClient, session: Session) -> None:
        user = make_user(session, role=Role.reviewer)
        response = post_login(client, user.email)
        cookies = [c for c in response.headers.get_list("set-cookie") if c.startswith("caliper_session=")]
        assert len(cookies) == 1
        attributes = {part.strip().split("=")[0].lower(): part for part in cookies[0].split(";")}
        assert "httponly" in attributes
        assert attributes["samesite"].strip().lower() == "samesite=lax"
        assert attributes["path"].strip() == "path=/"

    def test_a_tampered_cookie_is_anonymous(self, client: TestClient, session: Session) -> None:
        user, other = make_user(session, role=Role.reviewer), make_user(session, role=Role.admin)
        login_as(client, user)
        original = client.cookies["caliper_session"]
        payload, signature = original.split(".", 1)
        data = json.loads(base64.b64decode(payload + "=="))
        assert data["uid"] == user.id
        forged = base64.b64encode(json.dumps({**data, "uid": other.id}).encode()).decode()
        client.cookies.set("caliper_session", f"{forged}.{signature}")
        assert not is_logged_in(client)
        client.cookies.set("caliper_session", original[:-2] + ("AA" if not original.endswith("AA") else "BB"))
        assert not is_logged_in(client)
        client.cookies.set("caliper_session", original)  # the genuine cookie still works
        assert is_logged_in(client)

    @pytest.mark.parametrize(("key", "accepted"), [("the app's", True), ("another-key-" + "y" * 32, False)])
    def test_only_cookies_signed_with_the_secret_key_count(
        self, client: TestClient, session: Session, settings: Settings, key: str, accepted: bool
    ) -> None:
        user = make_user(session, role=Role.reviewer)
        signer = TimestampSigner(settings.secret_key if key == "the app's" else key)
        value = signer.sign(base64.b64encode(json.dumps({"uid": user.id}).encode())).decode()
        client.cookies.set("caliper_session", value)
        assert is_logged_in(client) is accepted


class TestCsrf:
    def test_login_without_token_is_403(self, client: TestClient, session: Session) -> None:
        user = make_user(session, role=Role.reviewer)
        page_csrf(client)  # the session has a token; the form just doesn't send it
        response = client.post("/login", data={"email": user.email, "password": "correct-horse-battery"},
                               follow_redirects=False)
        assert response.status_code == 403
        assert not is_logged_in(client)

    def test_login_with_wrong_token_is_403(self, client: TestClient, session: Session) -> None:
        user = make_user(session, role=Role.reviewer)
        page_csrf(client)
        response = post_login(client, user.email, csrf="forged-token-" + "x" * 30)
        assert response.status_code == 403
        assert not is_logged_in(client)

    def test_login_without_any_session_is_403(self, client: TestClient, session: Session) -> None:
        user = make_user(session, role=Role.reviewer)
        response = post_login(client, user.email, csrf="made-up")
        assert response.status_code == 403

    def test_token_in_header_works(self, client: TestClient, session: Session) -> None:
        user = make_user(session, role=Role.reviewer)
        token = page_csrf(client)
        response = client.post("/login", data={"email": user.email, "password": "correct-horse-battery"},
                               headers={"X-CSRF-Token": token}, follow_redirects=False)
        assert response.status_code == 303


class TestLogout:
    def test_needs_the_csrf_token(self, client: TestClient, session: Session) -> None:
        login_as(client, make_user(session, role=Role.reviewer))
        client.headers.pop("X-CSRF-Token")
        assert client.post("/logout", follow_redirects=False).status_code == 403
        wrong = client.post("/logout", data={"csrf_token": "nope"}, follow_redirects=False)
        assert wrong.status_code == 403
        assert is_logged_in(client)

    def test_clears_the_session(self, client: TestClient, session: Session) -> None:
        login_as(client, make_user(session, role=Role.reviewer))
        response = client.post("/logout", follow_redirects=False)
        assert response.status_code == 303
        assert location(response) == "/login"
        assert not is_logged_in(client)


def test_no_login_attempts_leak_between_tests(session: Session) -> None:
    """The rate limit tests rely on a clean table: each test's writes are rolled back."""
    assert session.exec(select(func.count()).select_from(LoginAttempt)).one() == 0

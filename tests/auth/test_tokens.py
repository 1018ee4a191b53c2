"""API tokens: /api/v1/me, 401s, cookies never authenticate the API, tokens stored only hashed."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from qa.auth import tokens
from qa.models import ApiToken, AuditLog, Role, User, utcnow
from tests.conftest import login_as
from tests.factories import make_user


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_for(session: Session, user: User) -> str:
    return tokens.create_token(session, actor=None, user=user, name="test")


def assert_401(response: object) -> None:
    assert response.status_code == 401  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"detail"} and isinstance(body["detail"], str) and body["detail"]
    assert response.headers["www-authenticate"] == "Bearer"  # type: ignore[attr-defined]


class TestMe:
    def test_returns_the_tokens_user(self, api: TestClient, session: Session) -> None:
        user = make_user(session, role=Role.reviewer, name="Rita Reviewer")
        response = api.get("/api/v1/me", headers=bearer(token_for(session, user)))
        assert response.status_code == 200
        assert response.json() == {"id": user.id, "email": user.email, "name": "Rita Reviewer",
                                    "role": "reviewer", "agent_id": None}

    def test_agent_user_has_agent_id(self, api: TestClient, session: Session) -> None:
        user = make_user(session, role=Role.agent)
        body = api.get("/api/v1/me", headers=bearer(token_for(session, user))).json()
        assert body["role"] == "agent"
        assert body["agent_id"] == user.agent_id is not None

    def test_each_token_is_its_users(self, api: TestClient, session: Session) -> None:
        alice, bob = make_user(session, role=Role.manager), make_user(session, role=Role.agent)
        alice_token, bob_token = token_for(session, alice), token_for(session, bob)
        assert alice_token != bob_token
        assert api.get("/api/v1/me", headers=bearer(alice_token)).json()["email"] == alice.email
        assert api.get("/api/v1/me", headers=bearer(bob_token)).json()["email"] == bob.email


class TestRefused:
    @pytest.mark.parametrize("headers", [
        {}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Bearer   "},
        {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer cal_not-a-real-token"},
    ], ids=["none", "empty", "scheme-only", "blank", "basic", "wrong"])
    def test_missing_or_wrong_token_is_401_json(
        self, api: TestClient, session: Session, headers: dict[str, str]
    ) -> None:
        make_user(session)
        assert_401(api.get("/api/v1/me", headers=headers))

    def test_session_cookie_alone_does_not_authenticate(self, api: TestClient, session: Session) -> None:
        user = make_user(session, role=Role.admin)
        login_as(api, user)  # the client now holds a valid session cookie and CSRF header
        assert api.cookies.get("caliper_session")
        assert_401(api.get("/api/v1/me"))

    def test_revoked_token_is_401(self, api: TestClient, session: Session) -> None:
        user = make_user(session)
        token = token_for(session, user)
        row = session.exec(select(ApiToken).where(ApiToken.user_id == user.id)).one()
        row.revoked_at = utcnow()
        session.flush()
        assert_401(api.get("/api/v1/me", headers=bearer(token)))

    def test_inactive_users_token_is_401(self, api: TestClient, session: Session) -> None:
        user = make_user(session)
        token = token_for(session, user)
        user.is_active = False
        session.flush()
        assert_401(api.get("/api/v1/me", headers=bearer(token)))

    def test_a_token_with_a_changed_character_is_401(self, api: TestClient, session: Session) -> None:
        token = token_for(session, make_user(session))
        tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
        assert_401(api.get("/api/v1/me", headers=bearer(tampered)))
        assert api.get("/api/v1/me", headers=bearer(token)).status_code == 200


class TestStorage:
    def test_only_the_sha256_is_stored(self, session: Session) -> None:
        user = make_user(session)
        token = token_for(session, user)
        assert token.startswith(tokens.TOKEN_PREFIX) and len(token) >= 40
        row = session.exec(select(ApiToken).where(ApiToken.user_id == user.id)).one()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.prefix == token[:10]
        stored = " ".join(str(v) for v in row.model_dump().values())
        assert token not in stored and token[10:] not in stored

    def test_tokens_are_random(self, session: Session) -> None:
        user = make_user(session)
        assert len({token_for(session, user) for _ in range(5)}) == 5

    def test_creation_is_audited_without_the_token(self, session: Session) -> None:
        admin, user = make_user(session, role=Role.admin), make_user(session)
        token = tokens.create_token(session, actor=admin, user=user, name="zapier")
        session.flush()
        entry = session.exec(select(AuditLog).where(AuditLog.action == "token.create")).one()
        assert entry.actor_id == admin.id
        assert entry.after is not None and entry.after["user_id"] == user.id
        assert token not in str(entry.after)

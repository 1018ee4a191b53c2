"""/api/v1/conversations: import, list with cursors, read one; roles and bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from qa.models import Agent, AuditLog, Role, User
from tests.conversations.helpers import bearer, jsonl, native
from tests.factories import make_agent, make_conversation, make_team, make_user

URL = "/api/v1/conversations"


def post_json(api: TestClient, headers: dict[str, str], payload: Any, **params: str) -> Any:
    return api.post(URL, content=json.dumps(payload), params=params,
                    headers={**headers, "Content-Type": "application/json"})


@pytest.fixture
def manager(session: Session) -> User:
    return make_user(session, role=Role.manager)


@pytest.fixture
def admin_headers(session: Session) -> dict[str, str]:
    return bearer(session, make_user(session, role=Role.admin))


class TestImport:
    def test_json_array_then_again_updates(self, api: TestClient, session: Session, manager: User) -> None:
        headers = bearer(session, manager)
        records = [native(), native()]
        first = post_json(api, headers, records)
        assert first.status_code == 200, first.text
        assert first.json() == {"created": 2, "updated": 0, "rejected": []}
        assert post_json(api, headers, records).json() == {"created": 0, "updated": 2, "rejected": []}

    def test_rejections_name_index_and_field(self, api: TestClient, session: Session, manager: User) -> None:
        bad = native(messages=[{"author": "agent", "body": "ok"}, {"author": "robot", "body": "x"}])
        body = post_json(api, bearer(session, manager), [native(), bad, "nope"]).json()
        assert body["created"] == 1
        assert [(r["index"], r["error"].split(":")[0]) for r in body["rejected"]] == [
            (1, "messages[1].author"), (2, "expected a JSON object, got a string")]

    def test_single_object(self, api: TestClient, session: Session, manager: User) -> None:
        assert post_json(api, bearer(session, manager), native()).json()["created"] == 1

    def test_ndjson(self, api: TestClient, session: Session, manager: User) -> None:
        data = jsonl([native()]) + b"\n{broken\n" + jsonl([native()])
        response = api.post(URL, content=data,
                            headers={**bearer(session, manager), "Content-Type": "application/x-ndjson"})
        assert response.status_code == 200
        body = response.json()
        assert body["created"] == 2
        assert [(r["index"], r["line"]) for r in body["rejected"]] == [(1, 3)]

    def test_source_for_records_without_one(self, api: TestClient, session: Session, manager: User) -> None:
        record = native()
        del record["source"]
        post_json(api, bearer(session, manager), [record], source="eu-desk")
        listed = api.get(URL, params={"source": "eu-desk", "external_id": record["external_id"]},
                         headers=bearer(session, manager)).json()
        assert len(listed["items"]) == 1

    def test_import_is_audited(self, api: TestClient, session: Session, manager: User) -> None:
        post_json(api, bearer(session, manager), [native(), 1])
        entry = session.exec(select(AuditLog).where(AuditLog.action == "conversations.import",
                                                    AuditLog.actor_id == manager.id)).one()
        assert entry.after is not None
        assert (entry.after["created"], entry.after["rejected"], entry.after["via"]) == (1, 1, "api")

    @pytest.mark.parametrize(("body", "detail"), [
        (b'[{"external_id": "x",', "Malformed JSON in record 0"),
        (b'{"external_id": "x",', "Malformed JSON at line 1"),
        (b"", "The request body is empty"),
        (b"42", "Expected a JSON array"),
    ])
    def test_malformed_json_is_400(
        self, api: TestClient, session: Session, manager: User, body: bytes, detail: str
    ) -> None:
        response = api.post(URL, content=body, headers={**bearer(session, manager),
                                                        "Content-Type": "application/json"})
        assert response.status_code == 400
        assert detail in response.json()["detail"]

    def test_malformed_element_rolls_back_the_whole_request(
        self, api: TestClient, session: Session, manager: User
    ) -> None:
        headers = bearer(session, manager)
        good = native()
        body = json.dumps([good, native()])[:-1].encode() + b", {broken}]"
        response = api.post(URL, content=body, headers={**headers, "Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.json()["detail"].startswith("Malformed JSON in record 2: Expecting property name")
        listed = api.get(URL, params={"external_id": good["external_id"]}, headers=headers).json()
        assert listed["items"] == []

    def test_a_native_record_is_not_a_zendesk_one(
        self, api: TestClient, session: Session, manager: User
    ) -> None:
        response = post_json(api, bearer(session, manager), [native()], format="zendesk")
        assert response.status_code == 200
        assert response.json()["created"] == 0
        assert response.json()["rejected"][0]["index"] == 0

    def test_unknown_format_is_422(self, api: TestClient, session: Session, manager: User) -> None:
        assert post_json(api, bearer(session, manager), [native()], format="xml").status_code == 422

    @pytest.mark.parametrize("role", [Role.reviewer, Role.agent])
    def test_only_admins_and_managers_import(self, api: TestClient, session: Session, role: Role) -> None:
        response = post_json(api, bearer(session, make_user(session, role=role)), [native()])
        assert response.status_code == 403

    def test_admin_imports(self, api: TestClient, admin_headers: dict[str, str]) -> None:
        assert post_json(api, admin_headers, [native()]).json()["created"] == 1

    def test_anonymous_is_401(self, api: TestClient) -> None:
        assert api.post(URL, content=b"[]").status_code == 401
        assert api.post(URL, content=b"[]", headers={"Authorization": "Bearer wrong"}).status_code == 401


class TestList:
    def test_cursor_pagination_has_no_duplicates(
        self, api: TestClient, session: Session, admin_headers: dict[str, str]
    ) -> None:
        ids = [make_conversation(session, source="paged").id for _ in range(5)]
        seen: list[int] = []
        cursor = None
        for _ in range(5):
            params: dict[str, Any] = {"source": "paged", "limit": 2}
            if cursor:
                params["cursor"] = cursor
            body = api.get(URL, params=params, headers=admin_headers).json()
            seen += [item["id"] for item in body["items"]]
            cursor = body["next"]
            if cursor is None:
                break
        assert seen == ids

    def test_items_are_native_shaped_without_messages(
        self, api: TestClient, session: Session, manager: User
    ) -> None:
        record = native()
        post_json(api, bearer(session, manager), [record])
        params = {"external_id": record["external_id"]}
        body = api.get(URL, params=params, headers=bearer(session, manager)).json()
        (item,) = body["items"]
        assert body["next"] is None
        assert "messages" not in item
        assert item["agent"] == record["agent"] and item["team"] == "Billing"
        assert item["customer"] == record["customer"]
        assert (item["created_at"], item["closed_at"]) == ("2026-03-01T10:00:00Z", "2026-03-01T10:20:00Z")
        facts = (item["message_count"], item["first_response_seconds"], item["handle_seconds"])
        assert facts == (3, 90, 1200)
        assert item["metadata"] == record["metadata"] and item["tags"] == ["refund"]

    def test_filter_by_agent_external_id_or_id(
        self, api: TestClient, session: Session, admin_headers: dict[str, str]
    ) -> None:
        agent = make_agent(session)
        mine = make_conversation(session, agent=agent)
        make_conversation(session)
        for value in (agent.external_id, str(agent.id)):
            items = api.get(URL, params={"agent": value}, headers=admin_headers).json()["items"]
            assert [item["id"] for item in items] == [mine.id]
        assert api.get(URL, params={"agent": "nobody"}, headers=admin_headers).json()["items"] == []

    def test_agents_see_only_their_own(self, api: TestClient, session: Session) -> None:
        user = make_user(session, role=Role.agent)
        own = make_conversation(session, agent=session.get_one(Agent, user.agent_id))
        make_conversation(session)
        items = api.get(URL, params={"limit": 500}, headers=bearer(session, user)).json()["items"]
        assert [item["id"] for item in items] == [own.id]

    def test_managers_see_their_teams(self, api: TestClient, session: Session) -> None:
        team = make_team(session)
        manager = make_user(session, role=Role.manager, teams=[team])
        inside = make_conversation(session, team=team)
        make_conversation(session, team=make_team(session))
        items = api.get(URL, params={"limit": 500}, headers=bearer(session, manager)).json()["items"]
        assert [item["id"] for item in items] == [inside.id]

    @pytest.mark.parametrize("params", [{"limit": "abc"}, {"limit": "0"}, {"limit": "501"}, {"limit": "-1"},
                                        {"cursor": "garbage"}, {"cursor": "Yzp4"}, {"cursor": "x" * 300}])
    def test_bad_query_values_are_422(
        self, api: TestClient, admin_headers: dict[str, str], params: dict[str, str]
    ) -> None:
        response = api.get(URL, params=params, headers=admin_headers)
        assert response.status_code == 422
        assert response.json()["detail"]

    def test_anonymous_is_401(self, api: TestClient) -> None:
        assert api.get(URL).status_code == 401


class TestDetail:
    def test_messages_in_order(self, api: TestClient, session: Session, manager: User) -> None:
        record = native()
        headers = bearer(session, manager)
        post_json(api, headers, [record])
        (item,) = api.get(URL, params={"external_id": record["external_id"]}, headers=headers).json()["items"]
        body = api.get(f"{URL}/{item['id']}", headers=headers).json()
        assert [m["body"] for m in body["messages"]] == [m["body"] for m in record["messages"]]
        assert body["messages"][1] == {"author": "agent", "author_id": "a-7", "author_name": None,
                                       "body": "Sorry about that! Let me check.",
                                       "created_at": "2026-03-01T10:01:30Z", "internal": False}
        assert {k: body[k] for k in ("external_id", "source", "channel", "subject", "csat", "language")} == {
            k: record[k] for k in ("external_id", "source", "channel", "subject", "csat", "language")}

    def test_unknown_is_404(self, api: TestClient, admin_headers: dict[str, str]) -> None:
        assert api.get(f"{URL}/999999999", headers=admin_headers).status_code == 404
        assert api.get(f"{URL}/{2**70}", headers=admin_headers).status_code == 404

    def test_non_numeric_id_is_422(self, api: TestClient, admin_headers: dict[str, str]) -> None:
        assert api.get(f"{URL}/abc", headers=admin_headers).status_code == 422

    def test_agent_cannot_read_another_agents_conversation(self, api: TestClient, session: Session) -> None:
        user = make_user(session, role=Role.agent)
        own = make_conversation(session, agent=session.get_one(Agent, user.agent_id))
        other = make_conversation(session)
        headers = bearer(session, user)
        assert api.get(f"{URL}/{own.id}", headers=headers).status_code == 200
        response = api.get(f"{URL}/{other.id}", headers=headers)
        assert response.status_code == 404
        assert response.json() == {"detail": f"Conversation {other.id} not found."}

    def test_anonymous_is_401(self, api: TestClient, session: Session) -> None:
        assert api.get(f"{URL}/{make_conversation(session).id}").status_code == 401


def test_openapi_documents_the_endpoints(api: TestClient) -> None:
    spec = api.get("/api/v1/openapi.json").json()
    post = spec["paths"][URL]["post"]
    assert set(post["requestBody"]["content"]) == {"application/json", "application/x-ndjson", "text/csv"}
    assert "conversations" in post["tags"]
    assert {"get"} <= set(spec["paths"][URL + "/{conversation_id}"])

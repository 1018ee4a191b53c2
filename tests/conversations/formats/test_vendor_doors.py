"""The vendor formats through the real doors: POST /api/v1/conversations?format=… and `qa import --format …`.

For each vendor: the example records import, a second import changes nothing, and a conversation
that gained a message at the source is updated in place.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from qa.cli import main
from qa.db import make_engine
from qa.models import Role
from tests.conversations.formats.helpers import DATA_DIR, VENDORS, records
from tests.factories import bearer, make_user

URL = "/api/v1/conversations"
LATER = "2026-04-01T09:00:00Z"
NEW_BODY = "One more thing: the refund arrived twice now."


def _zendesk_reply(raw: dict[str, Any]) -> None:
    raw["comments"].append({"id": 19999, "author_id": raw["ticket"]["requester_id"], "public": True,
                            "plain_body": NEW_BODY, "created_at": LATER})


def _intercom_reply(raw: dict[str, Any]) -> None:
    customer = raw["source"]["author"]
    raw["conversation_parts"]["conversation_parts"].append({
        "part_type": "comment", "body": f"<p>{NEW_BODY}</p>", "created_at": 1775034000,
        "author": {"type": "user", "id": customer["id"], "name": customer["name"]}})


def _freshdesk_reply(raw: dict[str, Any]) -> None:
    raw["conversations"].append({"id": 43999999, "body": f"<div>{NEW_BODY}</div>", "incoming": True,
                                 "private": False, "user_id": raw["requester_id"], "created_at": LATER})


CUSTOMER_REPLIES: dict[str, Callable[[dict[str, Any]], None]] = {
    "zendesk": _zendesk_reply, "intercom": _intercom_reply, "freshdesk": _freshdesk_reply}
FIRST_IDS = {"zendesk": "4521", "intercom": "215468831", "freshdesk": "2718"}


@pytest.fixture(params=VENDORS)
def vendor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def with_new_reply(vendor: str) -> list[dict[str, Any]]:
    """The vendor's example records, the first one with a new customer message at the source."""
    changed = records(vendor)
    CUSTOMER_REPLIES[vendor](changed[0])
    return changed


# ---- the API ------------------------------------------------------------------------------------


def post(api: TestClient, headers: dict[str, str], vendor: str, payload: list[dict[str, Any]]) -> Any:
    response = api.post(URL, params={"format": vendor}, content=json.dumps(payload),
                        headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    return response.json()


def conversation(api: TestClient, headers: dict[str, str], vendor: str, external_id: str) -> dict[str, Any]:
    listed = api.get(URL, params={"source": vendor, "external_id": external_id}, headers=headers).json()
    (item,) = listed["items"]
    detail: dict[str, Any] = api.get(f"{URL}/{item['id']}", headers=headers).json()
    detail.pop("imported_at")
    return detail


def test_api_imports_then_reimport_changes_nothing_then_updates(
    api: TestClient, session: Session, vendor: str
) -> None:
    headers = bearer(session, make_user(session, role=Role.admin))
    count = len(records(vendor))
    assert post(api, headers, vendor, records(vendor)) == {"created": count, "updated": 0, "rejected": []}
    first = conversation(api, headers, vendor, FIRST_IDS[vendor])
    assert (first["source"], first["external_id"]) == (vendor, FIRST_IDS[vendor])
    assert first["agent"]["name"] and first["team"] and first["customer"]["name"]

    assert post(api, headers, vendor, records(vendor)) == {"created": 0, "updated": count, "rejected": []}
    assert conversation(api, headers, vendor, FIRST_IDS[vendor]) == first

    changed = with_new_reply(vendor)[:1]
    assert post(api, headers, vendor, changed) == {"created": 0, "updated": 1, "rejected": []}
    updated = conversation(api, headers, vendor, FIRST_IDS[vendor])
    assert updated["messages"][:-1] == first["messages"]
    assert updated["messages"][-1] == {"author": "customer", "author_id": first["customer"]["external_id"],
                                       "author_name": first["customer"]["name"], "body": NEW_BODY,
                                       "created_at": LATER, "internal": False}
    assert updated["message_count"] == first["message_count"] + 1


def test_api_rejects_a_bad_record_with_its_index_and_imports_the_rest(
    api: TestClient, session: Session, vendor: str
) -> None:
    headers = bearer(session, make_user(session, role=Role.admin))
    payload: list[Any] = records(vendor)
    payload.insert(1, {"id": 1, "created_at": [], "conversations": 3, "comments": 3, "conversation_parts": 3})
    body = post(api, headers, vendor, payload)
    assert (body["created"], len(body["rejected"])) == (len(payload) - 1, 1)
    assert body["rejected"][0]["index"] == 1
    assert body["rejected"][0]["error"].split(":")[0] in ("ticket 1", "conversation 1")


# ---- the CLI ------------------------------------------------------------------------------------




def qa_import(capsys: pytest.CaptureFixture[str], path: Path, vendor: str) -> str:
    assert main(["import", str(path), "--format", vendor, "--no-progress"]) == 0
    return capsys.readouterr().out.strip()


def stored(url: str) -> list[tuple[Any, ...]]:
    """Every stored conversation and message, without ids and import times."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.source, c.external_id, c.channel, c.subject, a.external_id, a.name, t.name,"
            " c.customer_name, c.created_at, c.closed_at, c.csat, c.reopen_count, c.first_response_seconds,"
            " m.position, m.author, m.author_id, m.body, m.created_at, m.internal"
            " FROM conversation c JOIN message m ON m.conversation_id = c.id"
            " LEFT JOIN agent a ON a.id = c.agent_id LEFT JOIN team t ON t.id = c.team_id"
            " ORDER BY c.external_id, m.position")).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def test_cli_imports_then_reimport_changes_nothing_then_updates(
    cli_db: str, vendor: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = DATA_DIR / f"{vendor}.json"
    count = len(records(vendor))
    assert qa_import(capsys, path, vendor) == f"created {count}, updated 0, rejected 0"
    before = stored(cli_db)
    assert {row[0] for row in before} == {vendor} and len({row[1] for row in before}) == count

    assert qa_import(capsys, path, vendor) == f"created 0, updated {count}, rejected 0"
    assert stored(cli_db) == before

    changed = tmp_path / f"{vendor}-changed.jsonl"
    changed.write_text("".join(json.dumps(r) + "\n" for r in with_new_reply(vendor)), encoding="utf-8")
    assert qa_import(capsys, changed, vendor) == f"created 0, updated {count}, rejected 0"
    after = stored(cli_db)
    new_rows = [row for row in after if row not in before]
    assert [(row[1], row[14], row[16]) for row in new_rows] == [(FIRST_IDS[vendor], "customer", NEW_BODY)]
    assert len(after) == len(before) + 1

"""CSV through the real doors: `read` feeding the importer, POST /api/v1/conversations, `qa import`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, col, select

from qa.cli import main
from qa.conversations import ingest
from qa.conversations.formats import csv_rows
from qa.db import make_engine
from qa.models import Agent, Conversation, Message, Role, Team
from tests.conversations.formats.helpers import DATA_DIR
from tests.factories import bearer, make_user

URL = "/api/v1/conversations"
HELPDESK = DATA_DIR / "helpdesk.csv"
CUSTOM = DATA_DIR / "custom_headers.csv"
CUSTOM_MAP = "conversation_id=Case Ref,author_role=Who,body=Said,created_at=When,agent_name=Owner"
BAD_ROW = (b"ticket,role,body,time\nB-1,customer,Hello,2026-03-01T10:00:00Z\nB-1,robot,Beep,\n"
           b"B-1,agent,Hi there,2026-03-01T10:01:00Z\n")


def import_csv(session: Session, data: bytes) -> ingest.ImportResult:
    return ingest.import_records(session, csv_rows.read([data]), source="desk", fmt="csv")


def stored(session: Session, source: str, external_id: str) -> tuple[Conversation, list[Message]]:
    conversation = session.exec(select(Conversation).where(Conversation.source == source,
                                                           Conversation.external_id == external_id)).one()
    messages = session.exec(select(Message).where(Message.conversation_id == conversation.id)
                            .order_by(col(Message.position))).all()
    return conversation, list(messages)


class TestImporter:
    def test_read_feeds_the_importer_and_a_second_import_updates(self, session: Session) -> None:
        result = import_csv(session, HELPDESK.read_bytes())
        assert (result.created, result.updated, result.rejected) == (2, 0, [])
        conversation, messages = stored(session, "desk", "T-100")
        assert (conversation.channel, conversation.subject, conversation.csat, conversation.tags) == (
            "email", "Double charge", 4, ["refund", "billing", "urgent"])
        assert conversation.created_at == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)  # the earliest message
        assert conversation.first_response_seconds == 300
        assert conversation.meta == {"csv": {"priority": "high"}}
        assert (conversation.customer_external_id, conversation.customer_name) == ("c-1", "Sam Lee")
        agent = session.get(Agent, conversation.agent_id)
        team = session.get(Team, conversation.team_id)
        assert agent is not None and team is not None
        assert (agent.external_id, agent.name, agent.email, team.name) == (
            "a-7", "Dana Ruiz", "dana@example.com", "Billing")
        assert [(m.author, m.body, m.internal) for m in messages] == [
            ("customer", "Hi, I was charged twice for order #4417.", False),
            ("agent", "Sorry about that!\nI have refunded the second charge.", False),
            ("agent", "Refund ID RF-88.", True)]

        again = import_csv(session, HELPDESK.read_bytes())
        assert (again.created, again.updated, again.rejected) == (0, 2, [])
        assert len(stored(session, "desk", "T-100")[1]) == 3

    def test_a_bad_row_is_reported_with_its_line_and_the_rest_imported(self, session: Session) -> None:
        result = import_csv(session, BAD_ROW)
        assert (result.created, [(r.line, r.error.split(":")[0]) for r in result.rejected]) == (
            1, [(3, "conversation B-1")])
        assert [m.body for m in stored(session, "desk", "B-1")[1]] == ["Hello", "Hi there"]

    def test_a_record_the_native_rules_refuse_is_rejected_at_its_first_line(self, session: Session) -> None:
        data = (b"ticket,role,body,time,language\nL-1,customer,Hi,2026-03-01T10:00:00Z," + b"x" * 40
                + b"\nL-2,customer,Fine,2026-03-01T10:00:00Z,en\n")
        result = import_csv(session, data)
        assert result.created == 1
        (rejection,) = result.rejected
        assert (rejection.line, rejection.error.split(":")[0]) == (2, "language")


class TestApi:
    def post(self, api: TestClient, session: Session, body: bytes, **params: str) -> Any:
        headers = {**bearer(session, make_user(session, role=Role.manager)), "Content-Type": "text/csv"}
        return api.post(URL, params={"format": "csv", **params}, content=body, headers=headers)

    def test_a_csv_upload_imports_then_updates(self, api: TestClient, session: Session) -> None:
        response = self.post(api, session, HELPDESK.read_bytes(), source="desk")
        assert response.status_code == 200, response.text
        assert response.json() == {"created": 2, "updated": 0, "rejected": []}
        assert [m.author for m in stored(session, "desk", "T-200")[1]] == ["customer", "agent", "customer"]
        again = self.post(api, session, HELPDESK.read_bytes(), source="desk")
        assert again.json() == {"created": 0, "updated": 2, "rejected": []}

    def test_bad_rows_are_reported_with_their_lines(self, api: TestClient, session: Session) -> None:
        body = self.post(api, session, BAD_ROW).json()
        assert body["created"] == 1
        assert [(r["index"], r["line"], r["error"].split(":")[0]) for r in body["rejected"]] == [
            (0, 3, "conversation B-1")]

    def test_a_mapping_names_the_columns(self, api: TestClient, session: Session) -> None:
        response = self.post(api, session, CUSTOM.read_bytes(), map=CUSTOM_MAP)
        assert response.json() == {"created": 1, "updated": 0, "rejected": []}

    @pytest.mark.parametrize(("body", "params", "detail"), [
        (b"a,b,message\n1,2,hi\n", {}, "The CSV has no conversation id column (looked for conversation_id,"),
        (b"", {}, "The CSV is empty"),
        (b"ticket,body,time\n1,hi,\n", {"map": "body=Text"}, "the CSV has no column 'Text' (found: ticket,"),
        (b"ticket,body,time\n1,hi,\n", {"map": "nonsense=Text"}, "unknown field 'nonsense'"),
    ])
    def test_a_file_that_cannot_be_read_is_400(
        self, api: TestClient, session: Session, body: bytes, params: dict[str, str], detail: str
    ) -> None:
        response = self.post(api, session, body, **params)
        assert response.status_code == 400, response.text
        found = response.json()["detail"]  # a mapping error names the `map` parameter as its place
        assert detail in (found if isinstance(found, str) else found[0]["msg"])




class TestCli:
    def test_qa_import_with_a_mapping_then_again(
        self, cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        args = ["import", str(CUSTOM), "--format", "csv", "--map", CUSTOM_MAP, "--no-progress"]
        assert main(args) == 0
        assert capsys.readouterr().out.strip() == "created 1, updated 0, rejected 0"
        assert main(args) == 0
        assert capsys.readouterr().out.strip() == "created 0, updated 1, rejected 0"
        engine = make_engine(cli_db)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT m.author, m.body FROM message m JOIN conversation c"
                                     " ON c.id = m.conversation_id WHERE c.external_id = 'K-1'"
                                     " ORDER BY m.position")).all()
        engine.dispose()
        assert [tuple(row) for row in rows] == [("customer", "My parcel is late."),
                                                ("agent", "It ships today, sorry.")]

    def test_qa_import_reports_a_bad_row_with_its_line(
        self, cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = tmp_path / "bad.csv"
        path.write_bytes(BAD_ROW)
        assert main(["import", str(path), "--format", "csv", "--no-progress"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("created 1, updated 0, rejected 1\n  record 0 (line 3): conversation B-1:")

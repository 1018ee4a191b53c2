"""Importing into the database: upserts, agents and teams, isolation of bad records, files."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from qa.conversations import ingest
from qa.conversations.ingest import ImportResult, Rejection, import_path, import_records
from qa.db import make_engine
from qa.errors import InvalidInput
from qa.models import Agent, Conversation, Message, MessageComment, Review, Role, Team
from tests.conversations.helpers import jsonl, native
from tests.factories import make_scorecard, make_user


def stored(session: Session, source: str, external_id: str) -> Conversation:
    return session.exec(select(Conversation).where(Conversation.source == source,
                                                   Conversation.external_id == external_id)).one()


def bodies(session: Session, conversation: Conversation) -> list[str]:
    rows = session.exec(select(Message).where(Message.conversation_id == conversation.id)
                        .order_by(col(Message.position)))
    return [m.body for m in rows]


def message_at(session: Session, conversation: Conversation, position: int) -> Message:
    return session.exec(select(Message).where(Message.conversation_id == conversation.id,
                                              Message.position == position)).one()


def count(session: Session, model: Any, *where: Any) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


class TestUpsert:
    def test_creates_conversations_with_messages_in_order(self, session: Session) -> None:
        record = native()
        result = import_records(session, [record])
        assert (result.created, result.updated, result.rejected) == (1, 0, [])
        conv = stored(session, "helpdesk", record["external_id"])
        assert bodies(session, conv) == [m["body"] for m in record["messages"]]
        assert conv.channel == "chat" and conv.csat == 4 and conv.tags == ["refund"]
        assert conv.meta == record["metadata"] and conv.customer_name == "Sam"
        assert conv.created_at == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
        assert (conv.message_count, conv.agent_message_count, conv.customer_message_count) == (3, 2, 1)
        assert (conv.first_response_seconds, conv.handle_seconds) == (90, 1200)
        first = message_at(session, conv, 1)
        assert first.created_at == datetime(2026, 3, 1, 10, 1, 30, tzinfo=UTC)
        assert (first.author, first.author_id, first.internal) == ("agent", "a-7", False)

    def test_importing_twice_updates_without_duplicates(self, session: Session) -> None:
        records = [native(), native()]
        import_records(session, records)
        again = import_records(session, records)
        assert (again.created, again.updated) == (0, 2)
        ids = [r["external_id"] for r in records]
        assert count(session, Conversation, col(Conversation.external_id).in_(ids)) == 2
        conv = stored(session, "helpdesk", ids[0])
        assert count(session, Message, Message.conversation_id == conv.id) == 3

    def test_update_replaces_fields_and_messages(self, session: Session) -> None:
        record = native()
        import_records(session, [record])
        conv = stored(session, "helpdesk", record["external_id"])
        message_ids = session.exec(select(Message.id).where(Message.conversation_id == conv.id)
                                   .order_by(col(Message.position))).all()
        changed = {**record, "subject": "Changed", "csat": 2, "tags": [], "messages": [
            {"author": "customer", "body": "Edited question"}, {"author": "agent", "body": "New answer"}]}
        import_records(session, [changed])
        conv = stored(session, "helpdesk", record["external_id"])
        assert (conv.subject, conv.csat, conv.tags, conv.message_count) == ("Changed", 2, [], 2)
        assert bodies(session, conv) == ["Edited question", "New answer"]
        kept = session.exec(select(Message.id).where(Message.conversation_id == conv.id)
                            .order_by(col(Message.position))).all()
        assert list(kept) == list(message_ids[:2])  # replaced in place: ids (and comments on them) survive

    def test_update_can_add_messages(self, session: Session) -> None:
        record = native()
        import_records(session, [record])
        longer = {**record, "messages": [*record["messages"], {"author": "customer", "body": "Thanks!"}]}
        assert import_records(session, [longer]).updated == 1
        conv = stored(session, "helpdesk", record["external_id"])
        assert bodies(session, conv)[-2:] == ["Refunded.", "Thanks!"]

    def test_the_same_conversation_twice_in_one_import(self, session: Session) -> None:
        first = native()
        second = {**first, "subject": "Second wins"}
        result = import_records(session, [first, native(), second])
        assert (result.created, result.updated) == (2, 1)
        assert stored(session, "helpdesk", first["external_id"]).subject == "Second wins"

    def test_same_external_id_in_two_sources_are_two_conversations(self, session: Session) -> None:
        record = native()
        result = import_records(session, [record, {**record, "source": "other-desk"}])
        assert result.created == 2

    def test_default_source(self, session: Session) -> None:
        record = native()
        del record["source"]
        import_records(session, [record], source="eu-desk")
        assert stored(session, "eu-desk", record["external_id"]).external_id == record["external_id"]

    def test_chunks(self, session: Session) -> None:
        records = [native() for _ in range(7)]
        result = import_records(session, records, chunk_size=3)
        assert result.created == 7
        assert import_records(session, records, chunk_size=2).updated == 7

    def test_session_objects_are_not_stale_after_an_update(self, session: Session) -> None:
        record = native()
        import_records(session, [record])
        conv = stored(session, "helpdesk", record["external_id"])
        import_records(session, [{**record, "subject": "Fresh"}])
        assert conv.subject == "Fresh"


class TestAgentsAndTeams:
    def test_created_once_and_linked(self, session: Session) -> None:
        agent_id, team = f"ag-{uuid.uuid4().hex[:8]}", f"Team {uuid.uuid4().hex[:8]}"
        records = [native(agent={"external_id": agent_id, "name": "Kim"}, team=team) for _ in range(3)]
        import_records(session, records, chunk_size=2)
        import_records(session, [native(agent={"external_id": agent_id}, team=team)])
        agent = session.exec(select(Agent).where(Agent.external_id == agent_id)).one()
        team_row = session.exec(select(Team).where(Team.name == team)).one()
        assert count(session, Agent, Agent.external_id == agent_id) == 1
        assert count(session, Team, Team.name == team) == 1
        assert agent.name == "Kim" and agent.team_id == team_row.id
        conv = stored(session, "helpdesk", records[0]["external_id"])
        assert (conv.agent_id, conv.team_id) == (agent.id, team_row.id)

    def test_agent_learns_team_and_email_it_lacked_but_keeps_what_it_has(self, session: Session) -> None:
        agent_id = f"ag-{uuid.uuid4().hex[:8]}"
        import_records(session, [native(agent={"external_id": agent_id}, team=None)])
        agent = session.exec(select(Agent).where(Agent.external_id == agent_id)).one()
        assert (agent.name, agent.email, agent.team_id) == (agent_id, None, None)
        team = f"Team {uuid.uuid4().hex[:8]}"
        lee = {"external_id": agent_id, "name": "Lee", "email": "lee@x.io"}
        import_records(session, [native(agent=lee, team=team)])
        import_records(session, [native(agent={"external_id": agent_id, "name": "Other", "email": "o@x.io"},
                                        team="Another team")])
        session.refresh(agent)
        assert (agent.name, agent.email) == ("Lee", "lee@x.io")
        assert agent.team_id == session.exec(select(Team.id).where(Team.name == team)).one()

    def test_agent_from_the_last_replier(self, session: Session) -> None:
        replier = f"ag-{uuid.uuid4().hex[:8]}"
        record = native(agent=None, messages=[
            {"author": "customer", "body": "hi"},
            {"author": "agent", "author_id": "someone-else", "body": "one moment"},
            {"author": "agent", "author_id": replier, "author_name": "Robin", "body": "done"}])
        import_records(session, [record])
        agent = session.exec(select(Agent).where(Agent.external_id == replier)).one()
        assert agent.name == "Robin"
        assert stored(session, "helpdesk", record["external_id"]).agent_id == agent.id

    def test_existing_agent_is_reused(self, session: Session) -> None:
        agent = Agent(external_id=f"ag-{uuid.uuid4().hex[:8]}", name="Pre-existing")
        session.add(agent)
        session.flush()
        record = native(agent={"external_id": agent.external_id, "name": "Imported name"})
        import_records(session, [record])
        assert stored(session, "helpdesk", record["external_id"]).agent_id == agent.id
        assert count(session, Agent, Agent.external_id == agent.external_id) == 1


class TestBadRecords:
    def test_rejections_do_not_stop_the_rest(self, session: Session) -> None:
        good = [native(), native()]
        bad = {"external_id": "x", "messages": [{"author": "robot", "body": "hi"}]}
        records = [good[0], bad, 42, good[1]]
        result = import_records(session, records)
        assert result.created == 2
        assert [r.index for r in result.rejected] == [1, 2]
        assert result.rejected[0].error.startswith("messages[0].author: Input should be")
        assert result.rejected[1].error == "expected a JSON object, got a number"

    def test_parse_errors_travel_with_their_line(self, session: Session) -> None:
        parsed = ingest.parse_bytes(jsonl([native()]) + b"{oops\n", "application/x-ndjson")
        result = import_records(session, parsed)
        assert result.created == 1
        assert result.rejected == [Rejection(1, result.rejected[0].error, 2)]
        assert result.rejected[0].error.startswith("invalid JSON")

    def test_failed_update_leaves_the_stored_conversation_untouched(self, session: Session) -> None:
        record = native()
        import_records(session, [record])
        broken = {**record, "subject": "Should not be saved", "messages": [{"author": "robot", "body": "x"}]}
        result = import_records(session, [broken])
        assert (result.updated, len(result.rejected)) == (0, 1)
        conv = stored(session, "helpdesk", record["external_id"])
        assert conv.subject == record["subject"]
        assert bodies(session, conv) == [m["body"] for m in record["messages"]]

    def test_a_record_the_database_refuses_is_isolated(
        self, session: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        records = [native(), native(external_id="explodes"), native()]
        real_write = ingest._Writer.write

        def write(self: Any, batch: list[Any]) -> Any:
            result = real_write(self, batch)
            if any(r.key[1] == "explodes" for r in batch):
                raise IntegrityError("INSERT ...", {}, Exception("UNIQUE constraint failed: pretend"))
            return result

        monkeypatch.setattr(ingest._Writer, "write", write)
        result = import_records(session, records)
        assert result.created == 2
        error = "the database refused the record: UNIQUE constraint failed: pretend"
        assert result.rejected == [Rejection(1, error)]
        assert count(session, Conversation, Conversation.external_id == "explodes") == 0
        assert count(session, Conversation, col(Conversation.external_id).in_(
            [records[0]["external_id"], records[2]["external_id"]])) == 2

    def test_update_may_not_drop_a_commented_message(self, session: Session) -> None:
        record = native()
        import_records(session, [record])
        conv = stored(session, "helpdesk", record["external_id"])
        last = message_at(session, conv, 2)
        reviewer = make_user(session, role=Role.reviewer)
        review = Review(conversation_id=conv.id, version_id=make_scorecard(session).id,  # type: ignore[arg-type]
                        reviewer_id=reviewer.id)  # type: ignore[arg-type]
        session.add(review)
        session.flush()
        session.add(MessageComment(review_id=review.id, message_id=last.id, body="Good catch"))  # type: ignore[arg-type]
        session.flush()
        shorter = {**record, "messages": record["messages"][:2]}
        result = import_records(session, [shorter, native()])
        assert (result.created, result.updated) == (1, 0)
        assert result.rejected[0].index == 0
        assert "review comments on message 2" in result.rejected[0].error
        assert count(session, Message, Message.conversation_id == conv.id) == 3
        edited = {**record, "messages": [*record["messages"][:2], {"author": "agent", "body": "Reworded"}]}
        assert import_records(session, [edited]).updated == 1
        session.refresh(last)
        assert last.body == "Reworded"


class TestResult:
    def test_describe(self) -> None:
        result = ImportResult(created=10, updated=2)
        for i in range(22):
            result.reject(i, f"problem {i}", line=i + 1 if i == 0 else None)
        lines = result.describe().splitlines()
        assert lines[0] == "created 10, updated 2, rejected 22"
        assert lines[1] == "  record 0 (line 1): problem 0"
        assert lines[2] == "  record 1: problem 1"
        assert len(lines) == 22 and lines[-1] == "  ... and 2 more"

    def test_rejections_kept_are_capped(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(ingest, "MAX_KEPT_REJECTIONS", 3)
        result = ImportResult()
        for i in range(5):
            result.reject(i, "bad")
        assert (len(result.rejected), result.rejected_count) == (3, 5)


@pytest.fixture
def file_engine(committed_db: str) -> Iterator[Engine]:
    """An engine on a database of its own: import_path commits every chunk, which must not leave rows
    (a "Billing" team, say) in the worker database that the other tests share."""
    engine = make_engine(committed_db)
    yield engine
    engine.dispose()


class TestImportPath:
    def test_imports_a_file_committing_each_chunk(
        self, file_engine: Engine, tmp_path: Path
    ) -> None:
        source = f"file-{uuid.uuid4().hex[:8]}"
        records = [native(source=source, agent={"external_id": f"{source}-a{i % 2}"}, team=f"{source} team")
                   for i in range(5)]
        path = tmp_path / "conversations.jsonl"
        path.write_bytes(jsonl(records[:2]) + b"\n{broken\n" + jsonl(records[2:]))
        seen: list[int] = []
        result = import_path(file_engine, path, chunk_size=2, progress=lambda r: seen.append(r.created))
        assert (result.created, result.updated) == (5, 0)
        assert [(r.index, r.line) for r in result.rejected] == [(2, 4)]
        assert seen == [2, 4, 5]
        with Session(file_engine) as fresh:  # committed, visible to another connection
            assert count(fresh, Conversation, Conversation.source == source) == 5
            assert count(fresh, Agent, col(Agent.external_id).startswith(source)) == 2
        array = tmp_path / "conversations.json"
        array.write_text("[" + ",".join(jsonl(records).decode().splitlines()) + "]")
        again = import_path(file_engine, array)
        assert (again.created, again.updated, again.rejected) == (0, 5, [])

    def test_large_csv_files_are_read_in_a_child_process(
        self, file_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        source = f"csvpar-{uuid.uuid4().hex[:8]}"
        monkeypatch.setattr(ingest, "PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(ingest, "BATCH_LINES", 2)
        monkeypatch.setattr("threading.active_count", lambda: 1)
        used: list[int] = []
        real = ingest._records_in_child

        def spy(*args: Any, **kwargs: Any) -> Any:
            used.append(1)
            return real(*args, **kwargs)

        monkeypatch.setattr(ingest, "_records_in_child", spy)
        rows = ["conversation_id,author_role,body,created_at,source"]
        for n in range(5):
            rows += [f"C{n},customer,Hello {n},2026-03-01T10:00:00Z,{source}",
                     f"C{n},agent,Hi {n},2026-03-01T10:01:00Z,{source}"]
        rows.insert(3, f"C1,martian,??,2026-03-01T10:02:00Z,{source}")  # a bad row: reported, the rest kept
        path = tmp_path / "big.csv"
        path.write_text("\n".join(rows) + "\n")
        seen: list[int] = []
        result = import_path(file_engine, path, fmt="csv", chunk_size=2,
                             progress=lambda r: seen.append(r.bytes_read))
        assert used == [1]
        assert (result.created, result.updated) == (5, 0)
        assert len(result.rejected) == 1 and "martian" in result.rejected[0].error
        assert seen and seen[-1] == path.stat().st_size
        with Session(file_engine) as fresh:
            assert count(fresh, Conversation, Conversation.source == source) == 5
        missing = tmp_path / "missing.csv"
        missing.write_text("ticket_text,when\nhello,2026-03-01T10:00:00Z\n")
        with pytest.raises(InvalidInput, match="conversation id column"):
            import_path(file_engine, missing, fmt="csv")

    def test_large_files_are_validated_in_a_worker_process(
        self, file_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        source = f"par-{uuid.uuid4().hex[:8]}"
        monkeypatch.setattr(ingest, "PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(ingest, "BATCH_LINES", 2)
        monkeypatch.setattr("threading.active_count", lambda: 1)
        used: list[int] = []
        real = ingest._validated_in_workers

        def spy(*args: Any, **kwargs: Any) -> Any:
            used.append(kwargs["workers"])
            return real(*args, **kwargs)

        monkeypatch.setattr(ingest, "_validated_in_workers", spy)
        records = [native(source=source, agent={"external_id": f"{source}-a"}) for _ in range(6)]
        bad = native(source=source, channel="fax")
        path = tmp_path / "big.jsonl"
        later = jsonl([bad, records[0], *records[3:]])  # records[0] again: an update
        path.write_bytes(b"\xef\xbb\xbf" + jsonl(records[:3]) + b"\n{oops\n" + later)
        result = import_path(file_engine, path, chunk_size=4)
        assert used == [2]
        assert (result.created, result.updated) == (6, 1)
        assert [(r.index, r.line) for r in result.rejected] == [(3, 5), (4, 6)]
        assert result.rejected[1].error.startswith("channel: Input should be")
        with Session(file_engine) as fresh:
            assert count(fresh, Conversation, Conversation.source == source) == 6
            assert count(fresh, Message, col(Message.conversation_id).in_(
                select(Conversation.id).where(Conversation.source == source))) == 18

    def test_missing_file(self, file_engine: Engine, tmp_path: Path) -> None:
        with pytest.raises(OSError, match="^cannot read .*nope.jsonl: No such file or directory$"):
            import_path(file_engine, tmp_path / "nope.jsonl")

    def test_directory(self, file_engine: Engine, tmp_path: Path) -> None:
        with pytest.raises(OSError, match="^cannot read .*: Is a directory$"):
            import_path(file_engine, tmp_path)

    def test_unknown_format(self, file_engine: Engine, tmp_path: Path) -> None:
        with pytest.raises(InvalidInput, match="unknown format 'xml'") as caught:
            import_path(file_engine, tmp_path / "any.json", fmt="xml")
        assert caught.value.status_code == 400

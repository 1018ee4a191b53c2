"""The import page: an upload becomes a background job with progress, a summary and its rejected records."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from qa.app import create_app
from qa.conversations import jobs
from qa.db import make_engine, session_scope
from qa.models import AuditLog, Conversation, ImportJob, JobStatus, Role, User, utcnow
from qa.settings import Settings
from tests.conftest import login_as
from tests.conversations.helpers import jsonl, native
from tests.factories import make_user

HX = {"HX-Request": "true"}


@pytest.fixture
def live(committed_db: str) -> Iterator[tuple[TestClient, Engine]]:
    """A client of an app over a database that really commits (the import thread has its own connection)."""
    settings = Settings(database_url=committed_db, secret_key="test-secret-key-" + "x" * 32,
                        caliper_env="test")
    engine = make_engine(committed_db)
    app = create_app(settings, engine=engine)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield client, engine
    engine.dispose()


def _user(engine: Engine, role: Role) -> User:
    with session_scope(engine) as session:
        return make_user(session, role=role)


def _upload(client: TestClient, content: bytes, *, filename: str = "tickets.jsonl", **form: str) -> Any:
    token = BeautifulSoup(client.get("/conversations/import").text, "html.parser").select_one(
        "input[name=csrf_token]")["value"]  # type: ignore[index]
    return client.post("/conversations/import", data={"csrf_token": token, "format": "native", **form},
                       files={"file": (filename, content)}, follow_redirects=False)


def _wait(client: TestClient, job_url: str, timeout: float = 60) -> BeautifulSoup:
    deadline = time.monotonic() + timeout
    while True:
        part = BeautifulSoup(client.get(job_url, headers=HX).text, "html.parser")
        status = part.select_one("#job-progress")["data-status"]  # type: ignore[index]
        if status in ("done", "failed", "interrupted"):
            return part
        assert part.select_one("#job-progress")["hx-trigger"] == "load delay:1s"  # type: ignore[index]
        assert time.monotonic() < deadline, "the import job did not finish"
        time.sleep(0.2)


def _count(part: BeautifulSoup, name: str) -> int:
    return int(part.select_one(f"[data-count={name}]").get_text(strip=True))  # type: ignore[union-attr]


class TestUploadJob:
    def test_upload_imports_in_the_background_and_reports(self, live: tuple[TestClient, Engine]) -> None:
        client, engine = live
        manager = _user(engine, Role.manager)
        login_as(client, manager)
        good = [native(), native()]
        content = jsonl([good[0], {"external_id": "X-1", "messages": []}, good[1]])
        response = _upload(client, content)
        assert response.status_code == 303
        job_url = response.headers["location"]
        page = BeautifulSoup(client.get(job_url).text, "html.parser")
        assert page.select_one("h1").get_text(strip=True) == "tickets.jsonl"  # type: ignore[union-attr]
        part = _wait(client, job_url)
        assert part.select_one("#job-progress")["data-status"] == "done"  # type: ignore[index]
        assert not part.select_one("#job-progress").has_attr("hx-get")  # type: ignore[union-attr]
        assert (_count(part, "created"), _count(part, "updated"), _count(part, "rejected")) == (2, 0, 1)
        assert "messages: at least one message is required" in part.select_one(".rejections").get_text()  # type: ignore[union-attr]
        download = client.get(part.select_one("a[download]")["href"])  # type: ignore[index]
        assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(download.text)))
        assert rows[0] == ["record", "line", "reason"] and rows[1][:2] == ["1", "2"]
        with Session(engine) as session:
            stored = {c.external_id for c in session.exec(select(Conversation))}
            assert stored == {g["external_id"] for g in good}
            job = session.exec(select(ImportJob)).one()
            assert job.stored_path is None and job.finished_at is not None
            entry = session.exec(select(AuditLog).where(AuditLog.entity == "import_job")).one()
            assert entry.actor_id == manager.id and entry.after["created"] == 2  # type: ignore[index]
        listed = BeautifulSoup(client.get("/conversations/import").text, "html.parser")
        assert "tickets.jsonl" in listed.select_one(".recent-imports").get_text()  # type: ignore[union-attr]

    def test_the_same_file_again_updates_and_duplicates_nothing(
        self, live: tuple[TestClient, Engine]
    ) -> None:
        client, engine = live
        login_as(client, _user(engine, Role.admin))
        content = jsonl([native(), native()])
        _wait(client, _upload(client, content).headers["location"])
        part = _wait(client, _upload(client, content).headers["location"])
        assert (_count(part, "created"), _count(part, "updated")) == (0, 2)
        with Session(engine) as session:
            assert session.exec(select(func.count()).select_from(Conversation)).one() == 2

    def test_a_file_the_importer_cannot_read_fails_with_the_reason(
        self, live: tuple[TestClient, Engine]
    ) -> None:
        client, engine = live
        login_as(client, _user(engine, Role.manager))
        response = _upload(client, b"id,text\n1,hello\n", filename="bad.csv", format="csv")
        part = _wait(client, response.headers["location"])
        assert part.select_one("#job-progress")["data-status"] == "failed"  # type: ignore[index]
        assert "conversation id column" in part.select_one(".alert-error").get_text()  # type: ignore[union-attr]

    def test_csv_with_a_column_mapping(self, live: tuple[TestClient, Engine]) -> None:
        client, engine = live
        login_as(client, _user(engine, Role.manager))
        content = (b"Ticket,Who,Said,When\n"
                   b"T-1,customer,Where is my parcel?,2026-03-01T10:00:00Z\n"
                   b"T-1,agent,On its way!,2026-03-01T10:02:00Z\n")
        response = _upload(client, content, filename="export.csv", format="csv",
                           mapping="conversation_id=Ticket\nauthor_role=Who\nbody=Said\ncreated_at=When")
        part = _wait(client, response.headers["location"])
        assert _count(part, "created") == 1, part.get_text()
        with Session(engine) as session:
            conversation = session.exec(select(Conversation)).one()
            assert (conversation.external_id, conversation.message_count) == ("T-1", 2)


class TestUploadForm:
    def test_bad_input_is_422_and_stores_nothing(self, live: tuple[TestClient, Engine]) -> None:
        client, engine = live
        login_as(client, _user(engine, Role.manager))
        token = BeautifulSoup(client.get("/conversations/import").text, "html.parser").select_one(
            "input[name=csrf_token]")["value"]  # type: ignore[index]
        no_file = client.post("/conversations/import", data={"csrf_token": token, "format": "native"})
        assert no_file.status_code == 422 and "Choose a file" in no_file.text
        bad_format = _upload(client, b"[]", format="xml")
        assert bad_format.status_code == 422 and "Unknown format" in bad_format.text
        bad_mapping = _upload(client, b"a,b\n", format="csv", mapping="nonsense=Ticket")
        assert bad_mapping.status_code == 422 and "nonsense" in bad_mapping.text
        with Session(engine) as session:
            assert session.exec(select(func.count()).select_from(ImportJob)).one() == 0

    def test_missing_csrf_is_refused(self, live: tuple[TestClient, Engine]) -> None:
        client, engine = live
        login_as(client, _user(engine, Role.manager))
        client.headers.pop("X-CSRF-Token", None)  # login_as sends it on every request, as htmx would
        response = client.post("/conversations/import", data={"format": "native"},
                               files={"file": ("a.json", b"[]")}, follow_redirects=False)
        assert response.status_code == 403


class TestJobAccess:
    def test_roles_and_other_managers_jobs(self, live: tuple[TestClient, Engine]) -> None:
        client, engine = live
        owner, other, admin = (_user(engine, r) for r in (Role.manager, Role.manager, Role.admin))
        login_as(client, owner)
        job_url = _upload(client, jsonl([native()])).headers["location"]
        _wait(client, job_url)
        login_as(client, other)
        assert client.get(job_url).status_code == 404
        assert client.get(job_url + "/rejections.csv").status_code == 404
        assert "recent-imports" not in client.get("/conversations/import").text
        login_as(client, admin)
        assert client.get(job_url).status_code == 200
        for role in (Role.reviewer, Role.agent):
            login_as(client, _user(engine, role))
            assert client.get(job_url).status_code == 403
            assert client.get("/conversations/import").status_code == 403
        login_as(client, admin)
        assert client.get("/conversations/import/jobs/nope").status_code == 404
        assert client.get("/conversations/import/jobs/99999999999999999999").status_code == 404


class TestJobState:
    def test_a_running_job_that_stopped_beating_reads_as_interrupted(self) -> None:
        now = utcnow()
        job = ImportJob(format="native", filename="f", status=JobStatus.running, total_bytes=100,
                        bytes_read=40, heartbeat_at=now - timedelta(seconds=jobs.STALE_SECONDS + 1))
        assert jobs.view(job, now).status is JobStatus.interrupted
        job.heartbeat_at = now
        assert (jobs.view(job, now).status, jobs.view(job, now).percent) == (JobStatus.running, 40)

    def test_a_job_queued_for_hours_reads_as_interrupted(self) -> None:
        now = utcnow()
        job = ImportJob(format="native", filename="f", status=JobStatus.queued, created_at=now)
        assert jobs.view(job, now + timedelta(minutes=30)).status is JobStatus.queued
        later = now + timedelta(seconds=jobs.QUEUED_STALE_SECONDS + 1)
        assert jobs.view(job, later).status is JobStatus.interrupted

    def test_an_interrupted_job_says_what_to_do(self, live: tuple[TestClient, Engine]) -> None:
        client, engine = live
        manager = _user(engine, Role.manager)
        with session_scope(engine) as session:
            job = ImportJob(created_by=manager.id, format="native", filename="big.jsonl",
                            status=JobStatus.running, total_bytes=10,
                            heartbeat_at=utcnow() - timedelta(hours=1))
            session.add(job)
            session.flush()
            job_id = job.id
        login_as(client, manager)
        response = client.get(f"/conversations/import/jobs/{job_id}", headers=HX)
        part = BeautifulSoup(response.text, "html.parser")
        assert part.select_one("#job-progress")["data-status"] == "interrupted"  # type: ignore[index]
        assert "upload the file again" in part.get_text()

    def test_rejections_csv_escapes_what_it_quotes(self) -> None:
        job = ImportJob(format="native", filename="f", rejections=[
            {"index": 3, "line": None, "error": 'messages[0].body: "quoted", with comma'}])
        rows = list(csv.reader(io.StringIO(jobs.rejections_csv(job))))
        assert rows[1] == ["3", "", 'messages[0].body: "quoted", with comma']

    @pytest.mark.parametrize("error", ["=HYPERLINK(\"http://x\")", "+1", "-1+2", "@SUM(A1)", "\tx"])
    def test_rejections_csv_never_holds_a_formula(self, error: str) -> None:
        job = ImportJob(format="csv", filename="f", rejections=[{"index": 0, "line": 2, "error": error}])
        rows = list(csv.reader(io.StringIO(jobs.rejections_csv(job))))
        assert rows[1][2] == "'" + error
        assert json.dumps(rows)  # plain strings all the way

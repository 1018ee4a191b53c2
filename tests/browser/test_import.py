"""Importing a helpdesk export in a real browser: upload, watch the progress bar, read the summary."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, func, select

from qa.auth.service import create_user
from qa.db import make_engine
from qa.models import Conversation
from tests.browser.conftest import LiveServer, Seed
from tests.browser.test_login import log_in

PASSWORD = "browser-pass-123"
CONVERSATIONS = 3000


@pytest.fixture(scope="module")
def seed() -> Seed:
    def load(session: Session) -> dict[str, str]:
        create_user(session, actor=None, email="maya@example.com", role="manager", password=PASSWORD,
                    name="Maya Manager")
        return {"manager": "maya@example.com"}

    return load


def _zendesk_file(path: Path) -> Path:
    with path.open("w") as out:
        for n in range(CONVERSATIONS):
            ticket = {"id": n, "subject": f"Order {n} is late", "via": {"channel": "email"},
                      "requester_id": 1, "assignee_id": 2, "status": "solved",
                      "created_at": "2026-03-01T10:00:00Z", "updated_at": "2026-03-01T11:00:00Z",
                      "satisfaction_rating": {"score": "good"}}
            comments = [
                {"id": n * 10, "author_id": 1, "public": True,
                 "html_body": "<p>Where is <b>my order</b>?</p>", "created_at": "2026-03-01T10:00:00Z"},
                {"id": n * 10 + 1, "author_id": 2, "public": True, "body": "It ships today.",
                 "created_at": "2026-03-01T10:05:00+01:00"},
            ]
            users = [{"id": 1, "name": "Sam Customer", "role": "end-user"},
                     {"id": 2, "name": "Dana Agent", "role": "agent"}]
            out.write(json.dumps({"ticket": ticket, "comments": comments, "users": users}) + "\n")
        out.write('{"ticket": {"id": "broken"}, "comments": "not a list"}\n')
    return path


def test_manager_uploads_a_zendesk_export_and_watches_it_import(
    page: Page, live_server: LiveServer, tmp_path: Path, console_errors: list[str]
) -> None:
    page.goto("/login")
    log_in(page, live_server.data["manager"], PASSWORD)
    page.goto("/conversations/import")
    page.locator("#import-format").select_option("zendesk")
    page.locator("input[name=file]").set_input_files(str(_zendesk_file(tmp_path / "zendesk-export.jsonl")))
    page.get_by_role("button", name="Upload and import").click()

    page.wait_for_url("**/conversations/import/jobs/*")
    job_path = urlsplit(page.url).path
    page.evaluate("window.__stillThisPage = true")  # gone if the page reloads instead of polling
    progress = page.locator("#job-progress")
    expect(progress.locator("progress")).to_be_visible()
    expect(progress).to_have_attribute("data-status", "done", timeout=60_000)
    assert page.evaluate("window.__stillThisPage === true"), "the page reloaded instead of polling"
    assert urlsplit(page.url).path == job_path
    expect(progress.locator(".job-percent")).to_have_text("100%")
    expect(progress.locator("[data-count=created]")).to_have_text(str(CONVERSATIONS))
    expect(progress.locator("[data-count=rejected]")).to_have_text("1")
    expect(progress.locator(".rejections")).to_contain_text("broken")

    with page.expect_download() as download:
        progress.get_by_role("link", name="Download all 1 as CSV").click()
    assert Path(download.value.path()).read_text().startswith("record,line,reason")

    engine = make_engine(live_server.database_url)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Conversation)).one() == CONVERSATIONS
    engine.dispose()
    page.goto("/conversations/import")
    expect(page.locator(".recent-imports")).to_contain_text("zendesk-export.jsonl")
    assert not console_errors, console_errors

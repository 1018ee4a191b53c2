"""Logging in with a real browser against a real server."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from qa.auth.service import create_user
from tests.browser.conftest import LiveServer, Seed

PASSWORD = "browser-pass-123"


@pytest.fixture(scope="module")
def seed() -> Seed:
    def load(session: Session) -> dict[str, str]:
        create_user(session, actor=None, email="rita@example.com", role="reviewer", password=PASSWORD,
                    name="Rita Reviewer")
        return {"reviewer": "rita@example.com"}

    return load


def log_in(page: Page, email: str, password: str) -> None:
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_reviewer_logs_in_and_lands_on_the_queue(
    page: Page, live_server: LiveServer, console_errors: list[str]
) -> None:
    page.goto("/login")
    with page.expect_response(lambda response: urlsplit(response.url).path == "/queue") as queue:
        log_in(page, live_server.data["reviewer"], PASSWORD)
    assert queue.value.status == 200
    page.wait_for_url("**/queue")
    assert urlsplit(page.url).path == "/queue"
    assert not [error for error in console_errors if "Content Security Policy" in error], console_errors


def test_wrong_password_stays_on_the_form_with_a_message(page: Page, live_server: LiveServer) -> None:
    page.goto("/login")
    log_in(page, live_server.data["reviewer"], "not-the-password")
    expect(page.get_by_role("alert")).to_have_text("Wrong e-mail or password.")
    assert urlsplit(page.url).path == "/login"
    expect(page.get_by_label("E-mail")).to_have_value(live_server.data["reviewer"])


def test_login_brings_you_back_to_the_page_you_asked_for(page: Page, live_server: LiveServer) -> None:
    page.goto("/reviews")
    assert urlsplit(page.url).path == "/login"
    log_in(page, live_server.data["reviewer"], PASSWORD)
    page.wait_for_url("**/reviews")

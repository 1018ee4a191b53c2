"""Sampling in a real browser: a manager writes a rule in the form and runs it; a reviewer finds the
assignments at the top of their queue, with due dates, skips one and opens another."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from qa.auth.service import create_user
from qa.conversations import ingest
from qa.scorecard_admin import service as scorecard_service
from scorecards import validate_definition
from tests.browser.conftest import LiveServer, Seed
from tests.browser.helpers import PASSWORD, log_in
from tests.factories import EXAMPLE_SCORECARD

AGENTS = [("a-1", "Dana Ruiz"), ("a-2", "Eli Park"), ("a-3", "Femi Ade")]


def _conversation(number: int, agent: tuple[str, str], closed: datetime) -> dict[str, Any]:
    at = closed.isoformat().replace("+00:00", "Z")
    return {
        "external_id": f"S-{number}", "source": "helpdesk", "channel": "chat" if number % 2 else "email",
        "subject": f"Billing question {number}", "agent": {"external_id": agent[0], "name": agent[1]},
        "team": "Billing", "customer": {"external_id": f"c-{number}", "name": f"Customer {number}"},
        "created_at": at, "closed_at": at, "csat": 1 + number % 5, "tags": ["billing"], "language": "en",
        "messages": [
            {"author": "customer", "body": f"Question {number} about my invoice", "created_at": at},
            {"author": "agent", "author_id": agent[0], "body": "Let me check.", "created_at": at},
            {"author": "agent", "author_id": agent[0], "body": "Done, anything else?", "created_at": at},
        ],
    }


@pytest.fixture(scope="module")
def seed() -> Seed:
    def load(session: Session) -> dict[str, Any]:
        definition = validate_definition(EXAMPLE_SCORECARD)
        scorecard_service.create_scorecard(session, actor=None, definition=definition)
        now = datetime.now(UTC).replace(microsecond=0)
        records = [_conversation(i, AGENTS[i % 3], now - timedelta(days=1 + i % 4, hours=i))
                   for i in range(12)]
        result = ingest.import_records(session, records)
        assert result.created == 12, result.describe()
        create_user(session, actor=None, email="maya@example.com", role="manager", password=PASSWORD,
                    name="Maya Manager")
        create_user(session, actor=None, email="rita@example.com", role="reviewer", password=PASSWORD,
                    name="Rita Reviewer")
        create_user(session, actor=None, email="ravi@example.com", role="reviewer", password=PASSWORD,
                    name="Ravi Reviewer")
        return {}

    return load


def test_a_manager_writes_and_runs_a_rule_and_the_reviewer_gets_the_assignments(
    page: Page, live_server: LiveServer, console_errors: list[str]
) -> None:
    log_in(page, "maya@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sampling").click()
    expect(page.locator("main")).to_contain_text("No sampling rules yet")
    page.get_by_role("link", name="New rule").click()

    page.locator("#name").fill("Billing check")
    page.locator("#quota_value").fill("2")
    page.locator("#period").select_option("once")  # a scheduled rule could be run by the scheduler first
    expect(page.locator("#stratify_by")).to_be_hidden()  # only for the stratified strategy
    page.locator("#strategy").select_option("stratified")
    expect(page.locator("#stratify_by")).to_be_visible()
    page.locator("#stratify_by").select_option("channel")
    page.locator("#f_last_days").fill("30")
    page.get_by_role("checkbox", name="Rita Reviewer").check()
    page.get_by_role("button", name="Create rule").click()

    page.wait_for_url("**/sampling/rules/*")
    expect(page.locator(".rule-sentence")).to_contain_text(
        "Once, 2 per agent, stratified by channel, from conversations closed in the last 30 days, "
        "not yet reviewed")
    expect(page.locator(".rule-sentence")).to_contain_text("reviewers: Rita Reviewer")
    page.get_by_role("button", name="Run now").click()

    page.wait_for_url("**/sampling/runs/*")
    expect(page.locator("#run-message")).to_contain_text("12 conversations matched; 6 picked, 6 assigned")
    expect(page.locator("#run-assignments tbody tr")).to_have_count(6)
    expect(page.locator("#per-stratum li")).to_have_count(2)  # chat and email
    expect(page.locator("#per-reviewer")).to_contain_text("Rita Reviewer")

    page.get_by_role("button", name="Log out").click()
    log_in(page, "rita@example.com")
    page.wait_for_url("**/queue")
    panel = page.locator("#my-assignments")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("heading")).to_contain_text("Your assignments")
    expect(panel.locator("tbody tr")).to_have_count(6)
    expect(panel.locator(".due").first).to_contain_text("Due")
    expect(panel.locator(".reason-cell").first).to_contain_text("stratified by channel")

    # Skip one in place (htmx swaps the panel; the page stays), then open another.
    page.evaluate("window.__sameDocument = true")
    last = panel.locator("tbody tr").last
    last.get_by_text("Skip or replace").click()
    last.get_by_label("Why skip it?").fill("Spam")
    last.get_by_role("button", name="Skip", exact=True).click()
    expect(page.locator("#my-assignments .alert-ok")).to_contain_text("Skipped")
    expect(page.locator("#my-assignments tbody tr")).to_have_count(5)
    assert page.evaluate("window.__sameDocument === true"), "skipping must not reload the page"

    subject = panel.locator("tbody tr .subject").first.inner_text()
    panel.get_by_role("button", name="Review").first.click()
    page.wait_for_url("**/reviews/*")
    expect(page.locator("h1")).to_contain_text(subject)
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors

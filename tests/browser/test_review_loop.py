"""The review loop in a real browser: a reviewer scores a conversation live, submits, the agent reads it."""

from __future__ import annotations

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

CONVERSATION = {
    "external_id": "T-1001", "source": "helpdesk", "channel": "chat", "subject": "Charged twice for my order",
    "agent": {"external_id": "a-7", "name": "Dana Ruiz", "email": "dana@example.com"}, "team": "Billing",
    "customer": {"external_id": "c-9", "name": "Sam"}, "created_at": "2026-03-01T10:00:00Z",
    "closed_at": "2026-03-01T10:20:00Z", "csat": 4, "tags": ["refund"], "language": "en",
    "messages": [
        {"author": "customer", "body": "Hi, I was charged twice", "created_at": "2026-03-01T10:00:00Z"},
        {"author": "agent", "author_id": "a-7", "body": "Sorry about that! Let me check.",
         "created_at": "2026-03-01T10:01:30Z"},
        {"author": "agent", "author_id": "a-7", "body": "Customer verified by card digits", "internal": True,
         "created_at": "2026-03-01T10:02:00Z"},
        {"author": "agent", "author_id": "a-7", "body": "Refunded the second charge. Anything else?",
         "created_at": "2026-03-01T10:05:00Z"},
    ],
}


@pytest.fixture(scope="module")
def seed() -> Seed:
    def load(session: Session) -> dict[str, Any]:
        definition = validate_definition(EXAMPLE_SCORECARD)
        scorecard_service.create_scorecard(session, actor=None, definition=definition)
        result = ingest.import_records(session, [CONVERSATION])
        assert result.created == 1, result.describe()
        create_user(session, actor=None, email="rita@example.com", role="reviewer", password=PASSWORD,
                    name="Rita Reviewer")
        create_user(session, actor=None, email="dana@example.com", role="agent", password=PASSWORD,
                    name="Dana Ruiz", agent_external_id="a-7")
        create_user(session, actor=None, email="omar@example.com", role="agent", password=PASSWORD,
                    name="Omar Other", agent_external_id="a-8")
        return {}

    return load


def choose(page: Page, criterion: str, label: str) -> None:
    page.locator(f"#crit-{criterion} label.option", has_text=label).first.click()


def test_reviewer_scores_live_submits_and_the_agent_reads_it(
    page: Page, live_server: LiveServer, console_errors: list[str]
) -> None:
    log_in(page, "rita@example.com")
    page.wait_for_url("**/queue")
    row = page.locator("tr", has_text="Charged twice for my order")
    expect(row).to_be_visible()
    row.get_by_role("button", name="Review").click()
    page.wait_for_url("**/reviews/*")
    review_url = page.url.split("?")[0]

    score = page.locator("#score-panel .big")
    expect(score).to_have_text("—")
    expect(page.locator(".msg-internal")).to_contain_text("Customer verified by card digits")
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page

    choose(page, "greeting", "Yes")
    expect(score).to_have_text("100.0")
    choose(page, "accuracy", "4")
    expect(score).to_have_text("81.3")  # (1·1 + 3·0.75) / 4 = 81.25, shown with halves rounded up
    choose(page, "tone", "OK")
    expect(score).to_have_text("74.2")  # (1 + 2.25 + 1.2) / 6 = 74.1666…
    choose(page, "accuracy", "2")
    expect(score).to_have_text("0.0")  # critical criterion below 50 %: the review fails
    expect(page.locator("#score-panel")).to_contain_text("Critical")
    choose(page, "accuracy", "4")
    expect(score).to_have_text("74.2")
    assert page.evaluate("window.__sameDocument === true"), "the score must update without a page reload"

    page.locator("#overall-comment").fill("Quick refund, but the tone could be warmer.")
    page.get_by_role("button", name="Submit review").click()
    expect(page.locator("body")).to_contain_text("Submitted")
    expect(page.locator("#score-panel .big")).to_have_text("74.2")

    page.get_by_role("button", name="Log out").click()
    log_in(page, "dana@example.com")
    page.wait_for_url("**/feedback")
    link = page.get_by_role("link", name="Charged twice for my order")
    expect(link).to_be_visible()
    expect(page.locator("main")).to_contain_text("74.2")
    link.click()
    expect(page.locator("#score-panel .big")).to_have_text("74.2")
    expect(page.locator("main")).to_contain_text("Quick refund, but the tone could be warmer.")
    page.get_by_role("button", name="Acknowledge review").click()
    expect(page.locator("main")).to_contain_text("Acknowledged")
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors

    # Another agent sees none of it: not in their feedback, and the URL answers 404.
    page.get_by_role("button", name="Log out").click()
    log_in(page, "omar@example.com")
    page.wait_for_url("**/feedback")
    expect(page.get_by_role("link", name="Charged twice for my order")).to_have_count(0)
    response = page.goto(review_url)
    assert response is not None and response.status == 404


"""Disputes in a real browser: an agent disputes a criterion, a manager accepts it with a corrected
rating, the agent sees the new score on the review, on My feedback and in their report; an agent
acknowledges a review."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from qa.auth.service import create_user
from qa.conversations import ingest
from qa.models import Conversation, User
from qa.reviews import service as review_service
from qa.scorecard_admin import service as scorecard_service
from scorecards import validate_definition
from tests.browser.conftest import LiveServer, Seed
from tests.browser.helpers import PASSWORD, log_in
from tests.factories import EXAMPLE_SCORECARD


def _conversation(external_id: str, subject: str) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "source": "helpdesk",
        "channel": "chat",
        "subject": subject,
        "agent": {"external_id": "a-7", "name": "Dana Ruiz"},
        "team": "Billing",
        "customer": {"external_id": "c-9", "name": "Sam"},
        "created_at": "2026-03-01T10:00:00Z",
        "messages": [
            {"author": "customer", "body": "Hi, I was charged twice", "created_at": "2026-03-01T10:00:00Z"},
            {
                "author": "agent",
                "author_id": "a-7",
                "body": "Refunded the second charge.",
                "created_at": "2026-03-01T10:05:00Z",
            },
        ],
    }


def _review(session: Session, reviewer: User, conversation_id: int, ratings: dict[str, str]) -> int:
    review = review_service.start_review(session, actor=reviewer, conversation_id=conversation_id)
    for key, label in ratings.items():
        review_service.rate(
            session, actor=reviewer, review_id=review.id, criterion_key=key, option_label=label
        )
    review_service.submit_review(session, actor=reviewer, review_id=review.id)
    assert review.id is not None
    return review.id


@pytest.fixture(scope="module")
def seed() -> Seed:
    def load(session: Session) -> dict[str, Any]:
        scorecard_service.create_scorecard(
            session, actor=None, definition=validate_definition(EXAMPLE_SCORECARD)
        )
        result = ingest.import_records(
            session,
            [_conversation("T-1", "Charged twice for my order"), _conversation("T-2", "Where is my parcel")],
        )
        assert result.created == 2, result.describe()
        rita = create_user(
            session,
            actor=None,
            email="rita@example.com",
            role="reviewer",
            password=PASSWORD,
            name="Rita Reviewer",
        )
        create_user(
            session,
            actor=None,
            email="dana@example.com",
            role="agent",
            password=PASSWORD,
            name="Dana Ruiz",
            agent_external_id="a-7",
        )
        create_user(
            session,
            actor=None,
            email="mona@example.com",
            role="manager",
            password=PASSWORD,
            name="Mona Manager",
            team="Billing",
        )
        ids = {c.external_id: c.id or 0 for c in session.exec(select(Conversation))}
        # accuracy "2" scores 0.25, below the critical threshold: the whole review scores 0.
        failed = _review(session, rita, ids["T-1"], {"greeting": "Yes", "accuracy": "2", "tone": "OK"})
        good = _review(session, rita, ids["T-2"], {"greeting": "Yes", "accuracy": "5", "tone": "Great"})
        return {"failed": failed, "good": good}

    return load


def test_agent_disputes_manager_accepts_agent_sees_the_new_score(
    page: Page, live_server: LiveServer, console_errors: list[str]
) -> None:
    failed = live_server.data["failed"]
    log_in(page, "dana@example.com")
    page.wait_for_url("**/feedback")
    page.goto("/reports/me")  # IQS = mean(0, 100): the critical fail counts as 0
    expect(page.locator(".rep-stats .stat", has_text="Quality score").locator(".value")).to_have_text("50.0")
    page.goto("/feedback")
    page.get_by_role("link", name="Charged twice for my order").click()
    expect(page.locator("#score-panel .big")).to_have_text("0.0")
    accuracy = page.locator("#crit-accuracy")
    accuracy.get_by_text("Dispute this rating").click()
    accuracy.get_by_label("Why is Correct solution wrong?").fill(
        "The refund was the right fix: it went through."
    )
    accuracy.get_by_role("button", name="Send dispute").click()
    expect(page.locator("#crit-accuracy")).to_contain_text("Disputed · pending")
    expect(page.locator("#disputes")).to_contain_text("The refund was the right fix")

    page.get_by_role("button", name="Log out").click()
    log_in(page, "mona@example.com")
    page.goto("/disputes")
    row = page.locator("#open-disputes tr", has_text="Charged twice for my order")
    expect(row).to_contain_text("The refund was the right fix")
    row.get_by_role("link", name="Resolve").click()
    expect(page.locator("fieldset.is-disputed legend")).to_contain_text("Correct solution")
    expect(page.locator("input[name='rating.accuracy'][value='2']")).to_be_focused()  # the disputed one
    page.locator("#crit-accuracy label.option", has_text="4").click()
    expect(page.locator("[data-preview-score]")).to_have_text("74.2")  # (1 + 0.75·3 + 0.6·2) / 6
    page.get_by_label("Comment for the agent").fill("Agreed: the refund fixed it.")
    page.get_by_role("button", name="Accept and correct the review").click()
    page.wait_for_url("**/disputes")
    expect(page.locator(".alert-ok")).to_contain_text("now scores 74.2 (was 0.0)")

    page.get_by_role("button", name="Log out").click()
    log_in(page, "dana@example.com")
    page.wait_for_url("**/feedback")
    feedback_row = page.locator("#feedback-rows tr", has_text="Charged twice for my order")
    expect(feedback_row.locator(".score-pill")).to_have_text("74.2")
    expect(feedback_row).to_contain_text("Corrected")
    page.goto(f"/reviews/{failed}")
    expect(page.locator("#score-panel .big")).to_have_text("74.2")
    expect(page.locator("#disputes")).to_contain_text("Dispute accepted")
    expect(page.locator("#disputes")).to_contain_text("Agreed: the refund fixed it.")
    page.goto("/reports/me")  # the corrected score counts: (74.1666… + 100) / 2
    expect(page.locator(".rep-stats .stat", has_text="Quality score").locator(".value")).to_have_text("87.1")
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors


def test_agent_acknowledges_a_review(page: Page, live_server: LiveServer, console_errors: list[str]) -> None:
    log_in(page, "dana@example.com")
    page.wait_for_url("**/feedback")
    row = page.locator("#feedback-rows tr", has_text="Where is my parcel")
    expect(row).to_contain_text("New")
    row.get_by_role("link", name="Where is my parcel").click()
    page.get_by_role("button", name="Acknowledge review").click()
    expect(page.locator(".ack-badge")).to_have_text("✓ Acknowledged")
    page.goto("/feedback")
    expect(
        page.locator("#feedback-rows tr", has_text="Where is my parcel").locator(".ack-mark")
    ).to_be_visible()
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors


def test_reviewer_pins_without_a_reload(
    page: Page, live_server: LiveServer, console_errors: list[str]
) -> None:
    log_in(page, "rita@example.com")
    page.goto(f"/reviews/{live_server.data['good']}")
    page.evaluate("window.__sameDocument = true")
    message = page.locator("article.msg-agent").first
    message.locator(".pin-pop summary").focus()
    page.keyboard.press("Enter")  # the pin button is a keyboard-reachable disclosure
    message.get_by_label("Note for the next coaching session").fill("Praise the quick refund")
    message.get_by_role("button", name="Pin to coaching board").click()
    expect(message.locator(".coach-pin-note")).to_contain_text("Praise the quick refund")
    assert page.evaluate("window.__sameDocument === true"), "pinning must not reload the page"
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors

"""Coaching in a real browser: a manager schedules a session with a goal; the agent sees it, notified."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from qa.auth.service import create_user
from qa.conversations import ingest
from qa.models import Conversation
from qa.notifications import service as notification_service
from qa.reviews import service as review_service
from qa.reviews.service import RatingIn
from qa.scorecard_admin import service as scorecard_service
from scorecards import validate_definition
from tests.browser.conftest import LiveServer, Seed
from tests.browser.helpers import PASSWORD, log_in
from tests.factories import EXAMPLE_SCORECARD

CONVERSATION = {
    "external_id": "T-2001", "source": "helpdesk", "channel": "chat", "subject": "Refund took too long",
    "agent": {"external_id": "a-7", "name": "Dana Ruiz", "email": "dana@example.com"}, "team": "Billing",
    "customer": {"external_id": "c-9", "name": "Sam"}, "created_at": "2026-03-01T10:00:00Z",
    "messages": [
        {"author": "customer", "body": "Where is my refund?", "created_at": "2026-03-01T10:00:00Z"},
        {"author": "agent", "author_id": "a-7", "body": "Let me look.", "created_at": "2026-03-01T10:01:00Z"},
    ],
}
SOON = (datetime.now(UTC) + timedelta(days=2)).replace(hour=9, minute=30, second=0, microsecond=0)
DUE = (SOON + timedelta(days=28)).date()


@pytest.fixture(scope="module")
def seed() -> Seed:
    def load(session: Session) -> dict[str, Any]:
        version = scorecard_service.create_scorecard(session, actor=None,
                                                     definition=validate_definition(EXAMPLE_SCORECARD))
        result = ingest.import_records(session, [CONVERSATION])
        assert result.created == 1, result.describe()
        create_user(session, actor=None, email="mona@example.com", role="manager", password=PASSWORD,
                    name="Mona Manager")
        rita = create_user(session, actor=None, email="rita@example.com", role="reviewer", password=PASSWORD,
                           name="Rita Reviewer")
        dana = create_user(session, actor=None, email="dana@example.com", role="agent", password=PASSWORD,
                           name="Dana Ruiz", agent_external_id="a-7")
        ratings = [RatingIn(criterion="greeting", option="Yes"), RatingIn(criterion="accuracy", option="4"),
                   RatingIn(criterion="tone", option="OK")]
        conversation_id = session.exec(
            select(Conversation.id).where(Conversation.external_id == "T-2001")).one()
        review_service.create_review(session, actor=rita, conversation_id=conversation_id,
                                     scorecard_id=version.scorecard_id, ratings=ratings)
        notification_service.mark_read(session, dana)  # start the agent's bell from zero
        return {}

    return load


def test_a_coach_schedules_a_session_with_a_goal_and_the_agent_sees_it(
    page: Page, live_server: LiveServer, console_errors: list[str]
) -> None:
    log_in(page, "mona@example.com")
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto("/coaching/sessions/new")
    page.locator("#agent_id").select_option(label="Dana Ruiz")
    review_box = page.locator("input[name=review_ids]").first
    expect(review_box).to_be_attached()  # the pickers came in for the chosen agent (htmx)
    review_box.check()
    page.locator(".chip-pick", has_text="Tone").click()
    page.locator("#title").fill("Refund follow-up")
    page.locator("#scheduled_at").fill(SOON.strftime("%Y-%m-%dT%H:%M"))
    page.locator("#goal_criterion").select_option(label="Tone")
    page.locator("#goal_target").fill("80")
    page.locator("#goal_due").fill(DUE.isoformat())
    page.locator("#notes").fill("Let's look at the refund chat together.")
    page.locator("#private_notes").fill("Check in on workload.")
    page.get_by_role("button", name="Schedule session").click()
    page.wait_for_url("**/coaching/sessions/*")
    session_url = page.url
    expect(page.locator(".alert-ok")).to_contain_text("Session scheduled")
    expect(page.locator("h1")).to_contain_text("Refund follow-up")
    expect(page.locator(".goal-list")).to_contain_text("Tone")
    expect(page.locator(".linked-reviews")).to_contain_text("Refund took too long")

    page.get_by_role("button", name="Log out").click()
    log_in(page, "dana@example.com")
    page.wait_for_url(lambda url: "/login" not in url)
    expect(page.locator("a.bell .bell-count")).to_have_text("1")
    page.goto("/coaching")
    expect(page.locator("h1")).to_have_text("My coaching")
    expect(page.locator(".goal-list")).to_contain_text("Tone")
    expect(page.locator(".goal-list")).to_contain_text("target 80.0")
    page.get_by_role("link", name="Refund follow-up").click()
    page.wait_for_url(session_url)
    expect(page.locator("#notes-shared")).to_contain_text("Let's look at the refund chat together.")
    expect(page.locator("main")).not_to_contain_text("Check in on workload.")
    page.goto("/notifications")
    expect(page.locator("li.note.is-unread")).to_contain_text("Coaching session scheduled: Refund follow-up")
    page.get_by_role("button", name="Mark read").click()
    expect(page.locator("a.bell .bell-count")).to_have_count(0)
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors

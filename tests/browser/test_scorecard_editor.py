"""The scorecard editor in a browser: edit a scorecard that has reviews, publish, history, old reviews."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from qa.auth.service import create_user
from qa.conversations import ingest
from qa.models import Conversation
from qa.reviews import service as review_service
from qa.reviews.service import RatingIn
from qa.scorecard_admin import service as scorecard_service
from scorecards import validate_definition
from tests.browser.conftest import LiveServer, Seed
from tests.browser.helpers import PASSWORD, log_in
from tests.browser.test_review_loop import CONVERSATION
from tests.factories import EXAMPLE_SCORECARD


@pytest.fixture(scope="module")
def seed() -> Seed:
    def load(session: Session) -> dict[str, Any]:
        version = scorecard_service.create_scorecard(session, actor=None,
                                                     definition=validate_definition(EXAMPLE_SCORECARD))
        result = ingest.import_records(session, [CONVERSATION])
        assert result.created == 1, result.describe()
        rita = create_user(session, actor=None, email="rita@example.com", role="reviewer", password=PASSWORD,
                           name="Rita Reviewer")
        create_user(session, actor=None, email="maya@example.com", role="manager", password=PASSWORD,
                    name="Maya Manager")
        conversation_id = session.exec(select(Conversation.id)).one()
        review = review_service.create_review(
            session, actor=rita, conversation_id=conversation_id, scorecard_id=version.scorecard_id,
            ratings=[RatingIn("greeting", "Yes"), RatingIn("accuracy", "4"), RatingIn("tone", "OK")])
        assert review.score is not None and round(review.score, 1) == 74.2
        return {"scorecard_id": version.scorecard_id, "review_id": review.id}

    return load


def test_manager_edits_a_scorecard_with_reviews_and_publishes_a_new_version(
    page: Page, live_server: LiveServer, console_errors: list[str]
) -> None:
    card_id, review_id = live_server.data["scorecard_id"], live_server.data["review_id"]
    log_in(page, "maya@example.com")
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"/scorecards/{card_id}")
    page.locator("#edit-link").click()
    page.wait_for_url(f"**/scorecards/{card_id}/edit")
    page.evaluate("window.__sameDocument = true")  # gone if an edit reloads the page

    # Change a weight inline: the row turns into its form, saving swaps the editor region.
    page.locator("#crow-accuracy").get_by_role("link", name="Edit").click()
    form = page.locator("#crit-form-accuracy")
    form.locator("input[name=weight]").fill("1")
    form.get_by_role("button", name="Save criterion").click()
    expect(page.locator("#crow-accuracy")).to_contain_text("weight 1")
    expect(page.locator("#editor h1")).to_contain_text("Draft v2")

    # A bad value is refused beside its field; nothing changes.
    add = page.locator("#crit-form-new")
    add.locator("input[name=name]").fill("Empathy")
    add.locator("input[name=key]").fill("empathy")
    add.locator("input[name=weight]").fill("-2")
    add.get_by_role("button", name="Add criterion").click()
    expect(page.locator("#crit-form-new .field-error")).to_contain_text("greater than 0")
    expect(page.locator("#crow-empathy")).to_have_count(0)

    # Add a criterion with a custom scale (option rows added in place).
    add = page.locator("#crit-form-new")
    add.locator("input[name=weight]").fill("2")
    add.locator("select[name=scale]").select_option("custom")
    expect(page.locator("#crit-form-new input[name=option_label]")).to_have_count(2)
    page.locator("#crit-form-new").get_by_role("button", name="+ Add option").click()
    labels = page.locator("#crit-form-new input[name=option_label]")
    scores = page.locator("#crit-form-new input[name=option_score]")
    expect(labels).to_have_count(3)
    for i, (label, score) in enumerate((("Cold", "0"), ("Kind", "0.5"), ("Warm", "1"))):
        labels.nth(i).fill(label)
        scores.nth(i).fill(score)
    page.locator("#crit-form-new").get_by_role("button", name="Add criterion").click()
    expect(page.locator("#crow-empathy")).to_contain_text("Cold (0), Kind (0.5), Warm (1)")
    assert page.evaluate("window.__sameDocument") is True

    # Publish, confirming the diff.
    page.locator("#publish-link").click()
    page.wait_for_url(f"**/scorecards/{card_id}/publish")
    expect(page.locator("#criterion-changes")).to_contain_text("empathy")
    expect(page.locator("#criterion-changes [data-field=weight]")).to_contain_text("3 → 1")
    page.locator("#confirm-publish").click()
    page.wait_for_url(f"**/scorecards/{card_id}")
    expect(page.locator(".sc-versions li")).to_have_count(2)
    expect(page.locator(".sc-versions li").first).to_contain_text("v2")
    expect(page.locator("h1")).to_contain_text("v2")

    # The old review still renders with its original score and version.
    page.goto(f"/reviews/{review_id}")
    expect(page.locator("#score-panel .big")).to_have_text("74.2")
    expect(page.locator("#crit-empathy")).to_have_count(0)
    # The refused criterion above answers 422 on purpose; browsers log that as a failed resource.
    assert [e for e in console_errors if "status of 422" not in e] == []

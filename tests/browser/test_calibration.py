"""A calibration session in a real browser: a manager creates it with three reviewers, each scores blind,
the manager reveals it and reads the agreement page with its alphas."""

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

REVIEWERS = {"rita@example.com": "5", "raj@example.com": "5", "rosa@example.com": "3"}


def _conversation(n: int) -> dict[str, Any]:
    return {
        "external_id": f"CAL-{n}",
        "source": "helpdesk",
        "channel": "chat",
        "subject": f"Refund question {n}",
        "agent": {"external_id": "a-7", "name": "Dana Ruiz"},
        "team": "Billing",
        "created_at": f"2026-03-0{n}T10:00:00Z",
        "closed_at": f"2026-03-0{n}T10:20:00Z",
        "messages": [
            {"author": "customer", "body": "I was charged twice", "created_at": f"2026-03-0{n}T10:00:00Z"},
            {
                "author": "agent",
                "author_id": "a-7",
                "body": "Refunded.",
                "created_at": f"2026-03-0{n}T10:05:00Z",
            },
        ],
    }


@pytest.fixture(scope="module")
def seed() -> Seed:
    def load(session: Session) -> dict[str, Any]:
        scorecard_service.create_scorecard(
            session, actor=None, definition=validate_definition(EXAMPLE_SCORECARD)
        )
        assert ingest.import_records(session, [_conversation(1), _conversation(2)]).created == 2
        create_user(
            session, actor=None, email="mia@example.com", role="manager", password=PASSWORD, name="Mia Lead"
        )
        for email in REVIEWERS:
            create_user(
                session,
                actor=None,
                email=email,
                role="reviewer",
                password=PASSWORD,
                name=email.split("@")[0].title(),
            )
        return {}

    return load


def test_manager_runs_a_blind_session_and_reads_the_agreement(
    page: Page, live_server: LiveServer, console_errors: list[str]
) -> None:
    log_in(page, "mia@example.com")
    page.goto("/calibration/new")
    page.get_by_label("Name").fill("Refund calibration")
    page.locator("select[name=scorecard_id]").select_option(label="Support QA")
    for name in ("Rita", "Raj", "Rosa"):
        page.locator("label.check-row", has_text=name).locator("input").check()
    page.locator("select[name=benchmark_id]").select_option(label="Rita")
    for n in (1, 2):
        page.locator("label.check-row", has_text=f"Refund question {n}").locator("input").check()
    page.get_by_role("button", name="Create session").click()
    page.wait_for_url("**/calibration/*")
    expect(page.locator("h1")).to_have_text("Refund calibration")
    session_url = page.url

    for email, accuracy in REVIEWERS.items():
        page.get_by_role("button", name="Log out").click()
        log_in(page, email)
        page.goto(session_url)
        for n in (1, 2):
            page.locator("tr", has_text=f"Refund question {n}").get_by_role("button", name="Score").click()
            page.wait_for_url("**/reviews/*")
            expect(page.locator("#calibration-banner")).to_contain_text("blind until revealed")
            for criterion, label in (
                ("greeting", "Yes"),
                ("accuracy", accuracy if n == 1 else "4"),
                ("tone", "Great"),
            ):
                page.locator(f"#crit-{criterion} label.option", has_text=label).first.click()
            expect(page.locator("#score-panel")).to_contain_text("3 of 3 answered")
            expect(page.locator("#crit-tone")).to_contain_text("Saved")
            page.get_by_role("button", name="Submit review").click()
            expect(page.locator("body")).to_contain_text("Calibration review submitted")
            page.goto(session_url)

    page.get_by_role("button", name="Log out").click()
    log_in(page, "mia@example.com")
    page.goto(session_url)
    expect(page.locator("main")).to_contain_text("6 of 6 reviews submitted")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Reveal answers").click()
    expect(page.locator("main")).to_contain_text("Session revealed")
    page.locator("tr", has_text="Refund question 1").get_by_role("link", name="Compare").click()
    expect(page.locator("#crit-accuracy")).to_have_class("cal-disagree")
    page.locator("#crit-accuracy select").select_option("5")
    expect(page.locator("#crit-accuracy")).to_contain_text("Saved")
    page.get_by_role("link", name="Agreement").first.click()
    expect(page.locator("h1")).to_have_text("How well the team agrees")
    accuracy = page.locator("#cal-criteria tr[data-criterion=accuracy]")
    expect(accuracy).to_contain_text("0.545")  # nominal: c1 {5,5,3}, c2 {4,4,4}
    expect(accuracy).to_contain_text("-0.125")  # ordinal, on option ranks
    expect(page.locator(".cal-flagged")).to_contain_text("Correct solution")
    expect(page.locator("svg.cal-diverging rect")).to_have_count(2)  # Raj 0 (a 1px bar), Rosa strict
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors

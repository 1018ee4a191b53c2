"""What the browser tests share: the seeded users' password and logging in through the form."""

from __future__ import annotations

from playwright.sync_api import Page

PASSWORD = "browser-pass-123"


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Open the login page and log in as a person would."""
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()

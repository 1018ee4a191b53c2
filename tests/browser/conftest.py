"""Browser-test infrastructure: a real uvicorn server over a seeded SQLite file, driven by Chromium.

A test module says what its server's database holds by overriding the module-scoped `seed` fixture
with a callable that receives a committed-on-exit Session and returns anything the tests need
(available as `live_server.data`):

    @pytest.fixture(scope="module")
    def seed() -> Seed:
        def load(session: Session) -> dict[str, User]:
            return {"rita": create_user(session, actor=None, email=..., role="reviewer", password=PASSWORD)}
        return load

    def test_something(page: Page, live_server: LiveServer) -> None:
        page.goto("/login")   # relative URLs resolve against the live server

Tests here are marked `browser` and skipped when /usr/bin/chromium or Playwright is missing,
unless CALIPER_REQUIRE_BROWSER=1 (CI), which turns that into a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlmodel import Session

from qa.db import make_engine, session_scope
from qa.migrations import upgrade

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SECRET_KEY = "browser-tests-secret-" + "x" * 32
STARTUP_SECONDS = 30

Seed = Callable[[Session], Any]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/browser is a browser test."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


def _unavailable(reason: str) -> None:
    if os.environ.get("CALIPER_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, but CALIPER_REQUIRE_BROWSER=1")
    pytest.skip(reason)


class LiveServer(str):
    """The server's base URL (a plain str), plus what the seed returned and the database URL."""

    data: Any
    database_url: str

    def __new__(cls, url: str, *, data: Any, database_url: str) -> LiveServer:
        server = super().__new__(cls, url)
        server.data = data
        server.database_url = database_url
        return server


@pytest.fixture(scope="module")
def seed() -> Seed:
    """What live_server loads into its database before starting; test modules override it."""
    return lambda session: None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the test server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/login", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    pytest.fail(f"the test server did not answer /login within {STARTUP_SECONDS}s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def live_server(seed: Seed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """uvicorn running Caliper on a free port over a migrated, seeded SQLite file (one per module)."""
    directory = tmp_path_factory.mktemp("live-server")
    database_url = f"sqlite:///{directory / 'caliper.db'}"
    upgrade(database_url)
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        data = seed(session)
    engine.dispose()

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = directory / "server.log"
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "CALIPER_ENV": "test"}
    command = [sys.executable, "-m", "uvicorn", "qa.app:create_app", "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning"]
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(url, process, log)
        yield LiveServer(url, data=data, database_url=database_url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium (the system's /usr/bin/chromium) through Playwright's sync API."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def console_errors() -> list[str]:
    """Console errors and uncaught exceptions of the test's page (CSP violations show up here)."""
    return []


@pytest.fixture
def page(browser: Browser, live_server: LiveServer, console_errors: list[str]) -> Iterator[Page]:
    """A fresh browser context (no cookies) whose relative URLs go to the live server."""
    context = browser.new_context(base_url=str(live_server))
    context.set_default_timeout(10_000)
    new_page = context.new_page()
    new_page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    new_page.on("pageerror", lambda error: console_errors.append(str(error)))
    yield new_page
    context.close()

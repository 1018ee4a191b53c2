"""Shared fixtures: one suite, two databases (a SQLite file and a real PostgreSQL server).

Each database is built by the Alembic migrations once per test session (and per xdist worker);
each test runs inside an outer transaction that is rolled back, with the app's session joined
to it through a savepoint (SQLAlchemy's "join an external transaction" recipe).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel

from qa.app import create_app
from qa.auth import passwords
from qa.auth.deps import get_session
from qa.db import make_engine, normalise_url
from qa.migrations import upgrade
from qa.models import User
from qa.settings import Settings

passwords.use_cheap_hashing()  # before tests.factories hashes its shared password

# Tests measure behaviour, not speed: no per-example deadline (a busy 2-core CI machine would trip it).
hypothesis_settings.register_profile("caliper", deadline=None)
hypothesis_settings.load_profile("caliper")

from tests.factories import PASSWORD  # noqa: E402

PG_ENV = "CALIPER_TEST_PG_URL"
BACKENDS = ["sqlite", "postgresql"]


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def pg_admin_url() -> str:
    """The test PostgreSQL server's URL; without one the test is skipped (failed if PG is required)."""
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        if os.environ.get("CALIPER_REQUIRE_PG") == "1":
            pytest.fail(f"{PG_ENV} is not set but CALIPER_REQUIRE_PG=1: the PostgreSQL server did not start")
        pytest.skip(f"{PG_ENV} not set: PostgreSQL tests skipped (scripts/test starts a server)")
    return admin_url


@contextmanager
def scratch_pg_database(prefix: str) -> Iterator[str]:
    """A new, empty database on the test PostgreSQL server, dropped afterwards; yields its URL."""
    admin_url = pg_admin_url()
    name = f"{prefix}_{_worker()}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(normalise_url(admin_url)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database URL: a SQLite temp file, or a fresh database on the test PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'caliper.db'}"
        upgrade(url)
        yield url
        return
    with scratch_pg_database("caliper_test") as url:
        upgrade(url)
        yield url


@pytest.fixture
def committed_db(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database of the test's backend, for work that must really commit
    (background threads and other processes see only committed rows)."""
    if make_url(normalise_url(db_url)).get_backend_name() == "sqlite":
        url = f"sqlite:///{tmp_path / 'committed.db'}"
        upgrade(url)
        yield url
        return
    with scratch_pg_database("caliper_commit") as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    """One engine per database for the whole run."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _leftover_rows(engine: Engine) -> list[str]:
    """Tables of the shared worker database that hold committed rows, with their counts."""
    tables = SQLModel.metadata.sorted_tables
    counts = select(*(select(func.count()).select_from(t).scalar_subquery().label(t.name) for t in tables))
    with engine.connect() as conn:
        row = conn.execute(counts).one()
    return [f"{name}: {n}" for name, n in row._mapping.items() if n]


@pytest.fixture(autouse=True)
def _shared_database_stays_empty(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that commits into the worker's shared database (instead of its rolled-back transaction or
    `committed_db`) fails here, by name, rather than breaking some later test that builds the same rows."""
    if "engine" not in request.fixturenames:
        yield
        return
    engine: Engine = request.getfixturevalue("engine")
    yield
    leftovers = _leftover_rows(engine)
    if leftovers:
        with engine.begin() as conn:  # clean up, so one leak fails one test
            for table in reversed(SQLModel.metadata.sorted_tables):
                conn.execute(table.delete())
        pytest.fail("the test left committed rows in the shared database: " + ", ".join(leftovers))


@pytest.fixture
def backend(db_url: str) -> str:
    """'sqlite' or 'postgresql', for the rare test that must know."""
    return make_url(normalise_url(db_url)).get_backend_name()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    connection = engine.connect()
    outer = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db
    finally:
        db.close()
        if outer.is_active:
            outer.rollback()
        connection.close()


@pytest.fixture
def settings(db_url: str) -> Settings:
    """Settings for a test app."""
    return Settings(database_url=db_url, secret_key="test-secret-key-" + "x" * 32, caliper_env="test",
                    login_max_failures=5, sampling_scheduler=False)


@pytest.fixture
def app(settings: Settings, engine: Engine, session: Session) -> FastAPI:
    """The app, its requests sharing the test's rolled-back transaction."""
    application = create_app(settings, engine=engine)

    def _test_session() -> Iterator[Session]:
        # Settle the test's own setup first, so a request that fails rolls back only its own work.
        session.commit()
        try:
            yield session
            session.commit()  # releases the savepoint only; the outer transaction stays open
        except BaseException:
            session.rollback()
            raise

    application.dependency_overrides[get_session] = _test_session
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An anonymous browser-like client (follows redirects, keeps cookies)."""
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as test_client:
        yield test_client


CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def page_csrf(client: TestClient) -> str:
    """The session's CSRF token, read from the login form as a browser would see it."""
    body = client.get("/login").text
    match = CSRF_INPUT.search(body)
    assert match, "login page has no CSRF field"
    return match.group(1)


def login_as(client: TestClient, user: User, password: str = PASSWORD) -> TestClient:
    """Log in through the real form; afterwards every request carries the session's CSRF header."""
    client.headers.pop("X-CSRF-Token", None)
    token = page_csrf(client)
    response = client.post("/login", data={"email": user.email, "password": password, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    client.headers["X-CSRF-Token"] = page_csrf(client)
    return client


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    """A client for /api/v1 without a token (tests set Authorization)."""
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as test_client:
        yield test_client

"""Fixtures of the reporting tests. The agent report's data set (report_data.py) is built for each test,
inside a transaction that is rolled back at the end, and the test runs in a savepoint on the same
connection. (Built once per module it was faster, but a module-long open transaction blocked the other
connections of the same worker: SQLite's write lock, PostgreSQL's unique-key waits.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from qa.app import create_app
from qa.auth.deps import get_session
from qa.settings import Settings
from tests.reporting.report_data import Data, build


@pytest.fixture
def _report_db(engine: Engine) -> Iterator[tuple[Connection, Data]]:
    connection = engine.connect()
    outer = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    data = build(db)
    db.commit()  # releases the session's savepoint only; the outer transaction stays open
    db.close()
    try:
        yield connection, data
    finally:
        outer.rollback()
        connection.close()


@pytest.fixture
def db(_report_db: tuple[Connection, Data]) -> Iterator[Session]:
    """A session on the data set's connection, inside a savepoint rolled back after the test."""
    connection, _ = _report_db
    nested = connection.begin_nested()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        if nested.is_active:
            nested.rollback()


@pytest.fixture
def report_org(_report_db: tuple[Connection, Data], db: Session) -> Data:
    """The organisation and reviews of report_data's docstring (use with db)."""
    return _report_db[1]


@pytest.fixture(scope="module")
def _report_application(db_url: str, engine: Engine) -> FastAPI:
    """One app per module: creating it takes about a second, the same app serves every test."""
    settings = Settings(
        database_url=db_url,
        secret_key="test-secret-key-" + "x" * 32,
        caliper_env="test",
        login_max_failures=5,
        sampling_scheduler=False,
    )
    return create_app(settings, engine=engine)


@pytest.fixture
def report_app(_report_application: FastAPI, db: Session) -> Iterator[FastAPI]:
    """The app, its requests sharing the test's savepoint (as tests/conftest.py's `app`)."""

    def _test_session() -> Iterator[Session]:
        db.commit()
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise

    _report_application.dependency_overrides[get_session] = _test_session
    try:
        yield _report_application
    finally:
        _report_application.dependency_overrides.pop(get_session, None)


@pytest.fixture
def report_client(report_app: FastAPI) -> Iterator[TestClient]:
    """A browser-like client of report_app (pages: log in with tests.conftest.login_as)."""
    with TestClient(report_app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield client

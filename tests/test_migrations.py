"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL, both ways."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

import qa.models  # noqa: F401  (registers every table on the metadata)
from qa.app import create_app
from qa.db import make_engine
from qa.migrations import alembic_config, upgrade
from qa.settings import Settings
from tests.conftest import scratch_pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A brand-new, empty database (not the suite's shared one: these tests go down to base)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with scratch_pg_database("caliper_mig") as url:
        yield url


def schema_diff(url: str) -> list[Any]:
    """What Alembic autogenerate would change to make the database match the models."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                             "render_as_batch": True})
            return list(compare_metadata(context, SQLModel.metadata))
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_one_head_revision() -> None:
    """Two engineers adding migrations in parallel must merge them: exactly one head."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"


def test_upgrade_builds_exactly_the_models(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    assert set(SQLModel.metadata.tables) <= table_names(empty_db_url)
    assert schema_diff(empty_db_url) == []


def test_the_diff_check_sees_a_missing_table(empty_db_url: str) -> None:
    """Guards the test above: a schema that differs from the models is reported."""
    upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE login_attempt"))
    engine.dispose()
    diff = schema_diff(empty_db_url)
    assert any(op[0] == "add_table" and op[1].name == "login_attempt" for op in diff), diff


def test_downgrade_to_base_then_upgrade_again(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    from alembic import command

    command.downgrade(alembic_config(empty_db_url), "base")
    assert table_names(empty_db_url) <= {"alembic_version"}
    upgrade(empty_db_url)
    assert schema_diff(empty_db_url) == []


class TestSqlitePragmas:
    """The app's SQLite connections use WAL and enforce foreign keys."""

    @pytest.fixture
    def app_engine(self, tmp_path: Any) -> Iterator[Any]:
        url = f"sqlite:///{tmp_path / 'app.db'}"
        upgrade(url)
        app = create_app(Settings(database_url=url, secret_key="k" * 40, caliper_env="test"))
        yield app.state.engine
        app.state.engine.dispose()

    def test_journal_mode_is_wal_and_foreign_keys_on(self, app_engine: Any) -> None:
        with app_engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000

    def test_foreign_keys_are_enforced(self, app_engine: Any) -> None:
        with pytest.raises(IntegrityError), app_engine.begin() as conn:
            conn.execute(text("INSERT INTO api_token (user_id, name, token_hash, prefix, created_at) "
                              "VALUES (424242, 'x', 'h', 'p', CURRENT_TIMESTAMP)"))

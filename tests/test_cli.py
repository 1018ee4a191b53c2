"""The `qa` command line, in-process through qa.cli.main and once as the installed console script."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from sqlmodel import Session, select

from qa import cli
from qa.app import create_app
from qa.db import make_engine
from qa.models import Agent, AuditLog, User
from qa.settings import Settings, get_settings

TOKEN_LINE = re.compile(r"cal_[A-Za-z0-9_-]{40,}")


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """DATABASE_URL points at a fresh SQLite file (not created yet)."""
    path = tmp_path / "cli.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    for name in ("CALIPER_ENV", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def qa(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `qa ARGS...` in-process: (exit code, stdout, stderr)."""
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code != 0
    assert err.startswith("qa: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


@pytest.fixture
def migrated(db_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert qa(capsys, "db", "upgrade")[0] == 0
    return db_path


def rows(db_path: Path, model: type) -> list:  # type: ignore[type-arg]
    engine = make_engine(f"sqlite:///{db_path}")
    try:
        with Session(engine) as session:
            return list(session.exec(select(model)))
    finally:
        engine.dispose()


class TestDbUpgrade:
    def test_creates_the_schema(self, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = qa(capsys, "db", "upgrade")
        assert code == 0 and "latest schema" in out
        engine = make_engine(f"sqlite:///{db_path}")
        tables = set(inspect(engine).get_table_names())
        engine.dispose()
        assert {"user", "api_token", "conversation", "review", "audit_log", "alembic_version"} <= tables

    def test_is_idempotent(self, migrated: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert qa(capsys, "db", "upgrade")[0] == 0

    def test_unreachable_database_is_one_line(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nothing")
        get_settings.cache_clear()
        code, _, err = qa(capsys, "db", "upgrade")
        get_settings.cache_clear()
        assert_one_line_error(code, err, "database error")

    def test_sqlite_in_a_missing_directory_is_one_line(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}")
        get_settings.cache_clear()
        code, _, err = qa(capsys, "db", "upgrade")
        get_settings.cache_clear()
        assert_one_line_error(code, err, "unable to open database file")


class TestUsersAndTokens:
    def test_user_then_token_that_works_against_the_api(
        self, migrated: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = qa(capsys, "users", "create", "Ops@Example.com", "--role", "manager",
                          "--password", "long-enough-pw", "--name", "Olga Ops")
        assert code == 0 and "ops@example.com" in out

        code, out, _ = qa(capsys, "tokens", "create", "ops@example.com")
        assert code == 0
        token = out.rstrip("\n").splitlines()[-1]
        assert TOKEN_LINE.fullmatch(token), out

        app = create_app(Settings(database_url=f"sqlite:///{migrated}", secret_key="k" * 40))
        with TestClient(app) as client:
            response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        app.state.engine.dispose()
        assert response.status_code == 200
        assert response.json()["email"] == "ops@example.com"
        assert response.json()["role"] == "manager"

    def test_agent_user_is_linked_to_its_agent(
        self, migrated: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, _ = qa(capsys, "users", "create", "ann@example.com", "--role", "agent", "--password",
                        "long-enough-pw", "--agent-external-id", "zd-77", "--team", "Billing")
        assert code == 0
        (agent,) = rows(migrated, Agent)
        (user,) = rows(migrated, User)
        assert (agent.external_id, user.agent_id) == ("zd-77", agent.id)
        assert [entry.action for entry in rows(migrated, AuditLog)] == ["user.create"]

    def test_duplicate_user(self, migrated: Path, capsys: pytest.CaptureFixture[str]) -> None:
        args = ("users", "create", "dup@example.com", "--role", "reviewer", "--password", "long-enough-pw")
        assert qa(capsys, *args)[0] == 0
        code, _, err = qa(capsys, *args)
        assert_one_line_error(code, err, "already exists")
        assert len(rows(migrated, User)) == 1

    @pytest.mark.parametrize(("args", "fragment"), [
        (("not-an-email", "--role", "admin", "--password", "long-enough-pw"), "not an e-mail address"),
        (("a@example.com", "--role", "admin", "--password", "short"), "at least 8 characters"),
        (("a@example.com", "--role", "admin", "--password", "long-enough-pw", "--agent-external-id", "x"),
         "only agent users"),
    ])
    def test_invalid_user(
        self, migrated: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], fragment: str
    ) -> None:
        code, _, err = qa(capsys, "users", "create", *args)
        assert_one_line_error(code, err, fragment)
        assert rows(migrated, User) == []

    def test_token_for_unknown_email(self, migrated: Path, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = qa(capsys, "tokens", "create", "ghost@example.com")
        assert_one_line_error(code, err, "ghost@example.com")
        assert "cal_" not in out

    def test_before_db_upgrade_is_a_one_line_database_error(
        self, db_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, err = qa(capsys, "users", "create", "a@example.com", "--role", "admin",
                          "--password", "x" * 12)
        assert_one_line_error(code, err, "database error")

    def test_unknown_role_is_a_usage_error(self, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as exc:
            cli.main(["users", "create", "a@example.com", "--role", "boss", "--password", "x" * 12])
        assert exc.value.code == 2
        assert "invalid choice" in capsys.readouterr().err


class TestConsoleScript:
    """The installed entry points, run as a real process from a directory outside the repository."""

    def run(self, args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if k not in ("CALIPER_ENV", "SECRET_KEY")}
        environ.update(env)
        return subprocess.run(args, cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=120)

    def test_qa_help(self, tmp_path: Path) -> None:
        script = Path(sys.executable).parent / "qa"
        assert script.exists(), f"{script} missing: install the package (pip install -e '.[test]')"
        result = self.run([str(script), "--help"], tmp_path)
        assert result.returncode == 0, result.stderr
        for command in ("db", "serve", "demo", "users", "tokens", "import"):
            assert command in result.stdout

    def test_module_entry_point_migrates_and_fails_cleanly(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'sub.db'}"
        ok = self.run([sys.executable, "-m", "qa.cli", "db", "upgrade"], tmp_path, DATABASE_URL=url)
        assert ok.returncode == 0, ok.stderr
        assert (tmp_path / "sub.db").exists()
        bad = self.run([sys.executable, "-m", "qa.cli", "db", "upgrade"], tmp_path, DATABASE_URL=url,
                       CALIPER_ENV="production")
        assert bad.returncode == 1
        assert bad.stderr.startswith("qa: ") and bad.stderr.count("\n") == 1, bad.stderr


class TestReportsRebuild:
    def test_rebuilds_the_summary_from_ratings_written_with_sql(
        self, migrated: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from tests.reviews.helpers import make_world, rated_review

        engine = make_engine(f"sqlite:///{migrated}")
        with Session(engine) as session:
            world = make_world(session)
            rated_review(session, world)
            session.commit()
        with engine.begin() as conn:  # an operator's SQL: summaries are gone, copies missing
            expected = conn.exec_driver_sql("SELECT sum(n), sum(total) FROM criterion_day").one()
            conn.exec_driver_sql("DELETE FROM criterion_day")
            conn.exec_driver_sql("UPDATE review SET team_id = NULL, channel = NULL, scorecard_id = NULL")
        code, out, _ = qa(capsys, "reports", "rebuild")
        assert code == 0 and "report summaries rebuilt" in out
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT sum(n), sum(total) FROM criterion_day").one() == expected
            assert conn.exec_driver_sql("SELECT count(*) FROM review WHERE channel IS NULL").scalar_one() == 0
        engine.dispose()

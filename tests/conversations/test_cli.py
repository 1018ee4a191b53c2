"""`qa import FILE`: real files into a real (temporary, migrated) SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from qa.cli import main
from qa.db import make_engine
from qa.migrations import upgrade
from qa.settings import get_settings
from tests.conversations.helpers import TWITTER_50


@pytest.fixture
def database(tmp_path: Path) -> str:
    """A fresh migrated SQLite file per test."""
    url = f"sqlite:///{tmp_path / 'caliper.db'}"
    upgrade(url)
    return url


@pytest.fixture
def env(database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", database)
    get_settings.cache_clear()
    yield database
    get_settings.cache_clear()


def scalar(url: str, sql: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text(sql)).scalar_one()
    engine.dispose()
    return int(value)


def test_import_twice(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(TWITTER_50)]) == 0
    assert capsys.readouterr().out.strip() == "created 50, updated 0, rejected 0"
    assert main(["import", str(TWITTER_50), "--format", "native"]) == 0
    assert capsys.readouterr().out.strip() == "created 0, updated 50, rejected 0"
    assert scalar(env, "SELECT count(*) FROM conversation WHERE source = 'twitter'") == 50
    assert scalar(env, "SELECT count(*) FROM message") == 108
    assert scalar(env, "SELECT count(*) FROM agent") == 7
    assert scalar(env, "SELECT count(*) FROM team") == 7


def test_rejections_are_listed(env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = TWITTER_50.read_bytes().splitlines(keepends=True)
    path = tmp_path / "some-bad.jsonl"
    path.write_bytes(lines[0] + b"not json\n" + lines[1])
    assert main(["import", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "created 2, updated 0, rejected 1"
    assert out[1].startswith("  record 1 (line 2): invalid JSON: Expecting value")


def test_only_rejections_exit_1(env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text('[{"external_id": 1}]')
    assert main(["import", str(path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == "created 0, updated 0, rejected 1"


def test_missing_file(env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.jsonl"
    assert main(["import", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err == f"qa: cannot read {missing}: No such file or directory\n"


def test_the_wrong_format_rejects_every_record(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(TWITTER_50), "--format", "zendesk", "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("created 0, updated 0, rejected 50")


def test_unknown_format(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["import", str(TWITTER_50), "--format", "xml"])
    assert exc.value.code == 2 and "invalid choice: 'xml'" in capsys.readouterr().err

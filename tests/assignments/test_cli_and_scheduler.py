"""`qa sample` and the scheduler against a database that really commits (SQLite file and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from qa import cli
from qa.assignments import scheduler, service
from qa.db import make_engine, session_scope
from qa.models import Assignment, SamplingRun
from qa.settings import get_settings
from tests.assignments.conftest import NOW, Org, build_org


@pytest.fixture
def committed(committed_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Org]]:
    monkeypatch.setenv("DATABASE_URL", committed_db)
    get_settings.cache_clear()
    engine = make_engine(committed_db)
    with session_scope(engine) as session:
        org = build_org(session)
    engine.dispose()
    yield committed_db, org
    get_settings.cache_clear()


def test_qa_sample_create_list_and_run(
    committed: tuple[str, Org], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, org = committed
    rule_file = tmp_path / "rule.yaml"
    rule_file.write_text(json.dumps(org.rule()))
    assert cli.main(["sample", "create", str(rule_file), "--as", org.manager.email]) == 0
    assert "created sampling rule 1" in capsys.readouterr().out
    assert cli.main(["sample", "list"]) == 0
    assert "Billing weekly" in capsys.readouterr().out
    assert cli.main(["sample", "run", "--rule", "1"]) == 0
    out = capsys.readouterr().out
    assert "11 assigned" in out and "short:" in out
    assert cli.main(["sample", "run", str(rule_file), "--as", org.admin.email]) == 0
    assert "assigned" in capsys.readouterr().out
    engine = make_engine(url)
    with Session(engine) as session:
        runs = session.exec(select(SamplingRun).order_by(col(SamplingRun.id))).all()
        assert [r.trigger for r in runs] == ["cli", "cli"] and runs[0].run_by_id == org.manager.id
    engine.dispose()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{", "not JSON or YAML"),
        ('{"name": "x"}', "scorecard_id"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_qa_sample_bad_files_are_one_line(
    committed: tuple[str, Org],
    tmp_path: Path,
    content: str,
    fragment: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert cli.main(["sample", "run", str(path)]) == 1
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1


def test_qa_sample_unknown_rule_and_user(
    committed: tuple[str, Org], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["sample", "run", "--rule", "42"]) == 1
    assert "No such sampling rule" in capsys.readouterr().err
    assert cli.main(["sample", "run", "--rule", "42", "--as", "nobody@example.com"]) == 1
    assert "no user" in capsys.readouterr().err


def test_scheduler_runs_each_period_once_and_expires(committed: tuple[str, Org]) -> None:
    url, org = committed
    engine = make_engine(url)
    with session_scope(engine) as session:
        rule = service.create_rule(session, actor=org.manager, rule=service.parse(org.rule(period="weekly")))
    first = scheduler.tick(engine, NOW)
    assert len(first.runs) == 1 and not first.failed
    assert scheduler.tick(engine, NOW + timedelta(hours=1)).runs == []  # same week: never twice
    # the app was down for two weeks: the current period runs once, the missed one is not replayed
    later = scheduler.tick(engine, NOW + timedelta(days=15))
    assert len(later.runs) == 1 and later.expired == 11  # last run's assignments were due after 7 days
    with Session(engine) as session:
        keys = session.exec(
            select(SamplingRun.schedule_key)
            .where(SamplingRun.rule_id == rule.id)
            .order_by(col(SamplingRun.id))
        ).all()
        assert keys == ["2026-W48", "2026-W50"]
        assert session.exec(select(Assignment).where(Assignment.status == "expired")).all()
    engine.dispose()


def test_a_second_process_cannot_claim_a_taken_period(committed: tuple[str, Org]) -> None:
    url, org = committed
    engine = make_engine(url)
    with session_scope(engine) as session:
        rule = service.create_rule(session, actor=org.manager, rule=service.parse(org.rule(period="daily")))
        session.add(
            SamplingRun(
                rule_id=rule.id,
                schedule_key="2026-11-25",
                period_key="2026-11-25",
                trigger="schedule",
                status="done",
            )
        )
    with session_scope(engine) as session:
        assert service.run_scheduled(session, rule_id=rule.id, now=NOW) is None  # type: ignore[arg-type]
    engine.dispose()


def test_the_app_starts_the_scheduler(committed: tuple[str, Org]) -> None:
    from fastapi.testclient import TestClient

    from qa.app import create_app
    from qa.settings import Settings

    url, org = committed
    engine = make_engine(url)
    with session_scope(engine) as session:
        service.create_rule(session, actor=org.manager, rule=service.parse(org.rule(period="daily")))
    app = create_app(Settings(database_url=url, secret_key="k" * 40, caliper_env="test"))
    with TestClient(app):
        for _ in range(100):
            with Session(engine) as session:
                if session.exec(select(SamplingRun)).first() is not None:
                    break
            import time

            time.sleep(0.1)
    with Session(engine) as session:
        run = session.exec(select(SamplingRun)).one()
        assert run.trigger == "schedule" and run.status == "done"
    engine.dispose()

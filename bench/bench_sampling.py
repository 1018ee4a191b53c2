"""Benchmark the sampling engine: a rule of 10 per agent over 2,000 agents on 1,000,000 conversations.

    .venv/bin/python bench/bench_sampling.py                      # 1,000,000 conversations in SQLite
    .venv/bin/python bench/bench_sampling.py --keep               # ... and keep the database (path printed)
    .venv/bin/python bench/bench_sampling.py --reuse --database-url sqlite:////tmp/caliper-bench-sampling-x/s.db
    .venv/bin/python bench/bench_sampling.py --database-url postgresql://u:p@127.0.0.1:5432/empty_db

Building (skipped with --reuse): bench_web.py's data set without reviews — 50,000 imported conversations
(~1,000,000 messages, from bench_import.py's generator), grown to --conversations by set-based copies (only
the first copy gets message rows) — then the conversations are spread over --agents agents (2,000) in 20
teams, and the conversations that have a transcript are tagged "with-text".

Timing: each strategy runs as `qa sample run` does — one write transaction around
`qa.assignments.service.run_rule` (read the candidates, draw, allocate, insert the assignments and the run
record, audit) and its commit — as a one-off inline rule "10 per agent, not yet reviewed, spread over six
reviewers" over every conversation (the largest candidate set there is). Each strategy runs --repeat times,
each from an empty assignment table (emptied untimed before every run).
Spotlight is timed twice: over
all conversations (most copies have no transcript, so little text is read), and over the "with-text"
ones only (every candidate has a ~20-message transcript: the text-heavy case).
"random (last 30 days)" is the rule a QA lead would write: the same quota over the newest 30 days of the
data (~125,000 conversations), the rest of the 1,000,000 filtered out by the created_at index.
Targets (issue 4, 2-core machine): random and stratified under 2 s, spotlight under 30 s, end to end.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_web  # noqa: E402
import common  # noqa: E402

from qa.assignments import service  # noqa: E402
from qa.db import make_engine, session_scope  # noqa: E402
from qa.migrations import upgrade  # noqa: E402
from qa.models import Conversation, Role, Scorecard, User  # noqa: E402

TEAMS = 20


def log(message: str) -> None:
    print(f"[bench_sampling] {message}", file=sys.stderr, flush=True)


def spread_agents(engine: Engine, agents: int) -> None:
    """`agents` agents in TEAMS teams; conversation i belongs to agent i mod `agents` (one UPDATE)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO team (name, created_at) SELECT 'Bench team ' || :n, CURRENT_TIMESTAMP "
                "WHERE NOT EXISTS (SELECT 1 FROM team WHERE name = 'Bench team ' || :n)"
            ),
            [{"n": n} for n in range(TEAMS)],
        )
        teams = [
            r[0] for r in conn.execute(text("SELECT id FROM team WHERE name LIKE 'Bench team %' ORDER BY id"))
        ]
        conn.execute(
            text(
                "INSERT INTO agent (external_id, name, team_id, created_at) "
                "VALUES (:e, :name, :team, CURRENT_TIMESTAMP)"
            ),
            [
                {"e": f"bench-agent-{n}", "name": f"Bench Agent {n}", "team": teams[n % TEAMS]}
                for n in range(agents)
            ],
        )
        first = conn.execute(
            text("SELECT min(id) FROM agent WHERE external_id LIKE 'bench-agent-%'")
        ).scalar_one()
        with common.Stopwatch() as sw:
            conn.execute(
                text(
                    "UPDATE conversation SET agent_id = :first + (id % :agents), "
                    "team_id = :team0 + ((id % :agents) % :teams)"
                ),
                {"first": first, "agents": agents, "team0": teams[0], "teams": TEAMS},
            )
            conn.execute(
                text(
                    "UPDATE conversation SET tags = '[\"with-text\"]' "
                    "WHERE id IN (SELECT DISTINCT conversation_id FROM message)"
                )
            )
        log(f"spread conversations over {agents:,} agents in {sw.wall:.1f} s")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


def build(engine: Engine, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    path = bench_web.generated_file(args.base_conversations, 20, 7, not args.no_cache, workdir)
    figures: dict[str, Any] = {"import": bench_web.import_file(engine, path)}
    bench_web.seed_people(engine)
    figures["grow"] = bench_web.grow(engine, args.conversations, 1)
    spread_agents(engine, args.agents)
    return figures


def rule(scorecard_id: int, reviewers: list[int], **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "bench",
        "scorecard_id": scorecard_id,
        "quota": {"per_agent": 10},
        "filters": {"not_reviewed": True},
        "reviewers": [{"id": r} for r in reviewers],
        "seed": 11,
    }
    base.update(overrides)
    return base


def clear_assignments(engine: Engine) -> None:
    """Empty the assignment table between runs, so every run starts from the same state (runs accumulated
    20,000 rows each, and later strategies paid for a bigger table). Foreign-key checks are off for this
    bench-only cleanup: a row-by-row self-reference check made DELETE take minutes."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            raw.execute("PRAGMA foreign_keys=OFF")
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("DELETE FROM assignment")
            raw.execute("COMMIT")
            raw.execute("PRAGMA foreign_keys=ON")
        finally:
            raw.close()
    else:
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE assignment"))


def time_rule(engine: Engine, definition: dict[str, Any], repeat: int) -> dict[str, Any]:
    seconds: list[float] = []
    last: dict[str, Any] = {}
    for _ in range(repeat):
        clear_assignments(engine)
        started = time.perf_counter()
        with session_scope(engine) as session:
            admin = session.exec(select(User).where(User.role == Role.manager)).first()
            assert admin is not None
            run = service.run_rule(session, actor=admin, rule=service.parse(definition), trigger="cli")
            session.flush()
            last = {
                "matched": run.matched,
                "picked": run.picked,
                "assigned": run.assigned,
                "shortfall": run.shortfall,
                "run_id": run.id,
            }
        seconds.append(time.perf_counter() - started)
    return {
        "median_s": round(statistics.median(seconds), 2),
        "min_s": round(min(seconds), 2),
        "max_s": round(max(seconds), 2),
        "runs": repeat,
        **last,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", help="an empty database to build in (default: a temporary SQLite file)"
    )
    parser.add_argument("--reuse", action="store_true", help="time a database an earlier --keep run built")
    parser.add_argument("--keep", action="store_true", help="keep the temporary SQLite database")
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--base-conversations", type=int, default=50_000)
    parser.add_argument("--agents", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--only",
        nargs="*",
        metavar="STRATEGY",
        help="time only these (random, stratified, weighted, spotlight)",
    )
    parser.add_argument("--no-cache", action="store_true", help="don't cache the generated file")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="caliper-bench-sampling-"))
    url = args.database_url or f"sqlite:///{workdir / 'sampling.db'}"
    result: dict[str, Any] = {
        "machine": common.machine_info(),
        "cpu_speed_ms": common.cpu_speed_ms(),
        "database": url.split(":")[0],
    }
    engine = make_engine(url)
    try:
        if not args.reuse:
            upgrade(url)
            result["build"] = build(engine, args, workdir)
        with session_scope(engine, write=False) as session:
            scorecard_id = session.exec(select(Scorecard.id)).first()
            reviewers = list(
                session.exec(select(User.id).where(User.role == Role.reviewer).order_by(col(User.id)))
            )
            newest = session.exec(select(func.max(Conversation.created_at))).one()
        assert scorecard_id is not None and newest is not None
        last_month = {"not_reviewed": True, "date_from": (newest - timedelta(days=29)).date().isoformat(),
                      "date_to": newest.date().isoformat()}
        rules = {
            "random": rule(scorecard_id, reviewers),
            "random (last 30 days)": rule(scorecard_id, reviewers, filters=last_month),
            "stratified (channel)": rule(
                scorecard_id, reviewers, strategy="stratified", stratify_by="channel"
            ),
            "weighted (handle time)": rule(
                scorecard_id, reviewers, strategy="weighted", weight_by="handle_time"
            ),
            "spotlight (all)": rule(scorecard_id, reviewers, strategy="spotlight"),
            "spotlight (with text)": rule(
                scorecard_id,
                reviewers,
                strategy="spotlight",
                filters={"not_reviewed": True, "tags_any": ["with-text"]},
            ),
        }
        chosen = [name for name in rules if not args.only or any(name.startswith(o) for o in args.only)]
        timings = {name: time_rule(engine, rules[name], args.repeat) for name in chosen}
        result["timings"] = timings
        rows = [
            (name, f"{t['matched']:,}", f"{t['assigned']:,}", t["median_s"], t["min_s"], t["max_s"])
            for name, t in timings.items()
        ]
        print(common.table(["strategy", "matched", "assigned", "median s", "min s", "max s"], rows))
        print(f"cpu reference: {result['cpu_speed_ms']} ms; database: {result['database']}")
        out = common.write_result("bench_sampling", result)
        print(f"results: {out}")
    finally:
        engine.dispose()
        if args.keep and not args.database_url:
            print(f"database kept: {url}  (time it again: --reuse --database-url {url})")
        elif not args.database_url:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

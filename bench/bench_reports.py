"""Benchmark the coaching reports: the agent feedback report and the manager dashboard (issue 5).

    .venv/bin/python bench/bench_reports.py                       # build in a SQLite temp file, time
    .venv/bin/python bench/bench_reports.py --keep                # ... and keep the database (path printed)
    .venv/bin/python bench/bench_reports.py --reuse --database-url sqlite:////tmp/caliper-bench-reports-x/r.db
    .venv/bin/python bench/bench_reports.py --database-url postgresql://u:p@127.0.0.1:5432/empty_db

Building (skipped with --reuse):
  - 20 teams, --agents agents (2,000; agent i in team i mod 20), 40 reviewers and an org-wide manager
    (through qa.auth.service), an agent login for the first agent, bench_web's 10-criterion scorecard;
  - --conversations conversations (750,000; no transcripts: reports never read messages), agent i mod
    agents, the agent's team, one of four channels, created evenly over the 365 days before today;
  - --reviews submitted manual reviews (500,000), one per conversation on a random subset, submitted 1–72 h
    after the conversation, by a random reviewer, with a rating for every criterion: 5,000,000 ratings.
    Each agent has a skill level that skews their option choices; 10 % of N/A-capable criteria are N/A;
    some ratings carry a comment and a root cause. Scores, critical fails and pass verdicts are computed
    with scorecards.score_review's rules (vectorised with numpy; a sample is cross-checked against it);
  - 1 % of reviews disputed (a third accepted, a third rejected, a third open);
  - the report summaries rebuilt (qa.reporting.rollup.rebuild: the bulk inserts bypassed the ORM);
  - ANALYZE (PostgreSQL: VACUUM ANALYZE).
Inserts go through the DBAPI (executemany on SQLite, COPY on PostgreSQL) for speed; no business logic is
skipped that the reports depend on.

Timing: sequential GETs through TestClient after a real form login, --requests per page after --warmup;
"server" is the time inside the ASGI app (middleware, routing, SQL, Jinja). Pages (default period: the
last 30 days, ~41,000 reviews / ~410,000 ratings organisation-wide):
  - report_as_manager: /reports/agents/{id} for a mid-table agent, as the org-wide manager;
  - report_as_agent:   the same report, as the agent themself;
  - report_90d:        the report over the last 90 days;
  - dashboard:         /dashboard, the whole organisation, last 30 days;
  - dashboard_team:    /dashboard?team=..., one team;
  - dashboard_90d:     /dashboard over the last 90 days (~123,000 reviews).
Target (issue 5): the agent report and the manager dashboard each under 300 ms median, on SQLite and on
PostgreSQL. Results print as a table and go to bench/out/bench_reports-<time>.json.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH_DIR.parent), str(BENCH_DIR)]

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

import bench_web  # noqa: E402
import common  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from qa.app import create_app  # noqa: E402
from qa.auth import service as auth_service  # noqa: E402
from qa.db import make_engine, session_scope  # noqa: E402
from qa.migrations import upgrade  # noqa: E402
from qa.models import Agent, Role, Team, User  # noqa: E402
from qa.reporting import rollup  # noqa: E402
from qa.scorecard_admin import service as scorecard_service  # noqa: E402
from qa.settings import Settings  # noqa: E402
from scorecards import score_review, validate_definition  # noqa: E402

PASSWORD = "bench-password-123"
SECRET_KEY = "bench-reports-secret-key-not-for-production"
MANAGER_EMAIL = "bench-manager@example.com"
AGENT_EMAIL = "bench-agent@example.com"
TEAMS = 20
REVIEWERS = 40
CHANNELS = ("chat", "email", "phone", "social")
TARGET_MEDIAN_MS = 300.0
ROOT_CAUSE_RATE = 0.3  # of ratings below full marks on a criterion with root causes
COMMENT_RATE = 0.05


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------


def seed_people(engine: Engine, agents: int) -> None:
    """Teams, agents, reviewers, the manager, the agent login and the scorecard."""
    with engine.begin() as conn:
        now = datetime.now(UTC).replace(tzinfo=None)
        conn.execute(
            text("INSERT INTO team (name, created_at) VALUES (:n, :t)"),
            [{"n": f"Team {n:02d}", "t": now} for n in range(TEAMS)],
        )
        teams = [r[0] for r in conn.execute(text("SELECT id FROM team ORDER BY id"))]
        conn.execute(
            text("INSERT INTO agent (external_id, name, team_id, created_at) VALUES (:e, :n, :t, :c)"),
            [
                {"e": f"agent-{n}", "n": f"Agent {n:04d}", "t": teams[n % TEAMS], "c": now}
                for n in range(agents)
            ],
        )
    with session_scope(engine) as session:
        manager = auth_service.create_user(
            session,
            actor=None,
            email=MANAGER_EMAIL,
            role=Role.manager,
            password=PASSWORD,
            name="Morgan Manager",
        )
        for n in range(REVIEWERS):
            auth_service.create_user(
                session,
                actor=None,
                email=f"bench-reviewer{n}@example.com",
                role=Role.reviewer,
                password=PASSWORD,
                name=f"Reviewer {n:02d}",
            )
        scorecard_service.create_scorecard(
            session, actor=manager, definition=validate_definition(bench_web.SCORECARD)
        )
    with session_scope(engine) as session:
        agent = session.exec(select(Agent).where(Agent.external_id == f"agent-{agents // 2}")).one()
        auth_service.create_user(
            session,
            actor=None,
            email=AGENT_EMAIL,
            role=Role.agent,
            password=PASSWORD,
            name=agent.name,
            agent_external_id=agent.external_id,
        )


def _insert(engine: Engine, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Many rows at once: COPY on PostgreSQL, executemany on SQLite (one transaction)."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            with cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({marks})', rows)
        raw.commit()
    finally:
        raw.close()


def conversations(engine: Engine, count: int, agents: int, now: datetime) -> None:
    """`count` conversations, evenly over the last 365 days (no messages)."""
    with engine.connect() as conn:
        agent_rows = conn.execute(text("SELECT id, team_id FROM agent ORDER BY id")).all()
    start = now - timedelta(days=365)
    step = 365 * 86400 / count
    columns = (
        "source",
        "external_id",
        "channel",
        "subject",
        "agent_id",
        "team_id",
        "customer_external_id",
        "customer_name",
        "tags",
        "language",
        "metadata",
        "message_count",
        "agent_message_count",
        "customer_message_count",
        "created_at",
        "closed_at",
        "imported_at",
        "reopen_count",
    )
    chunk = 100_000
    for lo in range(0, count, chunk):
        rows = []
        for i in range(lo, min(count, lo + chunk)):
            agent_id, team_id = agent_rows[i % agents]
            created = (start + timedelta(seconds=i * step)).replace(tzinfo=None)
            rows.append(
                (
                    "bench",
                    f"c-{i}",
                    CHANNELS[(i // agents) % 4],
                    f"Conversation {i}",
                    agent_id,
                    team_id,
                    f"cust-{i % 50_000}",
                    "Customer",
                    "[]",
                    "en",
                    "{}",
                    6,
                    3,
                    3,
                    created,
                    created + timedelta(minutes=20),
                    created,
                    0,
                )
            )
        _insert(engine, "conversation", columns, rows)
        log(f"  conversations: {min(count, lo + chunk):,}/{count:,}")


def reviews(engine: Engine, count: int, seed: int, now: datetime) -> dict[str, Any]:
    """`count` submitted manual reviews with a rating per criterion, scored by the scorecard's rules."""
    rng = np.random.default_rng(seed)
    with Session(engine) as session:
        version_id = session.execute(
            text("SELECT id FROM scorecard_version ORDER BY id LIMIT 1")
        ).scalar_one()
        defn = scorecard_service.definition_for(session, version_id)
        criterion_ids = {c.key: c.id for c in scorecard_service.criteria_for(session, version_id)}
        reviewer_ids = list(
            session.exec(select(User.id).where(User.role == Role.reviewer).order_by(col(User.id)))
        )
        total = session.execute(text("SELECT count(*) FROM conversation")).scalar_one()
        lo = session.execute(text("SELECT min(id) FROM conversation")).scalar_one()
        agent_ids = list(session.exec(select(Agent.id).order_by(col(Agent.id))))
    picked = np.sort(rng.choice(total, size=count, replace=False))
    with engine.connect() as conn:
        facts = conn.execute(
            text("SELECT id, agent_id, created_at, team_id, channel FROM conversation ORDER BY id")
        ).all()
        scorecard_id = conn.execute(
            text("SELECT scorecard_id FROM scorecard_version WHERE id = :v"), {"v": version_id}
        ).scalar_one()
    skill = {a: float(s) for a, s in zip(agent_ids, rng.beta(5, 2, size=len(agent_ids)), strict=True)}
    crit = defn.criteria
    # Option index per (review, criterion): a good agent mostly gives the top option.
    n_crit = len(crit)
    answers = np.empty((count, n_crit), dtype=np.int64)
    na = np.zeros((count, n_crit), dtype=bool)
    agent_of = np.array([facts[i][1] for i in picked], dtype=np.int64)
    skill_of = np.array([skill[a] for a in agent_of])
    for j, c in enumerate(crit):
        top = len(c.options) - 1
        good = rng.random(count) < skill_of
        answers[:, j] = np.where(good, top, rng.integers(0, top + 1, size=count))
        if c.allow_na:
            na[:, j] = rng.random(count) < 0.1
    option_scores = [np.array([o.score for o in c.options]) for c in crit]
    scores_matrix = np.stack([option_scores[j][answers[:, j]] for j in range(n_crit)], axis=1)
    weights = np.array([c.weight for c in crit])
    rated = ~na
    weighted = np.where(rated, scores_matrix * weights, 0).sum(axis=1)
    weight_sum = np.where(rated, weights, 0).sum(axis=1)
    critical = np.array([c.critical for c in crit])
    fail_below = np.array([c.fail_below for c in crit])
    failed = (rated & critical & (scores_matrix < fail_below)).any(axis=1)
    score = np.where(weight_sum > 0, 100 * weighted / np.maximum(weight_sum, 1e-12), np.nan)
    score = np.where(failed, 0.0, score)
    passed = (score >= defn.pass_threshold) & ~failed
    # Cross-check a sample against the real scoring function.
    for r in rng.choice(count, size=200, replace=False):
        labels = {c.key: (None if na[r, j] else c.options[answers[r, j]].label) for j, c in enumerate(crit)}
        result = score_review(defn, labels)
        assert result.failed_critical == bool(failed[r]) and abs((result.score or 0) - score[r]) < 1e-9, r
    reviewer_of = rng.choice(np.array(reviewer_ids), size=count)
    delay = rng.integers(3600, 72 * 3600, size=count)
    spent = rng.integers(60, 900, size=count)
    review_columns = (
        "conversation_id",
        "version_id",
        "reviewer_id",
        "agent_id",
        "kind",
        "status",
        "comment",
        "score",
        "failed_critical",
        "passed",
        "time_spent_seconds",
        "created_at",
        "updated_at",
        "submitted_at",
        "team_id",
        "channel",
        "scorecard_id",
    )
    rating_columns = (
        "review_id",
        "criterion_id",
        "criterion_key",
        "option_label",
        "option_score",
        "comment",
        "root_cause",
    )
    with engine.connect() as conn:
        next_id = (conn.execute(text("SELECT coalesce(max(id), 0) FROM review")).scalar_one() or 0) + 1
    chunk = 50_000
    cutoff = now.replace(tzinfo=None)
    for start in range(0, count, chunk):
        stop = min(count, start + chunk)
        review_rows, rating_rows = [], []
        for r in range(start, stop):
            conv_id, agent_id, created, team_id, channel = facts[picked[r]]
            created = created if isinstance(created, datetime) else datetime.fromisoformat(created)
            at = min(created + timedelta(seconds=int(delay[r])), cutoff)
            s = None if np.isnan(score[r]) else float(score[r])
            review_id = next_id + r
            review_rows.append(
                (
                    conv_id,
                    version_id,
                    int(reviewer_of[r]),
                    agent_id,
                    "manual",
                    "submitted",
                    "Thanks, good work overall." if r % 20 == 0 else "",
                    s,
                    bool(failed[r]),
                    None if s is None else bool(passed[r]),
                    int(spent[r]),
                    at,
                    at,
                    at,
                    team_id,
                    channel,
                    scorecard_id,
                )
            )
            for j, c in enumerate(crit):
                if na[r, j]:
                    rating_rows.append((review_id, criterion_ids[c.key], c.key, None, None, "", None))
                    continue
                option = c.options[answers[r, j]]
                cause = (
                    c.root_causes[r % len(c.root_causes)]
                    if c.root_causes and option.score < 1 and (r * 7 + j) % 10 < 3
                    else None
                )
                comment = "Could be clearer here." if option.score < 1 and (r + j) % 20 == 0 else ""
                rating_rows.append(
                    (review_id, criterion_ids[c.key], c.key, option.label, option.score, comment, cause)
                )
        _insert_reviews(engine, review_columns, review_rows, next_id + start)
        _insert(engine, "rating", rating_columns, rating_rows)
        log(f"  reviews: {stop:,}/{count:,} ({stop * n_crit:,} ratings)")
    del lo
    return {"reviews": count, "ratings": count * n_crit, "critical_fails": int(failed.sum())}


def _insert_reviews(
    engine: Engine, columns: tuple[str, ...], rows: list[tuple[Any, ...]], first_id: int
) -> None:
    """Reviews with explicit ids (so ratings can point at them without reading ids back)."""
    _insert(engine, "review", ("id", *columns), [(first_id + n, *row) for n, row in enumerate(rows)])


def disputes(engine: Engine, share: float, seed: int) -> int:
    """Disputes on `share` of the reviews: a third accepted, a third rejected, a third open."""
    rng = np.random.default_rng(seed + 1)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, agent_id, reviewer_id, submitted_at FROM review ORDER BY id")
        ).all()
        manager = conn.execute(
            text('SELECT id FROM "user" WHERE email = :e'), {"e": MANAGER_EMAIL}
        ).scalar_one()
    picked = rng.choice(len(rows), size=int(len(rows) * share), replace=False)
    columns = (
        "review_id",
        "agent_id",
        "reviewer_id",
        "raised_by_id",
        "criterion_key",
        "reason",
        "status",
        "resolved_by_id",
        "resolution_comment",
        "created_at",
        "resolved_at",
    )
    out = []
    for n, i in enumerate(picked):
        review_id, agent_id, reviewer_id, at = rows[i]
        at = at if isinstance(at, datetime) else datetime.fromisoformat(at)
        status = ("accepted", "rejected", "open")[n % 3]
        resolved = status != "open"
        out.append(
            (
                review_id,
                agent_id,
                reviewer_id,
                manager,
                "accuracy" if n % 2 else None,
                "I disagree.",
                status,
                manager if resolved else None,
                "Checked." if resolved else "",
                at + timedelta(days=1),
                at + timedelta(days=2) if resolved else None,
            )
        )
    _insert(engine, "dispute", columns, out)
    return len(out)


def build(url: str, args: argparse.Namespace) -> dict[str, Any]:
    upgrade(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    figures: dict[str, Any] = {}
    try:
        with engine.connect() as conn:
            if conn.execute(text("SELECT count(*) FROM review")).scalar_one():
                raise SystemExit("the database already has reviews: give an empty one, or --reuse")
        with common.Stopwatch() as sw:
            seed_people(engine, args.agents)
            conversations(engine, args.conversations, args.agents, now)
            figures.update(reviews(engine, args.reviews, args.seed, now))
            figures["disputes"] = disputes(engine, 0.01, args.seed)
            with engine.begin() as conn:  # the bulk inserts bypassed the ORM's summary upkeep
                figures["summary_rows"] = rollup.rebuild(conn)
            bench_web.analyze(engine)
        figures["seconds"] = round(sw.wall, 1)
        log(f"built in {sw.wall:.0f} s: {figures}")
    finally:
        engine.dispose()
    return figures


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------


def cases(url: str) -> list[tuple[str, str, str, str]]:
    """(name, login email, path, text a correct page contains)."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            agent = session.exec(select(User.agent_id).where(User.email == AGENT_EMAIL)).one()
            team = session.exec(select(Team.id).order_by(col(Team.id))).first()
    finally:
        engine.dispose()
    today = datetime.now(UTC).date()
    ninety = f"start={(today - timedelta(days=89)).isoformat()}&end={today.isoformat()}"
    return [
        ("report_as_manager", MANAGER_EMAIL, f"/reports/agents/{agent}", "Agent "),
        ("report_as_agent", AGENT_EMAIL, f"/reports/agents/{agent}", "Agent "),
        ("report_90d", MANAGER_EMAIL, f"/reports/agents/{agent}?{ninety}", "Agent "),
        ("dashboard", MANAGER_EMAIL, "/dashboard", "Team 00"),
        ("dashboard_team", MANAGER_EMAIL, f"/dashboard?team={team}", "Agent "),
        ("dashboard_90d", MANAGER_EMAIL, f"/dashboard?{ninety}", "Team 00"),
    ]


def _login(client: TestClient, email: str) -> None:
    client.cookies.clear()
    token = common.CSRF_INPUT.search(client.get("/login").text)
    assert token, "the login page has no CSRF field"
    response = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    if response.status_code != 303:
        raise RuntimeError(f"login as {email} failed: {response.status_code}")


def time_pages(url: str, requests: int, warmup: int) -> dict[str, Any]:
    timer = bench_web.ServerTimer(
        create_app(Settings(database_url=url, secret_key=SECRET_KEY, sampling_scheduler=False))
    )
    results: dict[str, Any] = {}
    with TestClient(timer, base_url="http://testserver") as client:  # type: ignore[arg-type]
        who = None
        for name, email, path, expect in cases(url):
            if email != who:
                _login(client, email)
                who = email
            server = []
            for n in range(warmup + requests):
                response = client.get(path)
                if n == 0 and (response.status_code != 200 or expect not in response.text):
                    raise RuntimeError(f"{name}: unexpected answer {response.status_code} for {path}")
                if n >= warmup:
                    server.append(timer.last)
            results[name] = {
                "path": path,
                "bytes": len(response.content),
                "server": common.summary_ms(server),
            }
            log(
                f"  {name}: median {results[name]['server']['median_ms']} ms, "
                f"p95 {results[name]['server']['p95_ms']} ms"
            )
    return results


def report(result: dict[str, Any]) -> str:
    rows = []
    for name, r in result["pages"].items():
        median = r["server"]["median_ms"]
        rows.append(
            [
                name,
                median,
                r["server"]["p95_ms"],
                r["bytes"],
                f"< {TARGET_MEDIAN_MS:g} ms",
                "ok" if median < TARGET_MEDIAN_MS else "MISS",
            ]
        )
    return common.table(["page", "median ms", "p95 ms", "bytes", "target", "verdict"], rows)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="an empty database to build in (default: a SQLite temp file)")
    parser.add_argument("--reuse", action="store_true", help="time an already built --database-url")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite temp database")
    parser.add_argument("--agents", type=int, default=2_000)
    parser.add_argument("--conversations", type=int, default=750_000)
    parser.add_argument("--reviews", type=int, default=500_000)
    parser.add_argument(
        "--build-only", action="store_true", help="build (with --keep) and stop before timing"
    )
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="caliper-bench-reports-"))
    url = args.database_url or f"sqlite:///{workdir / 'reports.db'}"
    result: dict[str, Any] = {
        "machine": common.machine_info(),
        "cpu_speed_ms": common.cpu_speed_ms(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "backend": make_engine(url).dialect.name,
    }
    try:
        if not args.reuse:
            result["build"] = build(url, args)
        if args.build_only:
            return 0
        started = time.perf_counter()
        result["pages"] = time_pages(url, args.requests, args.warmup)
        result["timing_seconds"] = round(time.perf_counter() - started, 1)
    finally:
        if not (args.keep or args.reuse or args.database_url):
            shutil.rmtree(workdir, ignore_errors=True)
        elif not args.database_url:
            log(f"kept {url}")
    path = common.write_result("bench_reports", result)
    print(report(result))
    log(f"results in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

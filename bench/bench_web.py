"""Benchmark the review loop at scale: the reviewer's queue (100 rows) and the review page.

    .venv/bin/python bench/bench_web.py                       # build 1,000,000 conversations in SQLite, time
    .venv/bin/python bench/bench_web.py --keep                # ... and keep the database (path printed)
    .venv/bin/python bench/bench_web.py --reuse --database-url sqlite:////tmp/caliper-bench-web-x/web.db
    .venv/bin/python bench/bench_web.py --database-url postgresql://u:p@127.0.0.1:5432/empty_db

Building (skipped with --reuse, which times a database an earlier --keep run built):
  1. migrate a fresh database (SQLite file in a temp dir unless --database-url names an empty one);
  2. generate --base-conversations (50,000, ~1,000,000 messages) native JSON Lines with
     bench/bench_import.py's generator (cached in bench/out/cache) and import them with
     qa.conversations.ingest.import_path, timing messages/s;
  3. a 10-criterion scorecard (qa.scorecard_admin.service), six reviewers and a manager (qa.auth.service);
  4. grow the conversation table to --conversations (1,000,000) with set-based INSERT ... SELECT copies
     of the imported rows: new external_id "<id>~<k>" and created_at shifted by k * 21 s, so copies
     interleave with the originals (7 minutes apart) over the same 8 months. Copies keep the original's
     derived counts, but only the first --message-copies generations get message rows (the rest have an
     empty transcript): the message table ends at ~2,000,000 rows instead of ~20,000,000;
  5. --reviews (20,000) submitted manual reviews with a rating per criterion (30 % on the newest 20,000
     conversations, the rest anywhere), 300 drafts and 500 open assignments for the measured reviewer,
     and two reviews written through qa.reviews.service (the measured draft with comments pinned to
     messages, and a submitted one); ANALYZE.

Timing (the reviewer has no teams, so sees the whole organisation; PAGE_SIZE=100):
  - in process: --requests sequential GETs per page through TestClient after a real form login;
    "server" is the time inside the ASGI app (middleware, routing, SQL, Jinja), "client" adds the client;
  - under load: one uvicorn worker on 127.0.0.1 (httptools + uvloop when installed), wrk with the
    session cookie for --duration seconds at --connections connections per page.
Results print as tables and go to bench/out/bench_web-<time>.json.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH_DIR.parent), str(BENCH_DIR)]

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

import bench_import  # noqa: E402
import common  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402
from starlette.types import ASGIApp, Receive, Scope, Send  # noqa: E402

from qa.app import create_app  # noqa: E402
from qa.auth import service as auth_service  # noqa: E402
from qa.conversations import ingest  # noqa: E402
from qa.db import make_engine, normalise_url, session_scope  # noqa: E402
from qa.migrations import upgrade  # noqa: E402
from qa.models import (  # noqa: E402
    Agent,
    Assignment,
    Conversation,
    Message,
    Rating,
    Review,
    ReviewKind,
    ReviewStatus,
    Role,
    Scorecard,
    Team,
    User,
)
from qa.reviews import service as review_service  # noqa: E402
from qa.scorecard_admin import service as scorecard_service  # noqa: E402
from qa.settings import Settings  # noqa: E402
from scorecards import ScorecardDef, score_review, validate_definition  # noqa: E402

REVIEWER_EMAIL = "bench-reviewer@example.com"
PASSWORD = "bench-password-123"
SECRET_KEY = "bench-web-secret-key-not-for-production"
PAGE_SIZE = 100
TARGET_MEDIAN_MS = 25.0
TARGET_RPS = 250.0
TARGET_IMPORT_MPS = 50_000.0
LOAD_CASES = ("queue", "queue_team_channel", "queue_deep", "review_draft")

SCORECARD: dict[str, Any] = {
    "name": "Support QA (bench)",
    "pass_threshold": 80,
    "criteria": [
        {"key": "greeting", "name": "Greeting", "section": "Opening", "scale": "binary", "weight": 1},
        {
            "key": "verify",
            "name": "Verified the customer",
            "section": "Opening",
            "scale": "binary",
            "weight": 1,
            "critical": True,
            "allow_na": True,
        },
        {
            "key": "understanding",
            "name": "Understood the issue",
            "section": "Resolution",
            "scale": "5",
            "weight": 2,
            "guidance": "Restated the problem and asked the right questions.",
        },
        {
            "key": "accuracy",
            "name": "Correct solution",
            "section": "Resolution",
            "scale": "5",
            "weight": 3,
            "critical": True,
            "root_causes": ["Knowledge gap", "Process unclear", "Tool limitation"],
        },
        {"key": "ownership", "name": "Ownership", "section": "Resolution", "scale": "4", "weight": 2},
        {
            "key": "policy",
            "name": "Followed policy",
            "section": "Resolution",
            "scale": "binary",
            "weight": 2,
            "allow_na": True,
        },
        {
            "key": "tone",
            "name": "Tone",
            "section": "Communication",
            "scale": "custom",
            "weight": 2,
            "allow_na": True,
            "options": [
                {"label": "Poor", "score": 0},
                {"label": "OK", "score": 0.6},
                {"label": "Great", "score": 1},
            ],
            "root_causes": ["Robotic", "Rude", "Too casual"],
        },
        {"key": "clarity", "name": "Clear writing", "section": "Communication", "scale": "3", "weight": 1},
        {"key": "empathy", "name": "Empathy", "section": "Communication", "scale": "3", "weight": 1},
        {"key": "closing", "name": "Closing", "section": "Communication", "scale": "binary", "weight": 1},
    ],
}


def log(message: str) -> None:
    """A progress line with the time of day."""
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------------------------------------
# Building the data set
# ---------------------------------------------------------------------------------------------


def generated_file(conversations: int, messages_per: int, seed: int, cache: bool, workdir: Path) -> Path:
    """The native JSON Lines file from bench_import's generator, generated once per parameter set."""
    name = f"native-{conversations}-{messages_per}-{seed}.jsonl"
    path = (common.OUT_DIR / "cache" / name) if cache else (workdir / name)
    if path.exists():
        log(f"reusing generated {path}")
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with common.Stopwatch() as sw:
        messages = bench_import.generate(partial, conversations, messages_per, seed)
    partial.rename(path)
    log(f"generated {conversations:,} conversations, {messages:,} messages in {sw.wall:.1f} s -> {path}")
    return path


def import_file(engine: Engine, path: Path) -> dict[str, Any]:
    """Import the file through ingest.import_path; messages/s as the importer delivers them."""
    with common.Stopwatch() as sw:
        result = ingest.import_path(engine, path)
    with engine.connect() as conn:
        messages = conn.execute(text("SELECT count(*) FROM message")).scalar_one()
    if result.rejected_count:
        raise RuntimeError(f"the import rejected records: {result.describe()}")
    figures = {
        "conversations": result.created,
        "messages": messages,
        "seconds": round(sw.wall, 2),
        "cpu_seconds": round(sw.cpu, 2),
        "messages_per_s": round(messages / sw.wall),
        "conversations_per_s": round(result.created / sw.wall),
    }
    log(
        f"imported {result.created:,} conversations, {messages:,} messages in {sw.wall:.1f} s: "
        f"{figures['messages_per_s']:,} messages/s"
    )
    return figures


def seed_people(engine: Engine) -> None:
    """The scorecard, six reviewers (the first is measured) and a manager."""
    with session_scope(engine) as session:
        manager = auth_service.create_user(
            session,
            actor=None,
            email="bench-manager@example.com",
            role=Role.manager,
            password=PASSWORD,
            name="Morgan Manager",
        )
        auth_service.create_user(
            session,
            actor=None,
            email=REVIEWER_EMAIL,
            role=Role.reviewer,
            password=PASSWORD,
            name="Riley Reviewer",
        )
        for n in range(1, 6):
            auth_service.create_user(
                session,
                actor=None,
                email=f"bench-reviewer{n}@example.com",
                role=Role.reviewer,
                password=PASSWORD,
                name=f"Reviewer {n}",
            )
        scorecard_service.create_scorecard(session, actor=manager, definition=validate_definition(SCORECARD))


def _shifted(dialect: str, column: str, seconds: int) -> str:
    """SQL for `column` + seconds, keeping the stored text layout on SQLite ("YYYY-MM-DD HH:MM:SS.ffffff")."""
    if dialect == "sqlite":
        return f"strftime('%Y-%m-%d %H:%M:%S', {column}, '+{seconds} seconds') || substr({column}, 20)"
    return f"{column} + interval '{seconds} seconds'"


CONVERSATION_COPY_COLUMNS = (
    "source, channel, subject, agent_id, team_id, customer_external_id, customer_name, csat, tags, language, "
    "metadata, message_count, agent_message_count, customer_message_count, first_response_seconds, "
    "handle_seconds, imported_at"
)


def grow(engine: Engine, target: int, message_copies: int) -> dict[str, Any]:
    """Copy the imported conversations (set-based) until the table holds `target` rows."""
    dialect = engine.dialect.name
    with engine.connect() as conn:
        lo, hi, base, first, last = conn.execute(
            text("SELECT min(id), max(id), count(*), min(created_at), max(created_at) FROM conversation")
        ).one()
    first, last = _as_datetime(first), _as_datetime(last)
    spacing = (last - first).total_seconds() / max(1, base - 1)
    copies = max(0, -(-(target - base) // base))
    step = max(1, int(spacing // (copies + 1)))
    source_columns = ", ".join(f"c.{name.strip()}" for name in CONVERSATION_COPY_COLUMNS.split(","))
    started = time.perf_counter()
    with common.Stopwatch() as sw:
        for k in range(1, copies + 1):
            remaining = target - base * k
            sql = (
                f"INSERT INTO conversation (external_id, created_at, closed_at, {CONVERSATION_COPY_COLUMNS}) "
                f"SELECT c.external_id || '~{k}', {_shifted(dialect, 'c.created_at', k * step)}, "
                f"{_shifted(dialect, 'c.closed_at', k * step)}, {source_columns} "
                f"FROM conversation c WHERE c.id BETWEEN :lo AND :hi ORDER BY c.id LIMIT :n"
            )
            with engine.begin() as conn:
                conn.execute(text(sql), {"lo": lo, "hi": hi, "n": min(base, remaining)})
            if k <= message_copies:
                _copy_messages(engine, k, k * step, lo, hi)
            log(
                f"  copy {k}/{copies}: {min(target, base * (k + 1)):,} conversations "
                f"({time.perf_counter() - started:.0f} s)"
            )
    with engine.connect() as conn:
        conversations = conn.execute(text("SELECT count(*) FROM conversation")).scalar_one()
        messages = conn.execute(text("SELECT count(*) FROM message")).scalar_one()
    log(f"grew to {conversations:,} conversations, {messages:,} messages in {sw.wall:.1f} s")
    return {
        "conversations": conversations,
        "messages": messages,
        "copies": copies,
        "shift_seconds": step,
        "message_copies": min(message_copies, copies),
        "seconds": round(sw.wall, 1),
    }


def _copy_messages(engine: Engine, k: int, seconds: int, lo: int, hi: int) -> None:
    dialect = engine.dialect.name
    sql = (
        "INSERT INTO message (conversation_id, position, author, author_id, author_name, body, created_at, "
        f"internal) SELECT g.id, m.position, m.author, m.author_id, m.author_name, m.body, "
        f"{_shifted(dialect, 'm.created_at', seconds)}, m.internal FROM conversation c "
        f"JOIN conversation g ON g.source = c.source AND g.external_id = c.external_id || '~{k}' "
        "JOIN message m ON m.conversation_id = c.id WHERE c.id BETWEEN :lo AND :hi"
    )
    with engine.begin() as conn:
        conn.execute(text(sql), {"lo": lo, "hi": hi})


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class Seeded:
    """The ids the build made that the timing needs."""

    reviewer_id: int
    version_id: int
    scorecard_id: int


def _seeded(session: Session) -> Seeded:
    reviewer = session.exec(select(User).where(User.email == REVIEWER_EMAIL)).one()
    card = session.exec(select(Scorecard).order_by(col(Scorecard.id))).one()
    version = scorecard_service.current_version(session, card.id)  # type: ignore[arg-type]
    return Seeded(reviewer.id, version.id, card.id)  # type: ignore[arg-type]


def review_through_services(engine: Engine) -> None:
    """The measured draft and a submitted review, written by the real service functions (before growing,
    so both are of imported conversations with a full transcript)."""
    with session_scope(engine) as session:
        seeded = _seeded(session)
        reviewer = session.get(User, seeded.reviewer_id)
        assert reviewer is not None
        defn = scorecard_service.definition_for(session, seeded.version_id)
        picks = list(
            session.exec(
                select(Conversation.id)
                .where(col(Conversation.message_count) == 20)
                .order_by(col(Conversation.id).desc())
                .limit(2)
            )
        )
        for n, conversation_id in enumerate(picks):
            review = review_service.start_review(session, actor=reviewer, conversation_id=conversation_id)
            criteria = defn.criteria[:5] if n == 0 else defn.criteria
            for c in criteria:
                review_service.rate(
                    session,
                    actor=reviewer,
                    review_id=review.id,
                    criterion_key=c.key,
                    option_label=c.options[-1].label,
                    comment="Good, see the pinned messages." if c.key == "accuracy" else None,
                )
            messages = session.exec(
                select(Message.id)
                .where(Message.conversation_id == conversation_id)
                .order_by(col(Message.position))
                .limit(6)
            ).all()
            for message_id in messages[1::2]:
                review_service.add_message_comment(
                    session,
                    actor=reviewer,
                    review_id=review.id,
                    message_id=message_id,
                    body="Nice wording here.",
                )
            review_service.set_comment(
                session,
                actor=reviewer,
                review_id=review.id,
                comment="Solid conversation; confirm the address earlier next time.",
            )
            if n == 1:
                review_service.submit_review(
                    session, actor=reviewer, review_id=review.id, time_spent_seconds=240
                )


REVIEW_TABLE = Review.__table__  # type: ignore[attr-defined]
RATING_TABLE = Rating.__table__  # type: ignore[attr-defined]
ASSIGNMENT_TABLE = Assignment.__table__  # type: ignore[attr-defined]


def bulk_reviews(engine: Engine, reviews: int, seed: int) -> dict[str, Any]:
    """Submitted reviews by six reviewers, drafts and open assignments of the measured reviewer."""
    rng = random.Random(seed)
    with common.Stopwatch() as sw, session_scope(engine) as session:
        seeded = _seeded(session)
        defn = scorecard_service.definition_for(session, seeded.version_id)
        criteria = {c.key: c.id for c in scorecard_service.criteria_for(session, seeded.version_id)}
        reviewers = list(
            session.exec(select(User.id).where(User.role == Role.reviewer).order_by(col(User.id)))
        )
        lo, hi = session.execute(text("SELECT min(id), max(id) FROM conversation")).one()
        newest = set(range(max(lo, hi - 20_000 + 1), hi + 1))
        chosen = set(rng.sample(sorted(newest), min(len(newest), int(reviews * 0.3))))
        while len(chosen) < reviews:
            chosen.add(rng.randint(lo, hi))
        facts = _conversation_facts(session, sorted(chosen))
        rows = [
            _review_row(rng, defn, facts[cid], cid, rng.choice(reviewers), seeded.version_id, "submitted")
            for cid in sorted(chosen)
        ]
        taken = set(chosen)
        drafts = [cid for cid in rng.sample(range(lo, hi + 1), 600) if cid not in taken][:300]
        facts = _conversation_facts(session, drafts)
        rows += [
            _review_row(rng, defn, facts[cid], cid, seeded.reviewer_id, seeded.version_id, "draft")
            for cid in drafts
        ]
        _insert_reviews(session, rows, criteria)
        assigned = [cid for cid in rng.sample(sorted(newest), 1000) if cid not in taken][:500]
        due = datetime.now(UTC) + timedelta(days=7)
        session.execute(
            insert(ASSIGNMENT_TABLE),
            [
                {
                    "conversation_id": cid,
                    "reviewer_id": seeded.reviewer_id,
                    "scorecard_id": seeded.scorecard_id,
                    "status": "open",
                    "due_at": due,
                    "created_at": datetime.now(UTC),
                }
                for cid in assigned
            ],
        )
    log(
        f"added {reviews:,} submitted reviews, {len(drafts)} drafts, {len(assigned)} assignments "
        f"in {sw.wall:.1f} s"
    )
    return {
        "submitted": reviews,
        "drafts": len(drafts),
        "assignments": len(assigned),
        "seconds": round(sw.wall, 1),
    }


def _conversation_facts(session: Session, ids: list[int]) -> dict[int, tuple[int | None, datetime]]:
    facts: dict[int, tuple[int | None, datetime]] = {}
    for start in range(0, len(ids), 500):
        query = select(Conversation.id, Conversation.agent_id, Conversation.created_at).where(
            col(Conversation.id).in_(ids[start : start + 500])
        )
        facts.update({cid: (agent, at) for cid, agent, at in session.exec(query)})
    return facts


def _review_row(
    rng: random.Random,
    defn: ScorecardDef,
    fact: tuple[int | None, datetime],
    cid: int,
    reviewer_id: int,
    version_id: int,
    status: str,
) -> dict[str, Any]:
    labels: dict[str, str | None] = {}
    criteria = defn.criteria if status == "submitted" else defn.criteria[: rng.randint(0, len(defn.criteria))]
    for c in criteria:
        if c.allow_na and rng.random() < 0.1:
            labels[c.key] = None
        else:  # mostly good answers, sometimes a poor one
            options = c.options
            labels[c.key] = options[-1].label if rng.random() < 0.7 else rng.choice(options).label
    result = score_review(defn, labels)
    agent_id, created_at = fact
    at = created_at + timedelta(hours=rng.randint(2, 72))
    submitted = status == "submitted"
    return {
        "conversation_id": cid,
        "version_id": version_id,
        "reviewer_id": reviewer_id,
        "agent_id": agent_id,
        "kind": ReviewKind.manual,
        "status": ReviewStatus(status),
        "comment": "",
        "score": result.score,
        "failed_critical": result.failed_critical,
        "passed": result.passed,
        "time_spent_seconds": rng.randint(60, 900),
        "created_at": at,
        "updated_at": at,
        "submitted_at": at if submitted else None,
        "acknowledged_at": at + timedelta(days=1) if submitted and rng.random() < 0.5 else None,
        "_labels": labels,
    }


def _insert_reviews(session: Session, rows: list[dict[str, Any]], criteria: dict[str, int]) -> None:
    defn_scores: dict[tuple[str, str], float] = {}
    version_id = rows[0]["version_id"]
    for c in scorecard_service.definition_for(session, version_id).criteria:
        defn_scores.update({(c.key, o.label): o.score for o in c.options})
    for start in range(0, len(rows), 2000):
        chunk = rows[start : start + 2000]
        labels = [row.pop("_labels") for row in chunk]
        ids = (
            session.execute(
                insert(REVIEW_TABLE).returning(REVIEW_TABLE.c.id, sort_by_parameter_order=True), chunk
            )
            .scalars()
            .all()
        )
        ratings = [
            {
                "review_id": rid,
                "criterion_id": criteria[key],
                "criterion_key": key,
                "option_label": label,
                "option_score": None if label is None else defn_scores[(key, label)],
                "comment": "",
                "root_cause": None,
            }
            for rid, answered in zip(ids, labels, strict=True)
            for key, label in answered.items()
        ]
        if ratings:
            session.execute(insert(RATING_TABLE), ratings)


def analyze(engine: Engine) -> None:
    """Fresh planner statistics (PostgreSQL: VACUUM ANALYZE, so index-only scans are possible)."""
    with common.Stopwatch() as sw:
        if engine.dialect.name == "sqlite":
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        else:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
    log(f"analyzed in {sw.wall:.1f} s")


def build(url: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Every building step; returns their figures."""
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if conn.execute(text("SELECT count(*) FROM conversation")).scalar_one():
                raise SystemExit("the database already has conversations: give an empty one, or --reuse")
        path = generated_file(
            args.base_conversations, args.messages_per, args.seed, not args.no_cache, workdir
        )
        figures: dict[str, Any] = {"import": import_file(engine, path)}
        seed_people(engine)
        review_through_services(engine)
        figures["grow"] = grow(engine, args.conversations, args.message_copies)
        figures["reviews"] = bulk_reviews(engine, args.reviews, args.seed)
        analyze(engine)
    finally:
        engine.dispose()
    return figures


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One page to time: a name, its path and what a correct answer contains."""

    name: str
    path: str
    expect: str
    expect_count: int | None = None


def cases(url: str) -> list[Case]:
    """The pages to time, with ids looked up in the built database."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            seeded = _seeded(session)
            team = session.exec(select(Team.id).where(Team.name == "Billing")).one()
            agent = session.exec(select(Agent.id).where(Agent.external_id == "agent-7")).one()
            mine = select(Review.id).where(Review.reviewer_id == seeded.reviewer_id).order_by(col(Review.id))
            draft = session.exec(mine.where(Review.status == ReviewStatus.draft)).first()
            submitted = session.exec(mine.where(Review.status == ReviewStatus.submitted)).first()
            total = session.execute(text("SELECT count(*) FROM conversation")).scalar_one()
            deep_id, deep_at = session.exec(
                select(Conversation.id, Conversation.created_at)
                .order_by(col(Conversation.created_at).desc(), col(Conversation.id).desc())
                .offset(total // 2)
                .limit(1)
            ).one()
    finally:
        engine.dispose()
    cursor = review_service.encode_cursor(deep_at.isoformat(), deep_id)
    rows = '<tr class="queue-row"'
    return [
        Case("queue", "/queue", rows, PAGE_SIZE),
        Case("queue_not_reviewed", "/queue?status=not_reviewed", rows, PAGE_SIZE),
        Case("queue_reviewed", "/queue?status=reviewed", rows, PAGE_SIZE),
        Case("queue_team_channel", f"/queue?team={team}&channel=email", rows, PAGE_SIZE),
        Case("queue_agent", f"/queue?agent={agent}", rows, PAGE_SIZE),
        Case("queue_deep", f"/queue?cursor={cursor}", rows, PAGE_SIZE),
        Case("queue_my_drafts", "/queue?status=mine", rows, PAGE_SIZE),
        Case("queue_assigned", "/queue?assigned=1", rows, PAGE_SIZE),
        Case("review_draft", f"/reviews/{draft}", 'id="score-panel"'),
        Case("review_submitted", f"/reviews/{submitted}", 'id="score-panel"'),
    ]


class ServerTimer:
    """ASGI wrapper recording the time each request spends inside the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.last = time.perf_counter() - started


def settings_for(url: str) -> Settings:
    """The app's settings: the bench database, 100 rows per page."""
    return Settings(database_url=url, page_size=PAGE_SIZE, secret_key=SECRET_KEY)


def time_in_process(url: str, page_cases: list[Case], requests: int, warmup: int) -> dict[str, Any]:
    """Sequential GETs of each page through TestClient, after logging in through the form."""
    timer = ServerTimer(create_app(settings_for(url)))
    results: dict[str, Any] = {}
    with TestClient(timer, base_url="http://testserver") as client:  # type: ignore[arg-type]
        _login(client)
        for case in page_cases:
            server, client_times = [], []
            for n in range(warmup + requests):
                started = time.perf_counter()
                response = client.get(case.path)
                elapsed = time.perf_counter() - started
                if n == 0:
                    _check(case, response.status_code, response.text)
                if n >= warmup:
                    server.append(timer.last)
                    client_times.append(elapsed)
            results[case.name] = {
                "path": case.path,
                "bytes": len(response.content),
                "rows": response.text.count(case.expect) if case.expect_count else None,
                "server": common.summary_ms(server),
                "client": common.summary_ms(client_times),
            }
            log(
                f"  {case.name}: median {results[case.name]['server']['median_ms']} ms server, "
                f"{statistics.median(client_times) * 1000:.2f} ms client"
            )
    return results


def _login(client: TestClient) -> None:
    token = common.CSRF_INPUT.search(client.get("/login").text)
    assert token, "the login page has no CSRF field"
    response = client.post(
        "/login",
        data={"email": REVIEWER_EMAIL, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    if response.status_code != 303:
        raise RuntimeError(f"login failed: {response.status_code}")
    token = common.CSRF_INPUT.search(client.get("/login").text)
    client.headers["X-CSRF-Token"] = token.group(1) if token else ""


def _check(case: Case, status: int, body: str) -> None:
    found = body.count(case.expect)  # a full page at full size; fewer rows only on a tiny data set
    if status != 200 or not found or (case.expect_count is not None and found > case.expect_count):
        raise RuntimeError(f"{case.name}: unexpected answer (status {status}, {found} x {case.expect!r})")


def time_under_load(
    url: str, page_cases: list[Case], args: argparse.Namespace, log_path: Path
) -> dict[str, Any]:
    """wrk against one uvicorn worker on loopback, one page at a time."""
    env = {
        "DATABASE_URL": url,
        "PAGE_SIZE": str(PAGE_SIZE),
        "SECRET_KEY": SECRET_KEY,
        "CALIPER_ENV": "development",
    }
    results: dict[str, Any] = {}
    with common.uvicorn_server(env, log_path=log_path) as server:
        results["_server"] = {
            "options": server.options,
            "connections": args.connections,
            "duration_s": args.duration,
            "wrk_threads": args.wrk_threads,
        }
        cookie = common.login_cookie(server.base_url, REVIEWER_EMAIL, PASSWORD)
        for case in page_cases:
            page_url = server.base_url + case.path
            common.run_wrk(
                page_url, cookie=cookie, duration=3, connections=args.connections, threads=args.wrk_threads
            )  # warm-up
            figures = common.run_wrk(
                page_url,
                cookie=cookie,
                duration=args.duration,
                connections=args.connections,
                threads=args.wrk_threads,
                server_pid=server.process.pid,
            )
            results[case.name] = {"path": case.path, **figures}
            log(
                f"  {case.name}: {figures.get('requests_per_s', 0):,.0f} req/s, "
                f"p50 {figures.get('p50_ms')} ms, p99 {figures.get('p99_ms')} ms, "
                f"server CPU {figures.get('server_cpu_ms_per_request')} ms/req, non-2xx {figures['non_2xx']}"
            )
        if args.burst_connections:
            queue = page_cases[0]
            figures = common.run_wrk(
                server.base_url + queue.path,
                cookie=cookie,
                duration=args.duration,
                connections=args.burst_connections,
                threads=args.wrk_threads,
                server_pid=server.process.pid,
            )
            name = f"{queue.name}_{args.burst_connections}_connections"
            results[name] = {"path": queue.path, **figures}
            log(f"  {name}: {figures.get('requests_per_s', 0):,.0f} req/s, non-2xx {figures['non_2xx']}")
    return results


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"


def _load_row(name: str, r: dict[str, Any], queue_rps: float) -> list[Any]:
    errors = r["non_2xx"] + r["socket_errors"]
    if name.endswith("_connections"):  # the burst: answered without errors and without stalling
        rps = r.get("requests_per_s", 0)
        target, ok = "no stall", not errors and rps >= queue_rps / 2
    else:
        target, ok = f">= {TARGET_RPS:g} req/s", r.get("requests_per_s", 0) >= TARGET_RPS and not errors
    figures = [r.get(k, 0.0) for k in ("requests_per_s", "p50_ms", "p90_ms", "p99_ms")]
    return [name, *figures, r.get("server_cpu_ms_per_request", 0.0), errors, target, _verdict(ok)]


def report(result: dict[str, Any]) -> str:
    """The result tables as text."""
    parts = []
    build_figures = result.get("build") or {}
    if "import" in build_figures:
        imp = build_figures["import"]
        parts.append(
            common.table(
                ["import", "conversations", "messages", "seconds", "messages/s", "target", ""],
                [
                    [
                        "ingest.import_path",
                        imp["conversations"],
                        imp["messages"],
                        imp["seconds"],
                        imp["messages_per_s"],
                        f">= {TARGET_IMPORT_MPS:,.0f}",
                        _verdict(imp["messages_per_s"] >= TARGET_IMPORT_MPS),
                    ]
                ],
            )
        )
    data = result["data"]
    parts.append(
        f"data: {data['conversations']:,} conversations, {data['messages']:,} messages, "
        f"{data['reviews']:,} reviews ({data['database']})"
    )
    rows = []
    for name, r in result["in_process"].items():
        median = r["server"]["median_ms"]
        rows.append(
            [
                name,
                median,
                r["server"]["p95_ms"],
                r["client"]["median_ms"],
                r["bytes"],
                f"<= {TARGET_MEDIAN_MS:g} ms",
                _verdict(median <= TARGET_MEDIAN_MS),
            ]
        )
    parts.append(
        common.table(["in process", "median ms", "p95 ms", "client median ms", "bytes", "target", ""], rows)
    )
    load = {k: v for k, v in (result.get("under_load") or {}).items() if not k.startswith("_")}
    if load:
        queue_rps = load.get("queue", {}).get("requests_per_s", 0.0)
        rows = [_load_row(name, r, queue_rps) for name, r in load.items()]
        server = result["under_load"]["_server"]
        parts.append(
            common.table(
                [
                    f"under load (1 worker, {server['connections']} conn, {server['duration_s']} s)",
                    "req/s",
                    "p50 ms",
                    "p90 ms",
                    "p99 ms",
                    "CPU ms/req",
                    "errors",
                    "target",
                    "",
                ],
                rows,
            )
        )
    speed = (result.get("machine") or {}).get("cpu_speed_ms")
    if speed:
        parts.append(f"machine speed at the start: {speed} ms for the reference loop (lower is faster)")
    return "\n\n".join(parts)


def data_figures(url: str) -> dict[str, Any]:
    """Row counts and where the data lives."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            count = {
                t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
                for t in ("conversation", "message", "review", "rating")
            }
    finally:
        engine.dispose()
    parsed = make_url(normalise_url(url))
    where = parsed.database if parsed.get_backend_name() == "sqlite" else parsed.render_as_string()
    size = None
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        size = round(Path(parsed.database).stat().st_size / 1e9, 2)
    return {
        "conversations": count["conversation"],
        "messages": count["message"],
        "reviews": count["review"],
        "ratings": count["rating"],
        "database": f"{parsed.get_backend_name()} {where}",
        "sqlite_file_gb": size,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", help="an EMPTY database to build in (default: SQLite in a temp dir)"
    )
    parser.add_argument("--reuse", action="store_true", help="time the database at --database-url as it is")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite database and print its URL")
    parser.add_argument("--conversations", type=int, default=1_000_000, help="conversations after growing")
    parser.add_argument("--base-conversations", type=int, default=50_000, help="conversations imported")
    parser.add_argument(
        "--messages-per", type=int, default=20, help="mean messages per imported conversation"
    )
    parser.add_argument(
        "--message-copies", type=int, default=1, help="how many grown generations also get message rows"
    )
    parser.add_argument("--reviews", type=int, default=20_000, help="submitted reviews to add")
    parser.add_argument("--requests", type=int, default=300, help="timed in-process requests per page")
    parser.add_argument("--warmup", type=int, default=20, help="untimed in-process requests per page first")
    parser.add_argument("--duration", type=int, default=20, help="wrk seconds per page")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument(
        "--wrk-threads", type=int, default=1, help="wrk threads (1 leaves a core to the server)"
    )
    parser.add_argument(
        "--burst-connections",
        type=int,
        default=64,
        help="also load the queue with this many connections (0: don't)",
    )
    parser.add_argument("--skip-load", action="store_true", help="only the in-process timing")
    parser.add_argument(
        "--no-cache", action="store_true", help="don't keep the generated file in bench/out/cache"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.reuse and not args.database_url:
        parser.error("--reuse needs --database-url")
    if args.base_conversations < 1 or args.conversations < args.base_conversations:
        parser.error("--conversations must be at least --base-conversations")
    return args


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="caliper-bench-web-"))
    url = args.database_url or f"sqlite:///{workdir / 'web.db'}"
    result: dict[str, Any] = {
        "machine": common.machine_info(),
        "args": vars(args),
        "targets": {
            "median_ms": TARGET_MEDIAN_MS,
            "requests_per_s": TARGET_RPS,
            "import_messages_per_s": TARGET_IMPORT_MPS,
        },
    }
    try:
        if not args.reuse:
            log(f"building in {url}")
            result["build"] = build(url, args, workdir)
        result["data"] = data_figures(url)
        page_cases = cases(url)
        log(f"in process: {args.requests} requests per page")
        result["in_process"] = time_in_process(url, page_cases, args.requests, args.warmup)
        if not args.skip_load:
            log(f"under load: wrk, {args.duration} s per page")
            wanted = [c for c in page_cases if c.name in LOAD_CASES]
            result["under_load"] = time_under_load(
                url, wanted, args, common.OUT_DIR / "bench_web-uvicorn.log"
            )
        path = common.write_result("bench_web", result)
        print()
        print(report(result))
        print(f"\nresults: {path}")
    finally:
        if args.keep and not args.database_url:
            print(f"database kept: {url}  (time it again: --reuse --database-url {url})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark a calibration session's agreement end to end: the database read and agreement.measure (issue 6).

    .venv/bin/python bench/bench_agreement.py                                  # SQLite temp file
    .venv/bin/python bench/bench_agreement.py --pg-url postgresql://u:p@127.0.0.1:5432/empty_db
    CALIPER_BENCH_PG_URL=postgresql://... .venv/bin/python bench/bench_agreement.py   # both databases

Building: a fresh migrated database; 20 reviewers, a manager, 50 conversations (5 agents), a 15-criterion
scorecard (5-point, 4-point, 3-point, binary and custom scales; some allow N/A); a session created through
qa.calibration.service; every reviewer scores every conversation (1,000 submitted calibration reviews,
15,000 ratings; options drawn around each conversation's "true" answer with per-reviewer leniency, 5 % N/A
where allowed, 2 % of ratings left out to exercise missing values); the session revealed; a consensus on
the first criterion of every conversation.

Timing: `measures.session_agreement` as the manager (the session read with its visibility check, the
ratings in one query, the consensus, RatingsTable, agreement.measure, names), --runs times after
--warmup runs, each in a fresh DB session. Target (issue 6): under 200 ms median. Results print as a
table and go to bench/out/bench_agreement-<time>.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH_DIR.parent), str(BENCH_DIR)]

import common  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from qa.calibration import measures  # noqa: E402
from qa.calibration import service as calibration_service  # noqa: E402
from qa.db import make_engine  # noqa: E402
from qa.migrations import upgrade  # noqa: E402
from qa.models import (  # noqa: E402
    Agent,
    Conversation,
    Rating,
    Review,
    ReviewKind,
    ReviewStatus,
    Role,
    Team,
    User,
    utcnow,
)
from qa.scorecard_admin import service as scorecard_service  # noqa: E402
from scorecards import score_review, validate_definition  # noqa: E402

REVIEWERS, CONVERSATIONS, CRITERIA = 20, 50, 15
SCALES = ("5", "4", "3", "binary", "custom")


def scorecard() -> dict[str, Any]:
    """15 criteria over every scale; every third allows N/A."""
    criteria = []
    for i in range(CRITERIA):
        scale = SCALES[i % len(SCALES)]
        item: dict[str, Any] = {
            "key": f"c{i}",
            "name": f"Criterion {i}",
            "scale": scale,
            "weight": 1 + i % 3,
            "allow_na": i % 3 == 0,
            "critical": i == 1,
        }
        if scale == "custom":
            item["options"] = [
                {"label": "Poor", "score": 0},
                {"label": "OK", "score": 0.6},
                {"label": "Great", "score": 1},
            ]
        criteria.append(item)
    return {"name": "Bench calibration", "pass_threshold": 80, "criteria": criteria}


def build(engine: Engine, seed: int = 7) -> int:
    """The organisation, the session and its 1,000 reviews; returns the session id."""
    rng = np.random.default_rng(seed)
    with Session(engine, expire_on_commit=False) as s:
        team = Team(name="Bench team")
        s.add(team)
        s.flush()
        agents = [Agent(external_id=f"bench-a{i}", name=f"Agent {i}", team_id=team.id) for i in range(5)]
        s.add_all(agents)
        manager = User(
            email="bench-manager@example.com", name="Manager", role=Role.manager, password_hash="x"
        )
        reviewers = [
            User(
                email=f"bench-r{i}@example.com",
                name=f"Reviewer {i:02d}",
                role=Role.reviewer,
                password_hash="x",
            )
            for i in range(REVIEWERS)
        ]
        s.add_all([manager, *reviewers])
        s.flush()
        now = utcnow()
        convs = [
            Conversation(
                source="bench",
                external_id=f"B-{i}",
                channel="chat",
                subject=f"Bench {i}",
                agent_id=agents[i % 5].id,
                team_id=team.id,
                created_at=now,
                meta={},
                tags=[],
            )
            for i in range(CONVERSATIONS)
        ]
        s.add_all(convs)
        s.flush()
        version = scorecard_service.create_scorecard(
            s, actor=manager, definition=validate_definition(scorecard())
        )
        cal = calibration_service.create_session(
            s,
            actor=manager,
            data=calibration_service.SessionIn(
                name="Bench session",
                scorecard_id=version.scorecard_id,
                participant_ids=[r.id for r in reviewers],
                conversation_ids=[c.id for c in convs],
                benchmark_id=reviewers[0].id,
            ),
        )
        _score(s, rng, cal.id or 0, version.id or 0, reviewers, convs)
        calibration_service.reveal(s, actor=manager, session_id=cal.id)
        defn = scorecard_service.definition_for(s, version.id or 0)
        for c in convs:
            calibration_service.set_consensus(
                s,
                actor=manager,
                session_id=cal.id,
                conversation_id=c.id,
                criterion_key=defn.criteria[0].key,
                option_label=defn.criteria[0].options[-1].label,
            )
        s.commit()
        return cal.id or 0


def _score(
    s: Session,
    rng: np.random.Generator,
    session_id: int,
    version_id: int,
    reviewers: list[User],
    convs: list[Conversation],
) -> None:
    defn = scorecard_service.definition_for(s, version_id)
    ids = {c.key: c.id for c in scorecard_service.criteria_for(s, version_id)}
    truth = rng.random((len(convs), CRITERIA))
    leniency = rng.normal(0, 0.12, len(reviewers))
    reviews, ratings = [], []
    now = utcnow()
    for r_index, reviewer in enumerate(reviewers):
        for c_index, conv in enumerate(convs):
            chosen: dict[str, str | None] = {}
            for k, criterion in enumerate(defn.criteria):
                if rng.random() < 0.02:
                    continue  # missing rating
                if criterion.allow_na and rng.random() < 0.05:
                    chosen[criterion.key] = None
                    continue
                level = float(np.clip(truth[c_index, k] + leniency[r_index] + rng.normal(0, 0.15), 0, 0.999))
                chosen[criterion.key] = criterion.options[int(level * len(criterion.options))].label
            result = score_review(defn, chosen)
            reviews.append(
                {
                    "conversation_id": conv.id,
                    "version_id": version_id,
                    "reviewer_id": reviewer.id,
                    "agent_id": conv.agent_id,
                    "kind": ReviewKind.calibration.value,
                    "status": ReviewStatus.submitted.value,
                    "comment": "",
                    "score": result.score,
                    "failed_critical": result.failed_critical,
                    "passed": result.passed,
                    "time_spent_seconds": 0,
                    "created_at": now,
                    "updated_at": now,
                    "submitted_at": now,
                    "calibration_id": session_id,
                    "team_id": conv.team_id,
                    "channel": "chat",
                }
            )
            ratings.append(chosen)
    s.execute(insert(Review), reviews)
    stored = s.exec(select(Review.id).where(Review.calibration_id == session_id).order_by(Review.id)).all()
    options = {c.key: {o.label: o.score for o in c.options} for c in defn.criteria}
    rows = [
        {
            "review_id": rid,
            "criterion_id": ids[key],
            "criterion_key": key,
            "option_label": label,
            "option_score": None if label is None else options[key][label],
            "comment": "",
        }
        for rid, chosen in zip(stored, ratings, strict=True)
        for key, label in chosen.items()
    ]
    s.execute(insert(Rating), rows)


def time_it(engine: Engine, session_id: int, runs: int, warmup: int) -> list[float]:
    """Seconds per session_agreement call (fresh DB session each)."""
    with Session(engine) as s:
        manager = s.exec(select(User).where(User.email == "bench-manager@example.com")).one()
    durations = []
    for i in range(warmup + runs):
        with Session(engine) as s:
            start = time.perf_counter()
            found = measures.session_agreement(s, actor=manager, session_id=session_id)
            elapsed = time.perf_counter() - start
        assert len(found.result.criteria) == CRITERIA and len(found.result.reviewers) == REVIEWERS
        if i >= warmup:
            durations.append(elapsed)
    return durations


def run(url: str, runs: int, warmup: int) -> dict[str, Any]:
    """Build and time on one database."""
    upgrade(url)
    engine = make_engine(url)
    try:
        start = time.perf_counter()
        session_id = build(engine)
        built = time.perf_counter() - start
        return {"build_s": round(built, 1), **common.summary_ms(time_it(engine, session_id, runs, warmup))}
    finally:
        engine.dispose()


def main() -> None:
    """Parse the arguments, run on SQLite (and PostgreSQL if asked), print and save the results."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("CALIPER_BENCH_PG_URL"),
        help="an EMPTY PostgreSQL database to build in as well",
    )
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": common.machine_info(), "runs": args.runs}
    tmp = Path(tempfile.mkdtemp(prefix="caliper-bench-agreement-"))
    try:
        results["sqlite"] = run(f"sqlite:///{tmp / 'agreement.db'}", args.runs, args.warmup)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.pg_url:
        results["postgresql"] = run(args.pg_url, args.runs, args.warmup)
    rows = [
        [name, r["build_s"], r["median_ms"], r["p95_ms"], r["max_ms"]]
        for name, r in results.items()
        if name in ("sqlite", "postgresql")
    ]
    print(
        f"Agreement of a {REVIEWERS} reviewers x {CONVERSATIONS} conversations x {CRITERIA} criteria session "
        f"(read + measure), {args.runs} runs:"
    )
    print(common.table(["database", "build s", "median ms", "p95 ms", "max ms"], rows))
    print("written to", common.write_result("bench_agreement", results))


if __name__ == "__main__":
    main()

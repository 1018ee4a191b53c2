"""Benchmark `qa import`: generate synthetic native conversations, import them, print the rates.

    .venv/bin/python bench/bench_import.py                       # 50,000 conversations, ~1,000,000 messages
    .venv/bin/python bench/bench_import.py --conversations 10000 --messages-per 20
    DATABASE_URL=postgresql://... .venv/bin/python bench/bench_import.py --database-url "$DATABASE_URL"

Without --database-url a fresh SQLite file is migrated in a temp dir. The file is JSON Lines with
realistic bodies (1-4 sentences), 250 agents in 12 teams, ISO 8601 times, some internal notes and
bots. `--reimport` also times a second import of the same file (every conversation an update).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

import common  # noqa: E402

from qa.conversations import ingest  # noqa: E402
from qa.db import make_engine  # noqa: E402
from qa.migrations import upgrade  # noqa: E402

VOCABULARY = """order refund account password shipping delivery invoice charge card payment update app login
error subscription plan upgrade cancel address package tracking number email reset verify device screen
setting support team issue problem help thanks please sorry check again today tomorrow minutes working
fixed broken missing double twice wrong right"""
WORDS = VOCABULARY.split()
OPENERS = ["Hi", "Hello", "Thanks for waiting", "I see", "Sorry about that", "Good news", "Could you", "Okay"]
TEAMS = ["Billing", "Shipping", "Accounts", "Technical", "Returns", "VIP", "Mobile", "Web", "EMEA", "APAC",
         "Onboarding", "Escalations"]
CHANNELS = ["chat", "email", "social", "phone", "chat", "chat"]


def sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(5, 18))
    return f"{rng.choice(OPENERS)}, {' '.join(words)}."


def body(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(1, 4)))


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def conversation(rng: random.Random, n: int, messages_per: int) -> dict[str, object]:
    agent = rng.randrange(250)
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=7 * n)
    count = max(1, int(rng.gauss(messages_per, messages_per / 4)))
    at = start
    messages = []
    for position in range(count):
        at += timedelta(seconds=rng.randint(5, 400))
        author = "customer" if position % 2 == 0 else "agent"
        if rng.random() < 0.03:
            author = "bot"
        message: dict[str, object] = {"author": author, "body": body(rng), "created_at": iso(at)}
        if author == "agent":
            message["author_id"] = f"agent-{agent}"
            message["internal"] = rng.random() < 0.05
        elif author == "customer":
            message["author_id"] = f"cust-{n}"
        messages.append(message)
    return {
        "external_id": f"B-{n}", "source": "bench", "channel": CHANNELS[n % len(CHANNELS)],
        "subject": sentence(rng)[:80], "agent": {"external_id": f"agent-{agent}", "name": f"Agent {agent}",
                                                 "email": f"agent{agent}@example.com"},
        "team": TEAMS[agent % len(TEAMS)], "customer": {"external_id": f"cust-{n}", "name": f"Customer {n}"},
        "created_at": iso(start), "closed_at": iso(at), "csat": rng.choice([None, 1, 2, 3, 4, 5]),
        "tags": rng.sample(WORDS, k=rng.randint(0, 3)), "language": "en", "messages": messages,
        "metadata": {"ticket": n, "priority": rng.choice(["low", "normal", "high"])},
    }


def generate(path: Path, conversations: int, messages_per: int, seed: int) -> int:
    """Write the JSON Lines file; returns the number of messages."""
    rng = random.Random(seed)
    total = 0
    with path.open("w", encoding="utf-8") as out:
        for n in range(conversations):
            record = conversation(rng, n, messages_per)
            total += len(record["messages"])  # type: ignore[arg-type]
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
    return total


def timed_import(url: str, path: Path, label: str, conversations: int, messages: int) -> None:
    engine = make_engine(url)
    started, cpu_started = time.perf_counter(), time.process_time()
    result = ingest.import_path(engine, path)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    engine.dispose()
    print(f"{label}: {result.describe().splitlines()[0]} in {elapsed:.1f} s (CPU {cpu:.1f} s)")
    print(f"  {messages / elapsed:,.0f} messages/s, {conversations / elapsed:,.0f} conversations/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=50_000)
    parser.add_argument("--messages-per", type=int, default=20, help="mean messages per conversation")
    parser.add_argument("--database-url", help="import into this database (migrated first)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reimport", action="store_true", help="also time importing the same file again")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="caliper-bench-") as tmp:
        path = Path(tmp) / "conversations.jsonl"
        started = time.perf_counter()
        messages = generate(path, args.conversations, args.messages_per, args.seed)
        size_mb = path.stat().st_size / 1e6
        print(f"generated {args.conversations:,} conversations, {messages:,} messages ({size_mb:,.0f} MB) "
              f"in {time.perf_counter() - started:.1f} s")
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        timed_import(url, path, "import", args.conversations, messages)
        if args.reimport:
            timed_import(url, path, "re-import", args.conversations, messages)
    print(f"machine speed now: {common.cpu_speed_ms()} ms for the reference loop (lower is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

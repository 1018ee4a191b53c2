"""Benchmark `qa import` per format: the same conversations as native JSON Lines, CSV, Zendesk, Intercom
and Freshdesk files, each imported by a real `qa import` process into a fresh database.

    .venv/bin/python bench/bench_formats.py                          # 1,000,000 messages per format, SQLite
    .venv/bin/python bench/bench_formats.py --messages 200000 --formats native,csv
    .venv/bin/python bench/bench_formats.py --database-url postgresql://user:pw@127.0.0.1/empty_db

Reports messages/s (wall clock, the whole command: start-up, parsing, conversion, validation, writes)
and the peak memory (max RSS) of the importing process and of its largest helper process. Targets
(issue 3): native ≥ 40,000 messages/s, the others ≥ 20,000, memory under 500 MB whatever the size.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH_DIR.parent), str(BENCH_DIR)]

import bench_import  # noqa: E402
import common  # noqa: E402
from sqlalchemy import text  # noqa: E402

from qa.db import make_engine  # noqa: E402
from qa.migrations import upgrade  # noqa: E402

TARGETS = {"native": 40_000, "csv": 20_000, "zendesk": 20_000, "intercom": 20_000, "freshdesk": 20_000}
MEMORY_LIMIT_MB = 500
ZENDESK_CHANNELS = {"chat": "chat", "email": "email", "social": "twitter", "phone": "voice"}
INTERCOM_CHANNELS = {"chat": "conversation", "email": "email", "social": "twitter", "phone": "phone_call"}
FRESHDESK_SOURCES = {"chat": 7, "email": 1, "social": 5, "phone": 3}
CSV_COLUMNS = ["conversation_id", "author_role", "author_id", "author_name", "body", "created_at", "internal",
               "subject", "channel", "agent_id", "agent_name", "team", "customer_id", "customer_name", "csat",
               "tags"]


def _unix(iso: str) -> int:
    return int(datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def _agent_number(record: dict[str, Any]) -> int:
    return int(record["agent"]["external_id"].split("-")[1])


def to_zendesk(r: dict[str, Any]) -> dict[str, Any]:
    """The record as GET /api/v2/tickets/{id} + /comments + the users involved return it."""
    n, agent = r["metadata"]["ticket"], _agent_number(r)
    requester, assignee, bot = 10_000_000 + n, 1000 + agent, 999
    authors = {"customer": requester, "agent": assignee, "bot": bot}
    score = {None: "unoffered", 1: "bad", 2: "bad", 3: "offered", 4: "good", 5: "good"}[r["csat"]]
    return {
        "ticket": {"id": n, "subject": r["subject"], "via": {"channel": ZENDESK_CHANNELS[r["channel"]]},
                   "assignee_id": assignee, "requester_id": requester, "group_id": agent % 12,
                   "tags": r["tags"], "satisfaction_rating": {"score": score}, "created_at": r["created_at"],
                   "updated_at": r["closed_at"], "status": "solved", "priority": r["metadata"]["priority"]},
        "comments": [{"id": n * 100 + i, "author_id": authors[m["author"]], "public": not m.get("internal"),
                      "body": m["body"], "html_body": f"<div class=\"zd-comment\"><p>{m['body']}</p></div>",
                      "plain_body": m["body"], "created_at": m["created_at"]}
                     for i, m in enumerate(r["messages"])],
        "users": [{"id": requester, "name": r["customer"]["name"], "role": "end-user"},
                  {"id": assignee, "name": r["agent"]["name"], "email": r["agent"]["email"], "role": "agent"},
                  {"id": bot, "name": "Answer Bot", "role": "agent"}],
    }


def to_intercom(r: dict[str, Any]) -> dict[str, Any]:
    """The record as GET /conversations/{id} returns it (HTML bodies, Unix times)."""
    agent = _agent_number(r)
    customer = {"type": "user", "id": r["customer"]["external_id"], "name": r["customer"]["name"]}
    admin = {"type": "admin", "id": str(1000 + agent), "name": r["agent"]["name"],
             "email": r["agent"]["email"]}
    first, rest = r["messages"][0], r["messages"][1:]

    def author(m: dict[str, Any]) -> dict[str, Any]:
        bot = {"type": "bot", "id": "77", "name": "Fin"}
        return {"customer": customer, "agent": admin, "bot": bot}[m["author"]]

    return {
        "type": "conversation", "id": str(r["metadata"]["ticket"]), "created_at": _unix(r["created_at"]),
        "updated_at": _unix(r["closed_at"]), "title": r["subject"], "state": "closed",
        "source": {"type": INTERCOM_CHANNELS[r["channel"]], "body": f"<p>{first['body']}</p>",
                   "author": author(first)},
        "conversation_parts": {"type": "conversation_part.list", "conversation_parts": [
            {"type": "conversation_part", "id": str(i),
             "part_type": "note" if m.get("internal") else "comment", "body": f"<p>{m['body']}</p>",
             "created_at": _unix(m["created_at"]), "author": author(m)}
            for i, m in enumerate(rest)], "total_count": len(rest)},
        "admin_assignee_id": 1000 + agent,
        "conversation_rating": {"rating": r["csat"]} if r["csat"] else None,
        "tags": {"type": "tag.list", "tags": [{"type": "tag", "name": t} for t in r["tags"]]},
    }


def to_freshdesk(r: dict[str, Any]) -> dict[str, Any]:
    """The record as GET /api/v2/tickets/{id}?include=conversations returns it."""
    n, agent = r["metadata"]["ticket"], _agent_number(r)
    requester, responder = 10_000_000 + n, 1000 + agent
    first, rest = r["messages"][0], r["messages"][1:]
    return {
        "id": n, "subject": r["subject"], "description": f"<div>{first['body']}</div>",
        "description_text": first["body"], "source": FRESHDESK_SOURCES[r["channel"]], "status": 5,
        "priority": 2, "requester_id": requester, "responder_id": responder, "group_id": agent % 12,
        "tags": r["tags"], "created_at": r["created_at"], "updated_at": r["closed_at"],
        "conversations": [{"id": n * 100 + i, "body": f"<div>{m['body']}</div>", "body_text": m["body"],
                           "incoming": m["author"] == "customer", "private": bool(m.get("internal")),
                           "user_id": requester if m["author"] == "customer" else responder,
                           "created_at": m["created_at"]} for i, m in enumerate(rest)],
    }


def csv_rows(r: dict[str, Any]) -> Iterator[list[Any]]:
    """One row per message, every row repeating the conversation's fields (a flat helpdesk export)."""
    for m in r["messages"]:
        yield [r["external_id"], m["author"], m.get("author_id", ""), "", m["body"], m["created_at"],
               "true" if m.get("internal") else "false", r["subject"], r["channel"],
               r["agent"]["external_id"], r["agent"]["name"], r["team"], r["customer"]["external_id"],
               r["customer"]["name"], r["csat"] or "", ";".join(r["tags"])]


def _native_records(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def write_format(fmt: str, native: Path, out: Path) -> None:
    """Write the native file's conversations as `fmt`."""
    if fmt == "csv":
        with out.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(CSV_COLUMNS)
            for record in _native_records(native):
                writer.writerows(csv_rows(record))
        return
    convert: Callable[[dict[str, Any]], dict[str, Any]] = {
        "zendesk": to_zendesk, "intercom": to_intercom, "freshdesk": to_freshdesk}[fmt]
    with out.open("w", encoding="utf-8") as f:
        for record in _native_records(native):
            f.write(json.dumps(convert(record), separators=(",", ":")) + "\n")


def fresh_database(base_url: str | None, tmp: Path, fmt: str) -> str:
    """An empty migrated database: a new SQLite file, or the given (empty) database emptied again."""
    if base_url is None:
        url = f"sqlite:///{tmp / f'{fmt}.db'}"
    else:
        url = base_url
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    return url


def timed_import(url: str, path: Path, fmt: str) -> dict[str, Any]:
    """Run `qa import` as its own process; wall time, its max RSS and its largest child's."""
    env = {**os.environ, "DATABASE_URL": url}
    command = [sys.executable, "-m", "qa.cli", "import", str(path), "--format", fmt, "--no-progress"]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    out = (process.stdout.read() if process.stdout else b"").decode()
    err = (process.stderr.read() if process.stderr else b"").decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"qa import --format {fmt} failed: {err or out}")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": round(elapsed, 2), "summary": out.splitlines()[0],
            "max_rss_mb": round(usage.ru_maxrss / 1024), "largest_child_rss_mb": round(children / 1024)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages per file (about)")
    parser.add_argument("--messages-per", type=int, default=20, help="mean messages per conversation")
    parser.add_argument("--formats", default="native,csv,zendesk,intercom,freshdesk")
    parser.add_argument("--database-url",
                        help="an EMPTY PostgreSQL database to use (emptied before each format)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    conversations = max(1, args.messages // args.messages_per)
    print(f"machine speed now: {common.cpu_speed_ms()} ms for the reference loop (lower is faster)")
    results: dict[str, Any] = {"machine": common.machine_info(), "formats": {}}
    with tempfile.TemporaryDirectory(prefix="caliper-bench-formats-") as tmp_name:
        tmp = Path(tmp_name)
        native = tmp / "native.jsonl"
        messages = bench_import.generate(native, conversations, args.messages_per, args.seed)
        print(f"generated {conversations:,} conversations, {messages:,} messages")
        rows = []
        for fmt in formats:
            path = native if fmt == "native" else tmp / f"{fmt}.{'csv' if fmt == 'csv' else 'jsonl'}"
            if fmt != "native":
                write_format(fmt, native, path)
            url = fresh_database(args.database_url, tmp, fmt)
            figures = timed_import(url, path, fmt)
            rate = messages / figures["seconds"]
            figures.update(messages=messages, conversations=conversations, messages_per_s=round(rate),
                           file_mb=round(path.stat().st_size / 1e6))
            results["formats"][fmt] = figures
            memory = max(figures["max_rss_mb"], figures["largest_child_rss_mb"])
            ok = rate >= TARGETS[fmt] and memory < MEMORY_LIMIT_MB
            rows.append([fmt, f"{figures['file_mb']:,}", f"{figures['seconds']:.1f}", f"{round(rate):,}",
                         f">= {TARGETS[fmt]:,}", figures["max_rss_mb"], figures["largest_child_rss_mb"],
                         "ok" if ok else "MISS", figures["summary"]])
            print(f"  {fmt}: {round(rate):,} messages/s, {figures['max_rss_mb']} MB", flush=True)
            if fmt != "native":
                path.unlink()
    print()
    print(common.table(["format", "file MB", "seconds", "messages/s", "target", "max RSS MB",
                        "largest child MB", "", "qa import said"], rows))
    print(f"\nresults: {common.write_result('bench_formats', results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

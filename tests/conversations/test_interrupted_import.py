"""An import killed half-way (a real `qa import` process, SIGKILL) leaves only whole conversations,
and running it again completes it without duplicates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from qa.db import make_engine

CONVERSATIONS = 30_000
MESSAGES_EACH = 6


def _write_file(path: Path) -> None:
    with path.open("w") as out:
        for n in range(CONVERSATIONS):
            messages = [{"author": "customer" if i % 2 == 0 else "agent", "author_id": f"a-{n % 40}",
                         "body": f"message {i} of conversation {n}",
                         "created_at": f"2026-03-01T10:{i:02d}:00Z"} for i in range(MESSAGES_EACH)]
            out.write(json.dumps({"external_id": f"K-{n}", "source": "killtest", "channel": "chat",
                                  "agent": {"external_id": f"a-{n % 40}", "name": f"Agent {n % 40}"},
                                  "messages": messages}) + "\n")


def _counts(url: str) -> tuple[int, int, int]:
    """(conversations, messages, conversations whose stored messages differ from their count)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conversations = conn.execute(text("SELECT count(*) FROM conversation")).scalar_one()
            messages = conn.execute(text("SELECT count(*) FROM message")).scalar_one()
            broken = conn.execute(text(
                "SELECT count(*) FROM conversation c WHERE c.message_count <> "
                "(SELECT count(*) FROM message m WHERE m.conversation_id = c.id)")).scalar_one()
            return int(conversations), int(messages), int(broken)
    finally:
        engine.dispose()


def _qa_import(url: str, path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("CALIPER_ENV", None)
    return subprocess.Popen([sys.executable, "-m", "qa.cli", "import", str(path), "--no-progress"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_killed_import_leaves_whole_conversations_and_can_be_run_again(
    committed_db: str, tmp_path: Path
) -> None:
    path = tmp_path / "big.jsonl"
    _write_file(path)
    process = _qa_import(committed_db, path)
    deadline = time.monotonic() + 120
    while _counts(committed_db)[0] == 0:  # wait for the first committed chunk
        assert process.poll() is None, f"the import ended before it could be killed: {process.communicate()}"
        assert time.monotonic() < deadline, "no chunk committed in time"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    conversations, messages, broken = _counts(committed_db)
    assert 0 < conversations < CONVERSATIONS, "the kill did not land half-way"
    assert broken == 0 and messages == conversations * MESSAGES_EACH  # only whole conversations

    rerun = _qa_import(committed_db, path)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert out.startswith(f"created {CONVERSATIONS - conversations}, updated {conversations}, rejected 0")
    assert _counts(committed_db) == (CONVERSATIONS, CONVERSATIONS * MESSAGES_EACH, 0)

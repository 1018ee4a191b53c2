"""Builders shared by the conversation tests: native records and API token headers."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent / "data"
TWITTER_50 = DATA_DIR / "twitter-customer-care-50.jsonl"
_seq = itertools.count(1)


def native(**overrides: Any) -> dict[str, Any]:
    """A valid native conversation (a customer asks, an agent answers twice), fields overridable."""
    n = next(_seq)
    record: dict[str, Any] = {
        "external_id": f"N-{n}", "source": "helpdesk", "channel": "chat", "subject": f"Refund {n}",
        "agent": {"external_id": "a-7", "name": "Dana Ruiz", "email": "dana@example.com"}, "team": "Billing",
        "customer": {"external_id": f"c-{n}", "name": "Sam"},
        "created_at": "2026-03-01T10:00:00Z", "closed_at": "2026-03-01T10:20:00Z", "csat": 4,
        "tags": ["refund"], "language": "en",
        "messages": [
            {"author": "customer", "author_id": f"c-{n}", "body": "Hi, I was charged twice",
             "created_at": "2026-03-01T10:00:00Z"},
            {"author": "agent", "author_id": "a-7", "body": "Sorry about that! Let me check.",
             "created_at": "2026-03-01T10:01:30Z"},
            {"author": "agent", "author_id": "a-7", "body": "Refunded.",
             "created_at": "2026-03-01T10:05:00Z"},
        ],
        "metadata": {"ticket": n},
    }
    record.update(overrides)
    return record


def jsonl(records: list[Any]) -> bytes:
    """Records as JSON Lines bytes."""
    return "".join(json.dumps(r) + "\n" for r in records).encode()




from tests.factories import bearer  # noqa: E402,F401  (re-exported for these tests)

"""The example vendor records (data/<vendor>.json, written from each helpdesk's API documentation)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent / "data"
VENDORS = ("zendesk", "intercom", "freshdesk")


def records(vendor: str) -> list[dict[str, Any]]:
    """A fresh copy of the vendor's example records, free to change."""
    loaded: list[dict[str, Any]] = json.loads((DATA_DIR / f"{vendor}.json").read_text(encoding="utf-8"))
    return loaded


def record(vendor: str, index: int = 0) -> dict[str, Any]:
    """One example record, freshly read."""
    return records(vendor)[index]


def with_value(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`raw` with the value at a dotted path ("comments.3.created_at") replaced; returns `raw`."""
    *parents, last = path.split(".")
    target: Any = raw
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return raw

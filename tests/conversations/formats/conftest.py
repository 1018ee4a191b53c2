"""Fixtures of the helpdesk-format tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qa.settings import get_settings


@pytest.fixture
def cli_db(committed_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """DATABASE_URL for `qa`: a migrated, empty database that the CLI really commits to."""
    monkeypatch.setenv("DATABASE_URL", committed_db)
    get_settings.cache_clear()
    yield committed_db
    get_settings.cache_clear()

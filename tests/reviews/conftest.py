"""Fixtures of the review tests."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from tests.reviews.helpers import World, make_world


@pytest.fixture
def world(session: Session) -> World:
    """The standard cast: teams, agents, one user per role, the example scorecard, two conversations."""
    return make_world(session)


@pytest.fixture(params=[False, True], ids=["plain", "htmx"])
def htmx(request: pytest.FixtureRequest) -> bool:
    """Run a test as a plain browser request and as an htmx request."""
    return bool(request.param)

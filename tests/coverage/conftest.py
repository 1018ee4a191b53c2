"""Fixtures of the coverage tests."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from tests.coverage.helpers import Org, build_org


@pytest.fixture
def org(session: Session) -> Org:
    """The hand-built dataset (see helpers.build_org)."""
    return build_org(session)

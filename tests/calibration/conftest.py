"""Fixtures of the calibration tests."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from tests.calibration.helpers import Cal, build, score_all


@pytest.fixture
def cal(session: Session) -> Cal:
    """The session, created but not scored."""
    return build(session)


@pytest.fixture
def scored(session: Session, cal: Cal) -> Cal:
    """The session with every answer submitted (still blind)."""
    return score_all(session, cal)

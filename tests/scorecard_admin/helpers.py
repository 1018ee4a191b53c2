"""Test helpers for scorecard management: reviews inserted directly, API tokens, HTML parsing."""

from __future__ import annotations

import copy
from typing import Any

from bs4 import BeautifulSoup
from sqlmodel import Session, col, select

from qa.auth import tokens
from qa.models import Agent, AuditLog, Rating, Review, ReviewStatus, ScorecardVersion, User, utcnow
from qa.scorecard_admin import service as scorecard_service
from tests.factories import EXAMPLE_SCORECARD, make_conversation, make_user


def example(**changes: Any) -> dict[str, Any]:
    """A deep copy of EXAMPLE_SCORECARD with top-level fields replaced."""
    data = copy.deepcopy(EXAMPLE_SCORECARD)
    data.update(changes)
    return data


def make_review_on(
    session: Session,
    version: ScorecardVersion,
    ratings: dict[str, str | None],
    *,
    agent: Agent | None = None,
    rated_only: bool = False,
    **overrides: Any,
) -> Review:
    """A submitted review of a new conversation scored with `version` (rows inserted directly).

    Every criterion gets a rating (N/A where `ratings` has none) unless `rated_only`; `overrides` set
    Review fields (score 75 and submitted now by default).
    """
    conversation = make_conversation(session, agent=agent)
    reviewer = make_user(session, role="reviewer")
    review = Review(
        conversation_id=conversation.id,
        version_id=version.id,
        reviewer_id=reviewer.id,  # type: ignore[arg-type]
        agent_id=conversation.agent_id,
        status=ReviewStatus.submitted,
        **{"score": 75.0, "submitted_at": utcnow(), **overrides},
    )
    session.add(review)
    session.flush()
    for criterion in scorecard_service.criteria_for(session, version.id):  # type: ignore[arg-type]
        if rated_only and criterion.key not in ratings:
            continue
        label = ratings.get(criterion.key)
        score = next((o["score"] for o in criterion.options if o["label"] == label), None)
        session.add(
            Rating(
                review_id=review.id,
                criterion_id=criterion.id,
                criterion_key=criterion.key,  # type: ignore[arg-type]
                option_label=label,
                option_score=score,
            )
        )
    session.flush()
    return review


def bearer(session: Session, user: User) -> dict[str, str]:
    """Authorization headers with a fresh API token for `user` (setup so far is committed, see `settle`)."""
    token = tokens.create_token(session, actor=None, user=user)
    settle(session)
    return {"Authorization": f"Bearer {token}"}


def settle(session: Session) -> None:
    """Commit the test's setup to its savepoint, so a request that fails and rolls back keeps it."""
    session.commit()


def soup(html: str) -> BeautifulSoup:
    """Parsed HTML."""
    return BeautifulSoup(html, "html.parser")


def text_of(node: Any) -> str:
    """The visible text of a node with whitespace collapsed."""
    return " ".join(node.get_text(" ").split())


def audit_actions(session: Session, scorecard_id: int) -> list[str]:
    """The audited actions on one scorecard, oldest first."""
    query = select(AuditLog.action).where(AuditLog.entity == "scorecard", AuditLog.entity_id == scorecard_id)
    return list(session.exec(query.order_by(col(AuditLog.id))))

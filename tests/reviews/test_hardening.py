"""Review rules that must hold even when data changes underneath, and odd input on review routes."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from qa.conversations import ingest
from qa.errors import Forbidden, InvalidInput
from qa.models import Agent
from qa.reviews import service as review_service
from qa.reviews.schemas import RatingIn
from tests.conftest import login_as
from tests.factories import make_agent, make_user
from tests.reviews.helpers import GOOD, World, rated_review, token_for


def _reassign(session: Session, world: World, agent: Agent) -> None:
    """Re-import the world's conversation with another agent, as a helpdesk reassignment would."""
    conv = world.conversation
    record = {"external_id": conv.external_id, "source": conv.source, "channel": "chat",
              "agent": {"external_id": agent.external_id, "name": agent.name},
              "created_at": "2026-03-01T10:00:00Z",
              "messages": [{"author": "customer", "body": "Hi"},
                           {"author": "agent", "author_id": agent.external_id, "body": "Hello"},
                           {"author": "agent", "author_id": agent.external_id, "body": "Done"}]}
    result = ingest.import_records(session, [record])
    assert result.updated == 1, result.describe()
    session.expire_all()


class TestReassignedConversations:
    def test_reviews_follow_the_conversation_to_its_new_agent(self, session: Session, world: World) -> None:
        review = rated_review(session, world)
        newcomer = make_agent(session, team=world.team)
        _reassign(session, world, newcomer)
        session.refresh(review)
        assert review.agent_id == newcomer.id

    def test_a_reviewer_who_now_owns_the_conversation_cannot_finish_the_review(
        self, session: Session, world: World
    ) -> None:
        own_agent = make_agent(session, team=world.team)
        peer = make_user(session, role="reviewer", agent=own_agent)
        review = rated_review(session, world, reviewer=peer, ratings={"greeting": "Yes"}, submit=False)
        _reassign(session, world, own_agent)
        with pytest.raises(Forbidden, match="own conversation"):
            review_service.rate(session, actor=peer, review_id=review.id, criterion_key="accuracy",
                                option_label="4")
        with pytest.raises(Forbidden, match="own conversation"):
            review_service.submit_review(session, actor=peer, review_id=review.id)


class TestReviewOnBehalf:
    def test_the_named_reviewer_must_see_the_conversation(self, session: Session, world: World) -> None:
        team_reviewer = make_user(session, role="reviewer", teams=[world.other_team])
        ratings = [RatingIn(criterion=key, option=label) for key, label in GOOD.items()]
        with pytest.raises(InvalidInput) as caught:
            review_service.create_review(session, actor=world.manager, conversation_id=world.conversation.id,
                                         scorecard_id=world.version.scorecard_id, ratings=ratings,
                                         reviewer_id=team_reviewer.id)
        assert caught.value.field == "reviewer_id"

    def test_nul_in_a_comment_is_422(self, api: TestClient, session: Session, world: World) -> None:
        body = {"conversation_id": world.conversation.id, "scorecard_id": world.version.scorecard_id,
                "ratings": [{"criterion": k, "option": v} for k, v in GOOD.items()], "comment": "a\x00b"}
        response = api.post("/api/v1/reviews", json=body, headers=token_for(session, world.reviewer))
        assert response.status_code == 422


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


class TestOddQueryValues:
    @pytest.mark.parametrize("query", [
        {"cursor": _cursor(["2026-01-01T00:00:00", 2**70])},
        {"cursor": _cursor(["9999-12-31T23:59:59-23:59", 1])},
        {"cursor": base64.urlsafe_b64encode(("[" * 5000 + "]" * 5000).encode()).decode()},
        {"to": "9999-12-31"},
        {"from": "0001-01-01"},
        {"team": "²"},
        {"agent": "²"},
    ])
    @pytest.mark.parametrize("path", ["/queue", "/reviews"])
    def test_is_422_not_500(self, client: TestClient, world: World, path: str, query: dict[str, str]) -> None:
        login_as(client, world.manager)
        response = client.get(path, params=query)
        assert response.status_code == 422, response.text[:500]

    def test_feedback_cursor_with_a_huge_id_is_422(self, client: TestClient, world: World) -> None:
        login_as(client, world.agent_user)
        response = client.get("/feedback", params={"cursor": _cursor(["2026-01-01T00:00:00", 2**70])})
        assert response.status_code == 422

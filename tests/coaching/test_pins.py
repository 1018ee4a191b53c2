"""Pins through the service: what may be pinned, by whom, how a board lists them, archive and discuss."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from qa.coaching import pins as pin_service
from qa.errors import Forbidden, InvalidInput, NotFound
from qa.models import CoachingSession, Message, Pin, PinKind, ReviewKind, User
from tests.coaching.dispute_helpers import failed_review
from tests.factories import make_conversation
from tests.reviews.helpers import World, make_world, rated_review


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)


def _messages(session: Session, conversation_id: int | None) -> list[Message]:
    query = select(Message).where(Message.conversation_id == conversation_id).order_by(Message.position)  # type: ignore[arg-type]
    return list(session.exec(query))


class TestCreate:
    def test_three_kinds_and_what_the_board_shows(self, session: Session, world: World) -> None:
        review = failed_review(session, world)
        first, second = _messages(session, world.conversation.id)[:2]
        whole = pin_service.create_pin(
            session,
            actor=world.reviewer,
            review_id=review.id,
            kind="review",
            note="Walk through the whole chat",
        )
        rating = pin_service.create_pin(
            session,
            actor=world.reviewer,
            review_id=review.id,
            kind=PinKind.rating,
            note="  Accuracy: check the order first  ",
            criterion_key="accuracy",
        )
        message = pin_service.create_pin(
            session,
            actor=world.manager,
            review_id=review.id,
            kind="message",
            note="",
            message_id=str(second.id),
        )
        assert (whole.agent_id, rating.note, message.message_id) == (
            world.agent.id,
            "Accuracy: check the order first",
            second.id,
        )
        board = pin_service.list_pins(session, actor=world.manager, agent_id=world.agent.id)
        views = {v.kind: v for v in board}
        assert [v.id for v in board] == [message.id, rating.id, whole.id]  # newest first
        assert views["rating"].criterion_name == "Correct solution"
        assert (views["rating"].option_label, views["rating"].option_score) == ("2", 0.25)
        assert views["rating"].link == f"/reviews/{review.id}#crit-accuracy"
        assert (
            views["message"].message_excerpt == second.body
            and views["message"].author_name == world.manager.name
        )
        assert views["message"].link == f"/reviews/{review.id}#msg-{second.id}"
        assert (views["review"].link, views["review"].conversation_id) == (
            f"/reviews/{review.id}",
            world.conversation.id,
        )
        assert views["review"].message_excerpt is None and first.id != second.id

    def test_long_messages_are_cut_to_an_excerpt(self, session: Session, world: World) -> None:
        conversation = make_conversation(
            session, agent=world.agent, team=world.team, messages=[{"author": "agent", "body": "word " * 100}]
        )
        review = rated_review(session, world, conversation=conversation)
        [message] = _messages(session, conversation.id)
        pin_service.create_pin(
            session, actor=world.reviewer, review_id=review.id, kind="message", note="", message_id=message.id
        )
        [view] = pin_service.list_pins(session, actor=world.reviewer, agent_id=world.agent.id)
        assert view.message_excerpt is not None and len(view.message_excerpt) == pin_service.EXCERPT
        assert view.message_excerpt.endswith("\u2026")

    def test_pinning_the_same_moment_twice_gives_one_pin(self, session: Session, world: World) -> None:
        review = failed_review(session, world)
        one = pin_service.create_pin(
            session, actor=world.reviewer, review_id=review.id, kind="rating", note="a", criterion_key="tone"
        )
        two = pin_service.create_pin(
            session, actor=world.reviewer, review_id=review.id, kind="rating", note="b", criterion_key="tone"
        )
        three = pin_service.create_pin(
            session, actor=world.reviewer, review_id=review.id, kind="rating", note="", criterion_key="tone"
        )
        assert one.id == two.id == three.id and three.note == "b"
        other = pin_service.create_pin(
            session, actor=world.manager, review_id=review.id, kind="rating", note="c", criterion_key="tone"
        )
        assert other.id != one.id  # another coach's pin is their own

    @pytest.mark.parametrize(
        ("changes", "error"),
        [
            ({"kind": "moment"}, InvalidInput),
            ({"kind": "rating", "criterion_key": "bogus"}, InvalidInput),
            ({"kind": "rating"}, InvalidInput),
            ({"kind": "message"}, InvalidInput),
            ({"kind": "message", "message_id": "abc"}, NotFound),
            ({"kind": "message", "message_id": 2**40}, NotFound),
            ({"kind": "review", "note": "x" * 2001}, InvalidInput),
            ({"kind": "review", "note": "a\x00"}, InvalidInput),
        ],
    )
    def test_bad_input(
        self, session: Session, world: World, changes: dict[str, object], error: type[Exception]
    ) -> None:
        review = failed_review(session, world)
        args: dict[str, object] = {"note": "n", **changes}
        with pytest.raises(error):
            pin_service.create_pin(session, actor=world.reviewer, review_id=review.id, **args)  # type: ignore[arg-type]
        assert session.exec(select(Pin)).all() == []

    def test_a_message_of_another_conversation_is_not_found(self, session: Session, world: World) -> None:
        review = failed_review(session, world)
        foreign = _messages(session, world.other_conversation.id)[0]
        with pytest.raises(NotFound):
            pin_service.create_pin(
                session,
                actor=world.admin,
                review_id=review.id,
                kind="message",
                note="",
                message_id=foreign.id,
            )

    def test_who_may_pin(self, session: Session, world: World) -> None:
        review = failed_review(session, world)
        with pytest.raises(Forbidden):
            pin_service.create_pin(
                session, actor=world.agent_user, review_id=review.id, kind="review", note=""
            )
        for outsider in (world.other_manager, world.other_reviewer, world.other_agent_user):
            with pytest.raises((NotFound, Forbidden)):
                pin_service.create_pin(session, actor=outsider, review_id=review.id, kind="review", note="")
        with pytest.raises(NotFound):
            pin_service.create_pin(
                session, actor=world.other_manager, review_id=review.id, kind="review", note=""
            )
        review.kind = ReviewKind.calibration
        session.flush()
        with pytest.raises(InvalidInput):
            pin_service.create_pin(session, actor=world.admin, review_id=review.id, kind="review", note="")
        assert not pin_service.may_pin(world.admin, review)
        review.kind = ReviewKind.manual
        assert pin_service.may_pin(world.admin, review) and not pin_service.may_pin(world.agent_user, review)


class TestBoard:
    def test_who_reads_the_pins(self, session: Session, world: World) -> None:
        review = failed_review(session, world)
        pin = pin_service.create_pin(
            session, actor=world.reviewer, review_id=review.id, kind="review", note="n"
        )

        def ids(actor: User) -> list[int]:
            return [p.id for p in pin_service.list_pins(session, actor=actor, agent_id=world.agent.id)]

        assert ids(world.reviewer) == ids(world.manager) == ids(world.admin) == [pin.id]
        assert ids(world.other_manager) == [] and ids(world.other_reviewer) == []
        with pytest.raises(Forbidden):
            pin_service.list_pins(session, actor=world.agent_user, agent_id=world.agent.id)
        assert pin_service.review_pins(session, actor=world.agent_user, review_id=review.id or 0) == []
        assert [
            p.id for p in pin_service.review_pins(session, actor=world.manager, review_id=review.id or 0)
        ] == [pin.id]
        with pytest.raises(NotFound):
            pin_service.list_pins(session, actor=world.manager, agent_id="abc")

    def test_archive(self, session: Session, world: World) -> None:
        review = failed_review(session, world)
        pin = pin_service.create_pin(
            session, actor=world.reviewer, review_id=review.id, kind="review", note="n"
        )
        with pytest.raises(NotFound):
            pin_service.archive_pin(session, actor=world.other_manager, pin_id=pin.id)
        pin_service.archive_pin(session, actor=world.manager, pin_id=pin.id)
        first = pin.archived_at
        assert first is not None
        assert pin_service.archive_pin(session, actor=world.reviewer, pin_id=pin.id).archived_at == first
        assert pin_service.list_pins(session, actor=world.manager, agent_id=world.agent.id) == []
        [kept] = pin_service.list_pins(
            session, actor=world.manager, agent_id=world.agent.id, include_archived=True
        )
        assert kept.archived_at == first
        manager_pin = pin_service.create_pin(
            session, actor=world.manager, review_id=review.id, kind="review", note="mine"
        )
        with pytest.raises(Forbidden):  # the review's reviewer may read a manager's pin, not archive it
            pin_service.archive_pin(session, actor=world.reviewer, pin_id=manager_pin.id)

    def test_mark_discussed(self, session: Session, world: World) -> None:
        review = failed_review(session, world)
        pin = pin_service.create_pin(
            session, actor=world.reviewer, review_id=review.id, kind="review", note="n"
        )
        at = datetime(2026, 4, 1, 10, tzinfo=UTC)
        mine = CoachingSession(agent_id=world.agent.id, coach_id=world.manager.id, scheduled_at=at)  # type: ignore[arg-type]
        theirs = CoachingSession(agent_id=world.other_agent.id, coach_id=world.manager.id, scheduled_at=at)  # type: ignore[arg-type]
        session.add_all([mine, theirs])
        session.flush()
        with pytest.raises(InvalidInput):
            pin_service.mark_discussed(
                session, actor=world.manager, pin_id=pin.id, coaching_session_id=theirs.id
            )
        with pytest.raises(InvalidInput):
            pin_service.mark_discussed(session, actor=world.manager, pin_id=pin.id, coaching_session_id=10**6)
        with pytest.raises(Forbidden):  # the pin's author, but not the session's coach
            pin_service.mark_discussed(
                session, actor=world.reviewer, pin_id=pin.id, coaching_session_id=mine.id
            )
        assert (
            pin_service.mark_discussed(
                session, actor=world.manager, pin_id=pin.id, coaching_session_id=mine.id
            ).session_id
            == mine.id
        )
        [view] = pin_service.list_pins(session, actor=world.manager, agent_id=world.agent.id)
        assert view.session_id == mine.id

"""The review service: scoring, the review lifecycle, permissions, the queue, lists and feedback."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from qa.errors import Conflict, Forbidden, InvalidInput, NotFound
from qa.models import Assignment, Message, Rating, Review, ReviewStatus, Scorecard, ScorecardVersion
from qa.reviews import service as review_service
from qa.reviews.service import QueueFilters, RatingIn, ReviewFilters
from tests.factories import EXAMPLE_SCORECARD, make_agent, make_conversation, make_scorecard, make_user
from tests.reviews.helpers import (
    GOOD,
    GOOD_SCORE,
    World,
    audit_actions,
    calibration_review,
    conversations_at,
    rated_review,
)


def _ratings_in(values: dict[str, str | None]) -> list[RatingIn]:
    return [RatingIn(criterion=key, option=label) for key, label in values.items()]


class TestScoring:
    def test_example_scores_exactly_as_product_section_3(self, session: Session, world: World) -> None:
        review = rated_review(session, world)
        assert review.score == pytest.approx(GOOD_SCORE, abs=1e-9)
        assert review.score == pytest.approx(74.16666666666667)
        assert review.failed_critical is False
        assert review.passed is False  # below the pass mark of 80

    def test_na_leaves_the_criterion_out_of_both_sums(self, session: Session, world: World) -> None:
        review = rated_review(session, world, ratings={"greeting": "Yes", "accuracy": "4", "tone": None})
        assert review.score == pytest.approx(100 * (1 + 0.75 * 3) / 4)  # 81.25
        assert review.passed is True
        tone = session.exec(
            select(Rating).where(Rating.review_id == review.id, Rating.criterion_key == "tone")
        ).one()
        assert tone.option_label is None and tone.option_score is None

    def test_critical_below_threshold_fails_the_review_with_zero(
        self, session: Session, world: World
    ) -> None:
        review = rated_review(session, world, ratings={"greeting": "Yes", "accuracy": "2", "tone": "Great"})
        assert review.score == 0.0
        assert review.failed_critical is True
        assert review.passed is False

    def test_critical_exactly_at_threshold_does_not_fail(self, session: Session, world: World) -> None:
        review = rated_review(session, world, ratings={"greeting": "No", "accuracy": "3", "tone": "Poor"})
        assert review.failed_critical is False
        assert review.score == pytest.approx(100 * 1.5 / 6)

    def test_draft_scores_only_what_is_rated(self, session: Session, world: World) -> None:
        review = rated_review(session, world, ratings={"greeting": "Yes"}, submit=False)
        assert review.score == 100.0
        assert review.status == ReviewStatus.draft

    def test_changing_an_option_rescores(self, session: Session, world: World) -> None:
        review = rated_review(session, world, submit=False)
        review_service.rate(
            session, actor=world.reviewer, review_id=review.id, criterion_key="accuracy", option_label="5"
        )
        assert review.score == pytest.approx(100 * (1 + 3 + 1.2) / 6)
        assert len(session.exec(select(Rating).where(Rating.review_id == review.id)).all()) == 3


class TestRatingInput:
    @pytest.fixture
    def draft(self, session: Session, world: World) -> Review:
        return review_service.start_review(
            session, actor=world.reviewer, conversation_id=world.conversation.id
        )

    def test_unknown_option(self, session: Session, world: World, draft: Review) -> None:
        with pytest.raises(InvalidInput) as err:
            review_service.rate(
                session, actor=world.reviewer, review_id=draft.id, criterion_key="accuracy", option_label="7"
            )
        assert err.value.field == "option" and "1, 2, 3, 4, 5" in err.value.message

    def test_na_where_not_allowed(self, session: Session, world: World, draft: Review) -> None:
        with pytest.raises(InvalidInput, match="can't be rated N/A"):
            review_service.rate(
                session, actor=world.reviewer, review_id=draft.id, criterion_key="greeting", option_label=None
            )

    def test_unknown_criterion(self, session: Session, world: World, draft: Review) -> None:
        with pytest.raises(NotFound):
            review_service.rate(
                session, actor=world.reviewer, review_id=draft.id, criterion_key="nope", option_label="Yes"
            )

    def test_root_cause_must_be_the_criterion_s(self, session: Session, world: World, draft: Review) -> None:
        with pytest.raises(InvalidInput) as err:
            review_service.rate(
                session,
                actor=world.reviewer,
                review_id=draft.id,
                criterion_key="tone",
                option_label="Poor",
                root_cause="Slow",
            )
        assert err.value.field == "root_cause"
        review_service.rate(
            session,
            actor=world.reviewer,
            review_id=draft.id,
            criterion_key="tone",
            option_label="Poor",
            root_cause="Rude",
            comment="  Too blunt.  ",
        )
        rating = session.exec(select(Rating).where(Rating.review_id == draft.id)).one()
        assert (rating.root_cause, rating.comment) == ("Rude", "Too blunt.")

    def test_comment_none_keeps_and_empty_clears(self, session: Session, world: World, draft: Review) -> None:
        rate = review_service.rate
        rate(
            session,
            actor=world.reviewer,
            review_id=draft.id,
            criterion_key="tone",
            option_label="OK",
            comment="Nice",
            root_cause="Robotic",
        )
        rate(session, actor=world.reviewer, review_id=draft.id, criterion_key="tone", option_label="Great")
        rating = session.exec(select(Rating).where(Rating.review_id == draft.id)).one()
        assert (rating.comment, rating.root_cause) == ("Nice", "Robotic")
        rate(
            session,
            actor=world.reviewer,
            review_id=draft.id,
            criterion_key="tone",
            option_label="Great",
            comment="",
            root_cause="",
        )
        assert (rating.comment, rating.root_cause) == ("", None)

    def test_overlong_comment(self, session: Session, world: World, draft: Review) -> None:
        with pytest.raises(InvalidInput, match="too long"):
            review_service.set_comment(
                session, actor=world.reviewer, review_id=draft.id, comment="x" * 10_001
            )


class TestStartReview:
    def test_creates_a_draft_on_the_current_version(self, session: Session, world: World) -> None:
        review = review_service.start_review(
            session, actor=world.reviewer, conversation_id=world.conversation.id
        )
        assert (review.status, review.kind) == ("draft", "manual")
        assert review.version_id == world.version.id
        assert review.agent_id == world.agent.id and review.reviewer_id == world.reviewer.id

    def test_returns_the_existing_review(self, session: Session, world: World) -> None:
        first = review_service.start_review(
            session, actor=world.reviewer, conversation_id=world.conversation.id
        )
        again = review_service.start_review(
            session, actor=world.reviewer, conversation_id=world.conversation.id
        )
        assert again.id == first.id
        submitted = rated_review(session, world, reviewer=world.other_reviewer)
        assert (
            review_service.start_review(
                session, actor=world.other_reviewer, conversation_id=world.conversation.id
            ).id
            == submitted.id
        )

    def test_default_is_the_newest_unarchived_scorecard(self, session: Session, world: World) -> None:
        newer = make_scorecard(session, definition={**EXAMPLE_SCORECARD, "name": "Newer"})
        newest = make_scorecard(session, definition={**EXAMPLE_SCORECARD, "name": "Archived"})
        card = session.get(Scorecard, newest.scorecard_id)
        assert card is not None
        card.archived = True
        session.flush()
        review = review_service.start_review(
            session, actor=world.reviewer, conversation_id=world.conversation.id
        )
        assert review.version_id == newer.id

    def test_explicit_archived_scorecard_is_refused(self, session: Session, world: World) -> None:
        card = session.get(Scorecard, world.version.scorecard_id)
        assert card is not None
        card.archived = True
        session.flush()
        with pytest.raises(InvalidInput, match="archived"):
            review_service.start_review(
                session, actor=world.reviewer, conversation_id=world.conversation.id, scorecard_id=card.id
            )
        with pytest.raises(NotFound, match="no scorecard yet"):
            review_service.start_review(session, actor=world.reviewer, conversation_id=world.conversation.id)

    def test_unknown_scorecard_and_conversation(self, session: Session, world: World) -> None:
        with pytest.raises(NotFound):
            review_service.start_review(
                session, actor=world.reviewer, conversation_id=world.conversation.id, scorecard_id=999_999
            )
        with pytest.raises(NotFound):
            review_service.start_review(session, actor=world.reviewer, conversation_id=999_999)
        with pytest.raises(NotFound):
            review_service.start_review(session, actor=world.reviewer, conversation_id="abc")

    def test_self_review_is_forbidden(self, session: Session, world: World) -> None:
        peer = make_user(session, role="reviewer", agent=make_agent(session, team=world.team))
        own = make_conversation(session, agent=session.get(type(world.agent), peer.agent_id), team=world.team)
        with pytest.raises(Forbidden, match="own conversation"):
            review_service.start_review(session, actor=peer, conversation_id=own.id)
        with pytest.raises(Forbidden, match="own conversation"):
            review_service.create_review(
                session,
                actor=peer,
                conversation_id=own.id,
                scorecard_id=world.version.scorecard_id,
                ratings=_ratings_in(GOOD),
            )

    def test_agents_may_not_review(self, session: Session, world: World) -> None:
        with pytest.raises(Forbidden):
            review_service.start_review(
                session, actor=world.agent_user, conversation_id=world.conversation.id
            )

    def test_manager_cannot_open_another_team_s_conversation(self, session: Session, world: World) -> None:
        with pytest.raises(NotFound):
            review_service.start_review(
                session, actor=world.other_manager, conversation_id=world.conversation.id
            )

    def test_assignment_required_when_reviewers_may_not_review_any(
        self, session: Session, world: World
    ) -> None:
        with pytest.raises(Forbidden, match="not assigned"):
            review_service.start_review(
                session, actor=world.reviewer, conversation_id=world.conversation.id, review_any=False
            )
        session.add(
            Assignment(
                conversation_id=world.conversation.id,
                reviewer_id=world.reviewer.id,  # type: ignore[arg-type]
                scorecard_id=world.version.scorecard_id,
            )
        )
        session.flush()
        review = review_service.start_review(
            session, actor=world.reviewer, conversation_id=world.conversation.id, review_any=False
        )
        assert review.id is not None
        # Managers are never limited to assignments.
        review_service.start_review(
            session, actor=world.manager, conversation_id=world.conversation.id, review_any=False
        )


class TestSubmit:
    def test_incomplete_review_names_the_missing_criteria(self, session: Session, world: World) -> None:
        review = rated_review(session, world, ratings={"accuracy": "5"}, submit=False)
        with pytest.raises(InvalidInput) as err:
            review_service.submit_review(session, actor=world.reviewer, review_id=review.id)
        assert err.value.field == "ratings"
        assert "Greeting" in err.value.message and "Tone" in err.value.message
        assert "Correct solution" not in err.value.message
        assert review.status == ReviewStatus.draft

    def test_submit_sets_status_time_and_audits(self, session: Session, world: World) -> None:
        review = rated_review(session, world, submit=False)
        review_service.submit_review(
            session, actor=world.reviewer, review_id=review.id, comment=" Well done ", time_spent_seconds=95
        )
        assert review.status == ReviewStatus.submitted and review.submitted_at is not None
        assert (review.comment, review.time_spent_seconds) == ("Well done", 95)
        [entry] = audit_actions(session, review.id)
        assert entry.action == "review.submit" and entry.actor_id == world.reviewer.id
        assert entry.after is not None
        assert entry.after["ratings"]["accuracy"]["option"] == "4"
        assert entry.after["score"] == pytest.approx(GOOD_SCORE)

    def test_time_spent_is_bounded(self, session: Session, world: World) -> None:
        review = rated_review(session, world, submit=False)
        review_service.submit_review(
            session, actor=world.reviewer, review_id=review.id, time_spent_seconds=10**9
        )
        assert review.time_spent_seconds == 24 * 3600

    def test_submitting_closes_the_assignment(self, session: Session, world: World) -> None:
        assignment = Assignment(
            conversation_id=world.conversation.id,
            reviewer_id=world.reviewer.id,  # type: ignore[arg-type]
            scorecard_id=world.version.scorecard_id,
        )
        session.add(assignment)
        session.flush()
        review = rated_review(session, world)
        assert (assignment.status, assignment.review_id) == ("done", review.id)

    def test_editing_a_submitted_review_is_audited(self, session: Session, world: World) -> None:
        review = rated_review(session, world)
        review_service.rate(
            session, actor=world.reviewer, review_id=review.id, criterion_key="accuracy", option_label="1"
        )
        entries = audit_actions(session, review.id)
        assert [e.action for e in entries] == ["review.submit", "review.edit"]
        edit = entries[-1]
        assert edit.before is not None and edit.after is not None
        assert edit.before["ratings"]["accuracy"]["option"] == "4"
        assert edit.after["ratings"]["accuracy"]["option"] == "1"
        assert edit.before["score"] == pytest.approx(GOOD_SCORE)
        assert (edit.after["score"], edit.after["failed_critical"]) == (0.0, True)
        review_service.set_comment(session, actor=world.reviewer, review_id=review.id, comment="Updated")
        assert audit_actions(session, review.id)[-1].after["comment"] == "Updated"  # type: ignore[index]

    def test_drafts_are_not_audited_per_click(self, session: Session, world: World) -> None:
        review = rated_review(session, world, submit=False)
        assert audit_actions(session, review.id) == []


class TestOwnership:
    def test_another_reviewer_cannot_see_or_edit(self, session: Session, world: World) -> None:
        review = rated_review(session, world, submit=False)
        with pytest.raises(NotFound):
            review_service.rate(
                session,
                actor=world.other_reviewer,
                review_id=review.id,
                criterion_key="greeting",
                option_label="No",
            )
        with pytest.raises(NotFound):
            review_service.submit_review(session, actor=world.other_reviewer, review_id=review.id)

    def test_manager_sees_but_cannot_edit(self, session: Session, world: World) -> None:
        review = rated_review(session, world)
        assert (
            review_service.review_detail(session, actor=world.manager, review_id=review.id).can_edit is False
        )
        with pytest.raises(Forbidden):
            review_service.rate(
                session, actor=world.manager, review_id=review.id, criterion_key="greeting", option_label="No"
            )
        with pytest.raises(NotFound):
            review_service.review_detail(session, actor=world.other_manager, review_id=review.id)


class TestMessageComments:
    def test_pin_and_remove(self, session: Session, world: World) -> None:
        review = rated_review(session, world, submit=False)
        message = session.exec(
            select(Message).where(Message.conversation_id == world.conversation.id)
        ).first()
        assert message is not None
        pinned = review_service.add_message_comment(
            session, actor=world.reviewer, review_id=review.id, message_id=message.id, body="  Good empathy  "
        )
        assert pinned.body == "Good empathy"
        detail = review_service.review_detail(session, actor=world.reviewer, review_id=review.id)
        assert [c.body for c in detail.message_comments[message.id]] == ["Good empathy"]  # type: ignore[index]
        assert (
            review_service.delete_message_comment(
                session, actor=world.reviewer, review_id=review.id, comment_id=pinned.id
            )
            == message.id
        )
        assert (
            review_service.review_detail(session, actor=world.reviewer, review_id=review.id).message_comments
            == {}
        )

    def test_message_of_another_conversation_and_empty_body(self, session: Session, world: World) -> None:
        review = rated_review(session, world, submit=False)
        foreign = session.exec(
            select(Message).where(Message.conversation_id == world.other_conversation.id)
        ).first()
        assert foreign is not None
        with pytest.raises(NotFound):
            review_service.add_message_comment(
                session, actor=world.reviewer, review_id=review.id, message_id=foreign.id, body="x"
            )
        own = session.exec(select(Message).where(Message.conversation_id == world.conversation.id)).first()
        with pytest.raises(InvalidInput):
            review_service.add_message_comment(
                session, actor=world.reviewer, review_id=review.id, message_id=own.id, body="   "
            )  # type: ignore[union-attr]


class TestCreateReview:
    def test_happy_path(self, session: Session, world: World) -> None:
        review = review_service.create_review(
            session,
            actor=world.reviewer,
            conversation_id=world.conversation.id,
            scorecard_id=world.version.scorecard_id,
            ratings=_ratings_in(GOOD),
            comment="API",
        )
        assert review.status == ReviewStatus.submitted and review.submitted_at is not None
        assert review.score == pytest.approx(GOOD_SCORE)
        assert [e.action for e in audit_actions(session, review.id)] == ["review.create"]

    @pytest.mark.parametrize(
        ("ratings", "field"),
        [
            (
                [RatingIn("greeting", "Yes"), RatingIn("accuracy", "4"), RatingIn("bogus", "OK")],
                "ratings[2].criterion",
            ),
            (
                [RatingIn("greeting", "Yes"), RatingIn("accuracy", "9"), RatingIn("tone", "OK")],
                "ratings[1].option",
            ),
            (
                [RatingIn("greeting", None), RatingIn("accuracy", "4"), RatingIn("tone", "OK")],
                "ratings[0].option",
            ),
            (
                [
                    RatingIn("greeting", "Yes"),
                    RatingIn("accuracy", "4"),
                    RatingIn("tone", "OK", root_cause="Late"),
                ],
                "ratings[2].root_cause",
            ),
            ([RatingIn("greeting", "Yes"), RatingIn("greeting", "No")], "ratings[1].criterion"),
            ([RatingIn("greeting", "Yes"), RatingIn("accuracy", "4")], "ratings"),
        ],
    )
    def test_bad_ratings_name_the_field(
        self, session: Session, world: World, ratings: list[RatingIn], field: str
    ) -> None:
        with pytest.raises(InvalidInput) as err:
            review_service.create_review(
                session,
                actor=world.reviewer,
                conversation_id=world.conversation.id,
                scorecard_id=world.version.scorecard_id,
                ratings=ratings,
            )
        assert err.value.field == field

    def test_reviewer_id_is_for_managers(self, session: Session, world: World) -> None:
        kwargs = {
            "conversation_id": world.conversation.id,
            "scorecard_id": world.version.scorecard_id,
            "ratings": _ratings_in(GOOD),
        }
        with pytest.raises(Forbidden):
            review_service.create_review(
                session, actor=world.reviewer, reviewer_id=world.other_reviewer.id, **kwargs
            )
        with pytest.raises(InvalidInput) as err:
            review_service.create_review(
                session, actor=world.manager, reviewer_id=world.agent_user.id, **kwargs
            )
        assert err.value.field == "reviewer_id"
        review = review_service.create_review(
            session, actor=world.manager, reviewer_id=world.reviewer.id, **kwargs
        )
        assert review.reviewer_id == world.reviewer.id

    def test_duplicate_is_a_conflict(self, session: Session, world: World) -> None:
        kwargs = {
            "conversation_id": world.conversation.id,
            "scorecard_id": world.version.scorecard_id,
            "ratings": _ratings_in(GOOD),
        }
        review_service.create_review(session, actor=world.reviewer, **kwargs)
        with pytest.raises(Conflict):
            review_service.create_review(session, actor=world.reviewer, **kwargs)

    def test_invisible_conversation_is_not_found(self, session: Session, world: World) -> None:
        with pytest.raises(NotFound):
            review_service.create_review(
                session,
                actor=world.other_manager,
                conversation_id=world.conversation.id,
                scorecard_id=world.version.scorecard_id,
                ratings=_ratings_in(GOOD),
            )


class TestAcknowledge:
    def test_agent_acknowledges_once(self, session: Session, world: World) -> None:
        review = rated_review(session, world)
        review_service.acknowledge_review(session, actor=world.agent_user, review_id=review.id)
        first = review.acknowledged_at
        review_service.acknowledge_review(session, actor=world.agent_user, review_id=review.id)
        assert first is not None and review.acknowledged_at == first
        assert [e.action for e in audit_actions(session, review.id)] == [
            "review.submit",
            "review.acknowledge",
        ]

    def test_only_the_reviewed_agent(self, session: Session, world: World) -> None:
        review = rated_review(session, world)
        with pytest.raises(NotFound):
            review_service.acknowledge_review(session, actor=world.other_agent_user, review_id=review.id)
        with pytest.raises(Forbidden):
            review_service.acknowledge_review(session, actor=world.manager, review_id=review.id)

    def test_drafts_and_calibration_are_invisible_to_agents(self, session: Session, world: World) -> None:
        draft = rated_review(session, world, submit=False)
        calibration = calibration_review(session, make_world_sibling(session, world))
        for review in (draft, calibration):
            with pytest.raises(NotFound):
                review_service.review_detail(session, actor=world.agent_user, review_id=review.id)


def make_world_sibling(session: Session, world: World) -> World:
    """The same world with a fresh conversation of the same agent (so a second review can be made)."""
    world.conversation = make_conversation(session, agent=world.agent, team=world.team)
    return world


class TestQueue:
    def _page(
        self, session: Session, actor: object, cursor: str | None = None, limit: int = 3, **filters: object
    ) -> review_service.QueuePage:
        return review_service.queue_page(
            session,
            actor=actor,
            filters=QueueFilters(**filters),  # type: ignore[arg-type]
            cursor=cursor,
            limit=limit,
        )

    def test_keyset_pages_cover_everything_once(self, session: Session, world: World) -> None:
        team = world.team
        made = conversations_at(
            session, 7, agent=world.agent, team=team, start=datetime(2025, 6, 1, tzinfo=UTC)
        )
        # Two conversations at the same instant: ties are broken by id.
        made.append(make_conversation(session, agent=world.agent, team=team, created_at=made[3].created_at))
        seen: list[int] = []
        cursor = None
        pages = 0
        while True:
            page = self._page(session, world.reviewer, cursor, team_id=team.id, date_to=date(2025, 12, 31))
            pages += 1
            seen += [row.conversation_id for row in page.rows]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        expected = sorted(made, key=lambda c: (c.created_at, c.id), reverse=True)
        assert seen == [c.id for c in expected]
        assert pages == 3

    def test_rows_carry_names_and_my_status(self, session: Session, world: World) -> None:
        rated_review(session, world)
        page = self._page(session, world.reviewer, limit=50, team_id=world.team.id)
        row = next(r for r in page.rows if r.conversation_id == world.conversation.id)
        assert (row.agent_name, row.team_name, row.channel) == (world.agent.name, world.team.name, "chat")
        assert (row.my_status, row.submitted_reviews) == ("submitted", 1)
        assert row.my_score == pytest.approx(GOOD_SCORE)

    def test_subjectless_conversation_shows_the_customer_s_first_words(
        self, session: Session, world: World
    ) -> None:
        conv = make_conversation(
            session,
            agent=world.agent,
            team=world.team,
            subject=None,
            messages=[
                {"author": "agent", "body": "Hello"},
                {"author": "customer", "body": "My   order\nnever arrived"},
            ],
        )
        page = self._page(session, world.reviewer, limit=50)
        assert next(r for r in page.rows if r.conversation_id == conv.id).subject == "My order never arrived"

    def test_filters(self, session: Session, world: World) -> None:
        email = make_conversation(
            session,
            agent=world.agent,
            team=world.team,
            channel="email",
            created_at=datetime(2024, 2, 10, 12, tzinfo=UTC),
        )
        rated_review(session, world)
        mine = rated_review(session, world, conversation=email, submit=False)

        def ids(**filters: object) -> set[int]:
            return {r.conversation_id for r in self._page(session, world.reviewer, limit=200, **filters).rows}

        everything = ids()
        assert {world.conversation.id, world.other_conversation.id, email.id} <= everything
        assert ids(team_id=world.other_team.id) == {world.other_conversation.id}
        assert ids(agent_id=world.other_agent.id) == {world.other_conversation.id}
        assert ids(channel="email") == {email.id}
        assert ids(date_from=date(2024, 2, 10), date_to=date(2024, 2, 10)) == {email.id}
        assert ids(status="reviewed") == {world.conversation.id}
        assert world.conversation.id not in ids(status="not_reviewed")
        assert ids(status="mine") == {mine.conversation_id}
        assert ids(assigned_only=True) == set()

    def test_assigned_only_and_review_any(self, session: Session, world: World) -> None:
        session.add(
            Assignment(
                conversation_id=world.other_conversation.id,
                reviewer_id=world.reviewer.id,  # type: ignore[arg-type]
                scorecard_id=world.version.scorecard_id,
            )
        )
        session.flush()
        page = self._page(session, world.reviewer, limit=50, assigned_only=True)
        assert [r.conversation_id for r in page.rows] == [world.other_conversation.id]
        assert page.rows[0].assigned is True
        restricted = review_service.queue_page(
            session, actor=world.reviewer, filters=QueueFilters(), cursor=None, limit=50, review_any=False
        )
        assert [r.conversation_id for r in restricted.rows] == [world.other_conversation.id]

    def test_peer_reviewer_never_sees_own_conversations(self, session: Session, world: World) -> None:
        peer_agent = make_agent(session, team=world.team)
        own = make_conversation(session, agent=peer_agent, team=world.team)
        peer = make_user(session, role="reviewer", agent=peer_agent)
        ids = {r.conversation_id for r in self._page(session, peer, limit=200).rows}
        assert own.id not in ids and {world.conversation.id, world.other_conversation.id} <= ids

    def test_manager_sees_only_their_teams(self, session: Session, world: World) -> None:
        ids = {r.conversation_id for r in self._page(session, world.manager, limit=200).rows}
        assert world.conversation.id in ids and world.other_conversation.id not in ids

    def test_agents_have_no_queue(self, session: Session, world: World) -> None:
        with pytest.raises(Forbidden):
            self._page(session, world.agent_user)

    @pytest.mark.parametrize("cursor", ["garbage", "W10", "WyJ4IiwgMV0", "WyIyMDI2LTAxLTAxIiwgInkiXQ"])
    def test_bad_cursor(self, session: Session, world: World, cursor: str) -> None:
        with pytest.raises(InvalidInput) as err:
            self._page(session, world.reviewer, cursor)
        assert err.value.field == "cursor"

    @pytest.mark.parametrize(
        ("filters", "field"),
        [
            ({"status": "weird"}, "status"),
            ({"channel": "fax"}, "channel"),
            ({"date_from": date(2026, 2, 1), "date_to": date(2026, 1, 1)}, "date_from"),
        ],
    )
    def test_bad_filters(
        self, session: Session, world: World, filters: dict[str, object], field: str
    ) -> None:
        with pytest.raises(InvalidInput) as err:
            self._page(session, world.reviewer, **filters)
        assert err.value.field == field


class TestLists:
    def test_manager_list_filters_and_pages(self, session: Session, world: World) -> None:
        convs = conversations_at(session, 4, agent=world.agent, team=world.team)
        reviews = [
            rated_review(
                session,
                world,
                conversation=c,
                ratings=GOOD if i % 2 else {"greeting": "Yes", "accuracy": "1", "tone": "OK"},
            )
            for i, c in enumerate(convs)
        ]
        foreign = rated_review(session, world, conversation=world.other_conversation)

        def ids(actor: object = world.manager, **filters: object) -> list[int]:
            page = review_service.list_reviews(
                session,
                actor=actor,
                filters=ReviewFilters(**filters),  # type: ignore[arg-type]
                cursor=None,
                limit=50,
            )
            return [r.review_id for r in page.rows]

        assert ids() == [r.id for r in reversed(reviews)]
        assert foreign.id not in ids()
        assert foreign.id in ids(world.admin)
        assert ids(outcome="critical") == [reviews[2].id, reviews[0].id]
        assert ids(score_below=50) == [reviews[2].id, reviews[0].id]
        assert ids(outcome="passed") == []
        assert ids(reviewer_id=world.other_reviewer.id) == []
        assert ids(world.other_reviewer) == []
        assert set(ids(world.reviewer)) == {r.id for r in reviews} | {foreign.id}
        first = review_service.list_reviews(
            session, actor=world.manager, filters=ReviewFilters(), cursor=None, limit=3
        )
        assert first.next_cursor is not None
        rest = review_service.list_reviews(
            session, actor=world.manager, filters=ReviewFilters(), cursor=first.next_cursor, limit=3
        )
        assert [r.review_id for r in first.rows + rest.rows] == ids() and rest.next_cursor is None

    def test_list_excludes_calibration_reviews(self, session: Session, world: World) -> None:
        calibration = calibration_review(session, world)
        page = review_service.list_reviews(
            session, actor=world.admin, filters=ReviewFilters(), cursor=None, limit=50
        )
        assert calibration.id not in {r.review_id for r in page.rows}


class TestMyFeedback:
    def test_summary_and_rows_are_the_agent_s_own_submitted_manual_reviews(
        self, session: Session, world: World
    ) -> None:
        good = rated_review(session, world, ratings={"greeting": "Yes", "accuracy": "5", "tone": "Great"})
        second = make_conversation(session, agent=world.agent, team=world.team)
        failed = rated_review(
            session, world, conversation=second, ratings={"greeting": "No", "accuracy": "1", "tone": "OK"}
        )
        rated_review(session, make_world_sibling(session, world), submit=False)  # a draft: not shown
        calibration_review(session, make_world_sibling(session, world))  # never shown to the agent
        rated_review(session, world, conversation=world.other_conversation)  # another agent's
        page = review_service.my_feedback(session, actor=world.agent_user)
        assert [r.review_id for r in page.rows] == [failed.id, good.id]
        assert page.summary.reviews == 2
        assert page.summary.average_score == pytest.approx(50.0)
        assert page.summary.pass_rate == pytest.approx(50.0)
        assert page.summary.unacknowledged == 2
        failing = page.rows[0]
        assert failing.failed_critical and [n.name for n in failing.focus] == [
            "Greeting",
            "Correct solution",
            "Tone",
        ]
        assert failing.focus[1].critical is True
        assert (page.rows[1].criteria_total, page.rows[1].criteria_full) == (3, 3)

    def test_empty_scores_are_left_out_of_the_average(self, session: Session, world: World) -> None:
        rated_review(session, world, ratings={"greeting": "Yes", "accuracy": "4", "tone": None})
        card = make_scorecard(
            session,
            definition={
                "name": "NA only",
                "criteria": [{"key": "x", "name": "X", "scale": "binary", "allow_na": True}],
            },
        )
        second = make_conversation(session, agent=world.agent, team=world.team)
        review = review_service.start_review(
            session, actor=world.reviewer, conversation_id=second.id, scorecard_id=card.scorecard_id
        )
        review_service.rate(
            session, actor=world.reviewer, review_id=review.id, criterion_key="x", option_label=None
        )
        review_service.submit_review(session, actor=world.reviewer, review_id=review.id)
        assert review.score is None and review.passed is None
        summary = review_service.my_feedback(session, actor=world.agent_user).summary
        assert summary.reviews == 2
        assert summary.average_score == pytest.approx(81.25)
        assert summary.pass_rate == pytest.approx(100.0)

    def test_pages_by_submission_time(self, session: Session, world: World) -> None:
        convs = conversations_at(session, 5, agent=world.agent, team=world.team)
        made = [rated_review(session, world, conversation=c) for c in convs]
        for i, review in enumerate(made):
            review.submitted_at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=i % 2)  # ties on purpose
        session.flush()
        seen: list[int] = []
        cursor = None
        while True:
            page = review_service.my_feedback(session, actor=world.agent_user, cursor=cursor, limit=2)
            seen += [r.review_id for r in page.rows]
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        assert sorted(seen) == sorted(r.id for r in made) and len(seen) == 5

    def test_non_agents_have_no_feedback_page(self, session: Session, world: World) -> None:
        with pytest.raises(Forbidden):
            review_service.my_feedback(session, actor=world.reviewer)


def test_version_rendering_uses_the_scored_version(session: Session, world: World) -> None:
    """Old reviews keep pointing at the version they were scored with."""
    from qa.scorecard_admin import service as scorecard_service
    from scorecards import validate_definition

    review = rated_review(session, world)
    changed = {**EXAMPLE_SCORECARD, "pass_threshold": 70}
    scorecard_service.update_scorecard(
        session, actor=None, scorecard_id=world.version.scorecard_id, definition=validate_definition(changed)
    )
    detail = review_service.review_detail(session, actor=world.reviewer, review_id=review.id)
    assert detail.version.id == world.version.id and detail.version.pass_threshold == 80
    newest = session.exec(
        select(ScorecardVersion)
        .where(ScorecardVersion.scorecard_id == world.version.scorecard_id)
        .order_by(ScorecardVersion.version.desc())
    ).first()  # type: ignore[attr-defined]
    fresh = review_service.start_review(
        session, actor=world.other_reviewer, conversation_id=world.conversation.id
    )
    assert newest is not None and fresh.version_id == newest.id

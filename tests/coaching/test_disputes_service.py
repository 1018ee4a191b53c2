"""Disputes through the service: opening, resolving (rescoring exactly), who resolves, statistics."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from qa import org_settings
from qa.coaching import disputes as dispute_service
from qa.errors import Conflict, Forbidden, InvalidInput, NotFound
from qa.models import Dispute, Rating, Review, ReviewKind, User
from qa.reporting import stats
from qa.reviews import service as review_service
from qa.reviews.service import RatingIn
from tests.coaching.dispute_helpers import (
    ALL_TOP,
    CORRECTED,
    audit_of,
    designate,
    failed_review,
    notices,
)
from tests.factories import make_conversation, make_user
from tests.reviews.helpers import GOOD, GOOD_SCORE, World, make_world, rated_review


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)


def _open(
    session: Session,
    world: World,
    review: Review,
    key: str | None = "accuracy",
    reason: str = "The refund was the right fix.",
) -> Dispute:
    return dispute_service.open_dispute(
        session, actor=world.agent_user, review_id=review.id, criterion_key=key, reason=reason
    )


def _accept(session: Session, actor: User, dispute: Dispute, **ratings: str | None) -> Dispute:
    changes = [RatingIn(criterion=k, option=v) for k, v in (ratings or {"accuracy": "4"}).items()]
    return dispute_service.accept_dispute(
        session,
        actor=actor,
        dispute_id=dispute.id,
        ratings=changes,
        comment="You're right, the fix was correct.",
    )


class TestOpening:
    def test_agent_disputes_one_criterion(self, session: Session, world: World) -> None:
        review = failed_review(session, world)
        dispute = _open(session, world, review)
        assert (dispute.status, dispute.criterion_key, dispute.agent_id) == (
            "open",
            "accuracy",
            world.agent.id,
        )
        assert dispute.reviewer_id == world.reviewer.id and dispute.raised_by_id == world.agent_user.id
        [entry] = audit_of(session, "dispute", dispute.id)
        assert entry.action == "dispute.open" and entry.after["criterion"] == "accuracy"  # type: ignore[index]
        [notice] = notices(session, world.manager, "dispute")  # the team's manager resolves it
        assert notice.link == f"/disputes/{dispute.id}" and "Correct solution" in notice.title
        assert notices(session, world.other_manager, "dispute") == []
        assert notices(session, world.admin, "dispute") == []  # admins are told only when nobody else is

    def test_whole_review_and_another_criterion_may_be_open_together(
        self, session: Session, world: World
    ) -> None:
        review = failed_review(session, world)
        _open(session, world, review)
        _open(session, world, review, key=None)
        _open(session, world, review, key="tone")
        with pytest.raises(Conflict):
            _open(session, world, review)
        with pytest.raises(Conflict):
            _open(session, world, review, key="")  # "" is the whole review, as the form sends it

    def test_a_resolved_dispute_may_be_followed_by_a_new_one(self, session: Session, world: World) -> None:
        review = failed_review(session, world)
        first = _open(session, world, review)
        dispute_service.reject_dispute(
            session, actor=world.manager, dispute_id=first.id, comment="It stands."
        )
        assert _open(session, world, review, reason="Here is a screenshot.").id != first.id

    @pytest.mark.parametrize(
        ("reason", "field"),
        [("", "reason"), ("   \n ", "reason"), ("x" * 2001, "reason"), ("a\x00b", "reason")],
    )
    def test_bad_reason_is_invalid(self, session: Session, world: World, reason: str, field: str) -> None:
        review = failed_review(session, world)
        with pytest.raises(InvalidInput) as err:
            _open(session, world, review, reason=reason)
        assert err.value.field == field
        assert session.exec(select(Dispute)).all() == []

    def test_unknown_criterion_is_invalid(self, session: Session, world: World) -> None:
        review = failed_review(session, world)
        with pytest.raises(InvalidInput) as err:
            _open(session, world, review, key="bogus")
        assert err.value.field == "criterion"

    def test_only_the_agent_and_only_their_own_submitted_manual_reviews(
        self, session: Session, world: World
    ) -> None:
        review = failed_review(session, world)
        with pytest.raises(NotFound):
            dispute_service.open_dispute(
                session,
                actor=world.other_agent_user,
                review_id=review.id,
                criterion_key=None,
                reason="Not mine",
            )
        for staff in (world.reviewer, world.manager, world.admin):
            with pytest.raises(Forbidden):
                dispute_service.open_dispute(
                    session, actor=staff, review_id=review.id, criterion_key=None, reason="x"
                )
        draft = rated_review(
            session, world, conversation=world.conversation, reviewer=world.other_reviewer, submit=False
        )
        calibration = failed_review(session, world, reviewer=world.admin)
        calibration.kind = ReviewKind.calibration
        session.flush()
        for hidden in (draft, calibration):
            with pytest.raises(NotFound):
                _open(session, world, hidden)
        for bad_id in ("abc", -1, 2**40, None):
            with pytest.raises(NotFound):
                dispute_service.open_dispute(
                    session, actor=world.agent_user, review_id=bad_id, criterion_key=None, reason="x"
                )


class TestAccepting:
    def test_accepting_lifts_a_critical_fail_and_corrects_the_review(
        self, session: Session, world: World
    ) -> None:
        review = failed_review(session, world)
        assert (review.score, review.failed_critical, review.passed) == (0.0, True, False)
        dispute = _accept(session, world.manager, _open(session, world, review))
        session.refresh(review)
        assert review.score == pytest.approx(CORRECTED)  # (1·1 + 0.75·3 + 0.6·2) / 6 = 74.1666…
        assert (review.failed_critical, review.passed) == (False, False)  # below the pass mark of 80
        assert (dispute.status, dispute.resolved_by_id) == ("accepted", world.manager.id)
        assert dispute.resolution_comment == "You're right, the fix was correct."
        assert dispute.before == {
            "ratings": {"greeting": "Yes", "accuracy": "2", "tone": "OK"},
            "score": 0.0,
            "passed": False,
            "failed_critical": True,
        }
        assert dispute.after["ratings"]["accuracy"] == "4"  # type: ignore[index]
        assert dispute.after["score"] == pytest.approx(CORRECTED)  # type: ignore[index]
        rating = session.exec(
            select(Rating).where(Rating.review_id == review.id, Rating.criterion_key == "accuracy")
        ).one()
        assert (rating.option_label, rating.option_score) == ("4", 0.75)

    def test_both_changes_are_audited_with_before_and_after(self, session: Session, world: World) -> None:
        review = failed_review(session, world)
        dispute = _accept(session, world.manager, _open(session, world, review))
        update = audit_of(session, "review", review.id)[-1]
        assert update.action == "review.update" and update.actor_id == world.manager.id
        assert update.before["score"] == 0.0 and update.before["ratings"]["accuracy"]["option"] == "2"  # type: ignore[index]
        assert update.after["dispute_id"] == dispute.id  # type: ignore[index]
        assert update.after["score"] == pytest.approx(CORRECTED)  # type: ignore[index]
        accept = audit_of(session, "dispute", dispute.id)[-1]
        assert accept.action == "dispute.accept"
        assert accept.before["status"] == "open" and accept.before["score"] == 0.0  # type: ignore[index]
        assert accept.after["status"] == "accepted" and accept.after["ratings"]["accuracy"] == "4"  # type: ignore[index]

    def test_the_agent_is_notified_without_names(self, session: Session, world: World) -> None:
        review = failed_review(session, world)
        _accept(session, world.manager, _open(session, world, review))
        [notice] = notices(session, world.agent_user, "dispute_outcome")
        assert notice.title == "Your dispute was accepted: score 0.0 \u2192 74.2"
        assert notice.link == f"/reviews/{review.id}#disputes"
        assert world.manager.name not in notice.title + notice.body

    def test_iqs_and_feedback_use_the_corrected_score(self, session: Session, world: World) -> None:
        failed = failed_review(session, world)
        rated_review(
            session, world, conversation=make_conversation(session, agent=world.agent, team=world.team)
        )
        today = datetime.now(UTC).date()
        piece = stats.Slice(start=today - timedelta(days=7), end=today + timedelta(days=1))
        before = stats.quality(session, world.admin, piece, by=("agent",))[world.agent.id]
        assert before.iqs == pytest.approx((0 + GOOD_SCORE) / 2) and before.critical_fails == 1
        _accept(session, world.manager, _open(session, world, failed))
        after = stats.quality(session, world.admin, piece, by=("agent",))[world.agent.id]
        assert after.iqs == pytest.approx((CORRECTED + GOOD_SCORE) / 2) and after.critical_fails == 0
        summary = review_service.my_feedback(session, actor=world.agent_user).summary
        assert summary.average_score == pytest.approx((CORRECTED + GOOD_SCORE) / 2)

    def test_ratings_other_than_the_disputed_one_may_change(self, session: Session, world: World) -> None:
        review = failed_review(session, world)
        _accept(session, world.manager, _open(session, world, review, key=None), accuracy="5", tone="Great")
        session.refresh(review)
        assert (review.score, review.passed) == (ALL_TOP, True)

    def test_na_is_allowed_where_the_criterion_allows_it(self, session: Session, world: World) -> None:
        review = failed_review(session, world)
        _accept(session, world.manager, _open(session, world, review), accuracy="5", tone=None)
        session.refresh(review)
        assert review.score == pytest.approx(100 * (1 + 3) / 4)  # tone N/A: left out of both sums

    def test_a_changed_rating_loses_its_root_cause_and_keeps_its_comment(
        self, session: Session, world: World
    ) -> None:
        review = failed_review(session, world)
        review_service.rate(
            session,
            actor=world.reviewer,
            review_id=review.id,
            criterion_key="tone",
            option_label="Poor",
            comment="Curt.",
            root_cause="Rude",
        )
        _accept(session, world.manager, _open(session, world, review, key="tone"), tone="OK", greeting="Yes")
        tone = session.exec(
            select(Rating).where(Rating.review_id == review.id, Rating.criterion_key == "tone")
        ).one()
        assert (tone.option_label, tone.root_cause, tone.comment) == ("OK", None, "Curt.")

    @pytest.mark.parametrize(
        ("ratings", "field"),
        [
            ({"accuracy": "9"}, "ratings[0].option"),
            ({"bogus": "1"}, "ratings[0].criterion"),
            ({"greeting": None}, "ratings[0].option"),  # greeting can't be N/A
            ({"accuracy": "2"}, "ratings"),  # nothing changed
        ],
    )
    def test_bad_ratings_are_invalid_and_change_nothing(
        self, session: Session, world: World, ratings: dict[str, str | None], field: str
    ) -> None:
        review = failed_review(session, world)
        dispute = _open(session, world, review)
        with pytest.raises(InvalidInput) as err:
            _accept(session, world.manager, dispute, **ratings)
        assert err.value.field == field
        session.refresh(dispute)
        session.refresh(review)
        assert (dispute.status, review.score) == ("open", 0.0)

    def test_a_resolved_dispute_is_a_conflict(self, session: Session, world: World) -> None:
        dispute = _accept(session, world.manager, _open(session, world, failed_review(session, world)))
        with pytest.raises(Conflict):
            _accept(session, world.manager, dispute, accuracy="5")
        with pytest.raises(Conflict):
            dispute_service.reject_dispute(session, actor=world.manager, dispute_id=dispute.id, comment="No")


class TestRejecting:
    def test_reject_needs_a_comment_and_leaves_the_review(self, session: Session, world: World) -> None:
        review = failed_review(session, world)
        dispute = _open(session, world, review)
        for bad in ("", "  ", "x" * 4001):
            with pytest.raises(InvalidInput):
                dispute_service.reject_dispute(
                    session, actor=world.manager, dispute_id=dispute.id, comment=bad
                )
        dispute_service.reject_dispute(
            session, actor=world.manager, dispute_id=dispute.id, comment="The refund went to the wrong card."
        )
        session.refresh(review)
        assert (dispute.status, review.score, dispute.before, dispute.after) == ("rejected", 0.0, None, None)
        entry = audit_of(session, "dispute", dispute.id)[-1]
        assert (entry.action, entry.before, entry.after["comment"]) == (  # type: ignore[index]
            "dispute.reject",
            {"status": "open"},
            "The refund went to the wrong card.",
        )
        assert [n.title for n in notices(session, world.agent_user, "dispute_outcome")] == [
            "Your dispute was rejected"
        ]


class TestWhoResolves:
    """contracts.md: designated resolvers if the team has any, else its managers; admins always;
    never the review's own reviewer."""

    def _matrix(self, session: Session, world: World) -> dict[str, User]:
        return {
            "agent": world.agent_user,
            "other_agent": world.other_agent_user,
            "reviewer": world.reviewer,
            "other_reviewer": world.other_reviewer,
            "manager": world.manager,
            "other_manager": world.other_manager,
            "admin": world.admin,
            "org_manager": make_user(session, role="manager"),
        }  # linked to no team: covers all

    def _may(self, session: Session, users: dict[str, User], dispute: Dispute) -> set[str]:
        return {
            name
            for name, u in users.items()
            if dispute_service.may_resolve(session, actor=u, dispute_id=dispute.id)
        }

    def _notified(self, session: Session, users: dict[str, User], review: Review) -> set[str]:
        ids = dispute_service.resolver_ids(
            session, team_id=world_team(session, review), reviewer_id=review.reviewer_id
        )
        return {name for name, u in users.items() if u.id in ids}

    def test_managers_covering_the_team_and_admins(self, session: Session, world: World) -> None:
        users = self._matrix(session, world)
        review = failed_review(session, world)
        dispute = _open(session, world, review)
        assert self._may(session, users, dispute) == {"manager", "org_manager", "admin"}
        assert self._notified(session, users, review) == {"manager", "org_manager"}

    def test_designated_resolvers_replace_the_managers(self, session: Session, world: World) -> None:
        users = self._matrix(session, world)
        designate(session, world.other_reviewer, world.team.id)
        review = failed_review(session, world)
        dispute = _open(session, world, review)
        assert self._may(session, users, dispute) == {"other_reviewer", "admin"}
        assert self._notified(session, users, review) == {"other_reviewer"}
        with pytest.raises(Forbidden):  # the team's manager may read it, not resolve it
            _accept(session, world.manager, dispute)
        with pytest.raises(NotFound):
            _accept(session, world.other_manager, dispute)
        detail = dispute_service.get_dispute(session, actor=world.other_reviewer, dispute_id=dispute.id)
        assert detail.can_resolve and not detail.review_visible  # reads the review through the dispute
        _accept(session, world.other_reviewer, dispute)
        session.refresh(review)
        assert review.score == pytest.approx(CORRECTED)

    def test_never_the_reviews_own_reviewer(self, session: Session, world: World) -> None:
        users = self._matrix(session, world)
        designate(session, world.reviewer, world.team.id)  # the team's only resolver wrote the review
        review = failed_review(session, world)
        dispute = _open(session, world, review)
        assert self._may(session, users, dispute) == {"manager", "org_manager", "admin"}
        with pytest.raises(Forbidden):  # they may read the dispute of their review, not decide it
            _accept(session, world.reviewer, dispute)
        admin_review = failed_review(
            session,
            world,
            reviewer=world.admin,
            conversation=make_conversation(session, agent=world.agent, team=world.team),
        )
        admin_dispute = _open(session, world, admin_review)
        assert "admin" not in self._may(session, users, admin_dispute)

    def test_a_conversation_without_a_team_goes_to_managers_of_all_teams(
        self, session: Session, world: World
    ) -> None:
        users = self._matrix(session, world)
        conversation = make_conversation(session, agent=world.agent, team=None, team_id=None)
        review = failed_review(session, world, conversation=conversation)
        assert self._may(session, users, _open(session, world, review)) == {"org_manager", "admin"}
        assert self._notified(session, users, review) == {"org_manager"}

    def test_admins_are_notified_when_nobody_else_resolves(self, session: Session, world: World) -> None:
        world.manager.is_active = False
        session.flush()
        users = self._matrix(session, world)
        users["org_manager"].is_active = False
        session.flush()
        review = failed_review(session, world)
        assert self._notified(session, users, review) == {"admin"}

    def test_inactive_designated_resolvers_do_not_count(self, session: Session, world: World) -> None:
        users = self._matrix(session, world)
        designate(session, world.other_reviewer, world.team.id)
        world.other_reviewer.is_active = False
        session.flush()
        review = failed_review(session, world)
        assert self._may(session, users, _open(session, world, review)) == {"manager", "org_manager", "admin"}


def world_team(session: Session, review: Review) -> int | None:
    from qa.models import Conversation

    conversation = session.get(Conversation, review.conversation_id)
    return conversation.team_id if conversation else None


class TestReading:
    def test_queue_lists_open_oldest_first_and_recently_resolved(
        self, session: Session, world: World
    ) -> None:
        first = _open(session, world, failed_review(session, world))
        second_review = failed_review(
            session, world, conversation=make_conversation(session, agent=world.agent, team=world.team)
        )
        second = _open(session, world, second_review, key=None)
        first.created_at = datetime(2026, 1, 1, tzinfo=UTC)
        second.created_at = first.created_at - timedelta(days=1)
        session.flush()
        queue = dispute_service.queue(session, actor=world.manager)
        assert [r.id for r in queue.open] == [second.id, first.id] and queue.resolved == []
        assert queue.open[0].target == "Whole review" and queue.open[1].target == "Correct solution"
        _accept(session, world.manager, first)
        queue = dispute_service.queue(session, actor=world.manager)
        assert [r.id for r in queue.open] == [second.id]
        [done] = queue.resolved
        assert (done.id, done.score_before, done.resolver_name) == (first.id, 0.0, world.manager.name)
        assert done.score_after == pytest.approx(CORRECTED)
        assert dispute_service.queue(session, actor=world.other_manager).open == []
        assert dispute_service.open_count(session, actor=world.manager) == 1
        assert dispute_service.open_count(session, actor=world.agent_user) == 0
        with pytest.raises(Forbidden):
            dispute_service.queue(session, actor=world.agent_user)

    def test_list_for_agents_and_resolvers(self, session: Session, world: World) -> None:
        review = failed_review(session, world)
        a = _open(session, world, review)
        b = _open(session, world, review, key=None)
        _accept(session, world.manager, a)
        rows, following = dispute_service.list_disputes(session, actor=world.agent_user)
        assert [r.id for r in rows] == [b.id, a.id] and following is None
        rows, _ = dispute_service.list_disputes(session, actor=world.manager, status="open")
        assert [r.id for r in rows] == [b.id]
        rows, following = dispute_service.list_disputes(session, actor=world.manager, limit=1)
        assert [r.id for r in rows] == [b.id] and following == b.id
        rows, _ = dispute_service.list_disputes(session, actor=world.manager, limit=1, before_id=following)
        assert [r.id for r in rows] == [a.id]
        assert dispute_service.list_disputes(session, actor=world.other_agent_user)[0] == []
        assert dispute_service.list_disputes(session, actor=world.other_manager)[0] == []
        with pytest.raises(InvalidInput):
            dispute_service.list_disputes(session, actor=world.manager, status="closed")

    def test_agents_see_qa_team_when_names_are_hidden(self, session: Session, world: World) -> None:
        review = failed_review(session, world)
        _accept(session, world.manager, _open(session, world, review))
        org_settings.put(session, actor=world.admin, key=org_settings.HIDE_REVIEWER_NAMES, value=True)
        [row] = dispute_service.review_disputes(session, actor=world.agent_user, review=review).rows
        assert (row.reviewer_name, row.resolver_name) == ("QA team", "QA team")
        [row] = dispute_service.review_disputes(session, actor=world.manager, review=review).rows
        assert (row.reviewer_name, row.resolver_name) == (world.reviewer.name, world.manager.name)
        detail = review_service.review_detail(session, actor=world.agent_user, review_id=review.id)
        assert detail.reviewer_label == "QA team"
        feedback = review_service.my_feedback(session, actor=world.agent_user)
        assert [r.reviewer_name for r in feedback.rows] == ["QA team"]
        org_settings.put(session, actor=world.admin, key=org_settings.HIDE_REVIEWER_NAMES, value=False)
        assert (
            review_service.review_detail(session, actor=world.agent_user, review_id=review.id).reviewer_label
            == world.reviewer.name
        )

    def test_feedback_states(self, session: Session, world: World) -> None:
        review = failed_review(session, world)
        other = rated_review(
            session, world, conversation=make_conversation(session, agent=world.agent, team=world.team)
        )
        _accept(session, world.manager, _open(session, world, review))
        _open(session, world, review, key=None)
        states = dispute_service.feedback_states(
            session, actor=world.agent_user, review_ids=[review.id or 0, other.id or 0]
        )
        assert set(states) == {review.id}
        state = states[review.id or 0]
        assert (state.open, state.accepted, state.rejected, state.score_before) == (1, 1, 0, 0.0)
        assert state.score_after == pytest.approx(CORRECTED)
        assert (
            dispute_service.feedback_states(
                session, actor=world.other_agent_user, review_ids=[review.id or 0]
            )
            == {}
        )


class TestStatistics:
    def test_per_reviewer_and_per_criterion(self, session: Session, world: World) -> None:
        """Hand-made: reviewer R writes 4 reviews (3 in March, 1 in April), reviewer S 1 in March.
        Disputes on R's March reviews: accepted (accuracy), rejected (tone), open (whole review);
        on R's April review: accepted (accuracy); S: none."""

        def review_on(day: date, reviewer: User) -> Review:
            conversation = make_conversation(session, agent=world.agent, team=world.team)
            made = failed_review(session, world, reviewer=reviewer, conversation=conversation)
            made.submitted_at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
            session.flush()
            return made

        r, s = world.reviewer, world.other_reviewer
        march = [review_on(date(2026, 3, d), r) for d in (2, 10, 31)]
        april = review_on(date(2026, 4, 1), r)
        review_on(date(2026, 3, 5), s)
        _accept(session, world.manager, _open(session, world, march[0]))
        rejected = _open(session, world, march[1], key="tone")
        dispute_service.reject_dispute(session, actor=world.manager, dispute_id=rejected.id, comment="No.")
        _open(session, world, march[2], key=None)
        _accept(session, world.manager, _open(session, world, april))

        got = dispute_service.dispute_stats(
            session, actor=world.manager, start=date(2026, 3, 1), end=date(2026, 3, 31)
        )
        by_name = {row.name: row for row in got.reviewers}
        assert (
            by_name[r.name].reviews,
            by_name[r.name].raised,
            by_name[r.name].accepted,
            by_name[r.name].rejected,
            by_name[r.name].open,
        ) == (3, 3, 1, 1, 1)
        assert by_name[r.name].rate == pytest.approx(100.0)
        assert (by_name[s.name].reviews, by_name[s.name].raised, by_name[s.name].rate) == (1, 0, 0.0)
        assert [row.name for row in got.reviewers] == [r.name, s.name]  # highest rate first
        assert [(c.key, c.name, c.raised, c.accepted) for c in got.criteria] == [
            ("accuracy", "Correct solution", 1, 1),
            ("tone", "Tone", 1, 0),
        ]

        everything = dispute_service.dispute_stats(session, actor=world.admin)
        row = {x.name: x for x in everything.reviewers}[r.name]
        assert (row.reviews, row.raised, row.accepted) == (4, 4, 2) and row.rate == pytest.approx(100.0)
        assert [(c.key, c.raised, c.accepted) for c in everything.criteria] == [
            ("accuracy", 2, 2),
            ("tone", 1, 0),
        ]
        assert (everything.raised, everything.accepted) == (4, 2)

        assert dispute_service.dispute_stats(session, actor=world.other_manager).reviewers == []
        assert (
            dispute_service.dispute_stats(session, actor=world.manager, team_id=world.other_team.id).reviewers
            == []
        )
        with pytest.raises(Forbidden):
            dispute_service.dispute_stats(session, actor=world.agent_user)
        with pytest.raises(InvalidInput):
            dispute_service.dispute_stats(
                session, actor=world.manager, start=date(2026, 4, 1), end=date(2026, 3, 1)
            )


class TestReviewNotifications:
    def test_first_submit_notifies_the_agent_once(self, session: Session, world: World) -> None:
        review = rated_review(session, world)
        [notice] = notices(session, world.agent_user, "review")
        assert notice.link == f"/reviews/{review.id}" and (world.conversation.subject or "") in notice.title
        assert world.reviewer.name not in notice.title + notice.body
        review_service.submit_review(session, actor=world.reviewer, review_id=review.id, comment="Edited")
        assert len(notices(session, world.agent_user, "review")) == 1
        assert notices(session, world.other_agent_user, "review") == []

    def test_api_create_notifies(self, session: Session, world: World) -> None:
        ratings = [RatingIn(criterion=k, option=v) for k, v in GOOD.items()]
        review = review_service.create_review(
            session,
            actor=world.reviewer,
            conversation_id=world.conversation.id,
            scorecard_id=world.version.scorecard_id,
            ratings=ratings,
        )
        assert [n.link for n in notices(session, world.agent_user, "review")] == [f"/reviews/{review.id}"]

    def test_drafts_do_not_notify(self, session: Session, world: World) -> None:
        rated_review(session, world, submit=False)
        assert notices(session, world.agent_user) == []

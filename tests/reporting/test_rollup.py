"""The report summaries (qa.reporting.rollup) always equal what the ratings themselves say.

Reviews are written, submitted, edited and re-rated through the real services, in random orders
(hypothesis); after every step the criterion_day table must equal a rebuild from the ratings, and
the organisation-wide criterion figures read from it must equal those read from the ratings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlmodel import Session

from qa.models import CriterionDay, Review
from qa.reporting import rollup, stats
from qa.reviews import service as review_service
from tests.reviews.helpers import World, make_world, rated_review

OPTIONS = {
    "greeting": ["Yes", "No"],
    "accuracy": ["1", "2", "3", "4", "5"],
    "tone": ["Poor", "OK", "Great", None],
}


def summary(session: Session) -> dict[tuple[object, ...], tuple[int, int]]:
    rows = session.execute(
        select(
            CriterionDay.day,
            CriterionDay.team_id,
            CriterionDay.channel,
            CriterionDay.scorecard_id,
            CriterionDay.criterion_key,
            CriterionDay.n,
            CriterionDay.total,
        )
    )
    return {tuple(str(v) for v in r[:5]): (r[5], r[6]) for r in rows if r[5]}


def rebuilt(session: Session) -> dict[tuple[object, ...], tuple[int, int]]:
    """What a rebuild from the ratings gives (computed, then rolled back)."""
    nested = session.begin_nested()
    rollup.rebuild(session.connection())
    found = summary(session)
    nested.rollback()
    return found


def test_new_review_copies_conversation_facts(session: Session) -> None:
    world = make_world(session)
    review = rated_review(session, world)
    assert (review.team_id, review.channel) == (world.conversation.team_id, str(world.conversation.channel))
    assert review.scorecard_id == world.version.scorecard_id


def test_rebuild_matches_after_submit_and_edit(session: Session) -> None:
    world = make_world(session)
    review = rated_review(session, world)
    assert summary(session) == rebuilt(session) != {}
    review_service.rate(
        session, actor=world.reviewer, review_id=review.id, criterion_key="tone", option_label=None
    )
    review_service.submit_review(session, actor=world.reviewer, review_id=review.id)
    assert summary(session) == rebuilt(session)
    draft = rated_review(session, world, reviewer=world.other_reviewer, submit=False)
    assert draft.status == "draft"
    assert summary(session) == rebuilt(session)  # drafts never count


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 2), st.sampled_from(sorted(OPTIONS)), st.integers(0, 4), st.booleans()),
        min_size=1,
        max_size=8,
    )
)
def test_summary_follows_any_sequence_of_changes(
    session: Session, steps: list[tuple[int, str, int, bool]]
) -> None:
    nested = session.begin_nested()
    try:
        world: World = make_world(session)
        reviewers = [world.reviewer, world.other_reviewer, world.manager]
        reviews: dict[int, Review] = {}
        for who, key, pick, submit in steps:
            actor = reviewers[who]
            if who not in reviews:
                reviews[who] = rated_review(session, world, reviewer=actor, submit=submit)
                continue
            options = OPTIONS[key]
            review_service.rate(
                session,
                actor=actor,
                review_id=reviews[who].id,
                criterion_key=key,
                option_label=options[pick % len(options)],
            )
            if submit:
                review_service.submit_review(session, actor=actor, review_id=reviews[who].id)
            session.flush()
            assert summary(session) == rebuilt(session)
        admin = world.admin
        today = datetime.now(UTC).date()
        piece = stats.Slice(today - timedelta(days=3), today + timedelta(days=1))
        fast = stats.criteria(session, admin, piece, by=("team",))
        slow = {k[0]: {} for k in stats.criteria(session, admin, piece, by=("team", "agent"))}
        for (team, _agent), means in stats.criteria(session, admin, piece, by=("team", "agent")).items():
            for c, m in means.items():
                n, t = slow[team].get(c, (0, 0.0))
                slow[team][c] = (n + m.n, t + m.n * (m.mean or 0))
        assert {t: {c: m.n for c, m in d.items()} for t, d in fast.items()} == {
            t: {c: v[0] for c, v in d.items()} for t, d in slow.items()
        }
        for t, d in fast.items():
            for c, m in d.items():
                assert m.mean == pytest.approx(slow[t][c][1] / slow[t][c][0], abs=1e-6)
    finally:
        nested.rollback()


def test_rebuild_command_restores_a_damaged_summary(session: Session) -> None:
    world = make_world(session)
    rated_review(session, world)
    expected = summary(session)
    session.execute(text("DELETE FROM criterion_day"))
    assert summary(session) == {}
    rollup.rebuild(session.connection())
    assert summary(session) == expected


def test_reimport_moving_a_conversation_moves_its_reviews_in_the_summary(session: Session) -> None:
    from qa.conversations.ingest import import_records
    from qa.models import Conversation, Team
    from tests.conversations.helpers import native
    from tests.factories import make_scorecard, make_user

    record = native()
    import_records(session, [record])
    conv = session.execute(
        select(Conversation).where(Conversation.external_id == record["external_id"])
    ).scalar_one()
    reviewer = make_user(session, role="reviewer")
    make_scorecard(session)
    review = review_service.start_review(session, actor=reviewer, conversation_id=conv.id)
    for key, label in {"greeting": "Yes", "accuracy": "4", "tone": "OK"}.items():
        review_service.rate(
            session, actor=reviewer, review_id=review.id, criterion_key=key, option_label=label
        )
    review_service.submit_review(session, actor=reviewer, review_id=review.id)
    billing = review.team_id
    import_records(session, [{**record, "team": "Escalations", "channel": "email"}])  # the ticket moved
    session.expire_all()
    moved = session.get(Review, review.id)
    assert moved is not None
    escalations = session.execute(select(Team.id).where(Team.name == "Escalations")).scalar_one()
    assert (moved.team_id, moved.channel) == (escalations, "email") and billing != escalations
    assert summary(session) == rebuilt(session)
    assert {k[1] for k in summary(session)} == {str(escalations)}



def test_reports_name_criteria_by_published_versions_only(session: Session) -> None:
    """A draft being edited (a renamed criterion) does not leak into reports until it is published."""
    from qa.scorecard_admin import editor
    from tests.factories import make_scorecard

    version = make_scorecard(session)
    editor.update_criterion(session, actor=None, scorecard_id=version.scorecard_id, key="greeting",
                            criterion={"name": "Warm welcome", "section": "Opening", "scale": "binary",
                                       "weight": 1})
    assert editor.get_draft(session, version.scorecard_id) is not None
    assert stats.criterion_names(session, ["greeting"]) == {"greeting": "Greeting"}
    editor.publish_draft(session, actor=None, scorecard_id=version.scorecard_id)
    assert stats.criterion_names(session, ["greeting"]) == {"greeting": "Warm welcome"}

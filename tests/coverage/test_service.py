"""The coverage report's numbers, buckets, scoping and query count, straight through the service."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from scipy import stats
from sqlalchemy import event
from sqlmodel import Session

from qa.coverage import service as coverage_service
from qa.coverage.service import CoverageReport, CoverageRow
from qa.errors import Forbidden, InvalidInput, NotFound
from qa.models import User
from tests.coverage.helpers import WEEK1, WEEK2, Org, at, make_review
from tests.factories import make_agent, make_conversation, make_user


def report(session: Session, actor: User, *, start: date = WEEK1, end: date = WEEK2 + timedelta(days=6),
           period: coverage_service.Period = "week", team_id: int | None = None) -> CoverageReport:
    return coverage_service.coverage(session, actor=actor, start=start, end=end, team_id=team_id,
                                     period=period)


def rows_by_name(report: CoverageReport, start: date) -> dict[str, CoverageRow]:
    period = next(p for p in report.periods if p.start == start)
    return {row.name: row for row in period.rows} | {"total": period.total}


def t_margin(scores: Sequence[float], population: int) -> float:
    """The expected margin, computed independently with scipy.stats."""
    n = len(scores)
    mean = sum(scores) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in scores) / (n - 1))
    half = float(stats.t.interval(0.95, n - 1, loc=0, scale=sd / math.sqrt(n))[1])
    return half * math.sqrt((population - n) / (population - 1))


class TestNumbers:
    def test_an_agent_with_four_reviews(self, session: Session, org: Org) -> None:
        ann = rows_by_name(report(session, org.admin), WEEK1)["Ann Archer"]
        assert (ann.handled, ann.reviewed, ann.reviews, ann.scored) == (10, 4, 4, 4)
        assert ann.coverage == pytest.approx(40.0)
        assert ann.score == pytest.approx(85.0)
        assert ann.sd == pytest.approx(math.sqrt(500 / 3))  # 12.91
        # t(0.975, 3) = 3.182446 × 12.9099/√4 × √(6/9) = 16.773
        assert ann.margin == pytest.approx(16.77296, abs=1e-5)
        assert ann.margin == pytest.approx(t_margin([70, 80, 90, 100], 10), rel=1e-9)
        assert ann.interval == pytest.approx((85 - 16.77296, 100.0), abs=1e-5)  # 101.8 clipped to 100
        # n' = 8 gives 5.088, n' = 9 gives 3.308: five more.
        assert ann.needed == 5 and ann.status == "needs"

    def test_one_review_is_too_few_to_tell(self, session: Session, org: Org) -> None:
        bob = rows_by_name(report(session, org.admin), WEEK1)["Bob Baker"]
        assert (bob.handled, bob.reviewed, bob.scored, bob.score) == (3, 1, 1, 60.0)
        assert bob.sd is None and bob.margin is None and bob.needed is None and bob.interval is None
        assert bob.status == "too_few"

    def test_everything_reviewed_leaves_no_margin(self, session: Session, org: Org) -> None:
        bob = rows_by_name(report(session, org.admin), WEEK2)["Bob Baker"]
        assert (bob.handled, bob.reviewed, bob.score) == (2, 2, 60.0)
        assert bob.coverage == pytest.approx(100.0)
        assert bob.margin == 0.0 and bob.needed == 0 and bob.status == "within"

    def test_a_wide_interval_is_clipped_to_the_scale(self, session: Session, org: Org) -> None:
        cy = rows_by_name(report(session, org.admin), WEEK1)["Cy Cole"]
        assert cy.margin == pytest.approx(220.0779, abs=1e-4)  # t(0.975, 1) = 12.706: two reviews say little
        assert cy.interval == (0.0, 100.0)
        assert cy.needed == 3  # with 5 handled, only reviewing all of them gets under ±5

    def test_the_total_pools_the_period(self, session: Session, org: Org) -> None:
        total = rows_by_name(report(session, org.admin), WEEK1)["total"]
        scores = [70, 80, 90, 100, 60, 40, 80]
        assert (total.handled, total.reviewed, total.reviews, total.scored) == (18, 7, 7, 7)
        assert total.score == pytest.approx(sum(scores) / 7)
        assert total.margin == pytest.approx(t_margin(scores, 18), rel=1e-9)
        assert total.agent_id is None

    def test_conversations_without_an_agent_are_counted_apart(self, session: Session, org: Org) -> None:
        found = report(session, org.admin)
        assert found.without_agent == 1
        assert sum(p.total.handled for p in found.periods) == 18 + 2

    def test_a_conversation_reviewed_twice_counts_once(self, session: Session, org: Org) -> None:
        second = make_user(session, role="reviewer")
        make_review(session, org.conversations["ann_w1"][0], version=org.version, reviewer=second, score=90)
        ann = rows_by_name(report(session, org.admin), WEEK1)["Ann Archer"]
        # Conversation 1 now scores (70 + 90) / 2 = 80: scores 80, 80, 90, 100.
        assert (ann.reviewed, ann.reviews, ann.scored) == (4, 5, 4)
        assert ann.score == pytest.approx(87.5)
        assert ann.margin == pytest.approx(t_margin([80, 80, 90, 100], 10), rel=1e-9)

    def test_a_review_without_a_score_is_reviewed_but_not_scored(self, session: Session, org: Org) -> None:
        make_review(session, org.conversations["bob_w1"][1], version=org.version, reviewer=org.reviewer,
                    score=None)
        bob = rows_by_name(report(session, org.admin), WEEK1)["Bob Baker"]
        assert (bob.reviewed, bob.reviews, bob.scored, bob.score) == (2, 2, 1, 60.0)


class TestPeriods:
    def test_weeks_newest_first_and_reviews_follow_their_conversation(self, session: Session,
                                                                      org: Org) -> None:
        found = report(session, org.admin)
        assert [(p.start, p.end) for p in found.periods] == [
            (WEEK2, WEEK2 + timedelta(days=6)), (WEEK1, WEEK1 + timedelta(days=6))]
        assert [p.label for p in found.periods] == ["Week 11 · 9 – 15 Mar 2026", "Week 10 · 2 – 8 Mar 2026"]
        # Bob's week-1 review was submitted in week 2 but belongs to his week-1 conversation.
        assert rows_by_name(found, WEEK1)["Bob Baker"].reviewed == 1
        assert set(rows_by_name(found, WEEK2)) == {"Bob Baker", "total"}

    def test_week_boundary_is_sunday_midnight_utc(self, session: Session, org: Org) -> None:
        agent = make_agent(session, team=org.team_a, name="Edge Case")
        make_conversation(session, agent=agent, created_at=at(WEEK2 - timedelta(days=1), 23, 59, 59))
        make_conversation(session, agent=agent, created_at=at(WEEK2, 0, 0, 0))
        make_conversation(session, agent=agent, created_at=at(WEEK2, 0, 0, 1))
        found = report(session, org.admin)
        assert rows_by_name(found, WEEK1)["Edge Case"].handled == 1
        assert rows_by_name(found, WEEK2)["Edge Case"].handled == 2

    def test_range_ends_are_whole_utc_days(self, session: Session, org: Org) -> None:
        agent = make_agent(session, team=org.team_a, name="Edge Case")
        make_conversation(session, agent=agent, created_at=at(WEEK1, 0, 0, 0))
        make_conversation(session, agent=agent, created_at=at(WEEK1 + timedelta(days=6), 23, 59, 59))
        make_conversation(session, agent=agent, created_at=at(WEEK1 - timedelta(days=1), 23, 59, 59))
        make_conversation(session, agent=agent, created_at=at(WEEK1 + timedelta(days=7)))
        found = report(session, org.admin, end=WEEK1 + timedelta(days=6))
        assert len(found.periods) == 1
        assert rows_by_name(found, WEEK1)["Edge Case"].handled == 2

    def test_months_are_calendar_months_clipped_to_the_range(self, session: Session, org: Org) -> None:
        agent = make_agent(session, team=org.team_a, name="Edge Case")
        make_conversation(session, agent=agent, created_at=at(date(2026, 2, 28), 23, 59, 59))
        make_conversation(session, agent=agent, created_at=at(date(2026, 3, 1), 0, 0, 0))
        found = report(session, org.admin, start=date(2026, 2, 10), end=date(2026, 3, 31), period="month")
        assert [(p.start, p.end, p.label) for p in found.periods] == [
            (date(2026, 3, 1), date(2026, 3, 31), "March 2026"),
            (date(2026, 2, 10), date(2026, 2, 28), "February 2026 (10 – 28 Feb 2026)")]
        assert rows_by_name(found, date(2026, 3, 1))["Edge Case"].handled == 1
        assert rows_by_name(found, date(2026, 2, 10))["Edge Case"].handled == 1
        march = rows_by_name(found, date(2026, 3, 1))
        assert march["Ann Archer"].handled == 11 and march["Ann Archer"].reviewed == 5  # the 16th included

    def test_december_rolls_into_january(self, session: Session, org: Org) -> None:
        found = report(session, org.admin, start=date(2025, 12, 20), end=date(2026, 1, 10), period="month")
        assert [p.start for p in found.periods] == [date(2026, 1, 1), date(2025, 12, 20)]

    def test_all_is_one_period(self, session: Session, org: Org) -> None:
        found = report(session, org.admin, period="all")
        assert len(found.periods) == 1
        period = found.periods[0]
        assert (period.start, period.end) == (WEEK1, WEEK2 + timedelta(days=6))
        assert period.label == "2 – 15 Mar 2026"
        bob = rows_by_name(found, WEEK1)["Bob Baker"]
        assert (bob.handled, bob.reviewed, bob.score) == (5, 3, 60.0)
        assert bob.margin == pytest.approx(t_margin([60, 50, 70], 5), rel=1e-9)

    def test_empty_weeks_are_listed(self, session: Session, org: Org) -> None:
        found = report(session, org.admin, start=WEEK2 + timedelta(days=7), end=WEEK2 + timedelta(days=20))
        assert [len(p.rows) for p in found.periods] == [0, 1]  # the 16th has one of Ann's
        assert found.periods[0].total.coverage is None


class TestScope:
    def names(self, found: CoverageReport) -> set[str]:
        return {row.name for period in found.periods for row in period.rows}

    def test_managers_see_their_teams(self, session: Session, org: Org) -> None:
        assert self.names(report(session, org.manager_a)) == {"Ann Archer", "Bob Baker"}
        assert self.names(report(session, org.manager_b)) == {"Cy Cole"}
        assert self.names(report(session, org.manager_all)) == {"Ann Archer", "Bob Baker", "Cy Cole"}

    def test_reviewers_see_the_teams_they_review(self, session: Session, org: Org) -> None:
        assert self.names(report(session, org.reviewer_b)) == {"Cy Cole"}
        assert self.names(report(session, org.reviewer)) == {"Ann Archer", "Bob Baker", "Cy Cole"}

    def test_team_filter(self, session: Session, org: Org) -> None:
        found = report(session, org.admin, team_id=org.team_b.id)
        assert self.names(found) == {"Cy Cole"} and found.team_name == "Beta support"
        assert found.without_agent == 0

    def test_another_managers_team_is_not_found(self, session: Session, org: Org) -> None:
        with pytest.raises(NotFound):
            report(session, org.manager_a, team_id=org.team_b.id)
        with pytest.raises(NotFound):
            report(session, org.admin, team_id=987654)

    def test_agents_are_refused(self, session: Session, org: Org) -> None:
        with pytest.raises(Forbidden):
            report(session, org.agent_user)

    def test_team_choices_follow_the_scope(self, session: Session, org: Org) -> None:
        mine = coverage_service.team_choices(session, actor=org.manager_a)
        assert [t.name for t in mine] == ["Alpha support"]
        names = [t.name for t in coverage_service.team_choices(session, actor=org.admin)]
        assert {"Alpha support", "Beta support"} <= set(names)


class TestQuery:
    def test_default_is_the_last_four_complete_weeks(self) -> None:
        assert coverage_service.default_range(date(2026, 3, 18)) == (date(2026, 2, 16), date(2026, 3, 15))
        assert coverage_service.default_range(date(2026, 3, 16)) == (date(2026, 2, 16), date(2026, 3, 15))
        query = coverage_service.parse_query({}, today=date(2026, 3, 22))
        assert (query.start, query.end, query.period, query.team_id) == (
            date(2026, 2, 16), date(2026, 3, 15), "week", None)

    def test_from_and_to_are_aliases(self) -> None:
        query = coverage_service.parse_query({"from": "2026-01-01", "to": "2026-01-31", "period": "month",
                                              "team": "7"})
        assert (query.start, query.end, query.period, query.team_id) == (
            date(2026, 1, 1), date(2026, 1, 31), "month", 7)

    @pytest.mark.parametrize(("params", "field"), [
        ({"start": "2026-13-01"}, "start"),
        ({"start": "yesterday"}, "start"),
        ({"end": "2026-02-30"}, "end"),
        ({"start": "0001-01-01"}, "start"),
        ({"start": "20260301"}, "start"),
        ({"start": "2026-03-10", "end": "2026-03-01"}, "start"),
        ({"period": "year"}, "period"),
        ({"start": "2020-01-01", "end": "2026-01-01", "period": "week"}, "period"),
    ])
    def test_bad_parameters_name_the_field(self, params: dict[str, str], field: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            coverage_service.parse_query(params, today=date(2026, 3, 18))
        assert caught.value.field == field

    @pytest.mark.parametrize("team", ["abc", "-1", "1e3", "9" * 30])
    def test_a_team_that_is_not_an_id_is_not_found(self, team: str) -> None:
        with pytest.raises(NotFound):
            coverage_service.parse_query({"team": team})

    def test_a_long_range_by_month_or_all_is_fine(self) -> None:
        assert coverage_service.parse_query({"start": "2022-01-01", "end": "2026-01-01",
                                             "period": "month"}).period == "month"
        assert coverage_service.parse_query({"start": "1990-01-01", "end": "2026-01-01",
                                             "period": "all"}).period == "all"


@contextmanager
def count_statements(session: Session) -> Iterator[list[str]]:
    """Every SQL statement the session's connection runs inside the block."""
    seen: list[str] = []
    connection = session.connection()

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", record)


class TestQueries:
    """Aggregated in SQL: the number of statements does not grow with the number of agents."""

    def add_agents(self, session: Session, org: Org, count: int) -> None:
        team = org.team_a
        for i in range(count):
            agent = make_agent(session, team=team)
            for day in range(3):
                when = at(WEEK1 + timedelta(days=day))
                conversation = make_conversation(session, agent=agent, created_at=when)
                if day < 2:
                    make_review(session, conversation, version=org.version, reviewer=org.reviewer,
                                score=50 + 10 * day + i)

    @pytest.mark.parametrize("actor", ["admin", "manager_a"])
    def test_constant_number_of_queries(self, session: Session, org: Org, actor: str) -> None:
        user = getattr(org, actor)
        session.flush()
        with count_statements(session) as few:
            small = report(session, user)
        self.add_agents(session, org, 12)
        session.flush()
        with count_statements(session) as many:
            big = report(session, user)
        assert len(big.periods[1].rows) == len(small.periods[1].rows) + 12
        assert len(many) == len(few) <= 5, many  # scope (user_team) twice, teams, handled, reviews

"""The dashboard's figures against hand-computed values (the data set is in dashboard_data.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from qa.errors import Forbidden, InvalidInput, NotFound
from qa.models import Review, ReviewKind, ReviewStatus, User
from qa.reporting import dashboard as dash
from tests.factories import make_agent, make_conversation, make_user
from tests.reporting.dashboard_data import (  # noqa: F401 (fixtures)
    END,
    START,
    Org,
    app_fixture,
    at,
    dashboard_app_fixture,
    dashboard_db_fixture,
    org_fixture,
    session_fixture,
)

approx = pytest.approx


FILTERS = dash.Filters(start=START, end=END, preset="custom")


def board(session: Session, actor: User, **changes: Any) -> dash.Dashboard:
    heat = changes.pop("heat", "teams")
    query = changes.pop("agent_query", None)
    return dash.dashboard(
        session, actor=actor, filters=replace(FILTERS, **changes), agent_query=query, heat_rows=heat
    )


def by_name(rows: list[Any]) -> dict[str, Any]:
    return {r.name: r for r in rows}


class TestOverview:
    def test_overall_and_previous(self, session: Session, org: Org) -> None:
        view = board(session, org.admin).overview
        # r1..r10: 100 + 68.75 + 100 + 0 + 93.75 + 50 + 43.75 + 87.5 + 62.5 + 100 = 706.25 → / 10
        assert view.overall.reviews == 10 and view.overall.iqs == approx(70.625)
        assert (view.overall.passed, view.overall.judged) == (5, 10)  # r1 r3 r5 r8 r10 ≥ 80
        assert view.overall.critical_fails == 1  # r4
        # 300+600+200+400+500+100+300+400+600+200 = 3600 s / 10
        assert view.overall.avg_seconds == approx(360)
        # previous period 16 Feb – 1 Mar: p1 75, p2 93.75, p3 100 → 268.75 / 3 = 89.583
        assert view.previous.reviews == 3 and view.previous.iqs == approx(89.58333, abs=1e-4)
        assert view.change == approx(70.625 - 268.75 / 3)

    def test_weekly_trend_for_the_organisation_and_each_team(self, session: Session, org: Org) -> None:
        view = board(session, org.admin).overview
        assert [(w.monday, w.start, w.end) for w in view.weeks] == [
            (date(2026, 3, 2), date(2026, 3, 2), date(2026, 3, 8)),
            (date(2026, 3, 9), date(2026, 3, 9), date(2026, 3, 15)),
        ]
        # week 1: r1 100, r2 68.75, r4 0, r7 43.75 → 212.5 / 4; week 2: r3 r5 r6 r8 r9 r10 → 493.75 / 6
        assert [q.iqs if q else None for q in view.org.weeks] == approx([53.125, 493.75 / 6])
        teams = by_name(view.teams)
        assert list(teams) == ["Alpha", "Beta"]  # most reviews first: 6, 4
        # Alpha: week 1 r1 r2 r4 = 168.75 / 3, week 2 r3 r5 r6 = 243.75 / 3; whole 412.5 / 6
        assert [q.iqs for q in teams["Alpha"].weeks if q] == approx([56.25, 81.25])
        assert teams["Alpha"].total.iqs == approx(68.75) and teams["Alpha"].total.critical_fails == 1
        assert teams["Alpha"].total.pass_rate == approx(50)  # r1 r3 r5 of 6
        # Beta: week 1 r7 43.75, week 2 r8 r9 r10 = 250 / 3; whole 293.75 / 4
        assert [q.iqs for q in teams["Beta"].weeks if q] == approx([43.75, 250 / 3])
        assert teams["Beta"].total.iqs == approx(73.4375)
        series = view.chart_series()
        assert [s["name"] for s in series] == ["All teams", "Alpha", "Beta"]
        assert [s["class"] for s in series] == ["series-0", "series-1", "series-2"]

    def test_a_partial_week_is_clipped_and_an_empty_week_is_a_gap(self, session: Session, org: Org) -> None:
        # 4 – 17 March: weeks of 2, 9 and 16 March; r1 (3 Mar) is out, "late" (16 Mar, 100) is in.
        view = board(session, org.admin, start=date(2026, 3, 4), end=date(2026, 3, 17)).overview
        assert [(w.start, w.end) for w in view.weeks] == [
            (date(2026, 3, 4), date(2026, 3, 8)),
            (date(2026, 3, 9), date(2026, 3, 15)),
            (date(2026, 3, 16), date(2026, 3, 17)),
        ]
        alpha = by_name(view.teams)["Alpha"]
        assert alpha.weeks[2] is not None and alpha.weeks[2].iqs == 100
        assert by_name(view.teams)["Beta"].weeks[2] is None
        # week 1 without r1: r2 68.75, r4 0, r7 43.75
        assert view.org.weeks[0] is not None and view.org.weeks[0].iqs == approx(112.5 / 3)

    def test_filters_narrow_every_figure(self, session: Session, org: Org) -> None:
        email = board(session, org.admin, channel="email")
        # r2 68.75 (Alpha) and r9 62.5 (Beta)
        assert email.overview.overall.iqs == approx(65.625) and email.overview.overall.reviews == 2
        assert {r.name: r.reviews for r in email.all_agents} == {"Ann": 1, "Dee": 1}
        alpha = board(session, org.admin, team_id=org.alpha.id)
        assert alpha.overview.overall.iqs == approx(68.75)
        assert {r.name for r in alpha.all_agents} == {"Ann", "Bob", "Eve"}
        assert [r.name for r in alpha.heat.rows] == ["Alpha"]
        phone = board(session, org.admin, scorecard_id=org.phone_scorecard_id)
        assert phone.overview.overall.reviews == 0 and phone.reviewers == [] and phone.heat.columns == []
        # Its agents still handled conversations, none reviewed with this scorecard: coverage 0.
        assert {r.name: (r.reviewed, r.handled) for r in phone.all_agents}["Ann"] == (0, 5)
        support = board(session, org.admin, scorecard_id=org.v1.scorecard_id)
        assert support.overview.overall.reviews == 10


class TestAgents:
    def test_every_column(self, session: Session, org: Org) -> None:
        rows = by_name(board(session, org.admin).all_agents)
        ann, bob, cy, dee, eve = (rows[n] for n in ("Ann", "Bob", "Cy", "Dee", "Eve"))
        # Ann: r1 100, r2 68.75, r3 100 → 268.75 / 3 = 89.583; previous p1 75 → +14.583
        assert (ann.reviews, ann.iqs) == (3, approx(89.58333, abs=1e-4))
        assert ann.change == approx(14.58333, abs=1e-4)
        assert ann.pass_rate == approx(200 / 3) and ann.critical_fails == 0 and ann.team == "Alpha"
        # Ann's conversations created 2–15 Mar: r1 r2 r3, the draft's, one unreviewed → 3 / 5
        assert (ann.reviewed, ann.handled, ann.coverage) == (3, 5, 60)
        # Bob: r4 0, r5 93.75, r6 50 → 143.75 / 3 = 47.917; previous p2 93.75 → −45.833
        assert bob.iqs == approx(47.91667, abs=1e-4) and bob.change == approx(-45.83333, abs=1e-4)
        assert bob.critical_fails == 1 and bob.pass_rate == approx(100 / 3)
        # Bob's conversations: r4 r5 r6 and the calibration review's (not counted) → 3 / 4
        assert (bob.reviewed, bob.handled) == (3, 4)
        # Cy: r7 43.75, r8 87.5 → 65.625; previous p3 100 → −34.375. r8's conversation is from
        # 27 Feb: in the scores, not in coverage → r7's + two unreviewed = 1 / 3
        assert cy.iqs == approx(65.625) and cy.change == approx(-34.375)
        assert (cy.reviewed, cy.handled) == (1, 3) and cy.coverage == approx(100 / 3)
        # Dee: r9 62.5, r10 100 → 81.25, nothing before → no change; 2 / 2
        assert dee.iqs == approx(81.25) and dee.change is None and dee.coverage == 100
        # Eve: no counted review (the auto review doesn't count) → no IQS, coverage 0 / 3
        assert (eve.reviews, eve.iqs, eve.reviewed, eve.handled) == (0, None, 0, 3)

    SORTED = [
        ("iqs", False, ["Bob", "Cy", "Dee", "Ann", "Eve"]),  # 47.9, 65.6, 81.25, 89.6; no IQS last
        ("iqs", True, ["Ann", "Dee", "Cy", "Bob", "Eve"]),  # empty values stay last
        ("agent", False, ["Ann", "Bob", "Cy", "Dee", "Eve"]),
        ("team", True, ["Cy", "Dee", "Ann", "Bob", "Eve"]),  # Beta, Beta, Alpha ×3 (ties by name)
        ("reviews", True, ["Ann", "Bob", "Cy", "Dee", "Eve"]),  # 3, 3, 2, 2, 0
        ("change", False, ["Bob", "Cy", "Ann", "Dee", "Eve"]),  # −45.8, −34.4, +14.6, none, none
        ("pass_rate", True, ["Ann", "Cy", "Dee", "Bob", "Eve"]),  # 66.7, 50, 50, 33.3, none
        ("critical_fails", True, ["Bob", "Ann", "Cy", "Dee", "Eve"]),  # 1, then 0s by name
        ("coverage", True, ["Dee", "Bob", "Ann", "Cy", "Eve"]),  # 100, 75, 60, 33.3, 0
    ]

    def test_sorting_by_every_column(self, session: Session, org: Org) -> None:
        rows = board(session, org.admin).all_agents
        for sort, descending, expected in self.SORTED:
            query = dash.AgentQuery(sort=sort, descending=descending)
            assert [r.name for r in dash.agents_table(rows, query).rows] == expected, (sort, descending)
        assert {s for s, _, _ in self.SORTED} == set(dash.SORTS)

    def test_search_and_narrowing(self, session: Session, org: Org) -> None:
        rows = board(session, org.admin).all_agents

        def names(**kw: Any) -> list[str]:
            return [r.name for r in dash.agents_table(rows, dash.AgentQuery(sort="agent", **kw)).rows]

        assert names(search="E") == ["Dee", "Eve"]  # case-insensitive "e"
        assert names(min_reviews=3) == ["Ann", "Bob"]
        assert names(below=70) == ["Bob", "Cy"]  # 47.9, 65.6; Eve has no IQS, so isn't below
        assert names(below=47.9) == []  # Bob is 47.917
        assert names(search="zz") == []

    def test_paging(self, session: Session, org: Org) -> None:
        rows = board(session, org.admin).all_agents
        second = dash.agents_table(rows, dash.AgentQuery(sort="agent", size=2, page=2))
        assert [r.name for r in second.rows] == ["Cy", "Dee"] and second.pages == 3 and second.matching == 5
        past = dash.agents_table(rows, dash.AgentQuery(sort="agent", size=2, page=99))
        assert past.query.page == 3 and [r.name for r in past.rows] == ["Eve"]


class TestHeatMap:
    def test_teams_by_criterion_key(self, session: Session, org: Org) -> None:
        heat = board(session, org.admin).heat
        # Newest version's order (accuracy, tone, empathy), then greeting (only in v1); newest names.
        assert heat.columns == [
            ("accuracy", "Correct solution"),
            ("tone", "Tone of voice"),
            ("empathy", "Empathy"),
            ("greeting", "Greeting"),
        ]
        rows = by_name(heat.rows)
        alpha, beta = rows["Alpha"].cells, rows["Beta"].cells
        # Alpha accuracy: r1 1, r2 .75 (after the accepted dispute), r3 1, r4 .25, r5 .75, r6 1 → 4.75 / 6
        assert (alpha["accuracy"].n, alpha["accuracy"].mean) == (6, approx(79.16667, abs=1e-4))
        # Alpha tone: r1 1, r2 .5, r3 1, r4 1, r5 1 (r6 N/A left out) → 4.5 / 5
        assert (alpha["tone"].n, alpha["tone"].mean) == (5, approx(90))
        # empathy (v2): r3 1, r5 1, r6 0; greeting (v1): r1 r2 r4 all Yes
        assert (alpha["empathy"].n, alpha["empathy"].mean) == (3, approx(200 / 3))
        assert (alpha["greeting"].n, alpha["greeting"].mean) == (3, approx(100))
        # Beta accuracy r7 .75, r8 .5, r9 .5, r10 1 → 2.75 / 4; tone .5, 1, .5, 1 → 75; greeting r8 only
        assert beta["accuracy"].mean == approx(68.75) and beta["tone"].mean == approx(75)
        assert (beta["greeting"].n, beta["empathy"].n) == (1, 3)
        # All: accuracy 7.5 / 10, tone 7.5 / 9, empathy 4 / 6, greeting 4 / 4
        overall = heat.overall.cells
        assert [overall[k].mean for k in ("accuracy", "tone", "empathy", "greeting")] == approx(
            [75, 250 / 3, 200 / 3, 100]
        )

    def test_agents_of_a_team(self, session: Session, org: Org) -> None:
        heat = board(session, org.admin, team_id=org.alpha.id, heat="agents").heat
        rows = by_name(heat.rows)
        assert list(rows) == ["Ann", "Bob"]  # Eve has no ratings
        # Ann accuracy 1, .75, 1 → 91.667; tone 1, .5, 1 → 83.333; empathy r3 1; no empathy for Bob's r4
        assert rows["Ann"].cells["accuracy"].mean == approx(275 / 3)
        assert rows["Ann"].cells["tone"].mean == approx(250 / 3)
        # Bob accuracy .25, .75, 1 → 66.667; tone r4 1, r5 1 (r6 N/A) → 100 over 2; empathy 1, 0 → 50
        assert rows["Bob"].cells["tone"] == (2, approx(100))
        assert rows["Bob"].cells["empathy"].mean == approx(50)
        assert heat.overall.cells["accuracy"].mean == approx(79.16667, abs=1e-4)  # Alpha's
        with pytest.raises(InvalidInput, match="Choose a team"):
            board(session, org.admin, heat="agents")

    @pytest.mark.parametrize(
        ("mean", "cls"),
        [
            (None, "heat-empty"),
            (0, "heat-0"),
            (49.9, "heat-0"),
            (50, "heat-1"),
            (70, "heat-2"),
            (89.99, "heat-3"),
            (90, "heat-4"),
            (100, "heat-4"),
        ],
    )
    def test_bands(self, mean: float | None, cls: str) -> None:
        assert dash.band(mean) == cls


class TestReviewers:
    def test_figures_leniency_and_disputes(self, session: Session, org: Org) -> None:
        rows = by_name(board(session, org.admin).reviewers)
        assert list(rows) == ["Rita", "Sam", "Tom"]  # 4, 3, 3 reviews (ties by name)
        rita, sam, tom = rows["Rita"], rows["Sam"], rows["Tom"]
        # Rita: r1 100, r4 0, r7 43.75, r10 100 → 243.75 / 4; time 300 400 300 200 → 300
        assert (rita.quality.reviews, rita.quality.iqs, rita.quality.avg_seconds) == (4, approx(60.9375), 300)
        # Leniency. Per agent: Ann (Rita 100, Sam 68.75, Tom 100), Bob (Rita 0, Sam 93.75 + 50),
        # Cy (Rita 43.75, Tom 87.5), Dee (Tom 62.5, Rita 100).
        # Rita: Ann 100 − (68.75+100)/2 = +15.625; Bob 0 − 71.875; Cy 43.75 − 87.5; Dee 100 − 62.5
        #   → (15.625 − 71.875 − 43.75 + 37.5) / 4 = −15.625
        assert rita.leniency == (approx(-15.625), 4, 4)
        # Sam: Ann 68.75 − 100 = −31.25 (×1); Bob (93.75+50)/2 − 0 = +71.875 (×2) → 112.5 / 3 = 37.5
        assert sam.leniency == (approx(37.5), 2, 3)
        # Tom: Ann 100 − 84.375 = 15.625; Cy 87.5 − 43.75 = 43.75; Dee 62.5 − 100 = −37.5 → 21.875 / 3
        assert tom.leniency is not None and tom.leniency.points == approx(21.875 / 3)
        # Disputes of the range's reviews: r2 accepted and r5 open (Sam), r7 rejected (Rita); p1's
        # rejected dispute is on a review of the previous period.
        assert sam.disputes == (2, 1, 0, 1, 2) and sam.dispute_rate == approx(200 / 3)
        assert rita.disputes == (1, 0, 1, 0, 1) and rita.dispute_rate == approx(25)
        assert tom.disputes == dash.NO_DISPUTES and tom.dispute_rate == 0

    def test_not_enough_overlap(self, session: Session, org: Org) -> None:
        # email: only r2 (Sam → Ann) and r9 (Tom → Dee): nobody else scored their agents
        rows = by_name(board(session, org.admin, channel="email").reviewers)
        assert set(rows) == {"Sam", "Tom"} and rows["Sam"].leniency is None and rows["Tom"].leniency is None

    def test_a_review_without_score_is_left_out_of_leniency(self, session: Session, org: Org) -> None:
        # Tom's review of Eve with an empty score (every criterion N/A): a review, but no score, so
        # it neither changes his average nor counts as an agent he scored.
        conversation = make_conversation(session, agent=org.agents["Eve"], created_at=at(10))
        session.add(
            Review(
                conversation_id=conversation.id or 0,
                version_id=org.v2.id or 0,
                reviewer_id=org.tom.id or 0,
                agent_id=org.agents["Eve"].id,
                kind=ReviewKind.manual,
                status=ReviewStatus.submitted,
                score=None,
                submitted_at=at(10),
            )
        )
        session.flush()
        tom = by_name(board(session, org.admin).reviewers)["Tom"]
        assert tom.quality.reviews == 4 and tom.quality.iqs == approx(250 / 3)  # the empty score is left out
        assert tom.leniency is not None and tom.leniency.agents == 3


class TestScope:
    def test_agents_may_not(self, session: Session, org: Org) -> None:
        with pytest.raises(Forbidden):
            board(session, org.agent_user)

    def test_a_manager_sees_only_their_teams(self, session: Session, org: Org) -> None:
        view = board(session, org.manager_alpha)
        assert [t.id for t in view.ctx.teams] == [org.alpha.id]
        assert view.overview.overall.iqs == approx(68.75)
        assert [t.name for t in view.overview.teams] == ["Alpha"]
        assert {r.name for r in view.all_agents} == {"Ann", "Bob", "Eve"}
        assert [r.name for r in view.heat.rows] == ["Alpha"]
        rows = by_name(view.reviewers)
        # Within Alpha: Rita r1 100, r4 0 → 50; leniency Ann +15.625, Bob −71.875 → −28.125
        assert rows["Rita"].quality.iqs == approx(50) and rows["Rita"].leniency == (approx(-28.125), 2, 2)
        assert rows["Rita"].disputes == dash.NO_DISPUTES  # r7 (rejected) is Beta's
        with pytest.raises(NotFound):
            board(session, org.manager_alpha, team_id=org.beta.id)

    def test_a_reviewer_sees_the_teams_they_review(self, session: Session, org: Org) -> None:
        view = board(session, org.reviewer_beta)
        assert view.overview.overall.iqs == approx(73.4375)
        assert {r.name for r in view.all_agents} == {"Cy", "Dee"}

    def test_unknown_team_and_scorecard(self, session: Session, org: Org) -> None:
        with pytest.raises(NotFound):
            board(session, org.admin, team_id=999_999)
        with pytest.raises(NotFound):
            board(session, org.admin, scorecard_id=999_999)


class TestParsing:
    TODAY = date(2026, 5, 20)

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({}, ("30d", date(2026, 4, 21), date(2026, 5, 20))),
            ({"range": "7d"}, ("7d", date(2026, 5, 14), date(2026, 5, 20))),
            ({"range": "90d"}, ("90d", date(2026, 2, 20), date(2026, 5, 20))),
            ({"range": "month"}, ("month", date(2026, 5, 1), date(2026, 5, 20))),
            ({"range": "quarter"}, ("quarter", date(2026, 4, 1), date(2026, 5, 20))),
            ({"start": "2026-03-02", "end": "2026-03-15"}, ("custom", START, END)),
            ({"range": "custom", "start": "2026-03-02"}, ("custom", START, date(2026, 5, 20))),
            ({"end": "2026-03-15"}, ("custom", date(2026, 2, 14), END)),
            # The form sends the dates it showed: unchanged dates follow the preset, edited ones win.
            (
                {
                    "range": "7d",
                    "start": "2026-04-21",
                    "end": "2026-05-20",
                    "shown": "2026-04-21..2026-05-20",
                },
                ("7d", date(2026, 5, 14), date(2026, 5, 20)),
            ),
            (
                {
                    "range": "30d",
                    "start": "2026-03-02",
                    "end": "2026-05-20",
                    "shown": "2026-04-21..2026-05-20",
                },
                ("custom", START, date(2026, 5, 20)),
            ),
            (
                {"range": "30d", "start": "2026-03-02", "end": "2026-03-15"},  # a link without `shown`
                ("30d", date(2026, 4, 21), date(2026, 5, 20)),
            ),
        ],
    )
    def test_ranges(self, params: dict[str, str], expected: tuple[str, date, date]) -> None:
        filters = dash.parse_filters(params, today=self.TODAY)
        assert (filters.preset, filters.start, filters.end) == expected

    def test_previous_period_and_url(self) -> None:
        filters = dash.parse_filters({"range": "7d", "team": "3", "channel": "chat"}, today=self.TODAY)
        assert (filters.previous().start, filters.previous().end) == (date(2026, 5, 7), date(2026, 5, 13))
        assert filters.params() == {"range": "7d", "team": "3", "channel": "chat"}
        assert filters.drill() == {"start": "2026-05-14", "end": "2026-05-20", "team": "3", "channel": "chat"}

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"range": "year"}, "range"),
            ({"start": "2026-02-30"}, "start"),
            ({"end": "yesterday"}, "end"),
            ({"start": "0001-01-01"}, "start"),
            ({"start": "9999-12-31"}, "start"),
            ({"start": "2026-03-15", "end": "2026-03-01"}, "start"),
            ({"start": "2020-01-01", "end": "2026-01-01"}, "start"),  # longer than stats.MAX_DAYS
            ({"channel": "fax"}, "channel"),
            ({"team": "abc"}, "team"),
            ({"team": "-1"}, "team"),
            ({"scorecard": "1.5"}, "scorecard"),
        ],
    )
    def test_bad_filters_name_the_field(self, params: dict[str, str], field: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            dash.parse_filters(params, today=self.TODAY)
        assert caught.value.field == field

    def test_a_huge_id_is_not_found(self) -> None:
        with pytest.raises(NotFound):
            dash.parse_filters({"team": "99999999999999999999"}, today=self.TODAY)

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"sort": "name"}, "sort"),
            ({"dir": "up"}, "dir"),
            ({"min_reviews": "-1"}, "min_reviews"),
            ({"below": "101"}, "below"),
            ({"below": "nan"}, "below"),
            ({"page": "0"}, "page"),
            ({"size": "100000"}, "size"),
            ({"min_reviews": "x"}, "min_reviews"),
        ],
    )
    def test_bad_agent_parameters(self, params: dict[str, str], field: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            dash.parse_agent_query(params)
        assert caught.value.field == field

    def test_agent_parameters(self) -> None:
        query = dash.parse_agent_query(
            {"sort": "coverage", "dir": "desc", "q": " ann ", "min_reviews": "2", "below": "80", "page": "3"}
        )
        assert query == dash.AgentQuery(
            sort="coverage", descending=True, search="ann", min_reviews=2, below=80, page=3
        )
        assert query.params(page=1) == {
            "sort": "coverage",
            "dir": "desc",
            "q": "ann",
            "min_reviews": "2",
            "below": "80",
        }
        assert dash.AgentQuery().params() == {}


@contextmanager
def count_queries(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        if not args[2].startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):  # the test's own savepoints
            statements.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


class TestQueryCount:
    def test_the_number_of_queries_does_not_grow_with_agents_or_reviewers(
        self, session: Session, engine: Engine, org: Org
    ) -> None:
        def run() -> list[str]:
            with count_queries(engine) as statements:
                view = board(session, org.manager_alpha)
            assert view.all_agents
            return statements

        before = run()
        # Ten more agents in Alpha, each reviewed by a new reviewer, plus conversations.
        for i in range(10):
            agent = make_agent(session, team=org.alpha, name=f"Extra {i}")
            reviewer = make_user(session, role="reviewer", name=f"Extra reviewer {i}")
            conversation = make_conversation(session, agent=agent, created_at=at(5))
            session.add(
                Review(
                    conversation_id=conversation.id or 0,
                    version_id=org.v2.id or 0,
                    reviewer_id=reviewer.id or 0,
                    agent_id=agent.id,
                    kind=ReviewKind.manual,
                    status=ReviewStatus.submitted,
                    score=50.0,
                    passed=False,
                    submitted_at=at(6),
                )
            )
        session.flush()
        after = run()
        assert len(after) == len(before), "\n".join(after)
        # choices 2, agents 4 (one is the previous period, which the overview reuses), overview 1,
        # heat map 3, reviewers 3, plus lookups of the manager's teams.
        aggregates = [s for s in before if "FROM user_team" not in s]
        assert len(aggregates) == 13, "\n".join(s.split("\n")[0][:90] for s in aggregates)


def test_weeks_cover_a_long_range(session: Session, org: Org) -> None:
    view = board(session, org.admin, start=START - timedelta(days=80)).overview
    assert len(view.weeks) == 14 and view.weeks[0].start == START - timedelta(days=80)
    assert sum(q.reviews for q in view.org.weeks if q) == 13  # the range's 10 and p1..p3

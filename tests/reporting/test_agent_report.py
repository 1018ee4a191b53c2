"""The agent report service against the hand-computed figures of report_data.py (read its docstring)."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session

from qa import org_settings
from qa.errors import InvalidInput, NotFound
from qa.reporting import agent_report as rs
from qa.reporting.agent_report import AgentReport, Period
from tests.reporting.report_data import END, START, Data

approx = pytest.approx


def report(
    db: Session,
    org: Data,
    actor_name: str = "admin",
    agent: str = "dana",
    start: date = START,
    end: date = END,
) -> AgentReport:
    actor = getattr(org, actor_name)
    return rs.agent_report(db, actor=actor, agent_id=getattr(org, agent).id, start=start, end=end)


class TestFigures:
    def test_hidden_reviewer_names_for_the_agent_only(self, db: Session, report_org: Data) -> None:
        """Runs before the other tests of the class: the setting must not leak into them (savepoints)."""
        org_settings.put(db, actor=report_org.admin, key=org_settings.HIDE_REVIEWER_NAMES, value=True)
        mine = report(db, report_org, "dana_user")
        assert {c.reviewer for c in mine.comments} == {"QA team"}
        assert {c.reviewer for c in report(db, report_org, "manager_billing").comments} == {
            "Rita Reed",
            "Sam Stone",
        }

    def test_headline_numbers(self, db: Session, report_org: Data) -> None:
        r = report(db, report_org)
        assert r.agent.name == "Dana Ruiz" and r.agent.team_name == "Billing"
        assert r.quality.reviews == 5 and r.quality.scored == 5
        assert r.iqs == approx(57.5)  # (100 + 37.5 + 0 + 62.5 + 87.5) / 5
        assert r.quality.passed == 2 and r.quality.judged == 5 and r.quality.pass_rate == approx(40.0)
        assert r.quality.critical_fails == 1
        assert r.previous.reviews == 2 and r.previous.iqs == approx(85.0)  # (86.667 + 83.333) / 2
        assert r.previous_period == Period(date(2026, 10, 14), date(2026, 11, 3))
        assert r.change == approx(-27.5)
        assert r.team is not None and r.team.reviews == 7
        assert r.team_iqs == approx(445 / 7)  # 63.571

    def test_weekly_trend_has_every_week_and_gaps(self, db: Session, report_org: Data) -> None:
        r = report(db, report_org)
        weeks = [(w.week, w.start, w.end, w.agent.reviews, w.agent.iqs) for w in r.weekly]
        assert weeks == [
            (date(2026, 11, 2), date(2026, 11, 4), date(2026, 11, 8), 2, approx(68.75)),
            (date(2026, 11, 9), date(2026, 11, 9), date(2026, 11, 15), 2, approx(31.25)),
            (date(2026, 11, 16), date(2026, 11, 16), date(2026, 11, 22), 0, None),  # the gap
            (date(2026, 11, 23), date(2026, 11, 23), date(2026, 11, 24), 1, approx(87.5)),
        ]
        team = [(w.team.reviews, w.team.iqs) for w in r.weekly if w.team]
        assert team == [(3, approx(237.5 / 3)), (2, approx(31.25)), (1, approx(57.5)), (1, approx(87.5))]
        assert [w.label for w in r.weekly] == ["2 Nov", "9 Nov", "16 Nov", "23 Nov"]

    def test_criteria_matched_by_key_with_the_newest_name(self, db: Session, report_org: Data) -> None:
        r = report(db, report_org)
        rows = [(c.key, c.name, c.n, c.mean, c.team_n, c.team_mean) for c in r.criteria]
        assert rows == [
            ("greeting", "Greeting", 5, approx(80.0), 7, approx(500 / 7)),
            ("accuracy", "Correct solution", 5, approx(65.0), 7, approx(500 / 7)),
            ("tone", "Tone of voice", 4, approx(50.0), 6, approx(60.0)),  # R4's N/A left out; v2's name
        ]
        assert [c.key for c in r.strongest] == ["greeting"]  # +8.6
        assert [c.key for c in r.weakest] == ["tone", "accuracy"]  # −10.0, then −6.4
        assert rs.call_out_reason(r.weakest[0], has_team=True) == "−10.0 vs the team (4 ratings)"
        assert rs.call_out_reason(r.strongest[0], has_team=True) == "+8.6 vs the team (5 ratings)"

    def test_root_causes_counted_on_rated_criteria_only(self, db: Session, report_org: Data) -> None:
        r = report(db, report_org)
        assert [(c.criterion_key, c.criterion_name, c.cause, c.count) for c in r.root_causes] == [
            ("accuracy", "Correct solution", "Incomplete", 2),  # R2 and the edited R4
            ("accuracy", "Correct solution", "Wrong answer", 1),
            ("tone", "Tone of voice", "Robotic", 1),  # not the calibration review's
            ("tone", "Tone of voice", "Rude", 1),  # not the draft's; R4's N/A "Too casual" is not counted
        ]

    def test_critical_fails_name_the_review_and_criterion(self, db: Session, report_org: Data) -> None:
        r = report(db, report_org)
        assert [
            (f.review_id, f.criterion_key, f.criterion_name, f.option_label, f.subject)
            for f in r.critical_fails
        ] == [(report_org.reviews["R3"].id, "accuracy", "Correct solution", "2", "=SUM(1,2) refund")]

    def test_comments_newest_first_without_uncounted_reviews(self, db: Session, report_org: Data) -> None:
        r = report(db, report_org)
        ids = report_org.reviews
        assert [(c.review_id, c.criterion_key, c.reviewer, c.text) for c in r.comments] == [
            (ids["R5"].id, "accuracy", "Rita Reed", "Check the refund policy"),
            (ids["R4"].id, None, "Sam Stone", "Solid, but verify the answer"),
            (ids["R3"].id, None, "Rita Reed", "Wrong refund amount"),
            (ids["R1"].id, None, "Rita Reed", "Great job"),
            (ids["R1"].id, "tone", "Rita Reed", "Warm and clear"),
        ]
        assert r.comments[0].criterion_name == "Correct solution"

    def test_summary_sentence(self, db: Session, report_org: Data) -> None:
        r = report(db, report_org, "dana_user")
        assert rs.summary_sentence(r, own=True) == (
            "Your quality score was 57.5 from 4 to 24 Nov 2026, down 27.5 from the 21 days before; "
            "your team's was 63.6."
        )
        r = report(db, report_org, "manager_billing")
        assert rs.summary_sentence(r, own=False) == (
            "Dana Ruiz's quality score was 57.5 from 4 to 24 Nov 2026, down 27.5 from the 21 days before; "
            "the Billing team's was 63.6."
        )
        empty = report(db, report_org, start=date(2026, 1, 1), end=date(2026, 1, 31))
        assert rs.summary_sentence(empty, own=True) == (
            "You have no reviews from 1 to 31 Jan 2026. Your team has no scored reviews in this period."
        )

    def test_a_period_of_one_week(self, db: Session, report_org: Data) -> None:
        r = report(db, report_org, start=date(2026, 11, 9), end=date(2026, 11, 15))
        assert (r.quality.reviews, r.iqs) == (2, approx(31.25))
        # the previous period is 2–8 Nov: R1, R2 and B1 (3 Nov 23:59:59): (100 + 37.5 + 86.667) / 3
        assert r.previous.reviews == 3 and r.previous.iqs == approx((100 + 37.5 + 520 / 6) / 3)
        assert r.change == approx(31.25 - (100 + 37.5 + 520 / 6) / 3)  # −43.5
        assert r.root_causes[0].cause in ("Incomplete", "Rude", "Wrong answer")
        assert [w.week for w in r.weekly] == [date(2026, 11, 9)]

    def test_an_agent_without_a_team(self, db: Session, report_org: Data) -> None:
        from tests.factories import make_agent

        loner = make_agent(db, name="No Team")
        r = rs.agent_report(db, actor=report_org.admin, agent_id=loner.id, start=START, end=END)
        assert r.team is None and r.quality.reviews == 0 and r.iqs is None
        assert all(w.team is None for w in r.weekly)
        assert rs.summary_sentence(r, own=False) == "No Team has no reviews from 4 to 24 Nov 2026."


class TestCallOuts:
    def row(self, key: str, mean: float, n: int, team: float | None) -> rs.CriterionRow:
        return rs.CriterionRow(key, key.title(), mean, n, team, 5 if team is not None else 0)

    def test_needs_enough_ratings_and_a_real_gap(self) -> None:
        rows = [
            self.row("a", 90, 1, 50),
            self.row("b", 70, 3, 70.01),
            self.row("c", 60, 2, 70),
            self.row("d", 95, 2, 80),
            self.row("e", 99, 4, 80),
            self.row("f", 85, 4, 80),
        ]
        strong, weak = rs.call_outs(rows, has_team=True)
        assert [r.key for r in strong] == ["e", "d"]  # a has too few ratings; f is third
        assert [r.key for r in weak] == ["c"]  # b's gap (−0.01) is noise

    def test_without_a_team_the_extremes(self) -> None:
        rows = [self.row("a", 90, 2, None), self.row("b", 40, 2, None), self.row("c", 60, 2, None)]
        strong, weak = rs.call_outs(rows, has_team=False)
        assert ([r.key for r in strong], [r.key for r in weak]) == (["a"], ["b"])


class TestPermissions:
    @pytest.mark.parametrize(
        ("actor", "agent"),
        [
            ("dana_user", "fay"),
            ("dana_user", "eli"),
            ("fay_user", "dana"),
            ("manager_tech", "dana"),
            ("manager_billing", "fay"),
            ("rita", "fay"),
        ],
    )
    def test_other_peoples_agents_are_not_found(
        self, db: Session, report_org: Data, actor: str, agent: str
    ) -> None:
        with pytest.raises(NotFound):
            report(db, report_org, actor, agent)

    @pytest.mark.parametrize(
        ("actor", "agent"),
        [
            ("dana_user", "dana"),
            ("manager_billing", "dana"),
            ("manager_tech", "fay"),
            ("rita", "dana"),
            ("sam", "fay"),
            ("sam", "dana"),
            ("admin", "fay"),
        ],
    )
    def test_allowed(self, db: Session, report_org: Data, actor: str, agent: str) -> None:
        assert report(db, report_org, actor, agent).quality.reviews >= 1

    @pytest.mark.parametrize("agent_id", ["999999", "abc", "-1", "99999999999", "1.5", ""])
    def test_unknown_ids(self, db: Session, report_org: Data, agent_id: str) -> None:
        with pytest.raises(NotFound):
            rs.agent_report(db, actor=report_org.admin, agent_id=agent_id, start=START, end=END)

    def test_the_agent_sees_the_same_figures_as_the_manager(self, db: Session, report_org: Data) -> None:
        mine, theirs = report(db, report_org, "dana_user"), report(db, report_org, "manager_billing")
        assert (mine.iqs, mine.team_iqs, mine.quality, mine.criteria) == (
            theirs.iqs,
            theirs.team_iqs,
            theirs.quality,
            theirs.criteria,
        )
        assert not mine.team_linked and theirs.team_linked

    def test_a_reviewer_may_open_only_their_own_reviews(self, db: Session, report_org: Data) -> None:
        ids = report_org.reviews
        assert report(db, report_org, "rita").openable == {ids["R5"].id, ids["R3"].id, ids["R1"].id}
        assert report(db, report_org, "manager_billing").openable == {
            ids[n].id for n in ("R5", "R4", "R3", "R1")
        }


class TestPeriods:
    TODAY = date(2026, 11, 18)  # a Wednesday in Q4

    @pytest.mark.parametrize(
        ("preset", "start", "end"),
        [
            ("last7", date(2026, 11, 12), date(2026, 11, 18)),
            ("last30", date(2026, 10, 20), date(2026, 11, 18)),
            ("last90", date(2026, 8, 21), date(2026, 11, 18)),
            ("this_month", date(2026, 11, 1), date(2026, 11, 18)),
            ("last_month", date(2026, 10, 1), date(2026, 10, 31)),
            ("this_quarter", date(2026, 10, 1), date(2026, 11, 18)),
        ],
    )
    def test_presets(self, preset: str, start: date, end: date) -> None:
        assert rs.resolve_period({"period": preset}, self.TODAY) == Period(start, end, preset)

    def test_default_is_the_last_30_days(self) -> None:
        assert rs.resolve_period({}, self.TODAY) == Period(date(2026, 10, 20), date(2026, 11, 18), "last30")

    def test_dates_win_and_are_recognised_as_a_preset(self) -> None:
        custom = rs.resolve_period(
            {"start": "2026-11-01", "end": "2026-11-05", "period": "last7"}, self.TODAY
        )
        assert custom == Period(date(2026, 11, 1), date(2026, 11, 5), None)
        same = rs.resolve_period({"start": "2026-11-12", "end": "2026-11-18"}, self.TODAY)
        assert same.preset == "last7"

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"start": "2026-13-01", "end": "2026-12-01"}, "is not a date"),
            ({"start": "2026-11-05", "end": "2026-11-01"}, "after the end"),
            ({"start": "2026-11-05"}, "both a start and an end"),
            ({"end": "2026-11-05"}, "both a start and an end"),
            ({"start": "2020-01-01", "end": "2026-01-01"}, "at most"),
            ({"start": "0001-01-01", "end": "0001-01-02"}, "out of range"),
            ({"start": "1/11/2026", "end": "2026-11-05"}, "YYYY-MM-DD"),
            ({"start": "2026-11-01\x00", "end": "2026-11-05"}, "is not a date"),
            ({"period": "yesterday"}, "Unknown period"),
        ],
    )
    def test_bad_input(self, params: dict[str, str], message: str) -> None:
        with pytest.raises(InvalidInput, match=message):
            rs.resolve_period(params, self.TODAY)

    def test_words(self) -> None:
        assert rs.format_range(date(2026, 11, 1), date(2026, 11, 30)) == "1–30 Nov 2026"
        assert rs.format_range(date(2026, 10, 28), date(2026, 11, 3)) == "28 Oct – 3 Nov 2026"
        assert rs.format_range(date(2025, 12, 30), date(2026, 1, 5)) == "30 Dec 2025 – 5 Jan 2026"
        assert Period(date(2026, 10, 1), date(2026, 10, 31), "last_month").phrase == "in October 2026"
        assert Period(date(2026, 10, 20), date(2026, 11, 18), "last30").phrase == "over the last 30 days"


class TestCsv:
    def sections(self, text: str) -> dict[str, list[list[str]]]:
        found: dict[str, list[list[str]]] = {}
        current: list[list[str]] = []
        for row in csv.reader(io.StringIO(text)):
            if len(row) == 1:
                current = found.setdefault(row[0], [])
            elif row:
                current.append(row)
        return found

    def test_every_section_with_the_hand_computed_figures(self, db: Session, report_org: Data) -> None:
        parts = self.sections(rs.report_csv(report(db, report_org, "dana_user")))
        assert list(parts) == ["Summary", "Weekly trend", "Criteria", "Root causes", "Critical fails"]
        summary = dict(parts["Summary"][1:])
        assert summary["iqs"] == "57.50" and summary["reviews"] == "5" and summary["pass_rate"] == "40.00"
        assert summary["previous_iqs"] == "85.00" and summary["change"] == "-27.50"
        assert summary["team_iqs"] == "63.57" and summary["team_reviews"] == "7"
        assert summary["critical_fails"] == "1" and summary["agent"] == "Dana Ruiz"
        assert parts["Weekly trend"][1:] == [
            ["2026-11-02", "2026-11-04", "2026-11-08", "68.75", "2", "79.17", "3"],
            ["2026-11-09", "2026-11-09", "2026-11-15", "31.25", "2", "31.25", "2"],
            ["2026-11-16", "2026-11-16", "2026-11-22", "", "0", "57.50", "1"],
            ["2026-11-23", "2026-11-23", "2026-11-24", "87.50", "1", "87.50", "1"],
        ]
        assert parts["Criteria"][1:] == [
            ["greeting", "Greeting", "80.00", "5", "71.43", "7", "8.57", "strongest"],
            ["accuracy", "Correct solution", "65.00", "5", "71.43", "7", "-6.43", "weakest"],
            ["tone", "Tone of voice", "50.00", "4", "60.00", "6", "-10.00", "weakest"],
        ]
        assert parts["Root causes"][1:] == [
            ["accuracy", "Correct solution", "Incomplete", "2"],
            ["accuracy", "Correct solution", "Wrong answer", "1"],
            ["tone", "Tone of voice", "Robotic", "1"],
            ["tone", "Tone of voice", "Rude", "1"],
        ]
        fail = parts["Critical fails"][1]
        assert fail[0] == str(report_org.reviews["R3"].id) and fail[1] == "2026-11-10 15:00"
        assert fail[2] == "'=SUM(1,2) refund"  # the formula guard
        assert fail[3:] == ["accuracy", "Correct solution", "2"]

    def test_filename(self, db: Session, report_org: Data) -> None:
        r = report(db, report_org)
        assert (
            rs.export_filename(r, "csv") == f"agent-{report_org.dana.id}-report-2026-11-04-to-2026-11-24.csv"
        )


class TestPdf:
    @pytest.mark.parametrize("unicode_font", [True, False])
    def test_both_fonts(self, db: Session, report_org: Data, unicode_font: bool, monkeypatch: Any) -> None:
        """DejaVu when the machine has it, else the core font with transliteration: both give the figures."""
        from qa.reporting import report_pdf
        from tests.reporting.pdf_text import read_pdf

        if not unicode_font:
            monkeypatch.setattr(report_pdf, "_font_files", lambda: None)
        elif report_pdf._font_files() is None:
            pytest.skip("no DejaVu Sans on this machine")
        r = report(db, report_org, "dana_user")
        data = report_pdf.report_pdf(r, summary=rs.summary_sentence(r, own=True), source_url="http://x/r")
        pdf = read_pdf(data)
        lines = pdf.text.splitlines()
        assert pdf.info["Title"] == "Quality report: Dana Ruiz"
        assert lines[lines.index("CHANGE") + 1] == ("−27.5" if unicode_font else "-27.5")
        assert (
            "Team Billing · 4–24 Nov 2026 · generated" in pdf.text
            if unicode_font
            else "4-24 Nov 2026" in pdf.text
        )
        assert lines[lines.index("Tone of voice") + 1] == "50.0 (4)"

    def test_latin1_transliteration(self) -> None:
        from qa.reporting.report_pdf import latin1

        assert latin1("Łukasz – “Zoë” ő 日本") == 'Lukasz - "Zoë" o ??'

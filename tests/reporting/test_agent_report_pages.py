"""The agent report's page, CSV and PDF through HTTP with a real login (figures: report_data.py)."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import Session

from qa import org_settings
from tests.conftest import login_as
from tests.reporting.pdf_text import read_pdf
from tests.reporting.report_data import PERIOD, Data


def soup(response: object) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")  # type: ignore[attr-defined]


def text(node: object) -> str:
    assert node is not None, "element not found"
    return node.get_text(" ", strip=True)  # type: ignore[attr-defined]


def stat(page: BeautifulSoup, label: str) -> BeautifulSoup:
    for box in page.select(".rep-stats .stat"):
        if text(box.select_one(".label")) == label:
            return box
    raise AssertionError(f"no stat {label!r}")


def report_url(org: Data, agent: str = "dana", suffix: str = "") -> str:
    return f"/reports/agents/{getattr(org, agent).id}{suffix}"


class TestPage:
    def test_the_agent_sees_their_report(self, report_client: TestClient, report_org: Data) -> None:
        login_as(report_client, report_org.dana_user)
        response = report_client.get(report_url(report_org), params=PERIOD)
        assert response.status_code == 200
        page = soup(response)
        assert text(page.select_one("h1")) == "My quality report"
        assert text(page.select_one("#summary")) == (
            "Your quality score was 57.5 from 4 to 24 Nov 2026, down 27.5 from the 21 days before; "
            "your team's was 63.6."
        )
        assert text(stat(page, "Quality score").select_one(".value")) == "57.5"
        assert text(stat(page, "Change").select_one(".value")) == "−27.5"
        assert "14 Oct – 3 Nov 2026: 85.0" in text(stat(page, "Change"))
        assert text(stat(page, "Team average").select_one(".value")) == "63.6"
        assert stat(page, "Team average").select_one("a") is None  # an agent may not list the team's reviews
        assert text(stat(page, "Reviews").select_one(".value")) == "5"
        assert text(stat(page, "Pass rate").select_one(".value")) == "40.0%"
        assert text(stat(page, "Critical fails").select_one(".value")) == "1"

    def test_charts_and_sections(self, report_client: TestClient, report_org: Data) -> None:
        login_as(report_client, report_org.dana_user)
        page = soup(report_client.get(report_url(report_org), params=PERIOD))
        chart = page.select_one(".rep-trend svg.chart-svg")
        assert chart is not None and "Weekly quality score" in str(chart["aria-label"])
        points = [text(t) for t in chart.select(".series-0 .chart-point title")]
        assert points == ["Me, 2 Nov: 68.8", "Me, 9 Nov: 31.3", "Me, 23 Nov: 87.5"]  # 16 Nov: a gap
        assert len(chart.select(".series-0 path.chart-line")) == 1
        assert chart.select_one(".series-0 path.chart-line")["d"].count("M") == 2  # type: ignore[union-attr]
        team_points = [text(t) for t in chart.select(".series-1 .chart-point title")]
        assert team_points == [
            "Team Billing, 2 Nov: 79.2",
            "Team Billing, 9 Nov: 31.3",
            "Team Billing, 16 Nov: 57.5",
            "Team Billing, 23 Nov: 87.5",
        ]
        bars = {
            text(row.select_one(".bar-label")): row
            for row in page.select(".rep-criteria .bar-table tbody tr")
        }
        assert list(bars) == ["Greeting (5)", "Correct solution (5)", "Tone of voice (4)"]
        tone = bars["Tone of voice (4)"]
        assert (
            text(tone.select_one(".bar-value")) == "50.0"
            and text(tone.select_one(".bar-compare-value")) == "60.0"
        )
        assert tone.select_one("rect.bar-fill")["width"] == "50.00"  # type: ignore[index]
        assert tone.select_one("rect.bar-compare")["x"] == "59.40"  # type: ignore[index]
        assert (
            text(page.select_one(".rep-callout-good")) == "Doing well Greeting +8.6 vs the team (5 ratings)"
        )
        assert text(page.select_one(".rep-callout-work")) == (
            "To work on Tone of voice −10.0 vs the team (4 ratings) "
            "Correct solution −6.4 vs the team (5 ratings)"
        )
        causes = [
            [text(td) for td in tr.select("td")] for tr in page.select("#causes-title ~ table tbody tr")
        ]
        assert causes == [
            ["Correct solution", "Incomplete", "2"],
            ["Correct solution", "Wrong answer", "1"],
            ["Tone of voice", "Robotic", "1"],
            ["Tone of voice", "Rude", "1"],
        ]
        fails = [
            [text(td) for td in tr.select("td")] for tr in page.select("#critical-title ~ table tbody tr")
        ]
        assert fails == [["2026-11-10", "=SUM(1,2) refund", "Correct solution: 2"]]
        comments = [text(li.select_one("p")) for li in page.select(".rep-comment-list li")]
        assert comments == [
            "Check the refund policy",
            "Solid, but verify the answer",
            "Wrong refund amount",
            "Great job",
            "Warm and clear",
        ]
        assert "Rita Reed" in text(page.select_one(".rep-comment-list li"))

    def test_print_csv_pdf_and_coaching_slot(self, report_client: TestClient, report_org: Data) -> None:
        login_as(report_client, report_org.dana_user)
        page = soup(report_client.get(report_url(report_org), params=PERIOD))
        assert page.select_one("button[data-print]") is not None
        dana = report_org.dana.id
        links = {text(a): a["href"] for a in page.select(".rep-actions a")}
        assert links == {
            "CSV": f"http://testserver/reports/agents/{dana}.csv?start=2026-11-04&end=2026-11-24",
            "PDF": f"http://testserver/reports/agents/{dana}.pdf?start=2026-11-04&end=2026-11-24",
        }
        slot = page.select_one("#coaching-summary")
        assert slot is not None and slot["hx-get"].endswith(f"/coaching/agents/{dana}/summary")  # type: ignore[union-attr]
        assert slot["hx-trigger"] == "load" and slot["hx-swap"] == "outerHTML"

    def test_the_manager_sees_names_and_team_links(
        self, report_client: TestClient, report_org: Data, db: Session
    ) -> None:
        org_settings.put(db, actor=report_org.admin, key=org_settings.HIDE_REVIEWER_NAMES, value=True)
        login_as(report_client, report_org.manager_billing)
        page = soup(report_client.get(report_url(report_org), params=PERIOD))
        assert text(page.select_one("h1")) == "Quality report: Dana Ruiz"
        assert text(page.select_one("#summary")).endswith("the Billing team's was 63.6.")
        assert stat(page, "Team average").select_one("a") is not None
        assert "Rita Reed" in text(page.select_one(".rep-comments"))

    def test_hidden_reviewer_names_for_the_agent(
        self, report_client: TestClient, report_org: Data, db: Session
    ) -> None:
        org_settings.put(db, actor=report_org.admin, key=org_settings.HIDE_REVIEWER_NAMES, value=True)
        login_as(report_client, report_org.dana_user)
        comments = text(
            soup(report_client.get(report_url(report_org), params=PERIOD)).select_one(".rep-comments")
        )
        assert "QA team" in comments and "Rita" not in comments and "Sam" not in comments

    def test_presets_and_default(self, report_client: TestClient, report_org: Data) -> None:
        login_as(report_client, report_org.dana_user)
        page = soup(report_client.get(report_url(report_org)))
        current = page.select_one(".rep-presets [aria-current]")
        assert text(current) == "Last 30 days"
        page = soup(report_client.get(report_url(report_org), params={"period": "last7"}))
        assert text(page.select_one(".rep-presets [aria-current]")) == "Last 7 days"

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"start": "2026-11-31", "end": "2026-12-01"}, "is not a date"),
            ({"start": "2026-11-24", "end": "2026-11-04"}, "after the end"),
            ({"start": "2026-11-04"}, "both a start and an end"),
            ({"period": "someday"}, "Unknown period"),
            ({"start": "2026-11-04\x00", "end": "2026-11-24"}, "is not a date"),
        ],
    )
    def test_bad_dates_are_422_on_the_page(
        self, report_client: TestClient, report_org: Data, params: dict[str, str], message: str
    ) -> None:
        login_as(report_client, report_org.dana_user)
        response = report_client.get(report_url(report_org), params=params)
        assert response.status_code == 422
        page = soup(response)
        assert message in text(page.select_one(".alert-error"))
        assert page.select_one("form.rep-period") is not None and page.select_one(".rep-stats") is None

    def test_reports_me_redirects_an_agent(self, report_client: TestClient, report_org: Data) -> None:
        login_as(report_client, report_org.dana_user)
        response = report_client.get(
            "/reports/me", params={"period": "last7", "other": "x"}, follow_redirects=False
        )
        assert response.status_code == 303
        assert (
            response.headers["location"]
            == f"http://testserver/reports/agents/{report_org.dana.id}?period=last7"
        )
        login_as(report_client, report_org.manager_billing)
        assert report_client.get("/reports/me").status_code == 404


class TestPermissions:
    SUFFIXES = ("", ".csv", ".pdf")

    @pytest.mark.parametrize(
        ("viewer", "agent"),
        [
            ("dana_user", "fay"),
            ("dana_user", "eli"),
            ("manager_tech", "dana"),
            ("manager_billing", "fay"),
            ("rita", "fay"),
        ],
    )
    def test_other_agents_are_404_everywhere(
        self, report_client: TestClient, report_org: Data, viewer: str, agent: str
    ) -> None:
        login_as(report_client, getattr(report_org, viewer))
        for suffix in self.SUFFIXES:
            response = report_client.get(report_url(report_org, agent, suffix), params=PERIOD)
            assert response.status_code == 404, suffix
            assert getattr(report_org, agent).name not in response.text

    def test_404_comes_before_the_date_message(self, report_client: TestClient, report_org: Data) -> None:
        login_as(report_client, report_org.dana_user)
        for suffix in self.SUFFIXES:
            assert (
                report_client.get(report_url(report_org, "fay", suffix), params={"start": "x"}).status_code
                == 404
            )

    @pytest.mark.parametrize("agent_id", ["999999", "abc", "0", "99999999999999"])
    def test_unknown_ids(self, report_client: TestClient, report_org: Data, agent_id: str) -> None:
        login_as(report_client, report_org.admin)
        for suffix in self.SUFFIXES:
            assert report_client.get(f"/reports/agents/{agent_id}{suffix}").status_code == 404

    @pytest.mark.parametrize(("viewer", "agent"), [("sam", "fay"), ("rita", "dana"), ("admin", "eli")])
    def test_allowed(self, report_client: TestClient, report_org: Data, viewer: str, agent: str) -> None:
        login_as(report_client, getattr(report_org, viewer))
        for suffix in self.SUFFIXES:
            assert report_client.get(report_url(report_org, agent, suffix), params=PERIOD).status_code == 200

    def test_anonymous_goes_to_login(self, report_client: TestClient, report_org: Data) -> None:
        response = report_client.get(report_url(report_org), follow_redirects=False)
        assert response.status_code == 303 and "/login" in response.headers["location"]


class TestExports:
    def test_csv(self, report_client: TestClient, report_org: Data) -> None:
        login_as(report_client, report_org.dana_user)
        response = report_client.get(report_url(report_org, suffix=".csv"), params=PERIOD)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        name = f"agent-{report_org.dana.id}-report-2026-11-04-to-2026-11-24.csv"
        assert response.headers["content-disposition"] == f'attachment; filename="{name}"'
        rows = list(csv.reader(io.StringIO(response.text)))
        summary = {row[0]: row[1] for row in rows[2:21] if len(row) == 2}
        assert (summary["iqs"], summary["change"], summary["team_iqs"]) == ("57.50", "-27.50", "63.57")
        assert [row[2] for row in rows if row and row[0] == str(report_org.reviews["R3"].id)] == [
            "'=SUM(1,2) refund"
        ]

    def test_pdf_is_a_real_pdf_with_the_figures(self, report_client: TestClient, report_org: Data) -> None:
        login_as(report_client, report_org.dana_user)
        response = report_client.get(report_url(report_org, suffix=".pdf"), params=PERIOD)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pdf"
        name = f"agent-{report_org.dana.id}-report-2026-11-04-to-2026-11-24.pdf"
        assert response.headers["content-disposition"] == f'attachment; filename="{name}"'
        pdf = read_pdf(response.content)
        assert pdf.info["Title"] == "Quality report: Dana Ruiz"
        assert pdf.info["Subject"].startswith("4–24 Nov 2026. Your quality score was 57.5")
        lines = pdf.text.splitlines()
        assert "Quality report: Dana Ruiz" in lines
        assert lines[lines.index("QUALITY SCORE") + 1] == "57.5"
        assert lines[lines.index("CHANGE") + 1] in ("−27.5", "-27.5")  # "-" with the core font
        assert lines[lines.index("TEAM AVERAGE") + 1] == "63.6"
        assert lines[lines.index("REVIEWS") + 1] == "5"
        assert lines[lines.index("PASS RATE") + 1] == "40.0%"
        assert lines[lines.index("CRITICAL FAILS") + 1] == "1"
        for name, figures in [
            ("Greeting", "80.0 (5)"),
            ("Correct solution", "65.0 (5)"),
            ("Tone of voice", "50.0 (4)"),
        ]:
            assert lines[lines.index(name) + 1] == figures
        assert lines[lines.index("Tone of voice") + 2] == "60.0"
        assert [line for line in lines if line.endswith(" Nov")][:4] == ["2 Nov", "9 Nov", "16 Nov", "23 Nov"]
        assert "Incomplete" in lines and lines[lines.index("Incomplete") + 1] == "2"
        assert "=SUM(1,2) refund" in lines and "Check the refund policy" in lines
        assert "Old comment" not in pdf.text and "Calibration note" not in pdf.text

    def test_pdf_without_data_is_still_a_pdf(self, report_client: TestClient, report_org: Data) -> None:
        login_as(report_client, report_org.admin)
        response = report_client.get(
            report_url(report_org, "eli", ".pdf"), params={"start": "2025-01-01", "end": "2025-01-02"}
        )
        pdf = read_pdf(response.content)
        assert pdf.pages == 1 and "Eli Park has no reviews from 1 to 2 Jan 2025." in pdf.text.replace(
            "\n", " "
        )


class TestDrillLinks:
    """Every number of the report links to the reviews behind it, and the list adds up to that number."""

    def test_every_linked_number_equals_its_list(self, report_client: TestClient, report_org: Data) -> None:
        login_as(report_client, report_org.manager_billing)
        page = soup(report_client.get(report_url(report_org), params=PERIOD))
        expected = {  # (filters beyond start/end) → (count, mean shown)
            (("agent", "dana"),): ("5", "57.5"),
            (("agent", "dana"), ("outcome", "passed")): ("2", "93.8"),  # (100 + 87.5) / 2 = 93.75
            (("agent", "dana"), ("outcome", "critical")): ("1", "0.0"),
            (("team", "billing"),): ("7", "63.6"),
            (("agent", "dana"), ("criterion", "greeting")): ("5", "80.0"),
            (("agent", "dana"), ("criterion", "accuracy")): ("5", "65.0"),
            (("agent", "dana"), ("criterion", "tone")): ("4", "50.0"),
            # R2's .75 and R4's .5 on accuracy
            (("agent", "dana"), ("criterion", "accuracy"), ("root_cause", "Incomplete")): ("2", "62.5"),
            (("agent", "dana"), ("criterion", "accuracy"), ("root_cause", "Wrong answer")): ("1", "25.0"),
            (("agent", "dana"), ("criterion", "tone"), ("root_cause", "Robotic")): ("1", "0.0"),
            (("agent", "dana"), ("criterion", "tone"), ("root_cause", "Rude")): ("1", "0.0"),
        }
        ids = {"dana": str(report_org.dana.id), "billing": str(report_org.billing.id)}
        seen = set()
        for link in page.select("main a[href*='/reports/reviews']"):
            query = {k: v[0] for k, v in parse_qs(urlsplit(str(link["href"])).query).items()}
            if (query["start"], query["end"]) != ("2026-11-04", "2026-11-24"):
                continue
            key = tuple(sorted((k, v) for k, v in query.items() if k not in ("start", "end")))
            want = next(
                (w for f, w in expected.items() if tuple(sorted((k, ids.get(v, v)) for k, v in f)) == key),
                None,
            )
            assert want is not None, f"unexpected link {query}"
            listing = soup(report_client.get(str(link["href"])))
            assert (
                text(listing.select_one("#drill-total")),
                text(listing.select_one("#drill-mean")),
            ) == want, query
            seen.add(key)
        assert len(seen) == len(expected)

    def test_week_and_previous_period_links(self, report_client: TestClient, report_org: Data) -> None:
        login_as(report_client, report_org.dana_user)
        page = soup(report_client.get(report_url(report_org), params=PERIOD))
        weeks = {
            text(tr.select_one("td")): tr.select_one("td.num a") for tr in page.select(".rep-weeks tbody tr")
        }
        assert weeks["16 Nov"] is None  # no reviews: nothing to list
        listing = soup(report_client.get(str(weeks["2 Nov"]["href"])))  # type: ignore[index]
        assert (text(listing.select_one("#drill-total")), text(listing.select_one("#drill-mean"))) == (
            "2",
            "68.8",
        )
        previous = stat(page, "Change").select_one("a")
        listing = soup(report_client.get(str(previous["href"])))  # type: ignore[index]
        assert (text(listing.select_one("#drill-total")), text(listing.select_one("#drill-mean"))) == (
            "2",
            "85.0",
        )

"""The coverage page and CSV export through HTTP with a real login."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from qa.coverage import service as coverage_service
from qa.models import utcnow
from tests.conftest import login_as
from tests.coverage.helpers import RANGE, Org, soup, table_rows
from tests.factories import make_agent, make_conversation


class TestPage:
    def test_manager_sees_the_numbers(self, client: TestClient, org: Org) -> None:
        login_as(client, org.manager_a)
        response = client.get("/coverage", params=RANGE)
        assert response.status_code == 200
        page = soup(response)
        week1 = table_rows(page, "2026-03-02")
        assert set(week1) == {"Ann Archer", "Bob Baker", "total"}
        ann = week1["Ann Archer"]
        assert ann["handled"] == "10" and ann["reviewed"] == "4" and ann["reviews"] == "4"
        assert ann["coverage"] == "40.0%"
        assert ann["score"] == "85.0 ± 16.8"
        assert ann["precision"] == "needs 5 more reviews for ±5"
        assert week1["Bob Baker"]["score"] == "60.0"
        assert week1["Bob Baker"]["precision"] == "too few reviews to tell need at least 2"
        assert week1["total"]["handled"] == "13" and week1["total"]["coverage"] == "38.5%"
        week2 = table_rows(page, "2026-03-09")
        assert week2["Bob Baker"]["score"] == "60.0 ± 0.0"
        assert week2["Bob Baker"]["precision"] == "within ±5"
        assert page.select_one("nav a[aria-current=page]").get_text(strip=True) == "Coverage"  # type: ignore[union-attr]

    def test_the_interval_chart_spans_the_clipped_interval(self, client: TestClient, org: Org) -> None:
        login_as(client, org.admin)
        page = soup(client.get("/coverage", params=RANGE))
        rows = {tr.select_one(".cov-agent").get_text(strip=True): tr  # type: ignore[union-attr]
                for tr in page.select("#period-2026-03-02 tbody tr")}
        chart = rows["Ann Archer"].select_one("svg.ci-chart")
        assert chart is not None and "ci-needs" in chart["class"]
        band = chart.select_one("rect.ci-range")
        assert band is not None and (band["x"], band["width"]) == ("68.23", "31.77")  # 85 − 16.77 … 100
        assert "Between 68.2 and 100.0" in str(chart["aria-label"])
        cy = rows["Cy Cole"]
        assert cy.select_one("[data-col=score]").get_text(" ", strip=True) == "60.0 ± >100"  # type: ignore[union-attr]
        assert rows["Bob Baker"].select_one("svg.ci-chart rect.ci-range") is None  # one review: no interval

    def test_explains_margin_and_assumption(self, client: TestClient, org: Org) -> None:
        login_as(client, org.reviewer)
        text = soup(client.get("/coverage", params=RANGE)).select_one(".cov-help").get_text(" ", strip=True)  # type: ignore[union-attr]
        assert "95" in text and "random" in text and "spotlight" in text and "±5" in text

    def test_by_month_and_whole_range(self, client: TestClient, org: Org) -> None:
        login_as(client, org.admin)
        page = soup(client.get("/coverage", params={**RANGE, "period": "all"}))
        assert [h.get_text(strip=True) for h in page.select(".cov-period h2")] == ["2 – 15 Mar 2026"]
        assert table_rows(page, "2026-03-02")["Bob Baker"]["handled"] == "5"
        page = soup(client.get("/coverage", params={**RANGE, "period": "month"}))
        headings = [h.get_text(strip=True) for h in page.select(".cov-period h2")]
        assert headings == ["March 2026 (2 – 15 Mar 2026)"]

    def test_default_range_is_filled_in(self, client: TestClient, org: Org) -> None:
        login_as(client, org.manager_a)
        page = soup(client.get("/coverage"))
        first, last = coverage_service.default_range(utcnow().date())
        assert (last - first).days == 27 and first.weekday() == 0
        assert page.select_one("input[name=start]")["value"] == first.isoformat()  # type: ignore[index]
        assert page.select_one("input[name=end]")["value"] == last.isoformat()  # type: ignore[index]
        assert page.select_one("select[name=period] option[selected]")["value"] == "week"  # type: ignore[index]

    def test_a_name_is_escaped(self, client: TestClient, session: Session, org: Org) -> None:
        agent = make_agent(session, team=org.team_a, name="<script>x</script>")
        make_conversation(session, agent=agent, created_at=org.conversations["ann_w1"][0].created_at)
        login_as(client, org.admin)
        response = client.get("/coverage", params=RANGE)
        assert "<script>x</script>" not in response.text
        assert "&lt;script&gt;x&lt;/script&gt;" in response.text

    def test_team_filter_and_team_select(self, client: TestClient, org: Org) -> None:
        login_as(client, org.admin)
        page = soup(client.get("/coverage", params={**RANGE, "team": str(org.team_b.id)}))
        assert set(table_rows(page, "2026-03-02")) == {"Cy Cole", "total"}
        selected = page.select_one("select[name=team] option[selected]")
        assert selected is not None and selected.get_text() == "Beta support"
        assert "All agents in Beta support" in page.select_one(".cov-total").get_text()  # type: ignore[union-attr]

    def test_empty_range_says_so(self, client: TestClient, org: Org) -> None:
        login_as(client, org.admin)
        page = soup(client.get("/coverage", params={"start": "2025-01-06", "end": "2025-01-12"}))
        assert "No conversations" in page.select_one(".cov-main").get_text()  # type: ignore[union-attr]


class TestRoles:
    def test_anonymous_goes_to_login(self, client: TestClient) -> None:
        response = client.get("/coverage", follow_redirects=False)
        assert response.status_code == 303 and "/login" in response.headers["location"]

    @pytest.mark.parametrize("path", ["/coverage", "/coverage.csv"])
    def test_an_agent_is_refused(self, client: TestClient, org: Org, path: str) -> None:
        login_as(client, org.agent_user)
        assert client.get(path, params=RANGE).status_code == 403

    def test_agents_have_no_nav_link(self, client: TestClient, org: Org) -> None:
        login_as(client, org.agent_user)
        page = soup(client.get("/feedback"))
        assert not [a for a in page.select("nav a") if a.get_text(strip=True) == "Coverage"]

    def test_manager_sees_only_their_teams(self, client: TestClient, org: Org) -> None:
        login_as(client, org.manager_b)
        page = soup(client.get("/coverage", params=RANGE))
        assert set(table_rows(page, "2026-03-02")) == {"Cy Cole", "total"}
        teams = [o.get_text() for o in page.select("select[name=team] option")]
        assert teams in ([], ["All teams", "Beta support"])

    def test_reviewer_sees_the_teams_they_review(self, client: TestClient, org: Org) -> None:
        login_as(client, org.reviewer_b)
        page = soup(client.get("/coverage", params=RANGE))
        assert set(table_rows(page, "2026-03-02")) == {"Cy Cole", "total"}

    @pytest.mark.parametrize("team", ["other", "987654", "abc"])
    def test_a_team_they_cannot_see_is_404_with_the_form(self, client: TestClient, org: Org,
                                                         team: str) -> None:
        login_as(client, org.manager_a)
        value = str(org.team_b.id) if team == "other" else team
        response = client.get("/coverage", params={**RANGE, "team": value})
        assert response.status_code == 404
        page = soup(response)
        assert "not found" in page.select_one(".alert-error").get_text()  # type: ignore[union-attr]
        assert page.select_one("form[role=search]") is not None and not page.select(".cov-period")
        assert "Beta support" not in response.text


class TestBadInput:
    @pytest.mark.parametrize(("params", "message"), [
        ({"start": "2026-02-30"}, "is not a date"),
        ({"start": "2026-03-15", "end": "2026-03-01"}, "after the end date"),
        ({"period": "fortnight"}, "Unknown period"),
        ({"start": "2000-01-01", "end": "2026-01-01"}, "more than 60 weeks"),
        ({"end": "9999-12-31"}, "is not a date"),
    ])
    def test_page_shows_the_message_with_422(self, client: TestClient, org: Org, params: dict[str, str],
                                             message: str) -> None:
        login_as(client, org.manager_a)
        response = client.get("/coverage", params=params)
        assert response.status_code == 422
        page = soup(response)
        assert message in page.select_one(".alert-error").get_text()  # type: ignore[union-attr]
        for name, value in params.items():  # what was typed stays in the form, to be fixed
            field = page.select_one(f"[name={name}]")
            assert field is not None
            if field.name == "input":
                assert field["value"] == value

    def test_csv_with_bad_dates_is_422(self, client: TestClient, org: Org) -> None:
        login_as(client, org.manager_a)
        response = client.get("/coverage.csv", params={"start": "nope"})
        assert response.status_code == 422
        assert "is not a date" in response.text


class TestCsv:
    def rows(self, client: TestClient, **params: str) -> list[dict[str, str]]:
        response = client.get("/coverage.csv", params={**RANGE, **params})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert 'filename="coverage-2026-03-02-to-2026-03-15-by-' in response.headers["content-disposition"]
        return list(csv.DictReader(io.StringIO(response.text)))

    def test_same_numbers_as_the_page(self, client: TestClient, org: Org) -> None:
        login_as(client, org.manager_a)
        lines = self.rows(client)
        assert [(r["period_start"], r["agent"]) for r in lines] == [
            ("2026-03-02", "Ann Archer"), ("2026-03-02", "Bob Baker"), ("2026-03-02", "All agents"),
            ("2026-03-09", "Bob Baker"), ("2026-03-09", "All agents")]
        ann = lines[0]
        assert ann == {"period_start": "2026-03-02", "period_end": "2026-03-08", "agent_id": str(org.ann.id),
                       "agent": "Ann Archer", "handled": "10", "reviewed": "4", "coverage_pct": "40.00",
                       "reviews": "4", "scored": "4", "score": "85.00", "sd": "12.91", "margin": "16.77",
                       "low": "68.23", "high": "100.00", "more_reviews_for_target": "5"}
        bob = lines[1]
        assert (bob["score"], bob["sd"], bob["margin"], bob["more_reviews_for_target"]) == (
            "60.00", "", "", "")
        assert lines[2]["agent_id"] == ""

    def test_link_on_the_page_keeps_the_filters(self, client: TestClient, org: Org) -> None:
        login_as(client, org.admin)
        page = soup(client.get("/coverage", params={**RANGE, "period": "all", "team": str(org.team_a.id)}))
        link = page.select_one("a[download]")
        assert link is not None
        response = client.get(str(link["href"]))
        assert response.status_code == 200
        assert "by-all.csv" in response.headers["content-disposition"]
        agents = {r["agent"] for r in csv.DictReader(io.StringIO(response.text))}
        assert agents == {"Ann Archer", "Bob Baker", "All agents"}

    @pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTab"])
    def test_formulas_in_names_are_neutralised(self, client: TestClient, session: Session, org: Org,
                                               name: str) -> None:
        agent = make_agent(session, team=org.team_a, name=name)
        make_conversation(session, agent=agent, created_at=org.conversations["ann_w1"][0].created_at)
        login_as(client, org.admin)
        agents = [r["agent"] for r in self.rows(client)]
        assert "'" + name in agents
        assert name not in agents

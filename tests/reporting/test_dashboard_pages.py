"""The dashboard page, its HTMX regions and CSV exports through HTTP with a real login.

Figures are the hand-computed ones of dashboard_data.py, shown with one decimal (halves up).
"""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup, Tag
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session

from tests.conftest import login_as
from tests.factories import make_agent, make_conversation
from tests.reporting.dashboard_data import (  # noqa: F401 (fixtures)
    RANGE,
    Org,
    app_fixture,
    at,
    dashboard_app_fixture,
    dashboard_db_fixture,
    org_fixture,
    session_fixture,
)

HX = {"HX-Request": "true"}


def soup(response: Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def cells(row: Tag) -> dict[str, str]:
    """A table row's cells by data-col (or data-key / data-week), as text."""
    found = {}
    for td in row.select("td"):
        name = td.get("data-col") or td.get("data-key") or td.get("data-week")
        found[str(name)] = td.get_text(" ", strip=True)
    return found


def link(cell: Tag) -> tuple[str, dict[str, str]]:
    """The path and query parameters of the first link in a cell."""
    anchor = cell.select_one("a")
    assert anchor is not None, cell
    url = urlsplit(str(anchor["href"]))
    return url.path, {k: v[0] for k, v in parse_qs(url.query).items()}


def agent_rows(page: BeautifulSoup) -> dict[str, dict[str, str]]:
    return {cells(tr)["agent"]: cells(tr) for tr in page.select("table.dash-agents tbody tr")}


class TestPage:
    def test_headline_and_trend(self, client: TestClient, org: Org) -> None:
        login_as(client, org.admin)
        response = client.get("/dashboard", params=RANGE)
        assert response.status_code == 200
        page = soup(response)
        stat = {
            div["data-stat"]: div.select_one(".value").get_text(strip=True)  # type: ignore[union-attr]
            for div in page.select(".dash-stats .stat")
        }
        # 706.25 / 10; 5 of 10 passed; r4; 3600 s / 10 = 6 min
        assert stat == {
            "iqs": "70.6",
            "reviews": "10",
            "pass_rate": "50.0%",
            "critical_fails": "1",
            "avg_time": "6m 00s",
        }
        # change 70.625 − 89.583 = −18.958
        assert "−19.0 pts" in page.select_one("[data-stat=iqs]").get_text(" ", strip=True)  # type: ignore[union-attr]
        rows = {tr["data-team"]: cells(tr) for tr in page.select("table.dash-trend-table tbody tr")}
        assert list(rows) == ["all", str(org.alpha.id), str(org.beta.id)]
        # week 1 53.125 (4 reviews), week 2 82.29 (6); Alpha 56.25 / 81.25; Beta 43.75 / 83.33
        assert rows["all"] == {
            "2026-03-02": "53.1 4",
            "2026-03-09": "82.3 6",
            "total": "70.6 10",
            "pass_rate": "50.0%",
            "critical_fails": "1",
        }
        assert (
            rows[str(org.alpha.id)]["2026-03-02"] == "56.3 3" and rows[str(org.alpha.id)]["total"] == "68.8 6"
        )
        assert (
            rows[str(org.beta.id)]["2026-03-02"] == "43.8 1"
            and rows[str(org.beta.id)]["2026-03-09"] == "83.3 3"
        )
        chart = page.select_one("#dash-trend svg.chart-svg")
        assert chart is not None and len(chart.select("g.chart-series")) == 3  # all teams, Alpha, Beta
        assert [s.get_text(strip=True) for s in page.select(".chart-legend-item")] == [
            "All teams",
            "Alpha",
            "Beta",
        ]

    def test_agents_heat_map_and_reviewers(self, client: TestClient, org: Org) -> None:
        login_as(client, org.admin)
        page = soup(client.get("/dashboard", params=RANGE))
        agents = agent_rows(page)
        assert list(agents) == ["Bob", "Cy", "Dee", "Ann", "Eve"]  # by IQS, lowest first; none last
        assert agents["Ann"] == {
            "agent": "Ann",
            "team": "Alpha",
            "iqs": "89.6",
            "reviews": "3",
            "change": "▲ +14.6",
            "pass_rate": "66.7%",
            "critical_fails": "0",
            "coverage": "60.0% 3/5",
        }
        assert agents["Bob"]["change"] == "▼ −45.8" and agents["Bob"]["critical_fails"] == "1"
        assert agents["Cy"]["coverage"] == "33.3% 1/3" and agents["Dee"]["change"] == "—"
        assert agents["Eve"]["iqs"] == "—" and agents["Eve"]["coverage"] == "0.0% 0/3"
        heads = [th.get_text(strip=True) for th in page.select("table.heat-table thead th")]
        assert heads == ["Team", "Correct solution", "Tone of voice", "Empathy", "Greeting"]
        heat = {tr["data-row"]: cells(tr) for tr in page.select("table.heat-table tbody tr")}
        assert heat[str(org.alpha.id)] == {
            "accuracy": "79.2 n=6",
            "tone": "90.0 n=5",
            "empathy": "66.7 n=3",
            "greeting": "100.0 n=3",
        }
        assert heat["all"] == {
            "accuracy": "75.0 n=10",
            "tone": "83.3 n=9",
            "empathy": "66.7 n=6",
            "greeting": "100.0 n=4",
        }
        classes = {td["data-key"]: td["class"] for td in page.select(f"tr[data-row='{org.beta.id}'] td")}
        # Beta: accuracy 68.75 → 50–69.9; tone 75 → 70–79.9; greeting 100 → 90+
        assert (
            "heat-1" in classes["accuracy"]
            and "heat-2" in classes["tone"]
            and "heat-4" in classes["greeting"]
        )
        legend = page.select_one(".heat-legend").get_text(" ", strip=True)  # type: ignore[union-attr]
        assert "below 50" in legend and "90 and above" in legend and "no ratings" in legend
        reviewers = {cells(tr)["reviewer"]: cells(tr) for tr in page.select("table.dash-reviewers tbody tr")}
        assert list(reviewers) == ["Rita", "Sam", "Tom"]
        assert reviewers["Rita"] == {
            "reviewer": "Rita",
            "reviews": "4",
            "average": "60.9",
            "leniency": "▼ −15.6 4 agents",
            "time": "5m 00s",
            "disputes": "1",
            "lost": "0",
            "dispute_rate": "25.0%",
        }
        assert (
            reviewers["Sam"]["leniency"] == "▲ +37.5 2 agents" and reviewers["Sam"]["disputes"] == "2 1 open"
        )
        assert reviewers["Sam"]["lost"] == "1" and reviewers["Sam"]["dispute_rate"] == "66.7%"
        assert reviewers["Tom"]["leniency"] == "▲ +7.3 3 agents" and reviewers["Tom"]["time"] == "6m 40s"

    def test_not_enough_overlap_and_an_empty_cell(self, client: TestClient, org: Org) -> None:
        login_as(client, org.admin)
        page = soup(client.get("/dashboard", params={**RANGE, "channel": "email"}))
        reviewers = {cells(tr)["reviewer"]: cells(tr) for tr in page.select("table.dash-reviewers tbody tr")}
        assert reviewers["Sam"]["leniency"] == "not enough overlap"
        # email: r2 (v1: greeting, accuracy, tone) for Alpha, r9 (v2: no greeting) for Beta
        empty = page.select_one(f"tr[data-row='{org.beta.id}'] td[data-key=greeting]")
        assert (
            empty is not None
            and "heat-empty" in empty["class"]
            and empty.get_text(strip=True) == "·no ratings"
        )

    def test_every_number_drills_down(self, client: TestClient, org: Org) -> None:
        login_as(client, org.admin)
        page = soup(client.get("/dashboard", params={**RANGE, "channel": "chat"}))
        base = {"start": "2026-03-02", "end": "2026-03-15", "channel": "chat"}
        bob = page.select_one(f"tr[data-agent='{org.agents['Bob'].id}']")
        assert bob is not None
        assert link(bob.select_one("[data-col=agent]")) == (  # type: ignore[arg-type]
            f"/reports/agents/{org.agents['Bob'].id}",
            {"start": "2026-03-02", "end": "2026-03-15"},
        )
        assert link(bob.select_one("[data-col=critical_fails]")) == (  # type: ignore[arg-type]
            "/reports/reviews",
            base | {"agent": str(org.agents["Bob"].id), "outcome": "critical"},
        )
        assert link(bob.select_one("[data-col=iqs]"))[1] == base | {"agent": str(org.agents["Bob"].id)}  # type: ignore[arg-type]
        # change: both periods
        assert link(bob.select_one("[data-col=change]"))[1]["start"] == "2026-02-16"  # type: ignore[arg-type]
        cell = page.select_one(f"tr[data-row='{org.alpha.id}'] td[data-key=accuracy]")
        assert link(cell) == ("/reports/reviews", base | {"team": str(org.alpha.id), "criterion": "accuracy"})  # type: ignore[arg-type]
        week = page.select_one(f"tr[data-team='{org.beta.id}'] td[data-week='2026-03-09']")
        assert link(week)[1] == base | {"start": "2026-03-09", "end": "2026-03-15", "team": str(org.beta.id)}  # type: ignore[arg-type]
        rita = page.select_one(f"tr[data-reviewer='{org.rita.id}']")
        assert rita is not None
        for col in ("reviews", "average", "leniency", "time"):
            assert link(rita.select_one(f"[data-col={col}]"))[1] == base | {"reviewer": str(org.rita.id)}  # type: ignore[arg-type]
        for col in ("disputes", "dispute_rate"):
            assert link(rita.select_one(f"[data-col={col}]"))[1] == base | {  # type: ignore[arg-type]
                "reviewer": str(org.rita.id), "disputed": "any"}

    def test_dispute_figures_drill_down_to_the_disputed_reviews(self, client: TestClient, org: Org) -> None:
        login_as(client, org.admin)
        page = soup(client.get("/dashboard", params=RANGE))
        sam = page.select_one(f"tr[data-reviewer='{org.sam.id}']")
        assert sam is not None
        for col, shown in (("disputes", 2), ("lost", 1)):
            path, params = link(sam.select_one(f"[data-col={col}]"))  # type: ignore[arg-type]
            listed = soup(client.get(path, params=params))
            assert listed.select_one("#drill-total").get_text(strip=True) == str(shown), col  # type: ignore[union-attr]
            assert "with a" in listed.select_one("h1, .drill-summary, main").get_text(" "), col  # type: ignore[union-attr]
        crit = page.select_one("[data-stat=critical_fails] a")
        assert crit is not None and parse_qs(urlsplit(str(crit["href"])).query)["outcome"] == ["critical"]

    def test_help_explains_coverage_and_leniency(self, client: TestClient, org: Org) -> None:
        login_as(client, org.manager_all)
        text = soup(client.get("/dashboard", params=RANGE)).select_one("#dash-help").get_text(" ", strip=True)  # type: ignore[union-attr]
        assert "created in the period that have at least one counted review" in text
        assert "weighted by the reviewer's reviews of each agent" in text and "Not enough overlap" in text

    def test_names_are_escaped(self, client: TestClient, session: Session, org: Org) -> None:
        agent = make_agent(session, team=org.alpha, name="<script>x</script>")
        make_conversation(session, agent=agent, created_at=at(4))
        login_as(client, org.admin)
        response = client.get("/dashboard", params=RANGE)
        assert "<script>x</script>" not in response.text and "&lt;script&gt;x&lt;/script&gt;" in response.text


class TestAgentsTable:
    def test_sorting_links_and_aria(self, client: TestClient, org: Org) -> None:
        login_as(client, org.admin)
        page = soup(client.get("/dashboard", params={**RANGE, "sort": "coverage", "dir": "desc"}))
        assert list(agent_rows(page)) == ["Dee", "Bob", "Ann", "Cy", "Eve"]
        th = page.select_one("table.dash-agents th[aria-sort]")
        assert th is not None and th["aria-sort"] == "descending" and "Coverage" in th.get_text()
        anchor = th.select_one("a")
        assert anchor is not None
        query = parse_qs(urlsplit(str(anchor["href"])).query)
        assert (query["sort"], query["dir"]) == (["coverage"], ["asc"])  # clicking again reverses
        assert anchor["hx-get"] == anchor["href"] and anchor["hx-target"] == "#dash-agents-table"

    def test_search_narrowing_and_pages(self, client: TestClient, org: Org) -> None:
        login_as(client, org.admin)
        assert list(agent_rows(soup(client.get("/dashboard", params={**RANGE, "q": "e"})))) == ["Dee", "Eve"]
        assert list(agent_rows(soup(client.get("/dashboard", params={**RANGE, "min_reviews": "3"})))) == [
            "Bob",
            "Ann",
        ]
        page = soup(client.get("/dashboard", params={**RANGE, "below": "70"}))
        assert list(agent_rows(page)) == ["Bob", "Cy"]
        assert "2 agents of 5" in page.select_one(".dash-pager").get_text(" ", strip=True)  # type: ignore[union-attr]
        page = soup(client.get("/dashboard", params={**RANGE, "sort": "agent", "size": "2", "page": "2"}))
        assert list(agent_rows(page)) == ["Cy", "Dee"]
        pager = page.select_one(".dash-pager")
        assert pager is not None and "page 2 of 3" in pager.get_text(" ", strip=True)
        nxt = pager.select_one("a[rel=next]")
        assert nxt is not None and parse_qs(urlsplit(str(nxt["href"])).query)["page"] == ["3"]

    def test_htmx_asks_only_for_the_table(self, client: TestClient, org: Org) -> None:
        login_as(client, org.admin)
        response = client.get(
            "/dashboard", params={**RANGE, "sort": "agent"}, headers=HX | {"HX-Target": "dash-agents-table"}
        )
        assert response.status_code == 200
        page = soup(response)
        assert page.select_one("html") is None and page.select_one("#dash-heat") is None
        root = page.find(True)
        assert isinstance(root, Tag) and root["id"] == "dash-agents-table"
        assert list(agent_rows(page)) == ["Ann", "Bob", "Cy", "Dee", "Eve"]
        assert response.headers["HX-Push-Url"] == (
            "/dashboard?range=custom&start=2026-03-02&end=2026-03-15&sort=agent&dir=asc"
        )


class TestFiltersAndRegions:
    def test_a_filter_change_swaps_the_body_and_pushes_a_clean_url(
        self, client: TestClient, org: Org
    ) -> None:
        login_as(client, org.admin)
        params = {
            **RANGE,
            "range": "30d",
            "shown": "2026-02-01..2026-02-28",
            "team": str(org.alpha.id),
            "channel": "",
            "q": "",
            "sort": "iqs",
            "dir": "asc",
            "heat": "teams",
        }
        response = client.get("/dashboard", params=params, headers=HX | {"HX-Target": "dashboard-body"})
        assert response.status_code == 200
        page = soup(response)
        root = page.find(True)
        assert isinstance(root, Tag) and root["id"] == "dashboard-body"
        # The dates differ from the ones the form showed: they were edited, so they win over "30d".
        assert response.headers["HX-Push-Url"] == (
            f"/dashboard?range=custom&start=2026-03-02&end=2026-03-15&team={org.alpha.id}"
        )
        assert set(agent_rows(page)) == {"Ann", "Bob", "Eve"}
        # One team chosen: its line alone (the organisation's would be the same numbers).
        assert [tr["data-team"] for tr in page.select("table.dash-trend-table tbody tr")] == [
            str(org.alpha.id)
        ]
        assert [s.get_text(strip=True) for s in page.select(".chart-legend-item")] == ["Alpha"]
        select = page.select_one("select[name=range] option[selected]")
        assert select is not None and select["value"] == "custom"

    def test_the_heat_map_switches_to_the_agents_of_the_team(self, client: TestClient, org: Org) -> None:
        login_as(client, org.admin)
        params = {**RANGE, "team": str(org.alpha.id), "heat": "agents"}
        response = client.get("/dashboard", params=params, headers=HX | {"HX-Target": "dash-heat"})
        page = soup(response)
        root = page.find(True)
        assert isinstance(root, Tag) and root["id"] == "dash-heat"
        rows = {tr["data-row"]: cells(tr) for tr in page.select("table.heat-table tbody tr")}
        # Ann accuracy (1+.75+1)/3 = 91.7, Bob tone 2 ratings (r6 N/A) = 100
        assert rows[str(org.agents["Ann"].id)]["accuracy"] == "91.7 n=3"
        assert rows[str(org.agents["Bob"].id)]["tone"] == "100.0 n=2"
        current = page.select_one(".seg-item[aria-current]")
        assert current is not None and current.get_text(strip=True) == "Agents of Alpha"
        cell = page.select_one(f"tr[data-row='{org.agents['Bob'].id}'] td[data-key=empathy]")
        assert link(cell)[1]["agent"] == str(org.agents["Bob"].id)  # type: ignore[arg-type]
        # Without a team there is no agents view: the page falls back to teams.
        page = soup(client.get("/dashboard", params={**RANGE, "heat": "agents"}))
        assert page.select_one("#dash-heat-title").get_text(strip=True) == "Criteria by team"  # type: ignore[union-attr]

    @pytest.mark.parametrize(
        ("params", "status", "message"),
        [
            ({"start": "2026-02-30"}, 422, "'2026-02-30' is not a date"),
            ({"start": "2026-03-15", "end": "2026-03-01"}, 422, "The start date is after the end date."),
            ({"range": "decade"}, 422, "Unknown range 'decade'"),
            ({"channel": "pigeon"}, 422, "Unknown channel 'pigeon'"),
            ({"team": "abc"}, 422, "The team filter takes a team id"),
            ({"team": "999999"}, 404, "Team 999999 not found."),
            ({"scorecard": "999999"}, 404, "Scorecard 999999 not found."),
            ({"sort": "salary"}, 422, "Can't sort by 'salary'"),
            ({"below": "-5"}, 422, "Below takes a number from 0 to 100"),
            ({"page": "x"}, 422, "Page takes a number"),
        ],
    )
    def test_bad_filters_say_what_is_wrong(
        self, client: TestClient, org: Org, params: dict[str, str], status: int, message: str
    ) -> None:
        login_as(client, org.admin)
        response = client.get("/dashboard", params=params)
        assert response.status_code == status
        page = soup(response)
        alert = page.select_one("#dashboard-body .alert-error")
        assert alert is not None and message in alert.get_text()
        assert page.select_one("form#dash-filters") is not None  # fix it in place
        assert page.select_one("#dash-agents") is None
        response = client.get("/dashboard", params=params, headers=HX | {"HX-Target": "dash-agents-table"})
        assert response.status_code == status and response.headers["HX-Retarget"] == "#dashboard-body"
        assert response.headers["HX-Push-Url"] == "false"
        assert message in soup(response).select_one(".alert-error").get_text()  # type: ignore[union-attr]


class TestPermissions:
    def test_agents_are_refused(self, client: TestClient, org: Org) -> None:
        login_as(client, org.agent_user)
        assert client.get("/dashboard", params=RANGE).status_code == 403
        assert client.get("/dashboard/agents.csv", params=RANGE).status_code == 403

    def test_anonymous_goes_to_login(self, client: TestClient, org: Org) -> None:
        response = client.get("/dashboard", follow_redirects=False)
        assert response.status_code == 303 and "/login" in response.headers["location"]

    def test_a_manager_of_alpha_never_sees_beta(self, client: TestClient, org: Org) -> None:
        login_as(client, org.manager_alpha)
        response = client.get("/dashboard", params=RANGE)
        text = soup(response).get_text(" ", strip=True)
        for name in ("Beta", "Cy", "Dee"):
            assert name not in text
        assert set(agent_rows(soup(response))) == {"Ann", "Bob", "Eve"}
        assert client.get("/dashboard", params={**RANGE, "team": org.beta.id}).status_code == 404
        for panel in ("trend", "agents", "criteria", "reviewers"):
            body = client.get(f"/dashboard/{panel}.csv", params=RANGE).text
            assert "Beta" not in body and "Cy" not in body and "Dee" not in body, panel
        assert client.get("/dashboard/agents.csv", params={**RANGE, "team": org.beta.id}).status_code == 404

    def test_a_reviewer_sees_the_teams_they_review(self, client: TestClient, org: Org) -> None:
        login_as(client, org.reviewer_beta)
        page = soup(client.get("/dashboard", params=RANGE))
        assert set(agent_rows(page)) == {"Cy", "Dee"}
        options = [o.get_text(strip=True) for o in page.select("select[name=team] option")]
        assert options == ["All teams", "Beta"]  # their one team, to pick for the heat map's agents
        assert page.select_one("[data-stat=iqs] .value").get_text(strip=True) == "73.4"  # type: ignore[union-attr]


def read_csv(response: Response) -> list[dict[str, Any]]:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


class TestCsv:
    def test_agents(self, client: TestClient, org: Org) -> None:
        login_as(client, org.admin)
        response = client.get("/dashboard/agents.csv", params={**RANGE, "sort": "agent", "size": "2"})
        assert response.headers["content-disposition"] == (
            'attachment; filename="dashboard-agents-2026-03-02-to-2026-03-15.csv"'
        )
        rows = read_csv(response)
        assert [r["agent"] for r in rows] == [
            "Ann",
            "Bob",
            "Cy",
            "Dee",
            "Eve",
        ]  # every page, in the table's order
        assert rows[2] == {
            "agent_id": str(org.agents["Cy"].id),
            "agent": "Cy",
            "team": "Beta",
            "reviews": "2",
            "iqs": "65.63",
            "previous_iqs": "100.00",
            "change": "-34.38",
            "pass_rate_pct": "50.00",
            "critical_fails": "0",
            "conversations": "3",
            "reviewed_conversations": "1",
            "coverage_pct": "33.33",
        }
        assert rows[4]["iqs"] == "" and rows[4]["coverage_pct"] == "0.00"
        narrowed = read_csv(client.get("/dashboard/agents.csv", params={**RANGE, "below": "70"}))
        assert [r["agent"] for r in narrowed] == ["Bob", "Cy"]

    def test_trend(self, client: TestClient, org: Org) -> None:
        login_as(client, org.admin)
        rows = read_csv(client.get("/dashboard/trend.csv", params=RANGE))
        lines = [(r["week_start"], r["team"], r["reviews"], r["iqs"]) for r in rows]
        assert lines == [
            ("2026-03-02", "All teams", "4", "53.13"),
            ("2026-03-09", "All teams", "6", "82.29"),
            ("2026-03-02", "All teams", "10", "70.63"),  # the whole range
            ("2026-03-02", "Alpha", "3", "56.25"),
            ("2026-03-09", "Alpha", "3", "81.25"),
            ("2026-03-02", "Alpha", "6", "68.75"),
            ("2026-03-02", "Beta", "1", "43.75"),
            ("2026-03-09", "Beta", "3", "83.33"),
            ("2026-03-02", "Beta", "4", "73.44"),
        ]
        assert rows[2]["week_end"] == "2026-03-15" and rows[3]["team_id"] == str(org.alpha.id)

    def test_criteria_and_reviewers(self, client: TestClient, org: Org) -> None:
        login_as(client, org.admin)
        rows = read_csv(
            client.get("/dashboard/criteria.csv", params={**RANGE, "team": org.alpha.id, "heat": "agents"})
        )
        ann = {r["criterion_key"]: (r["ratings"], r["mean"]) for r in rows if r["name"] == "Ann"}
        assert ann == {
            "accuracy": ("3", "91.67"),
            "tone": ("3", "83.33"),
            "empathy": ("1", "100.00"),
            "greeting": ("2", "100.00"),
        }
        assert {r["row"] for r in rows} == {"all", "agent"} and rows[0]["criterion"] == "Correct solution"
        reviewers = {r["reviewer"]: r for r in read_csv(client.get("/dashboard/reviewers.csv", params=RANGE))}
        assert reviewers["Sam"] | {"reviewer_id": ""} == {
            "reviewer_id": "",
            "reviewer": "Sam",
            "reviews": "3",
            "average_score": "70.83",
            "leniency": "37.50",
            "overlap_agents": "2",
            "average_seconds": "400",
            "disputes_raised": "2",
            "disputes_lost": "1",
            "disputes_rejected": "0",
            "disputes_open": "1",
            "dispute_rate_pct": "66.67",
        }
        assert reviewers["Tom"]["leniency"] == "7.29"

    def test_formulas_are_neutralised(self, client: TestClient, session: Session, org: Org) -> None:
        agent = make_agent(session, team=org.alpha, name='=HYPERLINK("x")')
        make_conversation(session, agent=agent, created_at=at(4))
        login_as(client, org.admin)
        rows = read_csv(client.get("/dashboard/agents.csv", params=RANGE))
        assert '\'=HYPERLINK("x")' in [r["agent"] for r in rows]

    def test_bad_panel_and_filters(self, client: TestClient, org: Org) -> None:
        login_as(client, org.admin)
        assert client.get("/dashboard/salaries.csv", params=RANGE).status_code == 404
        assert client.get("/dashboard/agents.csv", params={"start": "nope"}).status_code == 422
        params = {**RANGE, "team": org.alpha.id, "heat": "planets"}
        assert client.get("/dashboard/criteria.csv", params=params).status_code == 422

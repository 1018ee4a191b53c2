"""The drill-down list of the reviews behind a number: service and page (figures: report_data.py)."""

from __future__ import annotations

from typing import Any

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import Session

from qa import org_settings
from qa.errors import InvalidInput, NotFound
from qa.models import User
from qa.reporting import drilldown
from tests.conftest import login_as
from tests.reporting.report_data import PERIOD, Data

approx = pytest.approx


def listing(
    db: Session, actor: User, cursor: str | None = None, limit: int = 50, **params: Any
) -> drilldown.DrillPage:
    query = drilldown.parse_query({**PERIOD, **{k: str(v) for k, v in params.items()}})
    return drilldown.review_list(db, actor=actor, query=query, cursor=cursor, limit=limit)


class TestService:
    def test_an_agents_reviews_newest_first(self, db: Session, report_org: Data) -> None:
        page = listing(db, report_org.admin, agent=report_org.dana.id)
        ids = report_org.reviews
        assert [r.review_id for r in page.rows] == [ids[n].id for n in ("R5", "R4", "R3", "R2", "R1")]
        assert page.total == 5 and page.mean == approx(57.5) and page.next_cursor is None
        assert page.summary == "Reviews of Dana Ruiz, 4–24 Nov 2026"
        r3 = page.rows[2]
        assert (r3.subject, r3.agent_name, r3.reviewer, r3.scorecard, r3.version) == (
            "=SUM(1,2) refund",
            "Dana Ruiz",
            "Rita Reed",
            "Support QA",
            2,
        )
        assert (r3.score, r3.passed, r3.failed_critical) == (0.0, False, True)
        assert page.rows[1].score == approx(62.5)  # the edited review, with its corrected score

    @pytest.mark.parametrize(
        ("params", "total", "mean", "summary"),
        [
            ({"criterion": "tone"}, 4, 50.0, "criterion Tone of voice"),
            ({"criterion": "accuracy", "root_cause": "Incomplete"}, 2, 62.5, "root cause “Incomplete”"),
            ({"outcome": "passed"}, 2, 93.75, "passed only"),
            ({"outcome": "failed"}, 3, (37.5 + 0 + 62.5) / 3, "not passed only"),
            ({"outcome": "critical"}, 1, 0.0, "critical fails only"),
            ({"channel": "chat"}, 5, 57.5, "channel chat"),
            ({"channel": "email"}, 0, None, "channel email"),
        ],
    )
    def test_filters(
        self,
        db: Session,
        report_org: Data,
        params: dict[str, str],
        total: int,
        mean: float | None,
        summary: str,
    ) -> None:
        page = listing(db, report_org.admin, agent=report_org.dana.id, **params)
        assert (page.total, page.mean) == (total, approx(mean) if mean is not None else None)
        assert len(page.rows) == total and summary in page.summary

    def test_the_criterion_rating_is_shown(self, db: Session, report_org: Data) -> None:
        page = listing(db, report_org.admin, agent=report_org.dana.id, criterion="tone")
        assert [(r.option_label, r.option_score) for r in page.rows] == [
            ("Great", 100.0),
            ("Poor", 0.0),
            ("Poor", 0.0),
            ("Great", 100.0),
        ]  # R4's N/A is not listed
        assert page.criterion_name == "Tone of voice"

    def test_team_scorecard_and_reviewer(self, db: Session, report_org: Data) -> None:
        team = listing(db, report_org.admin, team=report_org.billing.id)
        assert (team.total, team.mean) == (7, approx(445 / 7))
        assert team.summary == "Reviews, team Billing, 4–24 Nov 2026"
        by_card = listing(db, report_org.admin, scorecard=report_org.scorecard_id)
        assert by_card.total == 8 and "scorecard Support QA" in by_card.summary  # Dana 5, Eli 2, Fay 1
        by_sam = listing(db, report_org.admin, reviewer=report_org.sam.id)
        assert by_sam.total == 4 and by_sam.summary.endswith("reviewed by Sam Stone")  # R2, R4, E2, F1

    def test_keyset_pages(self, db: Session, report_org: Data) -> None:
        ids = report_org.reviews
        seen, cursor = [], None
        for _ in range(3):
            page = listing(db, report_org.admin, cursor=cursor, limit=2, agent=report_org.dana.id)
            assert page.total == 5 and page.mean == approx(57.5)  # the totals are of the whole list
            seen += [r.review_id for r in page.rows]
            cursor = page.next_cursor
        assert seen == [ids[n].id for n in ("R5", "R4", "R3", "R2", "R1")] and cursor is None

    def test_scope_and_links(self, db: Session, report_org: Data) -> None:
        ids = report_org.reviews
        mine = listing(db, report_org.dana_user)  # an agent sees only their own, whatever the filters
        assert mine.total == 5 and all(r.can_open for r in mine.rows)
        assert listing(db, report_org.fay_user).total == 1
        rita = listing(db, report_org.rita, agent=report_org.dana.id)  # may aggregate Billing, opens her own
        assert {r.review_id for r in rita.rows if r.can_open} == {ids["R1"].id, ids["R3"].id, ids["R5"].id}
        assert listing(db, report_org.rita).total == 7  # Billing only: not Fay's F1
        assert listing(db, report_org.manager_tech).total == 1
        assert all(r.can_open for r in listing(db, report_org.manager_billing).rows)

    @pytest.mark.parametrize(
        ("viewer", "params"),
        [
            ("dana_user", {"agent": "fay"}),
            ("dana_user", {"team": "tech"}),
            ("dana_user", {"agent": "eli"}),
            ("manager_tech", {"agent": "dana"}),
            ("manager_tech", {"team": "billing"}),
            ("rita", {"agent": "fay"}),
            ("admin", {"agent": 999999}),
            ("admin", {"team": 999999}),
            ("admin", {"scorecard": 999999}),
            ("admin", {"reviewer": 999999}),
            ("admin", {"reviewer": "dana_user"}),
        ],
    )
    def test_naming_someone_out_of_scope_is_not_found(
        self, db: Session, report_org: Data, viewer: str, params: dict[str, Any]
    ) -> None:
        values = {k: getattr(report_org, v).id if isinstance(v, str) else v for k, v in params.items()}
        with pytest.raises(NotFound):
            listing(db, getattr(report_org, viewer), **values)

    def test_agents_see_the_reviewer_label(self, db: Session, report_org: Data) -> None:
        org_settings.put(db, actor=report_org.admin, key=org_settings.HIDE_REVIEWER_NAMES, value=True)
        page = listing(db, report_org.dana_user, reviewer=report_org.rita.id)
        assert {r.reviewer for r in page.rows} == {"QA team"} and page.summary.endswith("reviewed by QA team")
        assert {r.reviewer for r in listing(db, report_org.admin, agent=report_org.dana.id).rows} == {
            "Rita Reed",
            "Sam Stone",
        }

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"start": "2026-02-30"}, "start"),
            ({"end": "tomorrow"}, "end"),
            ({"agent": "x"}, "agent"),
            ({"team": "1.5"}, "team"),
            ({"agent": "²"}, "agent"),
            ({"reviewer": "-3"}, "reviewer"),
            ({"channel": "fax"}, "channel"),
            ({"criterion": "Tone!"}, "criterion"),
            ({"criterion": "a\x00"}, "criterion"),
            ({"outcome": "maybe"}, "outcome"),
            ({"disputed": "rejected"}, "disputed"),
            ({"root_cause": "Rude"}, "root_cause"),
            ({"start": "2026-11-24", "end": "2026-11-01"}, "start"),
            ({"scorecard": "9" * 11}, "scorecard"),
        ],
    )
    def test_bad_input(self, params: dict[str, str], field: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            drilldown.parse_query(params)
        assert caught.value.field == field

    def test_bad_cursor(self, db: Session, report_org: Data) -> None:
        for cursor in ("nonsense", "2026-11-01_x", "_5"):
            with pytest.raises(InvalidInput):
                listing(db, report_org.admin, cursor=cursor)

    def test_default_dates(self) -> None:
        from datetime import date

        query = drilldown.parse_query({}, today=date(2026, 11, 24))
        assert (query.piece.start, query.piece.end) == (date(2026, 10, 26), date(2026, 11, 24))
        query = drilldown.parse_query({"start": "2026-11-01"}, today=date(2026, 11, 24))
        assert (query.piece.start, query.piece.end) == (date(2026, 11, 1), date(2026, 11, 30))


def soup(response: object) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")  # type: ignore[attr-defined]


class TestPage:
    def test_the_list(self, report_client: TestClient, report_org: Data) -> None:
        login_as(report_client, report_org.rita)
        params = {**PERIOD, "agent": report_org.dana.id, "criterion": "tone"}
        response = report_client.get("/reports/reviews", params=params)
        assert response.status_code == 200
        page = soup(response)
        assert page.select_one("h1").get_text(strip=True) == (  # type: ignore[union-attr]
            "Reviews of Dana Ruiz, 4–24 Nov 2026, criterion Tone of voice"
        )
        assert page.select_one("#drill-total").get_text(strip=True) == "4"  # type: ignore[union-attr]
        assert page.select_one("#drill-mean").get_text(strip=True) == "50.0"  # type: ignore[union-attr]
        rows = page.select("#drill-rows tr[data-review]")
        ids = report_org.reviews
        assert [int(str(r["data-review"])) for r in rows] == [ids[n].id for n in ("R5", "R3", "R2", "R1")]
        linked = {int(str(r["data-review"])) for r in rows if r.select_one("a[href*='/reviews/']")}
        assert linked == {ids["R5"].id, ids["R3"].id, ids["R1"].id}  # R2 is Sam's: listed, not linked
        cells = [td.get_text(" ", strip=True) for td in rows[1].select("td")]
        assert cells[1:] == [
            "=SUM(1,2) refund",
            "Dana Ruiz",
            "Rita Reed",
            "Support QA v2",
            "0.0",
            "Critical fail",
            "Poor (0.0)",
        ]
        back = page.select_one("a.btn[href*='/reports/agents/']")
        assert back is not None and str(back["href"]).endswith(
            f"/reports/agents/{report_org.dana.id}?start=2026-11-04&end=2026-11-24"
        )

    def test_load_more_with_htmx(self, report_client: TestClient, report_org: Data, monkeypatch: Any) -> None:
        monkeypatch.setattr(drilldown, "PAGE_SIZE", 2)
        login_as(report_client, report_org.dana_user)
        page = soup(report_client.get("/reports/reviews", params={**PERIOD, "agent": report_org.dana.id}))
        more = page.select_one("#drill-more a")
        assert more is not None and len(page.select("#drill-rows tr[data-review]")) == 2
        response = report_client.get(
            str(more["href"]), headers={"HX-Request": "true", "HX-Target": "drill-more"}
        )
        fragment = soup(response)
        assert fragment.select_one("h1") is None and len(fragment.select("tr[data-review]")) == 2
        assert fragment.select_one("#drill-more") is not None

    @pytest.mark.parametrize(
        "params",
        [
            {"start": "2026-11-32"},
            {"agent": "abc"},
            {"outcome": "x"},
            {"disputed": "yes"},
            {"cursor": "bad"},
            {"criterion": "a\x00b"},
        ],
    )
    def test_bad_input_is_422_with_the_message(
        self, report_client: TestClient, report_org: Data, params: dict[str, str]
    ) -> None:
        login_as(report_client, report_org.manager_billing)
        response = report_client.get("/reports/reviews", params=params)
        assert response.status_code == 422
        assert soup(response).select_one(".alert-error") is not None

    def test_out_of_scope_is_404(self, report_client: TestClient, report_org: Data) -> None:
        login_as(report_client, report_org.dana_user)
        response = report_client.get("/reports/reviews", params={"agent": report_org.fay.id})
        assert response.status_code == 404 and "Fay" not in response.text

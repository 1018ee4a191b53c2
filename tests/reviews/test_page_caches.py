"""What pages remember between requests (qa.cache, shared row fragments) is never stale or foreign."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session
from starlette.requests import Request

from qa import cache
from qa.models import Role
from qa.reviews import service as review_service
from qa.web import templates as web_templates
from qa.web.csrf import csrf_token
from tests.conftest import login_as
from tests.conversations.helpers import native
from tests.factories import make_agent, make_user
from tests.reviews.helpers import GOOD, HX, World, soup, token_for


def _agent_options(client: TestClient) -> set[str]:
    return {o.get_text(strip=True) for o in soup(client.get("/queue")).select("select[name=agent] option")}


class TestFilterListsFollowChanges:
    def test_an_agent_met_by_an_import_is_offered_at_once(
        self, client: TestClient, world: World, session: Session
    ) -> None:
        login_as(client, world.admin)
        assert "Quinn Newcomer" not in _agent_options(client)  # the lists are now cached
        record = native(agent={"external_id": "new-7", "name": "Quinn Newcomer"})
        headers = {**token_for(session, world.admin), "Content-Type": "application/json"}
        response = client.post("/api/v1/conversations", content=json.dumps([record]), headers=headers)
        assert response.status_code == 200, response.text
        assert "Quinn Newcomer" in _agent_options(client)

    def test_an_agent_added_or_renamed_through_the_orm_shows(
        self, client: TestClient, world: World, session: Session
    ) -> None:
        login_as(client, world.admin)
        before = _agent_options(client)
        agent = make_agent(session, name="Robin Added")
        assert _agent_options(client) == before | {"Robin Added"}
        agent.name = "Robin Renamed"
        session.flush()
        assert "Robin Renamed" in _agent_options(client)
        assert "Robin Added" not in _agent_options(client)

    def test_a_new_reviewer_is_offered_on_the_reviews_list(
        self, client: TestClient, world: World, session: Session
    ) -> None:
        login_as(client, world.admin)
        names = lambda: {o.get_text(strip=True)  # noqa: E731
                         for o in soup(client.get("/reviews")).select("select[name=reviewer] option")}
        assert "Casey Fresh" not in names()
        make_user(session, role=Role.reviewer, name="Casey Fresh")
        assert "Casey Fresh" in names()

    def test_lists_stay_limited_to_the_managers_teams(self, client: TestClient, world: World) -> None:
        login_as(client, world.admin)
        assert world.other_agent.name in _agent_options(client)  # the admin's lists are cached ...
        login_as(client, world.manager)
        page = soup(client.get("/reviews"))
        options = {o.get_text(strip=True) for o in page.select("select[name=agent] option")}
        assert world.agent.name in options and world.other_agent.name not in options  # ... and not reused


class TestQueueRows:
    def test_a_row_follows_the_reviewers_work(
        self, client: TestClient, world: World, session: Session
    ) -> None:
        login_as(client, world.reviewer)

        def row() -> Any:
            for tr in soup(client.get("/queue")).select("#queue-rows tr[data-row]"):
                if tr.select_one(".subject").get_text(strip=True) == world.conversation.subject:  # type: ignore[union-attr]
                    return tr
            raise AssertionError("row not found")

        assert row().select_one("button[data-primary]").get_text(strip=True) == "Review"
        review = review_service.start_review(session, actor=world.reviewer,
                                             conversation_id=world.conversation.id)
        assert row().select_one(".badge-draft").get_text(strip=True) == "Your draft"
        for key, label in GOOD.items():
            review_service.rate(session, actor=world.reviewer, review_id=review.id, criterion_key=key,
                                option_label=label)
        review_service.submit_review(session, actor=world.reviewer, review_id=review.id)
        assert row().select_one(".score-pill").get_text(strip=True) == "74.2"

    def test_rows_carry_no_session_data_and_each_page_its_own_token(
        self, app: FastAPI, world: World
    ) -> None:
        tokens = []
        for user in (world.reviewer, world.other_reviewer):
            with TestClient(app, base_url="http://testserver") as client:
                login_as(client, user)
                page = soup(client.get("/queue"))
                tokens.append(page.select_one("#start-review input[name=csrf_token]")["value"])  # type: ignore[index]
                rows = page.select("#queue-rows tr[data-row]")
                assert rows and not any(r.select("input[name=csrf_token]") for r in rows)
                button = rows[0].select_one("button[data-primary]")
                assert button["form"] == "start-review"  # type: ignore[index]
                assert button["formaction"].endswith("/review")  # type: ignore[index]
        assert tokens[0] != tokens[1]

    def test_the_review_button_starts_a_review_with_the_pages_token(
        self, client: TestClient, world: World
    ) -> None:
        login_as(client, world.reviewer)
        page = soup(client.get("/queue"))
        token = page.select_one("#start-review input[name=csrf_token]")["value"]  # type: ignore[index]
        action = page.select_one("#queue-rows button[data-primary]")["formaction"]  # type: ignore[index]
        response = client.post(str(action), data={"csrf_token": token}, follow_redirects=False)
        assert response.status_code == 303
        assert "/reviews/" in response.headers["location"]

    def test_scorecard_choice_rides_on_the_button(self, client: TestClient, world: World) -> None:
        login_as(client, world.reviewer)
        button = soup(client.get(f"/queue?scorecard={world.version.scorecard_id}")).select_one(
            "#queue-rows button[data-primary]")
        assert button["name"] == "scorecard_id"  # type: ignore[index]
        assert button["value"] == str(world.version.scorecard_id)  # type: ignore[index]

    def test_htmx_rows_match_the_full_page(self, client: TestClient, world: World) -> None:
        login_as(client, world.reviewer)
        full = soup(client.get("/queue")).select("#queue-rows tr[data-row]")
        partial = soup(client.get("/queue", headers={**HX, "HX-Target": "queue-rows"})).select("tr[data-row]")
        assert [str(r) for r in full] == [str(r) for r in partial]


class TestSharedPartials:
    def _request(self, app: FastAPI) -> Request:
        return Request({"type": "http", "app": app, "router": app.router, "method": "GET", "scheme": "http",
                        "server": ("testserver", 80), "path": "/queue", "root_path": "", "query_string": b"",
                        "headers": [(b"host", b"testserver")], "session": {"uid": 1, "csrf": "secret"}})

    def test_a_shared_fragment_cannot_read_the_session(self, app: FastAPI) -> None:
        shared = web_templates.SharedRequest(self._request(app))
        with pytest.raises(AttributeError):
            csrf_token(shared)  # type: ignore[arg-type]
        assert not hasattr(shared, "session") and not hasattr(shared, "headers")

    def test_it_builds_the_same_urls_as_the_request(self, app: FastAPI) -> None:
        request = self._request(app)
        shared = web_templates.SharedRequest(request)
        assert str(web_templates.url_for(shared, "reviews:detail", review_id=7)) == str(  # type: ignore[arg-type]
            request.url_for("reviews:detail", review_id=7))
        assert str(shared.url_for("reviews:rate", review_id=7, criterion_key="tone")) == str(
            request.url_for("reviews:rate", review_id=7, criterion_key="tone"))

    def test_fragments_are_kept_per_base_url(self, app: FastAPI, client: TestClient, world: World) -> None:
        login_as(client, world.reviewer)
        client.get("/queue")
        with TestClient(app, base_url="http://other.example") as other:
            login_as(other, world.reviewer)
            hrefs = [b["formaction"] for b in soup(other.get("/queue")).select("button[data-primary]")]
        assert hrefs and all(str(h).startswith("http://other.example/") for h in hrefs)


class TestCacheExpiry:
    def test_values_expire_after_the_ttl(self, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
        now = [1000.0]
        monkeypatch.setattr(cache.time, "monotonic", lambda: now[0])
        calls = []

        def compute() -> int:
            calls.append(1)
            return len(calls)

        assert cache.cached(session, "k", compute) == 1
        assert cache.cached(session, "k", compute) == 1
        now[0] += cache.TTL_SECONDS + 1
        assert cache.cached(session, "k", compute) == 2

    def test_a_write_to_a_watched_table_drops_everything(self, session: Session) -> None:
        assert cache.cached(session, "k2", lambda: "old") == "old"
        make_agent(session)
        assert cache.cached(session, "k2", lambda: "new") == "new"

    def test_a_write_elsewhere_keeps_values(self, session: Session, world: World) -> None:
        assert cache.cached(session, "k3", lambda: "kept") == "kept"
        review_service.start_review(session, actor=world.reviewer, conversation_id=world.conversation.id)
        assert cache.cached(session, "k3", lambda: "recomputed") == "kept"

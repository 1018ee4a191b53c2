"""Review pages through HTTP with a real login: queue, review form with live scoring, lists, My feedback."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from qa.models import Message, MessageComment, Review, ReviewStatus
from tests.conftest import login_as
from tests.reviews.helpers import GOOD, HX, World, audit_actions, conversations_at, rated_review, soup


def _start(client: TestClient, world: World) -> int:
    response = client.post(f"/conversations/{world.conversation.id}/review", follow_redirects=False)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def _rate(client: TestClient, review_id: int, key: str, option: str, *, htmx: bool = True, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"/reviews/{review_id}/criteria/{key}",
        data={"option": option, **extra},
        headers=HX if htmx else {},
        follow_redirects=False,
    )


class TestQueuePage:
    def test_reviewer_sees_rows_with_actions(
        self, client: TestClient, world: World, session: Session
    ) -> None:
        review = rated_review(session, world, conversation=world.other_conversation)
        login_as(client, world.reviewer)
        page = soup(client.get("/queue"))
        rows = page.select("#queue-rows tr[data-row]")
        assert len(rows) == 2
        texts = {row.select_one(".subject").get_text(strip=True): row for row in rows}  # type: ignore[union-attr]
        open_row = texts[world.conversation.subject]
        assert open_row.select_one("button[data-primary]").get_text(strip=True) == "Review"  # type: ignore[union-attr]
        done_row = texts[world.other_conversation.subject]
        assert done_row.select_one(".score-pill").get_text(strip=True) == "74.2"  # type: ignore[union-attr]
        assert done_row.select_one("a[data-primary]")["href"].endswith(f"/reviews/{review.id}")  # type: ignore[index]
        assert page.select_one("nav a[aria-current=page]").get_text(strip=True) == "Review queue"  # type: ignore[union-attr]

    def test_htmx_filter_change_returns_only_rows(self, client: TestClient, world: World) -> None:
        login_as(client, world.reviewer)
        response = client.get(f"/queue?team={world.other_team.id}", headers={**HX, "HX-Target": "queue-rows"})
        assert response.status_code == 200
        assert "<html" not in response.text
        rows = soup(response).select("tr[data-row]")
        assert [r.select_one(".subject").get_text(strip=True) for r in rows] == [  # type: ignore[union-attr]
            world.other_conversation.subject
        ]

    def test_pages_with_cursor_links(
        self, app: FastAPI, client: TestClient, world: World, session: Session, htmx: bool
    ) -> None:
        app.state.settings = app.state.settings.model_copy(update={"page_size": 3})
        made = conversations_at(session, 7, agent=world.agent, team=world.team)
        login_as(client, world.reviewer)
        url: str | None = f"/queue?agent={world.agent.id}&status=not_reviewed"
        seen: list[str] = []
        pages = 0
        while url:
            headers = {**HX, "HX-Target": "queue-more"} if htmx and pages else {}
            response = client.get(url, headers=headers)
            assert response.status_code == 200
            html = soup(response)
            seen += [r.select_one(".subject").get_text(strip=True) for r in html.select("tr[data-row]")]  # type: ignore[union-attr]
            more = html.select_one("#queue-more a")
            url = str(more["href"]) if more else None
            if url:
                assert parse_qs(urlsplit(url).query)["agent"] == [str(world.agent.id)]  # filters are kept
            pages += 1
        expected = [
            c.subject
            for c in sorted(made + [world.conversation], key=lambda c: (c.created_at, c.id), reverse=True)
        ]
        assert seen == expected and pages == 3

    @pytest.mark.parametrize(
        "query", ["team=abc", "from=2026-13-01", "status=bogus", "channel=fax", "cursor=!!notacursor"]
    )
    def test_bad_filters_are_422_not_500(
        self, client: TestClient, world: World, query: str, htmx: bool
    ) -> None:
        login_as(client, world.reviewer)
        headers = {**HX, "HX-Target": "queue-rows"} if htmx else {}
        response = client.get(f"/queue?{query}", headers=headers)
        assert response.status_code == 422
        assert soup(response).select_one(".alert-error") is not None

    def test_agents_may_not_open_the_queue(self, client: TestClient, world: World) -> None:
        login_as(client, world.agent_user)
        assert client.get("/queue").status_code == 403

    def test_anonymous_is_sent_to_login(self, client: TestClient, world: World) -> None:
        response = client.get("/queue", follow_redirects=False)
        assert response.status_code == 303 and "/login" in response.headers["location"]


class TestStart:
    def test_get_offers_a_start_button_and_writes_nothing(
        self, client: TestClient, world: World, session: Session
    ) -> None:
        login_as(client, world.reviewer)
        page = soup(client.get(f"/conversations/{world.conversation.id}/review"))
        form = page.select_one(".start-card form[method=post]")
        assert form is not None and form["action"].endswith(f"/conversations/{world.conversation.id}/review")
        assert session.exec(select(Review)).all() == []

    def test_post_creates_a_draft_and_get_then_redirects_to_it(
        self, client: TestClient, world: World
    ) -> None:
        login_as(client, world.reviewer)
        review_id = _start(client, world)
        response = client.get(f"/conversations/{world.conversation.id}/review", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].endswith(f"/reviews/{review_id}")
        assert _start(client, world) == review_id

    def test_htmx_post_answers_with_hx_redirect(self, client: TestClient, world: World) -> None:
        login_as(client, world.reviewer)
        response = client.post(f"/conversations/{world.conversation.id}/review", headers=HX)
        assert response.status_code == 204 and "/reviews/" in response.headers["HX-Redirect"]

    @pytest.mark.parametrize("conversation_id", ["999999", "abc", "-1"])
    def test_unknown_conversation_is_404(
        self, client: TestClient, world: World, conversation_id: str
    ) -> None:
        login_as(client, world.reviewer)
        assert client.post(f"/conversations/{conversation_id}/review").status_code == 404
        assert client.get(f"/conversations/{conversation_id}/review").status_code == 404

    def test_agent_cannot_start(self, client: TestClient, world: World) -> None:
        login_as(client, world.agent_user)
        assert client.post(f"/conversations/{world.conversation.id}/review").status_code == 403

    def test_missing_csrf_is_refused(self, client: TestClient, world: World) -> None:
        login_as(client, world.reviewer)
        client.headers.pop("X-CSRF-Token")
        assert client.post(f"/conversations/{world.conversation.id}/review").status_code == 403


class TestReviewForm:
    def test_draft_shows_form_transcript_and_score_panel(
        self, client: TestClient, world: World, session: Session
    ) -> None:
        session.add(
            Message(
                conversation_id=world.conversation.id,
                position=9,
                author="agent",  # type: ignore[arg-type]
                body="Checked with finance",
                internal=True,
            )
        )
        session.flush()
        login_as(client, world.reviewer)
        page = soup(client.get(f"/reviews/{_start(client, world)}"))
        assert page.select_one("#score-panel .big").get_text(strip=True) == "—"  # type: ignore[union-attr]
        forms = page.select("form.criterion")
        assert [f["data-criterion"] for f in forms] == ["greeting", "accuracy", "tone"]
        tone = page.select_one("#crit-tone")
        assert [i["value"] for i in tone.select("input[type=radio]")] == ["Poor", "OK", "Great", "__na__"]  # type: ignore[union-attr]
        assert tone.select_one("select[name=root_cause]") is not None  # type: ignore[union-attr]
        assert page.select_one("#crit-greeting input[value=__na__]") is None
        assert page.select_one("#crit-accuracy .badge-bad").get_text(strip=True) == "Critical"  # type: ignore[union-attr]
        assert page.select_one("#crit-tone")["hx-trigger"] == "change"  # type: ignore[index]
        internal = page.select_one(".msg-internal")
        assert internal is not None and "Internal note" in internal.get_text()
        assert len(page.select(".transcript .msg")) == 4
        assert page.select_one("#review-form input[name=time_spent_seconds]") is not None
        assert page.select_one(".shortcut-legend") is not None

    def test_live_scoring_returns_row_and_score_panel_oob(
        self, client: TestClient, world: World, session: Session
    ) -> None:
        login_as(client, world.reviewer)
        review_id = _start(client, world)
        for key, option in GOOD.items():
            response = _rate(client, review_id, key, option)
            assert response.status_code == 200, response.text
        html = soup(response)
        row = html.select_one("form#crit-tone")
        assert row is not None and row.select_one("input[value=OK]").has_attr("checked")  # type: ignore[union-attr]
        assert "Saved" in row.get_text()
        panel = html.select_one("#score-panel")
        assert panel is not None and panel["hx-swap-oob"] == "true"
        assert panel.select_one(".big").get_text(strip=True) == "74.2"  # type: ignore[union-attr]
        assert [li.select_one(".val").get_text(strip=True) for li in panel.select(".section-scores li")] == [  # type: ignore[union-attr]
            "100.0",
            "75.0",
            "60.0",
        ]
        stored = session.get(Review, review_id)
        assert stored is not None and stored.score == pytest.approx(74.16666666666667)

    def test_na_and_critical_failure_show_in_the_panel(self, client: TestClient, world: World) -> None:
        login_as(client, world.reviewer)
        review_id = _start(client, world)
        _rate(client, review_id, "tone", "__na__")
        response = _rate(client, review_id, "accuracy", "2")
        panel = soup(response).select_one("#score-panel")
        assert panel is not None and panel.select_one(".big").get_text(strip=True) == "0.0"  # type: ignore[union-attr]
        assert "Critical failure" in panel.select_one(".critical-banner").get_text()  # type: ignore[union-attr]
        assert "Correct solution" in panel.select_one(".critical-banner").get_text()  # type: ignore[union-attr]

    def test_plain_post_redirects_back_to_the_form(self, client: TestClient, world: World) -> None:
        login_as(client, world.reviewer)
        review_id = _start(client, world)
        response = _rate(client, review_id, "greeting", "Yes", htmx=False)
        assert response.status_code == 303
        assert response.headers["location"].endswith(f"/reviews/{review_id}#crit-greeting")

    def test_invalid_option_rerenders_the_row_with_422(self, client: TestClient, world: World) -> None:
        login_as(client, world.reviewer)
        review_id = _start(client, world)
        response = _rate(client, review_id, "greeting", "Maybe")
        assert response.status_code == 422
        row = soup(response).select_one("form#crit-greeting")
        assert row is not None and "not an option" in row.select_one(".field-error").get_text()  # type: ignore[union-attr]
        assert _rate(client, review_id, "greeting", "Maybe", htmx=False).status_code == 422
        assert _rate(client, review_id, "greeting", "__na__").status_code == 422

    def test_comment_without_option_is_kept_in_the_form(
        self, client: TestClient, world: World, session: Session
    ) -> None:
        login_as(client, world.reviewer)
        review_id = _start(client, world)
        response = _rate(client, review_id, "tone", "", comment="Be warmer")
        assert response.status_code == 200
        row = soup(response).select_one("form#crit-tone")
        assert row is not None and row.select_one("textarea").get_text() == "Be warmer"  # type: ignore[union-attr]
        assert "Choose a rating" in row.get_text()
        assert session.exec(select(Review).where(Review.id == review_id)).one().score is None

    def test_unknown_criterion_and_review_are_404(self, client: TestClient, world: World) -> None:
        login_as(client, world.reviewer)
        review_id = _start(client, world)
        assert _rate(client, review_id, "nope", "Yes").status_code == 404
        assert _rate(client, review_id, "nope", "").status_code == 404
        for bad in ("999999", "abc", "0", "99999999999999999999"):
            assert client.get(f"/reviews/{bad}").status_code == 404
            assert client.post(f"/reviews/{bad}/criteria/greeting", data={"option": "Yes"}).status_code == 404

    def test_rating_without_csrf_is_refused(self, client: TestClient, world: World, session: Session) -> None:
        login_as(client, world.reviewer)
        review_id = _start(client, world)
        client.headers.pop("X-CSRF-Token")
        response = _rate(client, review_id, "greeting", "Yes")
        assert response.status_code == 403
        assert session.get(Review, review_id).score is None  # type: ignore[union-attr]

    def test_another_reviewer_cannot_open_or_rate(
        self, client: TestClient, world: World, session: Session
    ) -> None:
        review = rated_review(session, world, submit=False)
        login_as(client, world.other_reviewer)
        assert client.get(f"/reviews/{review.id}").status_code == 404
        assert _rate(client, review.id, "greeting", "No").status_code == 404

    def test_manager_reads_but_cannot_rate(self, client: TestClient, world: World, session: Session) -> None:
        review = rated_review(session, world)
        login_as(client, world.manager)
        page = soup(client.get(f"/reviews/{review.id}"))
        assert page.select("form.criterion") == [] and len(page.select(".criterion-ro")) == 3
        assert _rate(client, review.id, "greeting", "No").status_code == 403

    def test_overall_comment_autosaves(self, client: TestClient, world: World, session: Session) -> None:
        login_as(client, world.reviewer)
        review_id = _start(client, world)
        response = client.post(f"/reviews/{review_id}/comment", data={"comment": "Nice work"}, headers=HX)
        assert response.status_code == 200 and "saved" in response.text
        assert session.get(Review, review_id).comment == "Nice work"  # type: ignore[union-attr]


class TestMessageComments:
    def test_pin_and_remove_through_htmx(self, client: TestClient, world: World, session: Session) -> None:
        login_as(client, world.reviewer)
        review_id = _start(client, world)
        message = session.exec(
            select(Message).where(Message.conversation_id == world.conversation.id)
        ).first()
        assert message is not None
        response = client.post(
            f"/reviews/{review_id}/messages/{message.id}/comments", data={"body": "Great empathy"}, headers=HX
        )
        assert response.status_code == 200
        article = soup(response).select_one(f"article#msg-{message.id}")
        assert article is not None and "pinned" in article["class"]
        assert article.select_one(".msg-comment .pin-body").get_text() == "Great empathy"  # type: ignore[union-attr]
        pinned = session.exec(select(MessageComment)).one()
        response = client.post(f"/reviews/{review_id}/pinned/{pinned.id}/delete", headers=HX)
        assert response.status_code == 200 and soup(response).select(".msg-comment") == []

    def test_empty_comment_is_422_and_foreign_message_404(
        self, client: TestClient, world: World, session: Session
    ) -> None:
        login_as(client, world.reviewer)
        review_id = _start(client, world)
        own = session.exec(select(Message).where(Message.conversation_id == world.conversation.id)).first()
        foreign = session.exec(
            select(Message).where(Message.conversation_id == world.other_conversation.id)
        ).first()
        response = client.post(
            f"/reviews/{review_id}/messages/{own.id}/comments",
            data={"body": " "},  # type: ignore[union-attr]
            headers=HX,
        )
        assert response.status_code == 422 and soup(response).select_one(".field-error") is not None
        assert (
            client.post(
                f"/reviews/{review_id}/messages/{foreign.id}/comments",  # type: ignore[union-attr]
                data={"body": "x"},
                headers=HX,
            ).status_code
            == 404
        )
        assert (
            client.post(f"/reviews/{review_id}/messages/abc/comments", data={"body": "x"}).status_code == 404
        )


class TestSubmit:
    def test_incomplete_submit_is_422_naming_the_missing(
        self, client: TestClient, world: World, htmx: bool
    ) -> None:
        login_as(client, world.reviewer)
        review_id = _start(client, world)
        _rate(client, review_id, "accuracy", "4")
        response = client.post(
            f"/reviews/{review_id}/submit", data={"comment": ""}, headers=HX if htmx else {}
        )
        assert response.status_code == 422
        feedback = soup(response).select_one("#submit-feedback")
        assert feedback is not None
        assert [a.get_text() for a in feedback.select(".missing-links a")] == ["Greeting", "Tone"]
        if not htmx:
            assert soup(response).select_one("form#review-form") is not None  # the whole form re-rendered

    def test_submit_redirects_to_read_only_with_a_notice(
        self, client: TestClient, world: World, session: Session, htmx: bool
    ) -> None:
        login_as(client, world.reviewer)
        review_id = _start(client, world)
        for key, option in GOOD.items():
            _rate(client, review_id, key, option)
        response = client.post(
            f"/reviews/{review_id}/submit",
            data={"comment": "Good", "time_spent_seconds": "42"},
            headers=HX if htmx else {},
            follow_redirects=False,
        )
        if htmx:
            assert response.status_code == 204
            target = response.headers["HX-Redirect"]
        else:
            assert response.status_code == 303
            target = response.headers["location"]
        assert target.endswith(f"/reviews/{review_id}")
        review = session.get(Review, review_id)
        assert (
            review is not None and review.status == ReviewStatus.submitted and review.time_spent_seconds == 42
        )
        page = soup(client.get(target))
        assert "Review submitted" in page.select_one(".alert-ok").get_text()  # type: ignore[union-attr]
        assert page.select("form.criterion") == []
        assert page.select_one("a.btn[href$='?edit=1']") is not None
        assert page.select_one("#score-panel .big").get_text(strip=True) == "74.2"  # type: ignore[union-attr]

    def test_editing_a_submitted_review_is_audited(
        self, client: TestClient, world: World, session: Session
    ) -> None:
        review = rated_review(session, world)
        login_as(client, world.reviewer)
        page = soup(client.get(f"/reviews/{review.id}?edit=1"))
        assert len(page.select("form.criterion")) == 3 and "audit log" in page.get_text()
        assert _rate(client, review.id, "accuracy", "5").status_code == 200
        last = audit_actions(session, review.id)[-1]
        assert last.action == "review.edit"
        assert last.before["ratings"]["accuracy"]["option"] == "4"  # type: ignore[index]
        assert last.after["ratings"]["accuracy"]["option"] == "5"  # type: ignore[index]
        response = client.post(f"/reviews/{review.id}/submit", data={"comment": ""}, headers=HX)
        assert response.status_code == 204
        assert audit_actions(session, review.id)[-1].action == "review.update"

    def test_edit_param_is_ignored_for_other_users(
        self, client: TestClient, world: World, session: Session
    ) -> None:
        review = rated_review(session, world)
        login_as(client, world.agent_user)
        assert soup(client.get(f"/reviews/{review.id}?edit=1")).select("form.criterion") == []


class TestAgentView:
    def test_agent_reads_and_acknowledges_own_review(
        self, client: TestClient, world: World, session: Session, htmx: bool
    ) -> None:
        review = rated_review(session, world)
        login_as(client, world.agent_user)
        page = soup(client.get(f"/reviews/{review.id}"))
        button = page.select_one(f"form[action$='/reviews/{review.id}/acknowledge'] button")
        assert button is not None and "Acknowledge" in button.get_text()
        response = client.post(
            f"/reviews/{review.id}/acknowledge", headers=HX if htmx else {}, follow_redirects=False
        )
        assert response.status_code == (204 if htmx else 303)
        assert review.acknowledged_at is not None
        page = soup(client.get(f"/reviews/{review.id}"))
        assert (
            page.select_one(".ack-badge") is not None
            and page.select_one("form[action$='/acknowledge']") is None
        )

    def test_agent_cannot_see_another_agent_s_review(
        self, client: TestClient, world: World, session: Session
    ) -> None:
        review = rated_review(session, world, conversation=world.other_conversation)
        login_as(client, world.agent_user)
        assert client.get(f"/reviews/{review.id}").status_code == 404
        assert client.post(f"/reviews/{review.id}/acknowledge").status_code == 404

    def test_agent_cannot_see_drafts_or_calibration(
        self, client: TestClient, world: World, session: Session
    ) -> None:
        draft = rated_review(session, world, submit=False)
        calibration = rated_review(session, world, reviewer=world.other_reviewer)
        calibration.kind = "calibration"  # type: ignore[assignment]
        session.flush()
        login_as(client, world.agent_user)
        assert client.get(f"/reviews/{draft.id}").status_code == 404
        assert client.get(f"/reviews/{calibration.id}").status_code == 404
        assert soup(client.get("/feedback")).select("tr[data-row]") == []

    def test_reviewer_cannot_acknowledge(self, client: TestClient, world: World, session: Session) -> None:
        review = rated_review(session, world)
        login_as(client, world.reviewer)
        assert client.post(f"/reviews/{review.id}/acknowledge").status_code == 403


class TestListPages:
    def test_manager_sees_team_reviews_with_filters(
        self, client: TestClient, world: World, session: Session
    ) -> None:
        mine = rated_review(session, world)
        other = rated_review(session, world, conversation=world.other_conversation)
        login_as(client, world.manager)
        page = soup(client.get("/reviews"))
        links = [a["href"] for a in page.select("#review-rows a[data-primary]")]
        assert any(str(h).endswith(f"/reviews/{mine.id}") for h in links)
        assert not any(str(h).endswith(f"/reviews/{other.id}") for h in links)
        assert page.select_one("h1").get_text() == "All reviews"  # type: ignore[union-attr]
        row = page.select_one("#review-rows tr[data-row]")
        assert row is not None and "74.2" in row.get_text() and "Support QA" in row.get_text()
        filtered = client.get("/reviews?outcome=passed", headers={**HX, "HX-Target": "review-rows"})
        assert "<html" not in filtered.text and soup(filtered).select("tr[data-row]") == []
        assert client.get("/reviews?score_below=abc").status_code == 422
        assert client.get("/reviews?outcome=nope").status_code == 422

    def test_reviewer_sees_my_reviews(self, client: TestClient, world: World, session: Session) -> None:
        rated_review(session, world)
        login_as(client, world.other_reviewer)
        page = soup(client.get("/reviews"))
        assert page.select_one("h1").get_text() == "My reviews"  # type: ignore[union-attr]
        assert page.select("tr[data-row]") == []

    def test_agents_may_not_list_reviews(self, client: TestClient, world: World) -> None:
        login_as(client, world.agent_user)
        assert client.get("/reviews").status_code == 403


class TestFeedbackPage:
    def test_agent_summary_and_rows(self, client: TestClient, world: World, session: Session) -> None:
        review = rated_review(session, world)
        rated_review(session, world, conversation=world.other_conversation)
        login_as(client, world.agent_user)
        page = soup(client.get("/feedback"))
        values = [v.get_text(strip=True) for v in page.select(".stat .value")]
        assert values == ["1", "74.2", "0%", "1"]
        rows = page.select("#feedback-rows tr[data-row]")
        assert len(rows) == 1
        assert rows[0].select_one("a[data-primary]")["href"].endswith(f"/reviews/{review.id}")  # type: ignore[index]
        assert "New" in rows[0].get_text()

    @pytest.mark.parametrize("role", ["reviewer", "manager", "admin"])
    def test_non_agents_get_403(self, client: TestClient, world: World, role: str) -> None:
        login_as(client, {"reviewer": world.reviewer, "manager": world.manager, "admin": world.admin}[role])
        assert client.get("/feedback").status_code == 403

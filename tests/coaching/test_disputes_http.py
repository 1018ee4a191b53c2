"""Disputes, acknowledgements and pins over HTTP: pages (real login, CSRF) and /api/v1 (bearer tokens)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from qa import org_settings
from qa.models import Dispute, Message, Pin, Review
from tests.coaching.dispute_helpers import CORRECTED, failed_review, notices
from tests.conftest import login_as
from tests.reviews.helpers import HX, World, make_world, rated_review, soup, token_for


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)


@pytest.fixture
def review(session: Session, world: World) -> Review:
    return failed_review(session, world)


def _dispute(
    client: TestClient,
    review: Review,
    criterion: str = "accuracy",
    reason: str = "The fix was right.",
    **headers: str,
) -> Any:
    return client.post(
        f"/reviews/{review.id}/disputes",
        data={"criterion": criterion, "reason": reason},
        headers=headers,
        follow_redirects=False,
    )


def _only_dispute(session: Session) -> Dispute:
    [dispute] = session.exec(select(Dispute)).all()
    return dispute


class TestAgentPages:
    def test_agent_disputes_a_criterion_from_the_review_page(
        self, client: TestClient, session: Session, world: World, review: Review
    ) -> None:
        login_as(client, world.agent_user)
        page = soup(client.get(f"/reviews/{review.id}"))
        form = page.select_one("#dispute-c-accuracy form")
        assert form is not None and form["action"].endswith(f"/reviews/{review.id}/disputes")  # type: ignore[union-attr]
        assert page.select_one("#dispute-whole form") is not None
        assert page.select(".pin-pop") == []  # agents never see pin buttons
        response = _dispute(client, review)
        assert response.status_code == 303 and response.headers["location"].endswith(
            f"/reviews/{review.id}"
        )
        dispute = _only_dispute(session)
        assert (dispute.criterion_key, dispute.reason) == ("accuracy", "The fix was right.")
        page = soup(client.get(f"/reviews/{review.id}"))
        assert page.select_one("#dispute-c-accuracy") is None  # an open dispute: no second form
        assert "Disputed · pending" in page.select_one("#crit-accuracy").get_text()  # type: ignore[union-attr]
        assert "The fix was right." in page.select_one("#disputes").get_text()  # type: ignore[union-attr]
        assert "Your dispute was sent" in page.get_text()

    def test_htmx_refusal_returns_the_form_with_the_message(
        self, client: TestClient, world: World, review: Review
    ) -> None:
        login_as(client, world.agent_user)
        response = _dispute(client, review, reason="   ", **HX)
        assert response.status_code == 422
        html = soup(response)
        assert html.select_one("details#dispute-c-accuracy[open]") is not None
        assert "Say why you disagree" in html.select_one(".field-error").get_text()  # type: ignore[union-attr]
        response = _dispute(client, review, reason="ok", **HX)
        assert response.status_code == 204
        assert response.headers["HX-Redirect"].endswith(f"/reviews/{review.id}")

    @pytest.mark.parametrize(
        ("criterion", "reason", "status"),
        [
            ("accuracy", "", 422),
            ("accuracy", "x" * 2001, 422),
            ("accuracy", "x" * 20_000, 422),
            ("bogus", "why", 422),
        ],
    )
    def test_bad_input_is_4xx(
        self, client: TestClient, world: World, review: Review, criterion: str, reason: str, status: int
    ) -> None:
        login_as(client, world.agent_user)
        assert _dispute(client, review, criterion=criterion, reason=reason).status_code == status

    def test_a_second_open_dispute_is_409(self, client: TestClient, world: World, review: Review) -> None:
        login_as(client, world.agent_user)
        assert _dispute(client, review).status_code == 303
        assert _dispute(client, review).status_code == 409

    def test_other_agents_and_bad_ids_are_404(self, client: TestClient, world: World, review: Review) -> None:
        login_as(client, world.other_agent_user)
        assert _dispute(client, review).status_code == 404
        for bad in ("abc", "0", str(2**40), "1.5"):
            assert client.post(f"/reviews/{bad}/disputes", data={"reason": "x"}).status_code == 404

    def test_staff_cannot_dispute(self, client: TestClient, world: World, review: Review) -> None:
        login_as(client, world.manager)
        assert _dispute(client, review).status_code == 403

    def test_without_csrf_it_is_refused(self, client: TestClient, world: World, review: Review) -> None:
        login_as(client, world.agent_user)
        client.headers.pop("X-CSRF-Token")
        assert _dispute(client, review).status_code == 403

    def test_agents_may_not_open_the_queue_or_a_dispute_page(
        self, client: TestClient, session: Session, world: World, review: Review
    ) -> None:
        login_as(client, world.agent_user)
        _dispute(client, review)
        dispute = _only_dispute(session)
        assert client.get("/disputes").status_code == 403
        assert client.get(f"/disputes/{dispute.id}").status_code == 403
        assert client.post(f"/disputes/{dispute.id}/accept", data={"rating.accuracy": "4"}).status_code == 403


class TestResolverPages:
    @pytest.fixture
    def dispute(self, client: TestClient, session: Session, world: World, review: Review) -> Dispute:
        login_as(client, world.agent_user)
        assert _dispute(client, review).status_code == 303
        login_as(client, world.manager)
        return _only_dispute(session)

    def test_queue_and_dispute_page(
        self, client: TestClient, world: World, review: Review, dispute: Dispute
    ) -> None:
        page = soup(client.get("/disputes"))
        [row] = page.select("#open-disputes tr[data-row]")
        assert "The fix was right." in row.get_text() and world.agent.name in row.get_text()
        assert str(row.select_one("a[data-primary]")["href"]).endswith(f"/disputes/{dispute.id}")  # type: ignore[index]
        page = soup(client.get(f"/disputes/{dispute.id}"))
        disputed = page.select_one("fieldset.is-disputed")
        assert disputed is not None and disputed["id"] == "crit-accuracy"
        focused = page.select("input[autofocus]")
        assert [(i["name"], i["value"]) for i in focused] == [("rating.accuracy", "2")]
        assert page.select_one(".dispute-reason-card").get_text().count("The fix was right.") == 1  # type: ignore[union-attr]
        assert len(page.select("#transcript article.msg")) == 3
        assert client.get("/disputes/open-count").text.count(">1<") == 1

    def test_accept_rescores_and_the_agent_sees_it(
        self, client: TestClient, session: Session, world: World, review: Review, dispute: Dispute
    ) -> None:
        preview = client.post(f"/disputes/{dispute.id}/preview", data={"rating.accuracy": "4"}, headers=HX)
        assert preview.status_code == 200
        assert soup(preview).select_one("[data-preview-score]").get_text(strip=True) == "74.2"  # type: ignore[union-attr]
        form = {"rating.greeting": "Yes", "rating.accuracy": "4", "rating.tone": "OK", "comment": "Agreed."}
        response = client.post(f"/disputes/{dispute.id}/accept", data=form, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].endswith("/disputes")
        assert "now scores 74.2 (was 0.0)" in client.get("/disputes").text
        session.refresh(review)
        assert review.score == pytest.approx(CORRECTED)
        assert notices(session, world.agent_user, "dispute_outcome")
        login_as(client, world.agent_user)
        page = soup(client.get(f"/reviews/{review.id}"))
        assert page.select_one("#score-panel .big").get_text(strip=True) == "74.2"  # type: ignore[union-attr]
        panel = page.select_one("#disputes").get_text(" ", strip=True)  # type: ignore[union-attr]
        assert "Dispute accepted" in panel and "0.0 → now 74.2" in panel and "Agreed." in panel
        feedback = soup(client.get("/feedback")).select_one("#feedback-rows tr")
        assert "74.2" in feedback.select_one(".score-pill").get_text()  # type: ignore[union-attr]
        assert "Corrected 0.0 → 74.2" in feedback.get_text(" ", strip=True)  # type: ignore[union-attr]

    def test_reject_needs_a_comment(
        self, client: TestClient, session: Session, world: World, review: Review, dispute: Dispute
    ) -> None:
        response = client.post(
            f"/disputes/{dispute.id}/reject", data={"comment": " ", "rating.accuracy": "3"}
        )
        assert response.status_code == 422
        html = soup(response)
        assert "needs a comment" in html.select_one(".alert-error").get_text()  # type: ignore[union-attr]
        assert html.select_one('input[name="rating.accuracy"][value="3"]').has_attr("checked")  # type: ignore[union-attr]
        response = client.post(
            f"/disputes/{dispute.id}/reject", data={"comment": "It stands."}, follow_redirects=False
        )
        assert response.status_code == 303
        login_as(client, world.agent_user)
        panel = soup(client.get(f"/reviews/{review.id}")).select_one("#disputes").get_text(" ", strip=True)  # type: ignore[union-attr]
        assert "Dispute rejected" in panel and "It stands." in panel

    @pytest.mark.parametrize(
        ("form", "message"),
        [
            ({"rating.accuracy": "9"}, "unknown option"),
            ({"rating.bogus": "1"}, "unknown criterion"),
            ({"rating.accuracy": "2"}, "No rating was changed"),
            ({"rating.greeting": "__na__"}, "N/A is not allowed"),
        ],
    )
    def test_bad_ratings_rerender_with_422(
        self, client: TestClient, dispute: Dispute, form: dict[str, str], message: str
    ) -> None:
        response = client.post(f"/disputes/{dispute.id}/accept", data=form)
        assert response.status_code == 422 and message in response.text

    def test_resolving_twice_is_409(self, client: TestClient, dispute: Dispute) -> None:
        assert client.post(f"/disputes/{dispute.id}/reject", data={"comment": "No"}).status_code == 200
        assert client.post(f"/disputes/{dispute.id}/reject", data={"comment": "No"}).status_code == 409
        assert client.post(f"/disputes/{dispute.id}/accept", data={"rating.accuracy": "4"}).status_code == 409

    def test_who_may_see_and_resolve(
        self, client: TestClient, session: Session, world: World, dispute: Dispute
    ) -> None:
        login_as(client, world.other_manager)
        assert client.get(f"/disputes/{dispute.id}").status_code == 404
        assert client.post(f"/disputes/{dispute.id}/accept", data={"rating.accuracy": "4"}).status_code == 404
        login_as(client, world.reviewer)  # wrote the review: may read the dispute, never resolve it
        page = soup(client.get(f"/disputes/{dispute.id}"))
        assert page.select_one("#resolve-form") is None
        assert client.post(f"/disputes/{dispute.id}/accept", data={"rating.accuracy": "4"}).status_code == 403
        assert (
            client.post(f"/disputes/{dispute.id}/preview", data={"rating.accuracy": "4"}).status_code == 403
        )
        for bad in ("abc", "0", str(2**40)):
            assert client.get(f"/disputes/{bad}").status_code == 404
            assert client.post(f"/disputes/{bad}/accept", data={}).status_code == 404

    def test_stats_filter_bad_dates_is_422(self, client: TestClient, dispute: Dispute) -> None:
        assert client.get("/disputes?start=2026-02-30").status_code == 422
        response = client.get("/disputes?start=2026-05-01&end=2026-04-01")
        assert response.status_code == 422 and "after the end date" in response.text
        assert client.get("/disputes?start=2000-01-01&end=2100-01-01").status_code == 200


class TestAcknowledgePage:
    def test_state_shows_on_the_review_and_my_feedback(
        self, client: TestClient, world: World, review: Review
    ) -> None:
        login_as(client, world.manager)
        assert "Not acknowledged yet" in client.get(f"/reviews/{review.id}").text
        login_as(client, world.agent_user)
        row = soup(client.get("/feedback")).select_one("#feedback-rows tr")
        assert "New" in row.get_text()  # type: ignore[union-attr]
        assert client.post(f"/reviews/{review.id}/acknowledge", follow_redirects=False).status_code == 303
        page = soup(client.get(f"/reviews/{review.id}"))
        assert page.select_one(".ack-badge").get_text(strip=True) == "✓ Acknowledged"  # type: ignore[union-attr]
        row = soup(client.get("/feedback")).select_one("#feedback-rows tr")
        assert row.select_one(".ack-mark") is not None  # type: ignore[union-attr]
        login_as(client, world.manager)
        assert "Acknowledged by the agent" in client.get(f"/reviews/{review.id}").text


class TestPrivacy:
    @pytest.mark.parametrize("hidden", [False, True])
    def test_agents_see_qa_team_when_the_setting_is_on(
        self, client: TestClient, session: Session, world: World, review: Review, hidden: bool
    ) -> None:
        org_settings.put(session, actor=world.admin, key=org_settings.HIDE_REVIEWER_NAMES, value=hidden)
        shown = "QA team" if hidden else world.reviewer.name
        login_as(client, world.agent_user)
        byline = soup(client.get(f"/reviews/{review.id}")).select_one(".review-byline").get_text()  # type: ignore[union-attr]
        assert shown in byline and (world.reviewer.name in byline) is not hidden
        feedback = client.get("/feedback").text
        assert shown in feedback and (world.reviewer.name in feedback) is not hidden
        login_as(client, world.manager)
        assert world.reviewer.name in client.get(f"/reviews/{review.id}").text  # staff always see names


class TestPinPages:
    def test_reviewer_pins_a_message_with_htmx(
        self, client: TestClient, session: Session, world: World, review: Review
    ) -> None:
        login_as(client, world.reviewer)
        page = soup(client.get(f"/reviews/{review.id}"))
        message = session.exec(
            select(Message).where(Message.conversation_id == world.conversation.id)
        ).first()
        assert message is not None
        control = page.select_one(f"#pin-message-m{message.id}")
        assert (
            control is not None and control.select_one("summary") is not None
        )  # a keyboard-reachable toggle
        assert (
            page.select_one("#pin-rating-c-accuracy") is not None
            and page.select_one("#pin-review") is not None
        )
        response = client.post(
            f"/reviews/{review.id}/pins",
            headers=HX,
            data={"kind": "message", "message_id": str(message.id), "note": "Bring this up"},
        )
        assert response.status_code == 200 and "<html" not in response.text
        fragment = soup(response)
        assert fragment.select_one(f"div#pin-message-m{message.id}") is not None
        assert "Bring this up" in fragment.select_one(".coach-pin-note").get_text()  # type: ignore[union-attr]
        [pin] = session.exec(select(Pin)).all()
        assert (pin.kind, pin.message_id, pin.agent_id) == ("message", message.id, world.agent.id)

    def test_bad_pins_are_4xx(self, client: TestClient, world: World, review: Review) -> None:
        login_as(client, world.reviewer)
        bad = client.post(
            f"/reviews/{review.id}/pins", headers=HX, data={"kind": "rating", "criterion": "bogus"}
        )
        assert bad.status_code == 422 and soup(bad).select_one("details[open] .field-error") is not None
        assert client.post(f"/reviews/{review.id}/pins", data={"kind": "x"}).status_code == 422
        assert (
            client.post(
                f"/reviews/{review.id}/pins", data={"kind": "message", "message_id": "zz"}
            ).status_code
            == 404
        )
        assert client.post("/reviews/abc/pins", data={"kind": "review"}).status_code == 404
        login_as(client, world.agent_user)
        assert client.post(f"/reviews/{review.id}/pins", data={"kind": "review"}).status_code == 403
        login_as(client, world.other_manager)
        assert client.post(f"/reviews/{review.id}/pins", data={"kind": "review"}).status_code == 404

    def test_editing_shows_no_pin_buttons(self, client: TestClient, world: World, review: Review) -> None:
        login_as(client, world.reviewer)
        assert soup(client.get(f"/reviews/{review.id}?edit=1")).select(".pin-pop") == []


class TestNotificationsOnSubmit:
    def test_page_submit_notifies_the_agent(self, client: TestClient, session: Session, world: World) -> None:
        draft = rated_review(session, world, submit=False)
        login_as(client, world.reviewer)
        assert client.post(f"/reviews/{draft.id}/submit", follow_redirects=False).status_code == 303
        assert [n.link for n in notices(session, world.agent_user, "review")] == [f"/reviews/{draft.id}"]

    def test_api_create_notifies_the_agent(self, api: TestClient, session: Session, world: World) -> None:
        body = {
            "conversation_id": world.conversation.id,
            "scorecard_id": world.version.scorecard_id,
            "ratings": [
                {"criterion": "greeting", "option": "Yes"},
                {"criterion": "accuracy", "option": "5"},
                {"criterion": "tone", "option": None},
            ],
        }
        response = api.post("/api/v1/reviews", json=body, headers=token_for(session, world.reviewer))
        assert response.status_code == 201
        assert [n.link for n in notices(session, world.agent_user, "review")] == [
            f"/reviews/{response.json()['id']}"
        ]


class TestApi:
    def _open(self, api: TestClient, session: Session, world: World, review: Review, **body: Any) -> Any:
        payload = {"criterion": "accuracy", "reason": "The fix was right."} | body
        return api.post(
            f"/api/v1/reviews/{review.id}/disputes",
            json=payload,
            headers=token_for(session, world.agent_user),
        )

    def test_open_list_accept(self, api: TestClient, session: Session, world: World, review: Review) -> None:
        created = self._open(api, session, world, review)
        assert created.status_code == 201
        data = created.json()
        assert (data["status"], data["criterion"], data["review_score"]) == ("open", "accuracy", 0.0)
        assert self._open(api, session, world, review).status_code == 409
        manager = token_for(session, world.manager)
        listed = api.get("/api/v1/disputes?status=open", headers=manager).json()
        assert [d["id"] for d in listed["items"]] == [data["id"]] and listed["next"] is None
        accepted = api.post(
            f"/api/v1/disputes/{data['id']}/accept",
            headers=manager,
            json={"ratings": [{"criterion": "accuracy", "option": "4"}], "comment": "Agreed"},
        )
        assert accepted.status_code == 200
        out = accepted.json()
        assert (out["status"], out["score_before"], out["comment"]) == ("accepted", 0.0, "Agreed")
        assert out["score_after"] == pytest.approx(CORRECTED) and out["review_score"] == pytest.approx(
            CORRECTED
        )
        review_json = api.get(
            f"/api/v1/reviews/{review.id}", headers=token_for(session, world.agent_user)
        ).json()
        assert review_json["score"] == pytest.approx(CORRECTED) and review_json["failed_critical"] is False
        mine = api.get("/api/v1/disputes", headers=token_for(session, world.agent_user)).json()["items"]
        assert [d["status"] for d in mine] == ["accepted"]
        again = api.post(f"/api/v1/disputes/{data['id']}/reject", headers=manager, json={"comment": "x"})
        assert again.status_code == 409

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            ({"reason": ""}, 422),
            ({"reason": "x" * 2001}, 422),
            ({"reason": "x" * 10_000}, 422),
            ({"criterion": "bogus"}, 422),
            ({"criterion": 3}, 422),
            ({"reason": None}, 422),
            ({"extra": 1}, 422),
        ],
    )
    def test_open_bad_input(
        self,
        api: TestClient,
        session: Session,
        world: World,
        review: Review,
        body: dict[str, Any],
        status: int,
    ) -> None:
        response = self._open(api, session, world, review, **body)
        assert response.status_code == status and "detail" in response.json()

    def test_open_permissions_and_ids(
        self, api: TestClient, session: Session, world: World, review: Review
    ) -> None:
        other = token_for(session, world.other_agent_user)
        body = {"criterion": None, "reason": "x"}
        assert api.post(f"/api/v1/reviews/{review.id}/disputes", json=body, headers=other).status_code == 404
        manager = token_for(session, world.manager)
        assert (
            api.post(f"/api/v1/reviews/{review.id}/disputes", json=body, headers=manager).status_code == 403
        )
        agent = token_for(session, world.agent_user)
        assert api.post("/api/v1/reviews/abc/disputes", json=body, headers=agent).status_code == 422
        assert api.post(f"/api/v1/reviews/{2**40}/disputes", json=body, headers=agent).status_code == 404
        assert api.post(f"/api/v1/reviews/{review.id}/disputes", json=body).status_code == 401

    def test_resolve_permissions_and_bad_input(
        self, api: TestClient, session: Session, world: World, review: Review
    ) -> None:
        dispute_id = self._open(api, session, world, review).json()["id"]
        url = f"/api/v1/disputes/{dispute_id}"
        good = {"ratings": [{"criterion": "accuracy", "option": "4"}]}
        assert (
            api.post(f"{url}/accept", json=good, headers=token_for(session, world.reviewer)).status_code
            == 403
        )
        assert (
            api.post(f"{url}/accept", json=good, headers=token_for(session, world.other_manager)).status_code
            == 404
        )
        assert (
            api.post(
                f"{url}/accept",
                json=good,  # the agent may read their dispute, not resolve it
                headers=token_for(session, world.agent_user),
            ).status_code
            == 403
        )
        assert api.get(url, headers=token_for(session, world.other_agent_user)).status_code == 404
        manager = token_for(session, world.manager)
        bodies: list[dict[str, Any]] = [
            {"ratings": [{"criterion": "accuracy", "option": "9"}]},
            {"ratings": [{"criterion": "bogus", "option": "1"}]},
            {"ratings": []},
            {"ratings": "all"},
            {"ratings": [{"criterion": "accuracy", "option": 4}]},
        ]
        for body in bodies:
            response = api.post(f"{url}/accept", json=body, headers=manager)
            assert response.status_code == 422, body
        bad_option = api.post(
            f"{url}/accept", json={"ratings": [{"criterion": "accuracy", "option": "9"}]}, headers=manager
        )
        assert bad_option.json()["detail"][0]["loc"] == ["ratings[0].option"]
        assert api.post(f"{url}/reject", json={"comment": ""}, headers=manager).status_code == 422
        assert (
            api.post("/api/v1/disputes/abc/reject", json={"comment": "x"}, headers=manager).status_code == 422
        )
        assert (
            api.post(f"/api/v1/disputes/{2**40}/reject", json={"comment": "x"}, headers=manager).status_code
            == 404
        )
        assert api.get("/api/v1/disputes?status=closed", headers=manager).status_code == 422
        assert api.get("/api/v1/disputes?cursor=abc", headers=manager).status_code == 422
        assert (
            api.post(f"{url}/reject", json={"comment": "Stands"}, headers=manager).json()["status"]
            == "rejected"
        )

    def test_acknowledge(self, api: TestClient, session: Session, world: World, review: Review) -> None:
        agent = token_for(session, world.agent_user)
        first = api.post(f"/api/v1/reviews/{review.id}/acknowledge", headers=agent)
        assert first.status_code == 200 and first.json()["acknowledged_at"]
        second = api.post(f"/api/v1/reviews/{review.id}/acknowledge", headers=agent)
        assert second.json()["acknowledged_at"] == first.json()["acknowledged_at"]  # idempotent
        assert (
            api.post(
                f"/api/v1/reviews/{review.id}/acknowledge", headers=token_for(session, world.other_agent_user)
            ).status_code
            == 404
        )
        assert (
            api.post(
                f"/api/v1/reviews/{review.id}/acknowledge", headers=token_for(session, world.manager)
            ).status_code
            == 403
        )

    def test_pins(self, api: TestClient, session: Session, world: World, review: Review) -> None:
        reviewer = token_for(session, world.reviewer)
        created = api.post(
            f"/api/v1/reviews/{review.id}/pins",
            headers=reviewer,
            json={"kind": "rating", "criterion": "accuracy", "note": "Talk about this"},
        )
        assert created.status_code == 201
        assert (created.json()["agent_id"], created.json()["criterion"]) == (world.agent.id, "accuracy")
        for body, status in (
            ({"kind": "moment"}, 422),
            ({"kind": "message", "message_id": "1"}, 422),
            ({"kind": "message", "message_id": 2**40}, 404),
            ({"kind": "review", "x": 1}, 422),
        ):
            assert (
                api.post(f"/api/v1/reviews/{review.id}/pins", headers=reviewer, json=body).status_code
                == status
            )
        assert (
            api.post(
                f"/api/v1/reviews/{review.id}/pins",
                json={"kind": "review"},
                headers=token_for(session, world.agent_user),
            ).status_code
            == 403
        )
        assert (
            api.post(
                f"/api/v1/reviews/{review.id}/pins",
                json={"kind": "review"},
                headers=token_for(session, world.other_manager),
            ).status_code
            == 404
        )

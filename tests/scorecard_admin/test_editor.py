"""The scorecard editor, drafts, publishing, preview, diff, scopes and what-if, through HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from qa.models import Agent, AuditLog, Review, ScorecardVersion, User, utcnow
from qa.scorecard_admin import editor, scopes
from qa.scorecard_admin import service as scorecard_service
from scorecards import score_review
from tests.conftest import login_as
from tests.factories import make_agent, make_conversation, make_scorecard, make_team, make_user
from tests.scorecard_admin.helpers import audit_actions, bearer, make_review_on, settle, soup, text_of

HTMX = {"HX-Request": "true"}
CRITERION = {
    "name": "Empathy",
    "key": "empathy",
    "scale": "3",
    "weight": "2",
    "section": "",
    "guidance": "",
    "root_causes": "",
    "fail_below": "0.5",
    "action": "save",
}


@pytest.fixture
def manager_user(session: Session) -> User:
    return make_user(session, role="manager")


@pytest.fixture
def manager(client: TestClient, manager_user: User) -> TestClient:
    return login_as(client, manager_user)


def versions(session: Session, scorecard_id: int) -> list[tuple[int, bool]]:
    query = select(ScorecardVersion.version, ScorecardVersion.published).where(
        ScorecardVersion.scorecard_id == scorecard_id
    )
    return sorted(session.exec(query))


def scored_review(
    session: Session,
    version: ScorecardVersion,
    ratings: dict[str, str | None],
    *,
    agent: Agent | None = None,
    days_ago: int = 1,
) -> Review:
    """A submitted manual review whose score is computed from its ratings, as the review service does."""
    defn = scorecard_service.definition_for(session, version.id)  # type: ignore[arg-type]
    result = score_review(defn, ratings)
    return make_review_on(
        session,
        version,
        ratings,
        agent=agent,
        rated_only=True,
        score=result.score,
        passed=result.passed,
        failed_critical=result.failed_critical,
        submitted_at=utcnow() - timedelta(days=days_ago),
    )


def one_criterion(name: str, scale: str = "binary") -> dict[str, Any]:
    """A definition named `name` with a single criterion `a`."""
    return {"name": name, "criteria": [{"key": "a", "name": "A", "scale": scale}]}


def add_to_draft(
    session: Session, version: ScorecardVersion, key: str = "x", name: str = "X", scale: str = "binary"
) -> None:
    """A criterion added to the scorecard's draft straight through the service (the draft made if need be)."""
    criterion = {"key": key, "name": name, "scale": scale}
    editor.add_criterion(session, actor=None, scorecard_id=version.scorecard_id, criterion=criterion)


def reweigh_accuracy(session: Session, version: ScorecardVersion, weight: float) -> None:
    """The example's accuracy criterion, weighted `weight` in the scorecard's draft."""
    criterion = {
        "name": "Correct solution",
        "section": "Resolution",
        "scale": "5",
        "weight": weight,
        "critical": True,
    }
    editor.update_criterion(
        session, actor=None, scorecard_id=version.scorecard_id, key="accuracy", criterion=criterion
    )


class TestCreateInTheBrowser:
    def test_a_new_scorecard_starts_as_an_unpublished_draft(
        self, manager: TestClient, session: Session
    ) -> None:
        response = manager.post(
            "/scorecards/create",
            data={"name": "Chat QA", "pass_threshold": "75", "criterion_name": "Greeting", "scale": "binary"},
            follow_redirects=False,
        )
        assert response.status_code == 303
        card_id = int(response.headers["location"].split("/")[-2])
        assert versions(session, card_id) == [(1, False)]
        defn, draft = editor.editable_definition(session, card_id)
        assert (
            draft is not None and defn.pass_threshold == 75 and [c.key for c in defn.criteria] == ["greeting"]
        )
        listed = soup(manager.get("/scorecards").text)
        assert "Draft v1" in text_of(listed.select_one("#scorecard-table"))
        assert (
            manager.get(f"/scorecards/{card_id}", follow_redirects=False).status_code == 303
        )  # to the editor
        assert audit_actions(session, card_id) == ["scorecard.create"]

    def test_reviews_cannot_start_on_a_scorecard_that_is_only_a_draft(
        self, manager: TestClient, api: TestClient, session: Session, manager_user: User
    ) -> None:
        card = editor.create_draft_scorecard(
            session,
            actor=None,
            definition=one_criterion("Draft only"),
        )
        conversation = make_conversation(session)
        headers = bearer(session, manager_user)
        response = api.post(
            "/api/v1/reviews",
            headers=headers,
            json={
                "conversation_id": conversation.id,
                "scorecard_id": card.id,
                "ratings": [{"criterion": "a", "option": "Yes"}],
            },
        )
        assert response.status_code == 404
        assert "no published version" in response.json()["detail"]

    def test_invalid_fields_are_shown_beside_them_and_nothing_is_saved(
        self, manager: TestClient, session: Session
    ) -> None:
        before = len(list(session.exec(select(ScorecardVersion))))
        response = manager.post(
            "/scorecards/create",
            data={"name": " ", "pass_threshold": "120", "criterion_name": "Greeting", "scale": "binary"},
        )
        assert response.status_code == 422
        page = soup(response.text)
        assert "must not be empty" in text_of(page.select_one("#err-name"))
        assert "between 0 and 100" in text_of(page.select_one("#err-pass_threshold"))
        assert len(list(session.exec(select(ScorecardVersion)))) == before


class TestEditing:
    def test_the_first_edit_makes_a_draft_and_reviews_keep_version_1(
        self, manager: TestClient, session: Session
    ) -> None:
        v1 = make_scorecard(session)
        review = make_review_on(session, v1, {"greeting": "Yes", "accuracy": "4", "tone": "OK"})
        settle(session)
        assert manager.get(f"/scorecards/{v1.scorecard_id}/edit").status_code == 200
        assert versions(session, v1.scorecard_id) == [(1, True)]  # a GET never writes

        response = manager.post(f"/scorecards/{v1.scorecard_id}/edit/criteria", data=CRITERION, headers=HTMX)

        assert response.status_code == 200
        region = soup(response.text).select_one("#editor")
        assert region is not None and "Draft v2" in text_of(region)
        assert region.select_one("#crow-empathy") is not None
        assert versions(session, v1.scorecard_id) == [(1, True), (2, False)]
        assert scorecard_service.current_version(session, v1.scorecard_id).id == v1.id
        assert session.get(Review, review.id).version_id == v1.id  # type: ignore[union-attr]
        assert audit_actions(session, v1.scorecard_id)[-2:] == [
            "scorecard.draft_create",
            "scorecard.criterion_add",
        ]

    def test_an_invalid_criterion_comes_back_with_errors_beside_fields_and_saves_nothing(
        self, manager: TestClient, session: Session
    ) -> None:
        v1 = make_scorecard(session)
        settle(session)
        bad = {
            **CRITERION,
            "weight": "heavy",
            "scale": "custom",
            "option_label": ["Low", "High"],
            "option_score": ["0.9", "0.1"],
        }
        response = manager.post(f"/scorecards/{v1.scorecard_id}/edit/criteria", data=bad, headers=HTMX)

        assert response.status_code == 422
        assert response.headers["HX-Retarget"] == "#crit-form-new"
        form = soup(response.text).select_one("#crit-form-new")
        assert form is not None
        assert "must be a number" in text_of(form.select_one("#crit-form-new-err-weight"))
        assert "ascending" in text_of(form.select_one("#crit-form-new-err-options-1-score"))
        assert form.select_one("input[name=weight]")["value"] == "heavy"  # type: ignore[index]
        assert versions(session, v1.scorecard_id) == [(1, True)]

    def test_a_duplicate_key_is_refused(self, manager: TestClient, session: Session) -> None:
        v1 = make_scorecard(session)
        settle(session)
        response = manager.post(
            f"/scorecards/{v1.scorecard_id}/edit/criteria",
            headers=HTMX,
            data={**CRITERION, "key": "greeting"},
        )
        assert response.status_code == 422
        assert "duplicate key" in text_of(soup(response.text).select_one("#crit-form-new-err-key"))

    def test_custom_option_rows_are_added_and_removed_without_saving(
        self, manager: TestClient, session: Session
    ) -> None:
        v1 = make_scorecard(session)
        settle(session)
        url = f"/scorecards/{v1.scorecard_id}/edit/criteria"
        data = {**CRITERION, "scale": "custom", "option_label": ["Bad", "Good"], "option_score": ["0", "1"]}
        added = manager.post(url, data={**data, "action": "add_option"}, headers=HTMX)
        assert added.status_code == 200 and len(soup(added.text).select("input[name=option_label]")) == 3
        removed = manager.post(url, data={**data, "action": "remove_option:0"}, headers=HTMX)
        labels = [i["value"] for i in soup(removed.text).select("input[name=option_label]")]
        assert labels == ["Good", ""]  # at least two rows stay
        assert versions(session, v1.scorecard_id) == [(1, True)]

    def test_edit_move_remove_and_rename_are_audited_one_entry_per_change(
        self, manager: TestClient, session: Session
    ) -> None:
        v1 = make_scorecard(session)
        settle(session)
        base = f"/scorecards/{v1.scorecard_id}/edit"
        form = soup(manager.get(f"{base}/criteria/accuracy", headers=HTMX).text)
        assert form.select_one("#crit-form-accuracy input[name=weight]")["value"] == "3"  # type: ignore[index]
        edit = {
            **CRITERION,
            "name": "Correct solution",
            "scale": "5",
            "weight": "5",
            "section": "Resolution",
            "critical": "on",
        }
        assert manager.post(f"{base}/criteria/accuracy", data=edit, headers=HTMX).status_code == 200
        assert manager.post(f"{base}/criteria/greeting/move", data={"direction": "down"}).status_code == 200
        assert (
            manager.post(
                f"{base}/sections", data={"section": "Opening", "new_name": "Start", "action": "rename"}
            ).status_code
            == 200
        )
        assert manager.post(f"{base}/criteria/tone/remove", headers=HTMX).status_code == 200

        defn, _ = editor.editable_definition(session, v1.scorecard_id)
        assert [(c.key, c.section, c.weight) for c in defn.criteria] == [
            ("greeting", "Start", 1.0),
            ("accuracy", "Resolution", 5.0),
        ]
        entries = session.exec(
            select(AuditLog)
            .where(AuditLog.entity == "scorecard", AuditLog.entity_id == v1.scorecard_id)
            .order_by(col(AuditLog.id))
        ).all()
        assert [e.action for e in entries][1:] == [
            "scorecard.draft_create",
            "scorecard.criterion_change",
            "scorecard.criterion_change",
            "scorecard.criterion_remove",
        ]
        change = entries[2]
        assert change.before["criterion"]["weight"] == 3 and change.after["criterion"]["weight"] == 5  # type: ignore[index]

    def test_moving_a_criterion_within_its_section(self, manager: TestClient, session: Session) -> None:
        v1 = make_scorecard(
            session,
            definition={
                "name": "Two",
                "criteria": [
                    {"key": "a", "name": "A", "scale": "binary"},
                    {"key": "b", "name": "B", "scale": "binary"},
                ],
            },
        )
        settle(session)
        manager.post(
            f"/scorecards/{v1.scorecard_id}/edit/criteria/b/move", data={"direction": "up"}, headers=HTMX
        )
        defn, _ = editor.editable_definition(session, v1.scorecard_id)
        assert [c.key for c in defn.criteria] == ["b", "a"]
        assert audit_actions(session, v1.scorecard_id)[-1] == "scorecard.criterion_move"

    def test_the_last_criterion_cannot_be_removed(self, manager: TestClient, session: Session) -> None:
        v1 = make_scorecard(session, definition=one_criterion("One", "3"))
        settle(session)
        response = manager.post(f"/scorecards/{v1.scorecard_id}/edit/criteria/a/remove")
        assert response.status_code == 422 and "at least one criterion" in response.text

    def test_unknown_criterion_and_scorecard_give_404(self, manager: TestClient, session: Session) -> None:
        v1 = make_scorecard(session)
        settle(session)
        assert (
            manager.post(f"/scorecards/{v1.scorecard_id}/edit/criteria/nope", data=CRITERION).status_code
            == 404
        )
        assert manager.get(f"/scorecards/{v1.scorecard_id}/edit/criteria/nope").status_code == 404
        assert manager.get("/scorecards/999999/edit").status_code == 404
        assert (
            manager.post(
                f"/scorecards/{v1.scorecard_id}/edit/criteria/a/move", data={"direction": "sideways"}
            ).status_code
            == 422
        )

    @pytest.mark.parametrize("role", ["reviewer", "agent"])
    def test_only_managers_edit(self, client: TestClient, session: Session, role: str) -> None:
        v1 = make_scorecard(session)
        login_as(client, make_user(session, role=role))
        assert client.get(f"/scorecards/{v1.scorecard_id}/edit").status_code == 403
        assert client.post(f"/scorecards/{v1.scorecard_id}/edit/criteria", data=CRITERION).status_code == 403


class TestPublishing:
    def test_publish_makes_the_draft_current_and_old_versions_stay(
        self, manager: TestClient, session: Session
    ) -> None:
        v1 = make_scorecard(session)
        make_review_on(session, v1, {"greeting": "Yes"})
        settle(session)
        manager.post(f"/scorecards/{v1.scorecard_id}/edit/criteria", data=CRITERION, headers=HTMX)
        confirm = soup(manager.get(f"/scorecards/{v1.scorecard_id}/publish").text)
        assert [li["data-key"] for li in confirm.select("#criterion-changes > li")] == ["empathy"]

        response = manager.post(f"/scorecards/{v1.scorecard_id}/publish", follow_redirects=False)

        assert response.status_code == 303
        assert versions(session, v1.scorecard_id) == [(1, True), (2, True)]
        current = scorecard_service.current_version(session, v1.scorecard_id)
        assert current.version == 2 and current.published_at is not None
        old = soup(manager.get(f"/scorecards/{v1.scorecard_id}?version=1").text)
        assert (
            old.select_one("#criterion-empathy") is None and old.select_one("#criterion-greeting") is not None
        )
        assert audit_actions(session, v1.scorecard_id)[-1] == "scorecard.publish"
        history = text_of(soup(manager.get(f"/scorecards/{v1.scorecard_id}").text).select_one(".sc-versions"))
        assert "v2" in history and "v1" in history

    def test_publishing_a_draft_without_changes_is_refused(
        self, manager: TestClient, session: Session
    ) -> None:
        v1 = make_scorecard(session)
        settle(session)
        base = f"/scorecards/{v1.scorecard_id}/edit"
        manager.post(f"{base}/criteria/greeting/move", data={"direction": "down"})
        manager.post(f"{base}/criteria/greeting/move", data={"direction": "up"})  # back as it was
        assert manager.post(f"/scorecards/{v1.scorecard_id}/publish").status_code == 409

    def test_uploading_a_version_while_a_draft_exists_is_refused(
        self, manager: TestClient, api: TestClient, session: Session, manager_user: User
    ) -> None:
        v1 = make_scorecard(session)
        add_to_draft(session, v1)
        headers = bearer(session, manager_user)
        response = api.post(
            f"/api/v1/scorecards/{v1.scorecard_id}/versions",
            headers=headers,
            json={"name": "Support QA", "criteria": [{"key": "a", "name": "A", "scale": "3"}]},
        )
        assert response.status_code == 409 and "draft" in response.json()["detail"]

    def test_discard_drops_the_draft(self, manager: TestClient, session: Session) -> None:
        v1 = make_scorecard(session)
        settle(session)
        manager.post(f"/scorecards/{v1.scorecard_id}/edit/criteria", data=CRITERION)
        assert (
            manager.post(f"/scorecards/{v1.scorecard_id}/draft/discard", follow_redirects=False).status_code
            == 303
        )
        assert versions(session, v1.scorecard_id) == [(1, True)]
        assert audit_actions(session, v1.scorecard_id)[-1] == "scorecard.draft_discard"
        assert manager.post(f"/scorecards/{v1.scorecard_id}/draft/discard").status_code == 409

    def test_archived_scorecards_are_not_edited_and_their_drafts_not_published(
        self, manager: TestClient, session: Session
    ) -> None:
        v1 = make_scorecard(session)
        add_to_draft(session, v1)
        scorecard_service.archive_scorecard(session, actor=None, scorecard_id=v1.scorecard_id, archived=True)
        settle(session)
        assert manager.post(f"/scorecards/{v1.scorecard_id}/edit/criteria", data=CRITERION).status_code == 409
        assert manager.post(f"/scorecards/{v1.scorecard_id}/publish").status_code == 409

    def test_import_into_the_draft(self, manager: TestClient, session: Session) -> None:
        v1 = make_scorecard(session)
        settle(session)
        text = '{"name": "Support QA v2", "criteria": [{"key": "greeting", "name": "Hello", "scale": "3"}]}'
        response = manager.post(
            f"/scorecards/{v1.scorecard_id}/edit/import", data={"definition": text}, follow_redirects=False
        )
        assert response.status_code == 303
        defn, draft = editor.editable_definition(session, v1.scorecard_id)
        assert draft is not None and defn.name == "Support QA v2" and defn.criteria[0].scale == "3"
        bad = manager.post(f"/scorecards/{v1.scorecard_id}/edit/import", data={"definition": "{"})
        assert bad.status_code == 422 and "invalid JSON" in bad.text


class TestPreviewAndDiff:
    def test_preview_shows_the_draft_as_reviewers_will_see_it_inert(
        self, manager: TestClient, session: Session
    ) -> None:
        v1 = make_scorecard(session)
        add_to_draft(session, v1, "empathy", "Empathy", "3")
        settle(session)
        page = soup(manager.get(f"/scorecards/{v1.scorecard_id}/preview").text)
        preview = page.select_one("#preview")
        assert preview is not None and preview.has_attr("inert")
        assert [d["data-criterion"] for d in preview.select("[data-criterion]")] == [
            "greeting",
            "accuracy",
            "tone",
            "empathy",
        ]
        assert not preview.select("form")
        v1_page = soup(manager.get(f"/scorecards/{v1.scorecard_id}/preview?version=1").text)
        assert len(v1_page.select("#preview [data-criterion]")) == 3
        assert manager.get(f"/scorecards/{v1.scorecard_id}/preview?version=9").status_code == 404

    def test_diff_between_two_versions(self, manager: TestClient, session: Session) -> None:
        v1 = make_scorecard(session)
        reweigh_accuracy(session, v1, 4)
        editor.update_card(session, actor=None, scorecard_id=v1.scorecard_id, fields={"pass_threshold": 70})
        editor.publish_draft(session, actor=None, scorecard_id=v1.scorecard_id)
        settle(session)
        page = soup(manager.get(f"/scorecards/{v1.scorecard_id}/diff?a=1&b=2").text)
        changes = page.select("#criterion-changes > li")
        assert [(li["data-key"], li["data-kind"]) for li in changes] == [("accuracy", "changed")]
        assert text_of(changes[0].select_one("[data-field=weight]")) == "weight : 3 → 4"
        assert "pass threshold : 80 → 70" in text_of(page.select_one("#diff"))
        assert manager.get(f"/scorecards/{v1.scorecard_id}/diff?a=1&b=7").status_code == 404
        assert manager.get(f"/scorecards/{v1.scorecard_id}/diff?a=x").status_code == 422


class TestScopes:
    def test_the_most_specific_scope_is_the_default(self, manager: TestClient, session: Session) -> None:
        team = make_team(session)
        by_channel = make_scorecard(session, definition=one_criterion("Email"))
        by_team = make_scorecard(session, definition=one_criterion("Team"))
        both = make_scorecard(session, definition=one_criterion("Both"))
        newest = make_scorecard(session, definition=one_criterion("Newest"))
        settle(session)
        for card, data in (
            (by_channel, {"channel": "email"}),
            (by_team, {"team_id": str(team.id)}),
            (both, {"team_id": str(team.id), "channel": "email"}),
        ):
            response = manager.post(
                f"/scorecards/{card.scorecard_id}/scopes", data=data, follow_redirects=False
            )
            assert response.status_code == 303
        agent = make_agent(session, team=team)
        email_in_team = make_conversation(session, agent=agent, channel="email")
        chat_in_team = make_conversation(session, agent=agent, channel="chat")
        email_elsewhere = make_conversation(session, channel="email")
        chat_elsewhere = make_conversation(session, channel="chat")
        assert scopes.default_scorecard_id(session, email_in_team) == both.scorecard_id
        assert scopes.default_scorecard_id(session, chat_in_team) == by_team.scorecard_id
        assert scopes.default_scorecard_id(session, email_elsewhere) == by_channel.scorecard_id
        assert scopes.default_scorecard_id(session, chat_elsewhere) == newest.scorecard_id
        listed = text_of(soup(manager.get("/scorecards").text).select_one("#scorecard-table"))
        assert f"{team.name} · email" in listed

    def test_bad_scopes_are_refused(self, manager: TestClient, session: Session) -> None:
        v1 = make_scorecard(session)
        settle(session)
        url = f"/scorecards/{v1.scorecard_id}/scopes"
        assert manager.post(url, data={}).status_code == 422
        assert manager.post(url, data={"channel": "pigeon"}).status_code == 422
        assert manager.post(url, data={"team_id": "999999"}).status_code == 422
        assert manager.post(url, data={"team_id": "abc"}).status_code == 422
        assert manager.post(url, data={"channel": "chat"}, follow_redirects=False).status_code == 303
        assert manager.post(url, data={"channel": "chat"}).status_code == 409
        assert manager.post(f"/scorecards/{v1.scorecard_id}/scopes/999999/remove").status_code == 404


class TestWhatIf:
    def test_figures_under_the_draft(
        self, manager: TestClient, api: TestClient, session: Session, manager_user: User
    ) -> None:
        v1 = make_scorecard(session)
        dana, sam = make_agent(session, name="Dana"), make_agent(session, name="Sam")
        # Dana: (1 + 3*0.75 + 2*0.6) / 6 = 74.17 fail; (0 + 3*1) / 4 = 75 (tone N/A) fail. Sam: critical, 0.
        scored_review(session, v1, {"greeting": "Yes", "accuracy": "4", "tone": "OK"}, agent=dana)
        scored_review(session, v1, {"greeting": "No", "accuracy": "5", "tone": None}, agent=dana)
        scored_review(session, v1, {"greeting": "Yes", "accuracy": "2", "tone": "Great"}, agent=sam)
        scored_review(
            session, v1, {"greeting": "Yes", "accuracy": "5", "tone": "Great"}, agent=sam, days_ago=40
        )
        # Draft: accuracy weight 3 -> 1, threshold 70, a new criterion nobody rated.
        reweigh_accuracy(session, v1, 1)
        editor.update_card(session, actor=None, scorecard_id=v1.scorecard_id, fields={"pass_threshold": 70})
        add_to_draft(session, v1, "close", "Closing")
        headers = bearer(session, manager_user)

        body = api.post(f"/api/v1/scorecards/{v1.scorecard_id}/what-if", headers=headers).json()

        # Draft scores: (1 + 0.75 + 1.2) / 4 = 73.75 pass; (0 + 1) / 2 = 50 fail; Sam 0 (critical) fail.
        assert body["reviews"] == 3
        assert body["mean_now"] == pytest.approx((74.16666666666667 + 75 + 0) / 3)
        assert body["mean_draft"] == pytest.approx((73.75 + 50 + 0) / 3)
        assert body["pass_rate_now"] == 0 and body["pass_rate_draft"] == pytest.approx(1 / 3)
        assert (body["became_pass"], body["became_fail"]) == (1, 0)
        agents = {a["name"]: a for a in body["agents"]}
        assert agents["Dana"]["mean_draft"] == pytest.approx(61.875)
        assert agents["Dana"]["change"] == pytest.approx(61.875 - 74.58333333333334)
        assert agents["Sam"]["reviews"] == 1 and agents["Sam"]["change"] == 0

        page = soup(manager.get(f"/scorecards/{v1.scorecard_id}/what-if").text)
        assert text_of(page.select_one("#wi-n")) == "3"
        assert text_of(page.select_one("#wi-mean")) == "49.7 → 41.3"
        assert text_of(page.select_one("#wi-flips")) == "1"
        wide = api.post(
            f"/api/v1/scorecards/{v1.scorecard_id}/what-if?start=2020-01-01", headers=headers
        ).json()
        assert wide["reviews"] == 4

    def test_an_unchanged_definition_changes_nothing_and_bad_input_is_refused(
        self, api: TestClient, session: Session, manager_user: User
    ) -> None:
        v1 = make_scorecard(session)
        scored_review(session, v1, {"greeting": "Yes", "accuracy": "3", "tone": "Poor"})
        headers = bearer(session, manager_user)
        url = f"/api/v1/scorecards/{v1.scorecard_id}/what-if"
        same = scorecard_service.export_definition(session, version_id=v1.id, fmt="json")  # type: ignore[arg-type]
        body = api.post(url, headers={**headers, "Content-Type": "application/json"}, content=same).json()
        assert body["mean_now"] == body["mean_draft"] and body["became_pass"] + body["became_fail"] == 0
        assert api.post(url, headers=headers).status_code == 422  # no draft and no body
        assert api.post(url + "?start=2026-02-30", headers=headers, content=same).status_code == 422
        assert (
            api.post(url + "?start=2026-03-02&end=2026-03-01", headers=headers, content=same).status_code
            == 422
        )
        assert api.post("/api/v1/scorecards/999999/what-if", headers=headers, content=same).status_code == 404
        agent_headers = bearer(session, make_user(session, role="agent"))
        assert api.post(url, headers=agent_headers, content=same).status_code == 403


class TestDraftApi:
    def test_draft_then_publish(self, api: TestClient, session: Session, manager_user: User) -> None:
        v1 = make_scorecard(session)
        headers = bearer(session, manager_user)
        url = f"/api/v1/scorecards/{v1.scorecard_id}"
        assert api.get(url + "/draft", headers=headers).status_code == 404
        definition = {
            "name": "Support QA",
            "criteria": [{"key": "greeting", "name": "Greeting", "scale": "3"}],
        }
        draft = api.post(url + "/draft", headers=headers, json=definition)
        assert (
            draft.status_code == 200 and draft.json()["published"] is False and draft.json()["version"] == 2
        )
        assert api.get(url, headers=headers).json()["version"] == 1
        bad = api.post(url + "/draft", headers=headers, json={"name": "X", "criteria": [{"key": "a"}]})
        assert bad.status_code == 422
        published = api.post(url + "/publish", headers=headers)
        assert (
            published.status_code == 200
            and published.json()["version"] == 2
            and published.json()["published"]
        )
        assert api.post(url + "/publish", headers=headers).status_code == 409
        assert api.delete(url + "/draft", headers=headers).status_code == 409

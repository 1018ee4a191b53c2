"""Sampling pages through HTTP with a real login: the rule form, rule and run pages, reassigning, and the
reviewer's "Your assignments" panel on the queue (skip, replace, review)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from bs4 import BeautifulSoup, Tag
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, col, select

from qa.assignments import service
from qa.assignments.pages import describe_rule, due_words, form_field, rule_dict, values_from_rule
from qa.models import Assignment, AssignmentStatus, SamplingRule, SamplingRun, utcnow
from sampling.rules import parse_rule, rule_to_dict
from tests.assignments.conftest import Org
from tests.conftest import login_as

HX = {"HX-Request": "true"}


def soup(response: Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def text_of(node: BeautifulSoup | Tag, selector: str) -> str:
    """The text of the first element matching `selector` (which must exist)."""
    found = node.select_one(selector)
    assert found is not None, f"nothing matches {selector}"
    return found.get_text(" ", strip=True)


def attr_of(node: BeautifulSoup | Tag, selector: str, name: str) -> str:
    """An attribute of the first element matching `selector` (which must exist)."""
    found = node.select_one(selector)
    assert found is not None, f"nothing matches {selector}"
    return str(found[name])


def form_data(org: Org, **overrides: Any) -> dict[str, Any]:
    """The rule form as a person fills it: 3 per agent on the team, weekly, two reviewers."""
    first, second = org.reviewers[0], org.reviewers[1]
    data: dict[str, Any] = {
        "name": "Billing weekly", "description": "", "scorecard_id": str(org.version.scorecard_id),
        "strategy": "random", "quota_value": "3", "quota_kind": "per_agent", "seed": "42",
        "f_teams": [str(org.team.id)], "f_date_field": "created", "f_handled_by": "any",
        "reviewers": [str(first.id), str(second.id)], f"capacity_{second.id}": "20",
        "period": "weekly", "due_days": "5",
    }
    data.update(overrides)
    return data


def browser_form(form: Tag) -> dict[str, list[str]]:
    """What a browser would send for `form` as it stands (checked boxes, selected options, all inputs)."""
    out: dict[str, list[str]] = {}
    for element in form.find_all(["input", "select", "textarea"]):
        name = element.get("name")
        if not name or element.has_attr("disabled"):
            continue
        if element.name == "select":
            options = element.find_all("option")
            chosen = [o for o in options if o.has_attr("selected")]
            if not chosen and options and not element.has_attr("multiple"):
                chosen = options[:1]
            values = [str(o.get("value", o.get_text())) for o in chosen]
        elif element.name == "textarea":
            values = [element.get_text()]
        elif element.get("type") in ("checkbox", "radio"):
            values = [str(element.get("value", "on"))] if element.has_attr("checked") else []
        else:
            values = [str(element.get("value", ""))]
        out.setdefault(str(name), []).extend(values)
    return out


def stored_rules(session: Session) -> list[SamplingRule]:
    return list(session.exec(select(SamplingRule).order_by(col(SamplingRule.id))))


def make_rule(session: Session, org: Org, **overrides: Any) -> SamplingRule:
    return service.create_rule(session, actor=org.manager, rule=parse_rule(org.rule(**overrides)))


def run_for(session: Session, org: Org, reviewer_index: int = 0, **overrides: Any) -> SamplingRun:
    """A stored rule run now, every assignment going to one reviewer."""
    row = make_rule(session, org, reviewers=[{"id": org.reviewers[reviewer_index].id}], **overrides)
    return service.run_stored_rule(session, actor=org.manager, rule_id=row.id)


def open_of(session: Session, reviewer_id: int | None) -> list[Assignment]:
    query = select(Assignment).where(Assignment.reviewer_id == reviewer_id,
                                     Assignment.status == AssignmentStatus.open)
    return list(session.exec(query.order_by(col(Assignment.id))))


class TestRoles:
    @pytest.mark.parametrize("who", ["reviewer", "agent"])
    def test_reviewers_and_agents_may_not_manage_rules(self, client: TestClient, session: Session, org: Org,
                                                       who: str) -> None:
        login_as(client, org.reviewers[0] if who == "reviewer" else org.agent_user)
        row = make_rule(session, org)
        for url in ("/sampling", "/sampling/rules/new", f"/sampling/rules/{row.id}",
                    f"/sampling/rules/{row.id}/edit"):
            assert client.get(url).status_code == 403, url
        assert client.post("/sampling/rules/new", data=form_data(org)).status_code == 403
        assert client.post(f"/sampling/rules/{row.id}/run").status_code == 403
        assert len(stored_rules(session)) == 1
        nav = [a.get_text(strip=True) for a in soup(client.get("/")).select("nav.mainnav a")]
        assert "Sampling" not in nav

    def test_agents_may_not_skip(self, client: TestClient, session: Session, org: Org) -> None:
        run = run_for(session, org)
        assignment = service.assignments_of_run(session, run.id or 0, actor=org.admin)[0]
        login_as(client, org.agent_user)
        assert client.post(f"/assignments/{assignment.id}/skip", data={"reason": "x"}).status_code == 403

    def test_anonymous_is_sent_to_login(self, client: TestClient) -> None:
        response = client.get("/sampling", follow_redirects=False)
        assert response.status_code == 303 and "/login" in response.headers["location"]

    def test_the_manager_sees_the_nav_link(self, client: TestClient, org: Org) -> None:
        login_as(client, org.manager)
        current = soup(client.get("/sampling")).select_one("nav.mainnav a[aria-current=page]")
        assert current is not None and current.get_text(strip=True) == "Sampling"


class TestCreateRule:
    def test_the_form_starts_from_a_common_rule_with_a_random_seed(
        self, client: TestClient, org: Org
    ) -> None:
        login_as(client, org.manager)
        page = soup(client.get("/sampling/rules/new"))
        seed = page.select_one("input[name=seed]")
        assert seed is not None and str(seed["value"]).isdigit()
        assert page.select_one("#f_filters") and page.select_one("details.backup-filter #b_filters")
        reviewer_boxes = {str(i["value"]) for i in page.select("input[name=reviewers]")}
        assert {str(r.id) for r in org.reviewers} <= reviewer_boxes
        assert str(org.agent_user.id) not in reviewer_boxes  # agents can't review
        teams = {str(i["value"]) for i in page.select("input[name=f_teams]")}
        assert teams == {str(org.team.id)}  # only the manager's team is offered
        assert attr_of(page, "select[name=period] option[selected]", "value") == "weekly"
        assert page.select("input[name=f_not_reviewed]")[0].has_attr("checked")

    def test_a_filled_form_stores_the_rule_it_says(
        self, client: TestClient, session: Session, org: Org
    ) -> None:
        login_as(client, org.manager)
        data = form_data(org, f_date_field="closed", f_last_days="7", f_min_agent_messages="2",
                         f_min_first_response_minutes="1.5", f_not_reviewed="1", f_csat=["1", "none"],
                         f_tags_any="refund,  vip ,", f_channels=["chat", "email"])
        response = client.post("/sampling/rules/new", data=data, follow_redirects=False)
        assert response.status_code == 303, response.text
        (row,) = stored_rules(session)
        assert response.headers["location"].endswith(f"/sampling/rules/{row.id}")
        assert row.definition["filters"] == {
            "teams": [org.team.id], "channels": ["chat", "email"], "tags_any": ["refund", "vip"],
            "csat": [1, "none"], "date_field": "closed", "last_days": 7, "min_agent_messages": 2,
            "min_first_response_seconds": 90, "not_reviewed": True}
        assert row.definition["reviewers"] == [{"id": org.reviewers[0].id},
                                               {"id": org.reviewers[1].id, "capacity": 20}]
        assert row.definition["quota"] == {"per_agent": 3}
        assert (row.period, row.definition["seed"]) == ("weekly", 42)
        page = soup(client.get(response.headers["location"]))
        sentence = text_of(page, ".rule-sentence p")
        assert sentence.startswith(
            f"Every week, 3 per agent, random, from conversations closed in the last 7 days in team "
            f"{org.team.name} on chat or email tagged refund or vip with at least 2 agent replies, a first "
            "response of at least 1m 30s and CSAT 1 or no rating, not yet reviewed;")
        assert (f"reviewers: {org.reviewers[0].name} and {org.reviewers[1].name} (cap 20); due after 5 days; "
                "seed 42.") in sentence
        assert "created" in text_of(page, ".alert-ok")

    def test_bad_values_come_back_by_their_fields_with_the_values_kept(
        self, client: TestClient, session: Session, org: Org
    ) -> None:
        login_as(client, org.manager)
        data = form_data(org, name="  ", quota_value="0", f_min_messages="5", f_max_messages="2",
                         f_last_days="soon", reviewers=[], strategy="weighted", weight_by="")
        response = client.post("/sampling/rules/new", data=data)
        assert response.status_code == 422
        page = soup(response)
        errors = {str(p["id"]): p.get_text(strip=True) for p in page.select(".field-error")}
        assert errors["name-error"] == "Is required."
        assert errors["quota_value-error"] == "Must be between 1 and 100000."
        assert errors["f_min_messages-error"] == "Is more than the “at most” message count."
        assert errors["f_last_days-error"] == "Must be a whole number."
        assert errors["reviewers-error"] == "Needs at least one reviewer."
        assert errors["weight_by-error"].startswith("Must be one of messages")
        assert attr_of(page, "#f_min_messages", "aria-invalid") == "true"
        summary = [a["href"] for a in page.select("#form-problems a")]
        assert "#quota_value" in summary and "#f_last_days" in summary
        kept = {name: attr_of(page, f"[name={name}]", "value")
                for name in ("f_max_messages", "f_last_days", "quota_value", "seed")}
        assert kept == {"f_max_messages": "2", "f_last_days": "soon", "quota_value": "0", "seed": "42"}
        assert page.select(f"input[name=f_teams][value='{org.team.id}']")[0].has_attr("checked")
        assert attr_of(page, "#strategy option[selected]", "value") == "weighted"
        assert stored_rules(session) == []

    def test_backup_filter_problems_open_the_backup_fieldset(self, client: TestClient, org: Org) -> None:
        login_as(client, org.manager)
        response = client.post("/sampling/rules/new",
                               data=form_data(org, use_backup="1", b_min_handle_minutes="-2",
                                              b_date_from="2026-05-01", b_date_to="2026-04-01"))
        assert response.status_code == 422
        page = soup(response)
        assert page.select("details.backup-filter")[0].has_attr("open")
        assert text_of(page, "#b_min_handle_minutes-error").startswith("Must be between 0")
        assert text_of(page, "#b_date_from-error") == "Is after the “to” date."
        labels = [li.get_text(" ", strip=True) for li in page.select("#form-problems li")]
        assert any(text.startswith("Backup filter: Handle time (minutes) (min)") for text in labels)

    def test_unknown_references_are_field_problems(self, client: TestClient, org: Org) -> None:
        login_as(client, org.manager)
        response = client.post("/sampling/rules/new", data=form_data(org, f_teams=["999999"]))
        assert response.status_code == 422
        assert text_of(soup(response), "#f_teams-error") == "No team with id 999999."
        response = client.post("/sampling/rules/new", data=form_data(org, scorecard_id="999999"))
        assert response.status_code == 422 and "No scorecard with id 999999" in response.text

    def test_another_managers_team_is_refused(self, client: TestClient, session: Session, org: Org) -> None:
        login_as(client, org.manager)
        response = client.post("/sampling/rules/new", data=form_data(org, f_teams=[str(org.other_team.id)]))
        assert response.status_code == 403 and "not one of the teams you manage" in response.text
        assert stored_rules(session) == []

    def test_without_the_csrf_token_nothing_is_stored(self, client: TestClient, session: Session,
                                                      org: Org) -> None:
        login_as(client, org.manager)
        client.headers.pop("X-CSRF-Token")
        response = client.post("/sampling/rules/new", data=form_data(org))
        assert response.status_code == 403 and stored_rules(session) == []
        row = make_rule(session, org)
        assert client.post(f"/sampling/rules/{row.id}/run").status_code == 403
        assert session.exec(select(SamplingRun)).first() is None


FULL: dict[str, Any] = {
    "strategy": "stratified", "stratify_by": "channel", "quota": {"percent": 12.5}, "period": "daily",
    "description": "Every channel, a little", "due_days": 0, "seed": 2**40,
    "filters": {"channels": ["chat"], "sources": ["zendesk", "mail"], "languages": ["en"],
                "date_field": "closed", "date_from": "2026-01-01", "date_to": "2026-12-31",
                "tags_all": ["a", "b"], "tags_none": ["spam"], "csat": [5], "min_messages": 1,
                "max_messages": 40, "min_customer_messages": 1, "max_agent_messages": 30,
                "max_first_response_seconds": 100, "min_handle_seconds": 61, "handled_by": "human",
                "not_assigned": True},
    "backup_filters": {"last_days": 30, "handled_by": "bot", "agents": [0]},
}


def full_rule(org: Org) -> dict[str, Any]:
    """A rule using every field the form has, with a backup filter and reviewers out of name order."""
    return {**FULL, "backup_filters": {**FULL["backup_filters"], "agents": [org.agents[1].id]},
            "reviewers": [{"id": org.reviewers[2].id, "capacity": 3}, {"id": org.reviewers[0].id}]}


class TestEditRule:

    def test_saving_the_form_unchanged_keeps_every_field(self, client: TestClient, session: Session,
                                                         org: Org) -> None:
        row = make_rule(session, org, **full_rule(org))
        before = row.definition
        login_as(client, org.manager)
        page = soup(client.get(f"/sampling/rules/{row.id}/edit"))
        form = page.select_one("form#rule-form")
        assert form is not None and str(form["action"]).endswith(f"/sampling/rules/{row.id}/edit")
        assert page.select("details.backup-filter")[0].has_attr("open")
        response = client.post(str(form["action"]), data=browser_form(form), follow_redirects=False)
        assert response.status_code == 303, response.text
        session.refresh(row)
        assert row.definition == before

    def test_an_edit_is_stored_and_runs_keep_their_rule(self, client: TestClient, session: Session,
                                                        org: Org) -> None:
        row = make_rule(session, org)
        run = service.run_stored_rule(session, actor=org.manager, rule_id=row.id)
        login_as(client, org.manager)
        form = soup(client.get(f"/sampling/rules/{row.id}/edit")).select_one("form#rule-form")
        assert form is not None
        data = browser_form(form) | {"name": ["Renamed"], "quota_value": ["1"]}
        assert client.post(f"/sampling/rules/{row.id}/edit", data=data).status_code == 200
        session.refresh(row)
        assert (row.name, row.definition["quota"]) == ("Renamed", {"per_agent": 1})
        assert run.parameters["rule"]["quota"] == {"per_agent": 3}

    def test_a_bad_edit_changes_nothing(self, client: TestClient, session: Session, org: Org) -> None:
        row = make_rule(session, org)
        login_as(client, org.manager)
        form = soup(client.get(f"/sampling/rules/{row.id}/edit")).select_one("form#rule-form")
        assert form is not None
        data = browser_form(form) | {"due_days": ["400"]}
        response = client.post(f"/sampling/rules/{row.id}/edit", data=data)
        assert response.status_code == 422
        assert text_of(soup(response), "#due_days-error") == "Must be between 0 and 365."
        session.refresh(row)
        assert row.definition["due_days"] == 7

    def test_other_managers_rules_are_not_found(self, client: TestClient, session: Session, org: Org) -> None:
        row = make_rule(session, org)
        login_as(client, org.other_manager)
        for url in (f"/sampling/rules/{row.id}", f"/sampling/rules/{row.id}/edit", "/sampling/rules/nope"):
            assert client.get(url).status_code == 404, url
        assert client.post(f"/sampling/rules/{row.id}/edit", data=form_data(org)).status_code == 404


class TestRulesAndRuns:
    def test_the_empty_list_explains_rules(self, client: TestClient, org: Org) -> None:
        login_as(client, org.manager)
        page = soup(client.get("/sampling"))
        assert "No sampling rules yet" in page.get_text()
        assert page.select_one("a[href$='/sampling/rules/new']") is not None

    def test_run_now_shows_the_run_and_the_list_its_summary(self, client: TestClient, session: Session,
                                                            org: Org) -> None:
        row = make_rule(session, org)
        login_as(client, org.manager)
        listed = soup(client.get("/sampling")).select_one("#rules-table tbody tr")
        assert listed is not None and "Never run" in listed.get_text()
        response = client.post(f"/sampling/rules/{row.id}/run", follow_redirects=False)
        assert response.status_code == 303
        (run,) = session.exec(select(SamplingRun)).all()
        assert response.headers["location"].endswith(f"/sampling/runs/{run.id}")
        page = soup(client.get(response.headers["location"]))
        assert text_of(page, "#run-message") == run.message
        assert "21 conversations matched; 11 picked, 11 assigned" in run.message
        rows = page.select("#run-assignments tbody tr")
        assert len(rows) == run.assigned == 11
        assert all(r.select_one("a[href*='/conversations/']") for r in rows)
        short = [text_of(r, "td") for r in page.select("#per-agent tr.is-short")]
        assert sorted(short) == sorted([org.agents[2].name, org.idle_agent.name])
        loads = page.select("#per-reviewer meter")
        assert sum(int(str(m["value"])) for m in loads) == 11
        line = soup(client.get("/sampling")).select_one("#rules-table tbody tr .last-run")
        assert line is not None and run.message in line.get_text()
        trigger = soup(client.get(f"/sampling/rules/{row.id}")).select_one("#runs-table tbody tr")
        assert trigger is not None and org.manager.name in trigger.get_text() and "Page" in trigger.get_text()

    def test_stratified_runs_show_their_strata(self, client: TestClient, session: Session, org: Org) -> None:
        row = make_rule(session, org, strategy="stratified", stratify_by="channel", quota={"total": 8})
        run = service.run_stored_rule(session, actor=org.manager, rule_id=row.id)
        login_as(client, org.manager)
        page = soup(client.get(f"/sampling/runs/{run.id}"))
        names = [n.get_text(strip=True) for n in page.select("#per-stratum .bar-name")]
        assert names == sorted(s["stratum"] for s in run.per_stratum) and "chat" in names
        picked = [float(str(m["value"])) for m in page.select("#per-stratum meter.bar-picked")]
        assert abs(sum(picked) - 1) < 1e-9

    def test_pause_and_resume(self, client: TestClient, session: Session, org: Org) -> None:
        row = make_rule(session, org, period="weekly")
        login_as(client, org.manager)
        page = soup(client.post(f"/sampling/rules/{row.id}/active", data={"active": "0"}))
        session.refresh(row)
        assert not row.active and "Paused" in text_of(page, "h1")
        assert attr_of(page, "input[name=active]", "value") == "1"
        client.post(f"/sampling/rules/{row.id}/active", data={"active": "1"})
        session.refresh(row)
        assert row.active

    def test_unknown_runs_are_not_found(self, client: TestClient, org: Org) -> None:
        login_as(client, org.manager)
        assert client.get("/sampling/runs/999999").status_code == 404
        assert client.get("/sampling/runs/x").status_code == 404


class TestReassign:
    def test_htmx_swaps_the_row(self, client: TestClient, session: Session, org: Org) -> None:
        run = run_for(session, org)
        assignment = service.assignments_of_run(session, run.id or 0, actor=org.admin)[0]
        login_as(client, org.manager)
        response = client.post(f"/assignments/{assignment.id}/reassign", headers=HX,
                               data={"reviewer_id": str(org.reviewers[1].id), "run_id": str(run.id)})
        assert response.status_code == 200
        row = soup(response).select_one(f"tr#assignment-{assignment.id}")
        assert row is not None and org.reviewers[1].name in row.get_text() and "Reassigned" in row.get_text()
        session.refresh(assignment)
        assert assignment.reviewer_id == org.reviewers[1].id

    def test_a_form_post_goes_back_to_the_run(self, client: TestClient, session: Session, org: Org) -> None:
        run = run_for(session, org)
        assignment = service.assignments_of_run(session, run.id or 0, actor=org.admin)[0]
        login_as(client, org.manager)
        response = client.post(f"/assignments/{assignment.id}/reassign", follow_redirects=False,
                               data={"reviewer_id": str(org.reviewers[1].id), "run_id": str(run.id)})
        assert response.status_code == 303
        assert response.headers["location"].endswith(f"/sampling/runs/{run.id}")

    def test_nobody_reviews_their_own_conversation(
        self, client: TestClient, session: Session, org: Org
    ) -> None:
        run = run_for(session, org, filters={"agents": [org.agents[0].id]})
        assignment = service.assignments_of_run(session, run.id or 0, actor=org.admin)[0]
        login_as(client, org.manager)
        data = {"reviewer_id": str(org.peer.id), "run_id": str(run.id)}
        response = client.post(f"/assignments/{assignment.id}/reassign", headers=HX, data=data)
        assert response.status_code == 422
        assert "can't review it" in text_of(soup(response), ".field-error")
        plain = client.post(f"/assignments/{assignment.id}/reassign", data=data)
        assert plain.status_code == 422 and "can't review it" in soup(plain).get_text()
        session.refresh(assignment)
        assert assignment.reviewer_id == org.reviewers[0].id


class TestQueuePanel:
    def test_no_panel_without_open_assignments(self, client: TestClient, session: Session, org: Org) -> None:
        run_for(session, org, reviewer_index=1)
        login_as(client, org.reviewers[0])
        page = soup(client.get("/queue"))
        assert page.select_one("#my-assignments") is None and "Your assignments" not in page.get_text()

    def test_the_panel_lists_them_above_the_queue(
        self, client: TestClient, session: Session, org: Org
    ) -> None:
        run_for(session, org)
        mine = open_of(session, org.reviewers[0].id)
        mine[0].due_at = utcnow() - timedelta(days=2)
        session.add(mine[0])
        session.flush()
        login_as(client, org.reviewers[0])
        page = soup(client.get("/queue"))
        panel = page.select_one("#my-assignments")
        assert panel is not None
        assert panel.find_next("form", class_="filters") is not None  # above the filters and the table
        rows = panel.select("tbody tr")
        assert len(rows) == len(mine) == 11
        assert "Overdue since" in text_of(rows[0], ".due") and "due-overdue" in rows[0]["class"]
        assert all("Due" in text_of(r, ".due") for r in rows[1:])
        assert all(text_of(r, ".reason-cell") == "random pick" for r in rows)
        button = rows[1].select_one("button[form=start-review]")
        assert button is not None
        assert str(button["formaction"]).endswith(f"/conversations/{mine[1].conversation_id}/review")
        assert page.select_one("form#start-review") is not None

    def test_review_starts_with_the_assignments_scorecard(self, client: TestClient, session: Session,
                                                          org: Org) -> None:
        run_for(session, org)
        first = open_of(session, org.reviewers[0].id)[0]
        login_as(client, org.reviewers[0])
        button = soup(client.get("/queue")).select_one(f"#my-assignment-{first.id} button[form=start-review]")
        assert button is not None
        response = client.post(str(button["formaction"]), follow_redirects=False)
        assert response.status_code == 303 and "/reviews/" in response.headers["location"]
        session.refresh(first)
        assert first.review_id is not None
        row = soup(client.get("/queue")).select_one(f"#my-assignment-{first.id}")
        assert row is not None and row.select_one(f"a[href$='/reviews/{first.review_id}']") is not None

    def test_skip_needs_a_reason(self, client: TestClient, session: Session, org: Org) -> None:
        run_for(session, org)
        first = open_of(session, org.reviewers[0].id)[0]
        login_as(client, org.reviewers[0])
        response = client.post(f"/assignments/{first.id}/skip", data={"reason": "  "}, headers=HX)
        assert response.status_code == 422
        item = soup(response).select_one(f"#my-assignments #my-assignment-{first.id}")
        assert item is not None and item.select("details")[0].has_attr("open")
        assert text_of(item, ".field-error") == "Say why you skip this conversation."
        plain = client.post(f"/assignments/{first.id}/skip", data={"reason": ""})
        assert plain.status_code == 422 and "Say why you skip this conversation." in plain.text
        session.refresh(first)
        assert first.status == AssignmentStatus.open

    def test_skip_swaps_the_panel_and_refreshes_the_queue(self, client: TestClient, session: Session,
                                                          org: Org) -> None:
        run_for(session, org)
        first, *rest = open_of(session, org.reviewers[0].id)
        login_as(client, org.reviewers[0])
        response = client.post(f"/assignments/{first.id}/skip", data={"reason": "spam"}, headers=HX)
        assert response.status_code == 200 and response.headers["HX-Trigger"] == "assignments-changed"
        panel = soup(response).select_one("section#my-assignments")
        assert panel is not None and "Skipped “" in text_of(panel, ".alert-ok")
        assert [r["id"] for r in panel.select("tbody tr")] == [f"my-assignment-{a.id}" for a in rest]
        session.refresh(first)
        assert (first.status, first.skip_reason) == (AssignmentStatus.skipped, "spam")

    def test_a_form_post_skip_returns_to_the_queue_with_a_message(
        self, client: TestClient, session: Session, org: Org
    ) -> None:
        run_for(session, org, filters={"agents": [org.agents[2].id]})
        first, second = open_of(session, org.reviewers[0].id)
        login_as(client, org.reviewers[0])
        response = client.post(f"/assignments/{first.id}/skip", data={"reason": "wrong language"},
                               follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].endswith("/queue")
        panel = soup(client.get("/queue")).select_one("#my-assignments")
        assert panel is not None and "Skipped" in text_of(panel, ".alert-ok")
        assert len(panel.select("tbody tr")) == 1
        client.post(f"/assignments/{second.id}/skip", data={"reason": "wrong language"})
        assert soup(client.get("/queue")).select_one("#my-assignments") is None  # the message was shown once

    def test_replace_swaps_in_another_conversation(
        self, client: TestClient, session: Session, org: Org
    ) -> None:
        run_for(session, org, reviewer_index=1, quota={"per_agent": 1},
                filters={"agents": [org.agents[0].id]})
        (old,) = open_of(session, org.reviewers[1].id)
        login_as(client, org.reviewers[1])
        response = client.post(f"/assignments/{old.id}/replace", headers=HX)
        assert response.status_code == 200, response.text
        (new,) = open_of(session, org.reviewers[1].id)
        assert new.id != old.id and new.conversation_id != old.conversation_id
        panel = soup(response).select_one("#my-assignments")
        assert panel is not None
        assert [r["id"] for r in panel.select("tbody tr")] == [f"my-assignment-{new.id}"]
        assert "Replaced" in text_of(panel, ".alert-ok")

    def test_replace_says_when_there_is_nothing_else(self, client: TestClient, session: Session,
                                                     org: Org) -> None:
        run_for(session, org, filters={"agents": [org.agents[2].id]})  # 3 wanted, only 2 exist: both taken
        first = open_of(session, org.reviewers[0].id)[0]
        login_as(client, org.reviewers[0])
        response = client.post(f"/assignments/{first.id}/replace", headers=HX)
        assert response.status_code == 409
        item = soup(response).select_one(f"#my-assignment-{first.id}")
        assert item is not None and "No other conversation matches" in item.get_text()
        plain = client.post(f"/assignments/{first.id}/replace")
        assert plain.status_code == 409 and "No other conversation matches" in plain.text
        assert len(open_of(session, org.reviewers[0].id)) == 2

    def test_someone_elses_assignment_is_not_found(
        self, client: TestClient, session: Session, org: Org
    ) -> None:
        run_for(session, org)
        first = open_of(session, org.reviewers[0].id)[0]
        login_as(client, org.reviewers[1])
        skipped = client.post(f"/assignments/{first.id}/skip", data={"reason": "x"}, headers=HX)
        assert skipped.status_code == 404
        assert client.post(f"/assignments/{first.id}/replace").status_code == 404
        assert client.post("/assignments/abc/replace").status_code == 404


class TestFormHelpers:
    def test_paths_map_to_form_fields(self) -> None:
        assert form_field("filters.csat[2]") == "f_csat"
        assert form_field("backup_filters.max_handle_seconds") == "b_max_handle_minutes"
        assert form_field("quota.per_agent") == "quota_value"
        assert form_field("reviewers[1].capacity", ["4", "9"]) == "capacity_9"
        assert form_field("reviewers[0]", ["4"]) == "reviewers"
        assert form_field("") == "form" and form_field("seed") == "seed"

    def test_the_form_round_trips_a_rule(self, org: Org) -> None:
        rule = parse_rule(org.rule(**full_rule(org)))
        assert parse_rule(rule_dict(values_from_rule(rule_to_dict(rule)))) == rule

    def test_due_words(self) -> None:
        now = utcnow().replace(hour=12)
        assert due_words(None, now) == ("No due date", "none")
        assert due_words(now - timedelta(hours=1), now) == ("Overdue today", "overdue")
        assert due_words(now + timedelta(hours=1), now) == ("Due today", "today")
        assert due_words(now + timedelta(days=1), now) == ("Due tomorrow", "soon")
        assert due_words(now - timedelta(days=3), now)[0].startswith("Overdue since")
        assert due_words(now + timedelta(days=3), now)[1] == "later"

    def test_a_rule_without_filters_reads_plainly(self, session: Session, org: Org) -> None:
        from qa.assignments.pages import Names

        rule = parse_rule(org.rule(filters={}, period="once", due_days=1, quota={"total": 10},
                                   strategy="spotlight", reviewers=[{"id": 1}]))
        names = Names(teams={}, agents={}, users={1: "Rita"}, scorecards={org.version.scorecard_id: "QA"})
        assert describe_rule(rule, names) == (
            "Once, 10 in total, spotlight (the conversations that stand out), from all conversations; "
            "scored with QA; reviewers: Rita; due after 1 day; seed 7.")

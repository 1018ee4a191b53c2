"""/api/v1/sampling and /api/v1/assignments over HTTP: runs inline and stored, error shapes, roles."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.assignments.conftest import Org
from tests.factories import bearer


def test_post_run_inline_answers_the_assignments(api: TestClient, session: Session, org: Org) -> None:
    headers = bearer(session, org.manager)
    response = api.post("/api/v1/sampling/runs", json={"rule": org.rule()}, headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["assigned"] == len(body["assignments"]) == 11
    assert body["rule_id"] is None and body["period"] == "once" and body["trigger"] == "api"
    assert {a["status"] for a in body["assignments"]} == {"open"}
    assert all(a["reason"] == "random pick" and a["due_at"] for a in body["assignments"])
    assert {r["agent_id"] for r in body["per_agent"] if r["got"] < r["wanted"]} == {
        org.agents[2].id,
        org.idle_agent.id,
    }
    again = api.get(f"/api/v1/sampling/runs/{body['id']}", headers=headers).json()
    assert [a["id"] for a in again["assignments"]] == [a["id"] for a in body["assignments"]]


def test_stored_rule_create_run_update(api: TestClient, session: Session, org: Org) -> None:
    headers = bearer(session, org.manager)
    created = api.post("/api/v1/sampling/rules", json=org.rule(period="weekly"), headers=headers)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["definition"]["period"] == "weekly" and rule["active"]
    run = api.post("/api/v1/sampling/runs", json={"rule_id": rule["id"]}, headers=headers)
    assert run.status_code == 201 and run.json()["rule_id"] == rule["id"]
    updated = api.put(f"/api/v1/sampling/rules/{rule['id']}", json=org.rule(name="Renamed"), headers=headers)
    assert updated.status_code == 200 and updated.json()["name"] == "Renamed"
    assert [r["id"] for r in api.get("/api/v1/sampling/rules", headers=headers).json()] == [rule["id"]]


def test_invalid_rules_name_every_field(api: TestClient, session: Session, org: Org) -> None:
    headers = bearer(session, org.manager)
    bad: dict[str, Any] = org.rule(
        quota={"per_agent": 0}, strategy="psychic", filters={"csat": [9], "channels": ["fax"]}, reviewers=[]
    )
    response = api.post("/api/v1/sampling/rules", json=bad, headers=headers)
    assert response.status_code == 422
    locs = {tuple(e["loc"]) for e in response.json()["detail"]}
    assert {
        ("body", "quota", "per_agent"),
        ("body", "strategy"),
        ("body", "filters", "csat", 0),
        ("body", "filters", "channels", 0),
        ("body", "reviewers"),
    } <= locs
    inline = api.post("/api/v1/sampling/runs", json={"rule": {"name": "x"}}, headers=headers)
    assert inline.status_code == 422 and ["body", "rule", "scorecard_id"] in [
        e["loc"] for e in inline.json()["detail"]
    ]
    both = api.post("/api/v1/sampling/runs", json={"rule_id": 1, "rule": org.rule()}, headers=headers)
    assert both.status_code == 422
    assert api.post("/api/v1/sampling/runs", json={"rule_id": 999_999}, headers=headers).status_code == 404
    assert (
        api.post(
            "/api/v1/sampling/runs", content=b"{", headers={**headers, "Content-Type": "application/json"}
        ).status_code
        == 422
    )
    unknown = api.post("/api/v1/sampling/rules", json=org.rule(scorecard_id=999_999), headers=headers)
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["scorecard_id"]


def test_roles(api: TestClient, session: Session, org: Org) -> None:
    for user in (org.reviewers[0], org.agent_user):
        response = api.post("/api/v1/sampling/runs", json={"rule": org.rule()}, headers=bearer(session, user))
        assert response.status_code == 403
    assert api.post("/api/v1/sampling/runs", json={"rule": org.rule()}).status_code == 401
    other = api.post(
        "/api/v1/sampling/runs", json={"rule": org.rule()}, headers=bearer(session, org.other_manager)
    )
    assert other.status_code == 403  # the rule names a team they don't manage
    run = api.post(
        "/api/v1/sampling/runs", json={"rule": org.rule()}, headers=bearer(session, org.manager)
    ).json()
    assert (
        api.get(f"/api/v1/sampling/runs/{run['id']}", headers=bearer(session, org.other_manager)).status_code
        == 404
    )


def test_reviewer_assignment_actions(api: TestClient, session: Session, org: Org) -> None:
    manager = bearer(session, org.manager)
    api.post("/api/v1/sampling/rules", json=org.rule(), headers=manager)
    rule_id = api.get("/api/v1/sampling/rules", headers=manager).json()[0]["id"]
    api.post("/api/v1/sampling/runs", json={"rule_id": rule_id}, headers=manager)
    reviewer = bearer(session, org.reviewers[0])
    mine = api.get("/api/v1/assignments", headers=reviewer).json()
    assert mine and all(a["reviewer_id"] == org.reviewers[0].id for a in mine)
    first, second = mine[0]["id"], mine[1]["id"]
    assert (
        api.post(f"/api/v1/assignments/{first}/skip", json={"reason": ""}, headers=reviewer).status_code
        == 422
    )
    skipped = api.post(f"/api/v1/assignments/{first}/skip", json={"reason": "Spam"}, headers=reviewer)
    assert skipped.status_code == 200 and skipped.json()["status"] == "skipped"
    assert (
        api.post(f"/api/v1/assignments/{first}/skip", json={"reason": "x"}, headers=reviewer).status_code
        == 409
    )
    other = bearer(session, org.reviewers[1])
    assert (
        api.post(f"/api/v1/assignments/{second}/skip", json={"reason": "x"}, headers=other).status_code == 404
    )
    replaced = api.post(f"/api/v1/assignments/{second}/replace", headers=reviewer)
    assert replaced.status_code in (201, 409), replaced.text
    assert (
        api.post(
            f"/api/v1/assignments/{second}/reassign",
            json={"reviewer_id": org.reviewers[1].id},
            headers=reviewer,
        ).status_code
        == 403
    )
    assert (
        api.post("/api/v1/assignments/nope/skip", json={"reason": "x"}, headers=reviewer).status_code == 422
    )


def test_ids_beyond_32_bits_are_not_found(api: TestClient, session: Session, org: Org) -> None:
    headers = bearer(session, org.manager)
    huge = 2**40
    assert api.get(f"/api/v1/sampling/rules/{huge}", headers=headers).status_code == 404
    assert api.get(f"/api/v1/sampling/runs/{huge}", headers=headers).status_code == 404
    assert (
        api.post(f"/api/v1/assignments/{huge}/skip", json={"reason": "x"}, headers=headers).status_code == 404
    )
    assert api.post("/api/v1/sampling/runs", json={"rule_id": huge}, headers=headers).status_code == 422
    bad = api.post("/api/v1/sampling/runs", json={"rule": org.rule(scorecard_id=huge)}, headers=headers)
    assert bad.status_code == 422
    assert api.get(f"/api/v1/conversations/{huge}", headers=headers).status_code == 404

"""/api/v1/scorecards: create (JSON or YAML), new versions, list, read; errors and permissions."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from qa.models import Review, Scorecard
from qa.scorecard_admin import service as scorecard_service
from qa.scorecard_admin.api import field_loc
from tests.factories import EXAMPLE_SCORECARD, make_scorecard, make_user
from tests.scorecard_admin.helpers import audit_actions, bearer, example, make_review_on, settle


@pytest.fixture
def manager_auth(session: Session) -> dict[str, str]:
    """Headers for a manager's token."""
    return bearer(session, make_user(session, role="manager"))


def count(session: Session) -> int:
    return session.exec(select(func.count(col(Scorecard.id)))).one()


def post_raw(
    api: TestClient,
    headers: dict[str, str],
    body: str | bytes,
    content_type: str,
    path: str = "/api/v1/scorecards",
) -> Any:
    return api.post(path, content=body, headers={**headers, "Content-Type": content_type})


class TestCreate:
    def test_json_creates_version_1_with_full_criteria(
        self, api: TestClient, session: Session, manager_auth: dict[str, str]
    ) -> None:
        response = api.post("/api/v1/scorecards", json=EXAMPLE_SCORECARD, headers=manager_auth)

        assert response.status_code == 201, response.text
        body = response.json()
        card = session.get(Scorecard, body["id"])
        assert card is not None and card.name == "Support QA"
        assert (body["version"], body["name"], body["pass_threshold"], body["archived"]) == (
            1,
            "Support QA",
            80,
            False,
        )
        greeting, accuracy, tone = body["criteria"]
        assert greeting == {
            "key": "greeting",
            "name": "Greeting",
            "section": "Opening",
            "scale": "binary",
            "options": [{"label": "No", "score": 0}, {"label": "Yes", "score": 1}],
            "weight": 1,
            "critical": False,
            "fail_below": 0.5,
            "allow_na": False,
            "root_causes": [],
            "guidance": "",
        }
        assert (accuracy["critical"], accuracy["fail_below"], accuracy["weight"]) == (True, 0.5, 3)
        assert [o["score"] for o in accuracy["options"]] == [0, 0.25, 0.5, 0.75, 1]
        assert tone["section"] is None and tone["allow_na"] is True
        assert tone["options"] == [
            {"label": "Poor", "score": 0},
            {"label": "OK", "score": 0.6},
            {"label": "Great", "score": 1},
        ]
        assert tone["root_causes"] == ["Robotic", "Rude", "Too casual"]
        assert audit_actions(session, body["id"]) == ["scorecard.create"]

    @pytest.mark.parametrize(
        "content_type",
        ["application/yaml", "text/yaml", "application/x-yaml", "application/yaml; charset=utf-8"],
    )
    def test_yaml_body(
        self, api: TestClient, session: Session, manager_auth: dict[str, str], content_type: str
    ) -> None:
        response = post_raw(api, manager_auth, yaml.safe_dump(EXAMPLE_SCORECARD), content_type)
        assert response.status_code == 201, response.text
        assert [c["key"] for c in response.json()["criteria"]] == ["greeting", "accuracy", "tone"]

    def test_json_with_charset(self, api: TestClient, manager_auth: dict[str, str]) -> None:
        response = post_raw(
            api, manager_auth, json.dumps(EXAMPLE_SCORECARD), "application/json; charset=utf-8"
        )
        assert response.status_code == 201

    def test_invalid_definition_names_every_bad_field(
        self, api: TestClient, session: Session, manager_auth: dict[str, str]
    ) -> None:
        bad = {
            "name": "",
            "pass_threshold": 101,
            "colour": "red",
            "criteria": [
                {"key": "ok", "name": "Fine", "scale": "binary"},
                {"key": "ok", "name": "Again", "scale": "5", "weight": -1},
                {
                    "key": "tone",
                    "name": "Tone",
                    "scale": "custom",
                    "options": [{"label": "Good", "score": 1}, {"label": "Bad", "score": 1.5}],
                },
            ],
        }

        response = api.post("/api/v1/scorecards", json=bad, headers=manager_auth)

        assert response.status_code == 422
        detail = response.json()["detail"]
        assert all(d["type"] == "value_error" and d["msg"] for d in detail)
        assert [d["loc"] for d in detail] == [
            ["body", "colour"],
            ["body", "name"],
            ["body", "pass_threshold"],
            ["body", "criteria", 1, "weight"],
            ["body", "criteria", 2, "options", 1, "score"],
            ["body", "criteria", 1, "key"],
        ]
        assert count(session) == 0

    @pytest.mark.parametrize(
        ("body", "loc"),
        [
            ({"name": 5, "criteria": EXAMPLE_SCORECARD["criteria"]}, ["body", "name"]),
            (example(criteria="all of them"), ["body", "criteria"]),
            (example(criteria=[1]), ["body", "criteria", 0]),
            (example(criteria=[{"key": 7, "name": "X", "scale": "binary"}]), ["body", "criteria", 0, "key"]),
            (example(criteria=[{"key": "a", "name": "X", "scale": True}]), ["body", "criteria", 0, "scale"]),
            (
                example(criteria=[{"key": "a", "name": "X", "scale": "binary", "weight": "3"}]),
                ["body", "criteria", 0, "weight"],
            ),
            (
                example(criteria=[{"key": "a", "name": "X", "scale": "binary", "critical": "yes"}]),
                ["body", "criteria", 0, "critical"],
            ),
            (
                example(criteria=[{"key": "a", "name": "X", "scale": "binary", "root_causes": [1]}]),
                ["body", "criteria", 0, "root_causes", 0],
            ),
            (
                example(criteria=[{"key": "a", "name": "X", "scale": "custom", "options": {"label": "x"}}]),
                ["body", "criteria", 0, "options"],
            ),
            (example(pass_threshold=None), ["body", "pass_threshold"]),
            ([EXAMPLE_SCORECARD], ["body"]),
            ("Support QA", ["body"]),
            (None, ["body"]),
            (12, ["body"]),
        ],
        ids=lambda v: "" if isinstance(v, dict | list) else str(v),
    )
    def test_wrong_json_types_are_422_not_500(
        self, api: TestClient, manager_auth: dict[str, str], body: Any, loc: list[Any]
    ) -> None:
        response = post_raw(api, manager_auth, json.dumps(body), "application/json")
        assert response.status_code == 422, response.text
        assert loc in [d["loc"] for d in response.json()["detail"]]

    @pytest.mark.parametrize(
        ("body", "content_type"),
        [
            ('{"name": "Support QA",', "application/json"),
            ("{'name': 'single quotes'}", "application/json"),
            ("", "application/json"),
            ("name: [unclosed", "application/yaml"),
            (b"\xff\xfe{}", "application/json"),
            ("[" * 100_000, "application/json"),
        ],
        ids=["truncated", "quotes", "empty", "yaml", "not-utf8", "deep"],
    )
    def test_malformed_bodies_are_422(
        self, api: TestClient, manager_auth: dict[str, str], body: str | bytes, content_type: str
    ) -> None:
        response = post_raw(api, manager_auth, body, content_type)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body"]

    def test_nan_is_not_a_number(self, api: TestClient, manager_auth: dict[str, str]) -> None:
        body = json.dumps(EXAMPLE_SCORECARD)[:-1] + ', "pass_threshold": NaN}'
        response = post_raw(api, manager_auth, body, "application/json")
        assert response.status_code == 422
        assert ["body", "pass_threshold"] in [d["loc"] for d in response.json()["detail"]]

    def test_unsupported_content_type_is_415(self, api: TestClient, manager_auth: dict[str, str]) -> None:
        response = post_raw(api, manager_auth, "name,criteria\n", "text/csv")
        assert response.status_code == 415
        assert "application/json" in response.json()["detail"]

    def test_body_over_1_mb_is_413(
        self, api: TestClient, session: Session, manager_auth: dict[str, str]
    ) -> None:
        big = json.dumps(example(description="x" * (1024 * 1024)))
        response = post_raw(api, manager_auth, big, "application/json")
        assert response.status_code == 413
        assert "1 MB" in response.json()["detail"]
        assert count(session) == 0


class TestRead:
    def test_list_has_current_versions_and_counts(
        self, api: TestClient, session: Session, manager_auth: dict[str, str]
    ) -> None:
        v1 = make_scorecard(session)
        make_review_on(session, v1, {"greeting": "No"})
        scorecard_service.update_scorecard(
            session,
            actor=None,
            scorecard_id=v1.scorecard_id,
            definition=scorecard_service.definition_for(session, v1.id),
        )  # type: ignore[arg-type]
        other = make_scorecard(session, definition=example(name="Archived card"))
        scorecard_service.archive_scorecard(
            session, actor=None, scorecard_id=other.scorecard_id, archived=True
        )

        items = api.get("/api/v1/scorecards", headers=manager_auth).json()["items"]
        everything = api.get("/api/v1/scorecards?include_archived=true", headers=manager_auth).json()["items"]

        assert [(i["id"], i["version"], i["criteria_count"], i["reviews_count"]) for i in items] == [
            (v1.scorecard_id, 2, 3, 1)
        ]
        assert {i["name"] for i in everything} == {"Support QA", "Archived card"}

    def test_get_current_and_earlier_version(
        self, api: TestClient, session: Session, manager_auth: dict[str, str]
    ) -> None:
        v1 = make_scorecard(session)
        path = f"/api/v1/scorecards/{v1.scorecard_id}"
        created = api.post(
            f"{path}/versions", json=example(name="Support QA 2", pass_threshold=70), headers=manager_auth
        )
        assert created.status_code == 201
        assert (created.json()["id"], created.json()["version"]) == (v1.scorecard_id, 2)

        current = api.get(path, headers=manager_auth).json()
        first = api.get(f"{path}?version=1", headers=manager_auth).json()

        assert (current["version"], current["name"], current["pass_threshold"]) == (2, "Support QA 2", 70)
        assert (first["version"], first["name"], first["pass_threshold"]) == (1, "Support QA", 80)

    def test_reviewer_may_read(self, api: TestClient, session: Session) -> None:
        version = make_scorecard(session)
        headers = bearer(session, make_user(session, role="reviewer"))
        assert api.get("/api/v1/scorecards", headers=headers).status_code == 200
        assert api.get(f"/api/v1/scorecards/{version.scorecard_id}", headers=headers).status_code == 200

    @pytest.mark.parametrize(
        ("path", "status"),
        [
            ("/api/v1/scorecards/999999", 404),
            ("/api/v1/scorecards/abc", 404),
            ("/api/v1/scorecards/-3", 404),
            ("/api/v1/scorecards/1.5", 404),
            ("/api/v1/scorecards/99999999999999999999999999", 404),
            ("/api/v1/scorecards/{id}?version=9", 404),
            ("/api/v1/scorecards/{id}?version=0", 422),
            ("/api/v1/scorecards/{id}?version=x", 422),
            ("/api/v1/scorecards?include_archived=maybe", 422),
        ],
    )
    def test_bad_ids_and_queries(
        self, api: TestClient, session: Session, manager_auth: dict[str, str], path: str, status: int
    ) -> None:
        version = make_scorecard(session)
        response = api.get(path.format(id=version.scorecard_id), headers=manager_auth)
        assert response.status_code == status
        assert "detail" in response.json()


class TestNewVersion:
    def test_new_version_leaves_v1_and_its_review(
        self, api: TestClient, session: Session, manager_auth: dict[str, str]
    ) -> None:
        v1 = make_scorecard(session)
        review = make_review_on(session, v1, {"greeting": "Yes", "accuracy": "5", "tone": "OK"})
        before = [(c.id, c.key, c.options) for c in scorecard_service.criteria_for(session, v1.id)]  # type: ignore[arg-type]

        response = post_raw(
            api,
            manager_auth,
            yaml.safe_dump(example(criteria=EXAMPLE_SCORECARD["criteria"][:1])),
            "application/yaml",
            path=f"/api/v1/scorecards/{v1.scorecard_id}/versions",
        )

        assert response.status_code == 201, response.text
        assert [c["key"] for c in response.json()["criteria"]] == ["greeting"]
        session.expire_all()
        assert [(c.id, c.key, c.options) for c in scorecard_service.criteria_for(session, v1.id)] == before  # type: ignore[arg-type]
        assert session.get(Review, review.id).version_id == v1.id  # type: ignore[union-attr]
        assert audit_actions(session, v1.scorecard_id) == ["scorecard.create", "scorecard.new_version"]

    def test_invalid_new_version_is_422(
        self, api: TestClient, session: Session, manager_auth: dict[str, str]
    ) -> None:
        v1 = make_scorecard(session)
        settle(session)
        response = api.post(
            f"/api/v1/scorecards/{v1.scorecard_id}/versions", json={"name": "x"}, headers=manager_auth
        )
        assert response.status_code == 422
        assert response.json()["detail"] == [
            {"loc": ["body", "criteria"], "msg": "is required", "type": "value_error"}
        ]
        assert scorecard_service.current_version(session, v1.scorecard_id).version == 1

    def test_unknown_scorecard_is_404_even_with_a_bad_body(
        self, api: TestClient, manager_auth: dict[str, str]
    ) -> None:
        response = api.post("/api/v1/scorecards/424242/versions", json={"bad": 1}, headers=manager_auth)
        assert response.status_code == 404

    def test_archived_scorecard_is_409(
        self, api: TestClient, session: Session, manager_auth: dict[str, str]
    ) -> None:
        v1 = make_scorecard(session)
        scorecard_service.archive_scorecard(session, actor=None, scorecard_id=v1.scorecard_id, archived=True)
        settle(session)
        response = api.post(
            f"/api/v1/scorecards/{v1.scorecard_id}/versions", json=EXAMPLE_SCORECARD, headers=manager_auth
        )
        assert response.status_code == 409
        assert "archived" in response.json()["detail"]
        assert scorecard_service.current_version(session, v1.scorecard_id).version == 1


WRITES = [("post", "/api/v1/scorecards"), ("post", "/api/v1/scorecards/{id}/versions")]
READS = [("get", "/api/v1/scorecards"), ("get", "/api/v1/scorecards/{id}")]


class TestAuth:
    @pytest.mark.parametrize(("method", "path"), WRITES + READS)
    @pytest.mark.parametrize(
        "headers", [{}, {"Authorization": "Bearer cal_nope"}, {"Authorization": "Basic x"}]
    )
    def test_missing_or_bad_token_is_401(
        self, api: TestClient, session: Session, method: str, path: str, headers: dict[str, str]
    ) -> None:
        version = make_scorecard(session)
        settle(session)
        response = api.request(
            method, path.format(id=version.scorecard_id), json=EXAMPLE_SCORECARD, headers=headers
        )
        assert response.status_code == 401
        assert count(session) == 1

    def test_page_session_cookie_is_not_an_api_login(self, client: TestClient, session: Session) -> None:
        from tests.conftest import login_as

        login_as(client, make_user(session, role="manager"))
        assert client.post("/api/v1/scorecards", json=EXAMPLE_SCORECARD).status_code == 401

    @pytest.mark.parametrize(("method", "path"), WRITES)
    def test_reviewer_may_not_write(self, api: TestClient, session: Session, method: str, path: str) -> None:
        version = make_scorecard(session)
        headers = bearer(session, make_user(session, role="reviewer"))
        response = api.request(
            method, path.format(id=version.scorecard_id), json=EXAMPLE_SCORECARD, headers=headers
        )
        assert response.status_code == 403
        assert count(session) == 1
        assert scorecard_service.current_version(session, version.scorecard_id).version == 1

    @pytest.mark.parametrize(("method", "path"), WRITES + READS)
    def test_agent_is_403(self, api: TestClient, session: Session, method: str, path: str) -> None:
        version = make_scorecard(session)
        headers = bearer(session, make_user(session, role="agent"))
        response = api.request(
            method, path.format(id=version.scorecard_id), json=EXAMPLE_SCORECARD, headers=headers
        )
        assert response.status_code == 403

    def test_forbidden_before_body_is_judged(self, api: TestClient, session: Session) -> None:
        headers = bearer(session, make_user(session, role="agent"))
        response = post_raw(api, headers, "x" * (2 * 1024 * 1024), "text/csv")
        assert response.status_code == 403

    def test_admin_may_write(self, api: TestClient, session: Session) -> None:
        headers = bearer(session, make_user(session, role="admin"))
        assert api.post("/api/v1/scorecards", json=EXAMPLE_SCORECARD, headers=headers).status_code == 201


def test_openapi_documents_the_scorecard_api(api: TestClient) -> None:
    spec = api.get("/api/v1/openapi.json").json()
    create = spec["paths"]["/api/v1/scorecards"]["post"]
    assert create["tags"] == ["scorecards"]
    assert {"application/json", "application/yaml"} <= set(create["requestBody"]["content"])
    assert "201" in create["responses"] and "422" in create["responses"]
    assert "/api/v1/scorecards/{scorecard_id}/versions" in spec["paths"]
    assert not any(path.startswith("/scorecards") for path in spec["paths"])  # pages are not API


@pytest.mark.parametrize(
    ("field", "loc"),
    [
        ("", ["body"]),
        ("name", ["body", "name"]),
        ("criteria[12].options[0].label", ["body", "criteria", 12, "options", 0, "label"]),
        ("criteria[1].root_causes[3]", ["body", "criteria", 1, "root_causes", 3]),
    ],
)
def test_field_loc(field: str, loc: list[Any]) -> None:
    assert field_loc(field) == loc

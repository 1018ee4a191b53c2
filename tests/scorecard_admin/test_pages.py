"""Scorecard management pages: list, upload (file or paste), detail, versions, export, archive."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from qa.models import AuditLog, Criterion, Rating, Review, Scorecard, ScorecardVersion
from qa.scorecard_admin import service as scorecard_service
from scorecards import definition_to_dict, validate_definition
from tests.conftest import login_as, page_csrf
from tests.factories import EXAMPLE_SCORECARD, make_scorecard, make_user
from tests.scorecard_admin.helpers import audit_actions, example, make_review_on, settle, soup, text_of

EXAMPLE_YAML = yaml.safe_dump(EXAMPLE_SCORECARD, sort_keys=False)


@pytest.fixture
def manager(client: TestClient, session: Session) -> TestClient:
    """The client, logged in as a manager."""
    return login_as(client, make_user(session, role="manager"))


def scorecard_count(session: Session) -> int:
    return session.exec(select(func.count(col(Scorecard.id)))).one()


def upload(
    client: TestClient, *, text: str = "", file: tuple[str, bytes] | None = None, url: str = "/scorecards/new"
) -> Any:
    files = {"file": (file[0], file[1], "application/octet-stream")} if file else None
    return client.post(url, data={"definition": text}, files=files, follow_redirects=False)


def error_lines(html: str) -> list[str]:
    return [" ".join(li.get_text().split()) for li in soup(html).select("#upload-errors li")]


class TestList:
    def test_lists_scorecards_with_version_criteria_and_review_counts(
        self, manager: TestClient, session: Session
    ) -> None:
        v1 = make_scorecard(session)
        make_review_on(session, v1, {"greeting": "Yes"})
        make_scorecard(
            session, definition=example(name="Email QA", criteria=EXAMPLE_SCORECARD["criteria"][:1])
        )

        page = manager.get("/scorecards")

        assert page.status_code == 200
        rows = {
            text_of(tr.select_one("td a")): [text_of(td) for td in tr.select("td")]
            for tr in soup(page.text).select("#scorecard-table tbody tr")
        }
        assert rows["Support QA"][1:5] == ["v1", "3", "80", "1"]
        assert rows["Email QA"][1:5] == ["v1", "1", "80", "0"]
        link = soup(page.text).find("a", string="Support QA")
        assert link["href"].endswith(f"/scorecards/{v1.scorecard_id}")
        assert soup(page.text).find("a", href="http://testserver/scorecards/new")

    def test_empty_state_invites_an_upload(self, manager: TestClient) -> None:
        page = soup(manager.get("/scorecards").text)
        assert "No scorecards yet" in text_of(page)
        assert page.find("a", string="Upload your first scorecard")

    def test_archived_scorecards_have_their_own_tab(self, manager: TestClient, session: Session) -> None:
        kept = make_scorecard(session)
        gone = make_scorecard(session, definition=example(name="Old card"))
        scorecard_service.archive_scorecard(
            session, actor=None, scorecard_id=gone.scorecard_id, archived=True
        )

        active = text_of(soup(manager.get("/scorecards").text).select_one("#scorecard-table"))
        archived = text_of(soup(manager.get("/scorecards?show=archived").text).select_one("#scorecard-table"))

        assert kept.name in active and "Old card" not in active
        assert "Old card" in archived and kept.name not in archived


class TestUpload:
    def test_form_has_file_and_paste_fields(self, manager: TestClient) -> None:
        form = soup(manager.get("/scorecards/new").text).select_one("#upload-form form")
        assert form["enctype"] == "multipart/form-data"
        assert form.find("input", {"type": "file", "name": "file"})
        assert form.find("textarea", {"name": "definition"})
        assert form.find("input", {"name": "csrf_token"})["value"]

    @pytest.mark.parametrize(
        "file",
        [
            ("support.json", json.dumps(EXAMPLE_SCORECARD).encode()),
            ("support.yaml", EXAMPLE_YAML.encode()),
            ("support.yml", EXAMPLE_YAML.encode()),
            ("support.txt", EXAMPLE_YAML.encode()),  # no telling extension: sniffed
        ],
        ids=["json", "yaml", "yml", "sniffed"],
    )
    def test_upload_file_creates_v1_and_shows_it(
        self, manager: TestClient, session: Session, file: tuple[str, bytes]
    ) -> None:
        response = upload(manager, file=file)

        assert response.status_code == 303
        card = session.exec(select(Scorecard).order_by(col(Scorecard.id).desc())).first()
        assert card is not None and card.name == "Support QA"
        assert response.headers["location"].endswith(f"/scorecards/{card.id}")
        version = scorecard_service.current_version(session, card.id)  # type: ignore[arg-type]
        stored = definition_to_dict(scorecard_service.definition_for(session, version.id))  # type: ignore[arg-type]
        assert stored["criteria"] == EXAMPLE_SCORECARD["criteria"]
        page = soup(manager.get(response.headers["location"]).text)
        assert "Scorecard created" in text_of(page.select_one(".alert-ok"))
        assert audit_actions(session, card.id) == ["scorecard.create"]  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "text", [json.dumps(EXAMPLE_SCORECARD, indent=2), EXAMPLE_YAML], ids=["json", "yaml"]
    )
    def test_paste_creates_scorecard(self, manager: TestClient, session: Session, text: str) -> None:
        response = upload(manager, text=text)
        assert response.status_code == 303
        assert scorecard_count(session) == 1

    def test_flash_shows_once(self, manager: TestClient) -> None:
        location = upload(manager, text=json.dumps(EXAMPLE_SCORECARD)).headers["location"]
        assert soup(manager.get(location).text).select_one(".alert-ok")
        assert soup(manager.get(location).text).select_one(".alert-ok") is None

    def test_file_wins_over_pasted_text(self, manager: TestClient, session: Session) -> None:
        response = upload(
            manager, text="not: [valid", file=("a.json", json.dumps(example(name="From file")).encode())
        )
        assert response.status_code == 303
        assert session.exec(select(Scorecard.name)).all() == ["From file"]

    @pytest.mark.parametrize(
        ("definition", "expected"),
        [
            ({"criteria": EXAMPLE_SCORECARD["criteria"]}, "name: is required"),
            (example(pass_threshold=150), "pass_threshold: must be between 0 and 100"),
            (example(criteria=[]), "criteria: must have at least one criterion"),
            (example(criteria="greeting"), "criteria: must be a list of criteria"),
            (
                example(criteria=[{"key": "Bad Key", "name": "X", "scale": "binary"}]),
                "criteria[0].key: must be 1-64",
            ),
            (
                example(criteria=[{"key": "a", "name": "X", "scale": "7"}]),
                "criteria[0].scale: must be one of",
            ),
            (
                example(criteria=[{"key": "a", "name": "X", "scale": "binary", "weight": 0}]),
                "criteria[0].weight: must be greater than 0",
            ),
            (
                example(criteria=[{"key": "a", "name": "X", "scale": "binary", "weight": "heavy"}]),
                "criteria[0].weight: must be a number",
            ),
            (
                example(
                    criteria=[{"key": "a", "name": "X", "scale": "binary", "critical": True, "fail_below": 0}]
                ),
                "criteria[0].fail_below: must be greater than 0 and at most 1",
            ),
            (
                example(criteria=[{"key": "a", "name": "X", "scale": "binary", "allow_na": "yes"}]),
                "criteria[0].allow_na: must be true or false",
            ),
            (
                example(criteria=[{"key": "a", "name": "X", "scale": "binary", "colour": "red"}]),
                "criteria[0].colour: unknown field",
            ),
            (
                example(criteria=[{"key": "a", "name": "X", "scale": "binary", "root_causes": "Rude"}]),
                "criteria[0].root_causes: must be a list of strings",
            ),
            (
                example(criteria=[{"key": "a", "name": "X", "scale": "custom"}]),
                "criteria[0].options: is required with scale 'custom'",
            ),
            (
                example(
                    criteria=[
                        {
                            "key": "a",
                            "name": "X",
                            "scale": "custom",
                            "options": [{"label": "Good", "score": 1}, {"label": "Bad", "score": 0}],
                        }
                    ]
                ),
                "criteria[0].options[1].score: options must be ordered by score",
            ),
            (
                example(
                    criteria=[
                        {
                            "key": "a",
                            "name": "X",
                            "scale": "custom",
                            "options": [{"label": "Bad", "score": 0}, {"label": "Good", "score": 2}],
                        }
                    ]
                ),
                "criteria[0].options[1].score: must be between 0 and 1",
            ),
            (
                example(
                    criteria=[
                        {"key": "a", "name": "X", "scale": "binary"},
                        {"key": "a", "name": "Y", "scale": "3"},
                    ]
                ),
                "criteria[1].key: duplicate key 'a'",
            ),
            ([1, 2], "a scorecard definition must be an object"),
        ],
        ids=lambda v: v if isinstance(v, str) else "",
    )
    def test_each_validation_error_is_shown_with_its_field(
        self, manager: TestClient, session: Session, definition: Any, expected: str
    ) -> None:
        pasted = json.dumps(definition)

        response = upload(manager, text=pasted)

        assert response.status_code == 422
        assert any(line.startswith(expected) for line in error_lines(response.text)), error_lines(
            response.text
        )
        assert soup(response.text).select_one("textarea[name=definition]").string.strip() == pasted
        assert scorecard_count(session) == 0

    def test_every_problem_is_listed_at_once(self, manager: TestClient, session: Session) -> None:
        bad = {
            "name": "",
            "pass_threshold": -1,
            "criteria": [
                {"key": "ok", "name": "Fine", "scale": "binary"},
                {"key": "x", "name": "Y", "scale": "5", "weight": -2, "critical": "no"},
                {"key": "t", "name": "Tone", "scale": "custom", "options": [{"label": "Only", "score": 0.5}]},
            ],
        }
        lines = error_lines(upload(manager, text=json.dumps(bad)).text)
        fields = [line.split(":")[0] for line in lines]
        assert fields == [
            "name",
            "pass_threshold",
            "criteria[1].weight",
            "criteria[1].critical",
            "criteria[2].options",
        ]
        assert "5 problems" in text_of(
            soup(upload(manager, text=json.dumps(bad)).text).select_one("#upload-errors")
        )

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ('{"name": "Support QA",', "invalid JSON at line 1"),
            ("name: [unclosed", "invalid YAML at line"),
            (
                "name: X\ncriteria:\n  - key: a\n    name: A\n    scale: custom\n    options:\n"
                "      - {label: No, score: 0}\n      - {label: Yes, score: 1}\n",
                "criteria[0].options[0].label: must be a string (quote it in YAML)",
            ),
            ("   ", "Choose a JSON or YAML file, or paste the definition."),
        ],
        ids=["json", "yaml", "yaml-bool-label", "empty"],
    )
    def test_unparseable_text_is_explained(self, manager: TestClient, text: str, expected: str) -> None:
        response = upload(manager, text=text)
        assert response.status_code == 422
        assert any(line.startswith(expected) for line in error_lines(response.text)), error_lines(
            response.text
        )

    def test_errors_name_the_uploaded_file(self, manager: TestClient) -> None:
        response = upload(manager, file=("broken.json", b'{"name": 1}'))
        assert response.status_code == 422
        assert "broken.json" in text_of(soup(response.text).select_one("#upload-errors"))
        assert error_lines(response.text)[0].startswith("name: must be a string")

    def test_empty_file_is_refused(self, manager: TestClient) -> None:
        response = upload(manager, file=("empty.json", b""))
        assert response.status_code == 422
        assert error_lines(response.text) == ["file: empty.json is empty."]

    def test_file_over_1_mb_is_refused_clearly(self, manager: TestClient, session: Session) -> None:
        big = json.dumps(example(description="x" * (1024 * 1024))).encode()
        response = upload(manager, file=("big.json", big))
        assert response.status_code == 413
        assert "larger than 1 MB" in error_lines(response.text)[0]
        assert scorecard_count(session) == 0

    def test_pasted_text_over_1_mb_is_refused(self, manager: TestClient, session: Session) -> None:
        response = upload(manager, text=json.dumps(example(description="x" * (1024 * 1024))))
        assert response.status_code in (400, 413)
        assert "maximum size" in response.text or "1 MB" in response.text
        assert scorecard_count(session) == 0

    def test_non_utf8_file_is_refused(self, manager: TestClient) -> None:
        response = upload(manager, file=("latin.json", '{"name": "Café"}'.encode("latin-1")))
        assert response.status_code == 422
        assert "not UTF-8" in error_lines(response.text)[0]


class TestDetail:
    def test_renders_the_version_as_reviewers_see_it(self, manager: TestClient, session: Session) -> None:
        definition = example(
            criteria=[
                *EXAMPLE_SCORECARD["criteria"],
                {
                    "key": "policy",
                    "name": "Policy",
                    "section": "Resolution",
                    "scale": "4",
                    "critical": True,
                    "fail_below": 0.7,
                    "guidance": "Refunds over $50 need approval.\nCheck the CRM.",
                },
            ]
        )
        version = make_scorecard(session, definition=definition)

        page = soup(manager.get(f"/scorecards/{version.scorecard_id}").text)

        sections = [text_of(h) for h in page.select(".sc-section > .section-title")]
        assert sections == ["Opening", "Resolution", "General"]
        resolution = page.select(".sc-section")[1]
        assert [text_of(h) for h in resolution.select(".sc-criterion h3")] == ["Correct solution", "Policy"]
        tone = page.select_one("#criterion-tone")
        assert [text_of(o) for o in tone.select(".sc-option")] == [
            "Poor 0 %",
            "OK 60 %",
            "Great 100 %",
            "N/A not scored",
        ]
        assert "Weight 2 · 28.6 %" in text_of(tone)
        assert [text_of(t) for t in tone.select(".sc-causes .tag")] == ["Robotic", "Rude", "Too casual"]
        accuracy = page.select_one("#criterion-accuracy")
        assert "Critical · fails below 50 %" in text_of(accuracy)
        assert [text_of(o) for o in accuracy.select(".sc-option")] == [
            "1 0 %",
            "2 25 %",
            "3 50 %",
            "4 75 %",
            "5 100 %",
        ]
        assert len(accuracy.select(".sc-option.is-failing")) == 2
        assert "N/A" not in text_of(accuracy.select_one(".sc-options"))
        policy = page.select_one("#criterion-policy")
        assert "Critical · fails below 70 %" in text_of(policy)
        assert [text_of(o) for o in policy.select(".sc-option")] == [
            "1 0 %",
            "2 33.3 %",
            "3 66.7 %",
            "4 100 %",
        ]
        assert (
            policy.select_one(".sc-guidance").get_text() == "Refunds over $50 need approval.\nCheck the CRM."
        )
        greeting = page.select_one("#criterion-greeting")
        assert [text_of(o) for o in greeting.select(".sc-option")] == ["No 0 %", "Yes 100 %"]
        assert page.select_one(".sc-stats").get_text(" ").split().count("80") == 1

    def test_user_text_is_escaped(self, manager: TestClient, session: Session) -> None:
        version = make_scorecard(session, definition=example(name="<script>alert(1)</script>"))
        html = manager.get(f"/scorecards/{version.scorecard_id}").text
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    def test_export_links_point_at_the_shown_version(self, manager: TestClient, session: Session) -> None:
        version = make_scorecard(session)
        page = soup(manager.get(f"/scorecards/{version.scorecard_id}").text)
        link = page.find("a", string="Download JSON")
        assert link["href"].endswith(f"/scorecards/{version.scorecard_id}/export?version=1&format=json")


class TestVersions:
    def test_new_version_keeps_v1_and_its_reviews(self, manager: TestClient, session: Session) -> None:
        v1 = make_scorecard(session)
        v1_criteria = [
            (c.id, c.key, c.weight, c.options) for c in scorecard_service.criteria_for(session, v1.id)
        ]
        review = make_review_on(session, v1, {"greeting": "Yes", "accuracy": "4", "tone": None})
        changed = example(
            pass_threshold=90,
            criteria=[
                dict(EXAMPLE_SCORECARD["criteria"][0], weight=5),
                {"key": "empathy", "name": "Empathy", "scale": "3"},
            ],
        )

        response = upload(manager, text=json.dumps(changed), url=f"/scorecards/{v1.scorecard_id}/versions")

        assert response.status_code == 303
        session.expire_all()
        v2 = scorecard_service.current_version(session, v1.scorecard_id)
        assert (v2.version, v2.pass_threshold) == (2, 90)
        assert [c.key for c in scorecard_service.criteria_for(session, v2.id)] == ["greeting", "empathy"]  # type: ignore[arg-type]
        assert [
            (c.id, c.key, c.weight, c.options) for c in scorecard_service.criteria_for(session, v1.id)
        ] == v1_criteria  # type: ignore[arg-type]
        assert session.get(ScorecardVersion, v1.id).pass_threshold == 80  # type: ignore[union-attr]
        assert session.get(Review, review.id).version_id == v1.id  # type: ignore[union-attr]
        rating_criteria = session.exec(
            select(Criterion.version_id)
            .join(Rating, col(Rating.criterion_id) == col(Criterion.id))
            .where(Rating.review_id == review.id)
        ).all()
        assert set(rating_criteria) == {v1.id}
        assert audit_actions(session, v1.scorecard_id) == ["scorecard.create", "scorecard.new_version"]

        page = soup(manager.get(response.headers["location"]).text)
        assert "Version 2 published" in text_of(page.select_one(".alert-ok"))
        assert [text_of(a.select_one(".sc-version-no")) for a in page.select(".sc-versions li")] == [
            "v2",
            "v1",
        ]
        assert "1 review" in text_of(page.select(".sc-versions li")[1])

    def test_old_version_is_shown_read_only(self, manager: TestClient, session: Session) -> None:
        v1 = make_scorecard(session)
        scorecard_service.update_scorecard(
            session,
            actor=None,
            scorecard_id=v1.scorecard_id,
            definition=scorecard_service.definition_for(session, v1.id),
        )  # type: ignore[arg-type]

        page = soup(manager.get(f"/scorecards/{v1.scorecard_id}?version=1").text)

        assert "version 1" in text_of(page.select_one(".sc-readonly"))
        assert page.select_one("#new-version") is not None  # the upload always makes the next version
        assert "Earlier version" in text_of(page.select_one("h1"))
        current = soup(manager.get(f"/scorecards/{v1.scorecard_id}").text)
        assert current.select_one(".sc-readonly") is None
        assert "Publish v3" in text_of(current.select_one("#new-version"))

    def test_invalid_new_version_shows_errors_and_changes_nothing(
        self, manager: TestClient, session: Session
    ) -> None:
        v1 = make_scorecard(session)
        bad = json.dumps(example(criteria=[{"key": "a", "name": "A", "scale": "binary", "weight": -1}]))

        response = upload(manager, text=bad, url=f"/scorecards/{v1.scorecard_id}/versions")

        assert response.status_code == 422
        page = soup(response.text)
        assert error_lines(response.text) == [
            "criteria[0].weight: must be greater than 0 and at most 1e+06 (the smallest weight is 1e-06)"
        ]
        assert page.select_one("#new-version textarea").string.strip() == bad
        assert scorecard_service.current_version(session, v1.scorecard_id).version == 1

    def test_archived_scorecard_takes_no_new_version(self, manager: TestClient, session: Session) -> None:
        v1 = make_scorecard(session)
        scorecard_service.archive_scorecard(session, actor=None, scorecard_id=v1.scorecard_id, archived=True)
        assert soup(manager.get(f"/scorecards/{v1.scorecard_id}").text).select_one("#new-version") is None
        response = upload(
            manager, text=json.dumps(EXAMPLE_SCORECARD), url=f"/scorecards/{v1.scorecard_id}/versions"
        )
        assert response.status_code == 409
        assert "Unarchive" in response.text


class TestExport:
    @pytest.mark.parametrize("fmt", ["json", "yaml"])
    def test_export_then_upload_gives_the_same_definition(
        self, manager: TestClient, session: Session, fmt: str
    ) -> None:
        definition = example(
            description="Our rubric",
            criteria=[
                *EXAMPLE_SCORECARD["criteria"],
                {
                    "key": "yesno",
                    "name": "Custom yes",
                    "scale": "custom",
                    "guidance": "  indented\n\nlines ",
                    "options": [
                        {"label": "No", "score": 0},
                        {"label": "3", "score": 0.25},
                        {"label": "Yes", "score": 1},
                    ],
                    "critical": True,
                    "fail_below": 0.3,
                    "weight": 0.5,
                },
            ],
        )
        original = make_scorecard(session, definition=definition)

        exported = manager.get(f"/scorecards/{original.scorecard_id}/export?format={fmt}")

        assert exported.status_code == 200
        assert exported.headers["content-disposition"] == f'attachment; filename="support-qa-v1.{fmt}"'
        response = upload(manager, file=(f"support.{fmt}", exported.content))
        assert response.status_code == 303
        copy_id = int(response.headers["location"].rsplit("/", 1)[1])
        copy = scorecard_service.current_version(session, copy_id)
        assert scorecard_service.definition_for(session, copy.id) == scorecard_service.definition_for(  # type: ignore[arg-type]
            session, original.id
        )  # type: ignore[arg-type]

    def test_export_of_an_earlier_version(self, manager: TestClient, session: Session) -> None:
        v1 = make_scorecard(session)
        scorecard_service.update_scorecard(
            session,
            actor=None,
            scorecard_id=v1.scorecard_id,
            definition=validate_definition(example(name="Renamed")),
        )
        old = manager.get(f"/scorecards/{v1.scorecard_id}/export?version=1").json()
        new = manager.get(f"/scorecards/{v1.scorecard_id}/export").json()
        assert (old["name"], new["name"]) == ("Support QA", "Renamed")


class TestArchive:
    def test_archive_and_unarchive_are_audited(self, manager: TestClient, session: Session) -> None:
        v1 = make_scorecard(session)
        url = f"/scorecards/{v1.scorecard_id}/archive"

        response = manager.post(url, data={"archived": "true"}, follow_redirects=False)

        assert response.status_code == 303
        session.expire_all()
        assert session.get(Scorecard, v1.scorecard_id).archived is True  # type: ignore[union-attr]
        page = soup(manager.get(response.headers["location"]).text)
        assert page.find("button", string="Unarchive")
        assert "archived" in text_of(page.select_one(".alert-ok"))

        manager.post(url, data={"archived": "false"})
        session.expire_all()
        assert session.get(Scorecard, v1.scorecard_id).archived is False  # type: ignore[union-attr]
        entries = session.exec(
            select(AuditLog)
            .where(AuditLog.entity == "scorecard", AuditLog.entity_id == v1.scorecard_id)
            .order_by(col(AuditLog.id))
        ).all()
        assert [(e.action, e.before, e.after) for e in entries[1:]] == [
            ("scorecard.archive", {"archived": False}, {"archived": True}),
            ("scorecard.unarchive", {"archived": True}, {"archived": False}),
        ]
        assert entries[1].actor_id is not None

    def test_archiving_twice_is_audited_once(self, manager: TestClient, session: Session) -> None:
        v1 = make_scorecard(session)
        for _ in range(2):
            manager.post(f"/scorecards/{v1.scorecard_id}/archive", data={"archived": "true"})
        assert audit_actions(session, v1.scorecard_id).count("scorecard.archive") == 1

    def test_htmx_archive_redirects_with_hx_redirect(self, manager: TestClient, session: Session) -> None:
        v1 = make_scorecard(session)
        response = manager.post(
            f"/scorecards/{v1.scorecard_id}/archive",
            data={"archived": "true"},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 204
        assert response.headers["HX-Redirect"].endswith(f"/scorecards/{v1.scorecard_id}")


ROUTES = [
    ("get", "/scorecards"),
    ("get", "/scorecards/new"),
    ("post", "/scorecards/new"),
    ("get", "/scorecards/{id}"),
    ("get", "/scorecards/{id}/export"),
    ("post", "/scorecards/{id}/versions"),
    ("post", "/scorecards/{id}/archive"),
]


class TestPermissions:
    @pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r[0] == "post"])
    def test_anonymous_post_without_token_is_refused(
        self, client: TestClient, session: Session, method: str, path: str
    ) -> None:
        version = make_scorecard(session)
        response = client.post(path.format(id=version.scorecard_id), data={"definition": "{}"})
        assert response.status_code == 403
        assert scorecard_count(session) == 1

    @pytest.mark.parametrize(("method", "path"), ROUTES)
    def test_anonymous_is_sent_to_login(
        self, client: TestClient, session: Session, method: str, path: str
    ) -> None:
        version = make_scorecard(session)
        client.headers["X-CSRF-Token"] = page_csrf(client)  # an anonymous browser session has a token too
        response = client.request(method, path.format(id=version.scorecard_id), follow_redirects=False)
        assert response.status_code == 303
        assert "/login?next=" in response.headers["location"]

    @pytest.mark.parametrize("role", ["reviewer", "agent"])
    @pytest.mark.parametrize(("method", "path"), ROUTES)
    def test_reviewers_and_agents_are_forbidden(
        self, client: TestClient, session: Session, role: str, method: str, path: str
    ) -> None:
        version = make_scorecard(session)
        login_as(client, make_user(session, role=role))
        data = {"definition": json.dumps(EXAMPLE_SCORECARD), "archived": "true"} if method == "post" else None
        response = client.request(method, path.format(id=version.scorecard_id), data=data)
        assert response.status_code == 403
        assert scorecard_count(session) == 1
        assert audit_actions(session, version.scorecard_id) == ["scorecard.create"]

    def test_admin_may_manage_scorecards(self, client: TestClient, session: Session) -> None:
        login_as(client, make_user(session, role="admin"))
        assert upload(client, text=json.dumps(EXAMPLE_SCORECARD)).status_code == 303

    @pytest.mark.parametrize(
        "path", ["/scorecards/new", "/scorecards/{id}/versions", "/scorecards/{id}/archive"]
    )
    def test_posts_without_csrf_token_are_refused(
        self, manager: TestClient, session: Session, path: str
    ) -> None:
        version = make_scorecard(session)
        settle(session)
        del manager.headers["X-CSRF-Token"]
        response = manager.post(
            path.format(id=version.scorecard_id),
            data={"definition": json.dumps(example(name="Sneaky")), "archived": "true"},
        )
        assert response.status_code == 403
        session.expire_all()
        assert scorecard_service.current_version(session, version.scorecard_id).version == 1
        assert session.get(Scorecard, version.scorecard_id).archived is False  # type: ignore[union-attr]
        assert scorecard_count(session) == 1

    def test_form_field_token_is_accepted(self, manager: TestClient, session: Session) -> None:
        token = manager.headers.pop("X-CSRF-Token")
        response = manager.post(
            "/scorecards/new",
            data={"definition": json.dumps(EXAMPLE_SCORECARD), "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303


class TestBadIds:
    @pytest.mark.parametrize(
        "path",
        [
            "/scorecards/999999",
            "/scorecards/abc",
            "/scorecards/-1",
            "/scorecards/99999999999999999999999999",
            "/scorecards/999999/export",
            "/scorecards/{id}?version=7",
            "/scorecards/{id}/export?version=7",
        ],
    )
    def test_unknown_ids_are_404(self, manager: TestClient, session: Session, path: str) -> None:
        version = make_scorecard(session)
        response = manager.get(path.format(id=version.scorecard_id))
        assert response.status_code == 404
        assert soup(response.text).select_one(".error-page")

    @pytest.mark.parametrize(
        "path",
        [
            "/scorecards/999999/versions",
            "/scorecards/999999/archive",
            "/scorecards/abc/archive",
            "/scorecards/99999999999999999999999/versions",
        ],
    )
    def test_unknown_ids_are_404_on_post(self, manager: TestClient, path: str) -> None:
        response = manager.post(path, data={"definition": json.dumps(EXAMPLE_SCORECARD), "archived": "true"})
        assert response.status_code == 404

    @pytest.mark.parametrize("query", ["version=abc", "version=0", "version=99999999999999", "format=xml"])
    def test_bad_query_values_are_422(self, manager: TestClient, session: Session, query: str) -> None:
        version = make_scorecard(session)
        for path in (f"/scorecards/{version.scorecard_id}", f"/scorecards/{version.scorecard_id}/export"):
            if query == "format=xml" and not path.endswith("export"):
                continue
            assert manager.get(f"{path}?{query}").status_code == 422

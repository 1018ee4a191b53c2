"""The import page: upload form, results, permissions, CSRF and bad uploads."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from qa.models import Conversation, Role
from tests.conftest import login_as
from tests.conversations.helpers import TWITTER_50, jsonl, native
from tests.factories import make_user

PAGE = "/conversations/import"


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def upload(client: TestClient, data: bytes, name: str = "c.jsonl", **fields: str) -> BeautifulSoup:
    response = client.post(PAGE, files={"file": (name, data, "application/octet-stream")}, data=fields)
    assert response.status_code == 200, response.text
    return soup(response.text)


def counts(page: BeautifulSoup) -> dict[str, int]:
    return {str(el["data-count"]): int(el.get_text()) for el in page.select("#import-result [data-count]")}


def text_of(page: BeautifulSoup, selector: str) -> str:
    element = page.select_one(selector)
    assert element is not None, f"no {selector}"
    return element.get_text()


@pytest.fixture
def manager_client(client: TestClient, session: Session) -> TestClient:
    return login_as(client, make_user(session, role=Role.manager))


class TestPage:
    def test_form(self, manager_client: TestClient) -> None:
        page = soup(manager_client.get(PAGE).text)
        form = page.select_one("form[enctype='multipart/form-data']")
        assert form is not None and str(form["action"]).endswith(PAGE) and form["method"] == "post"
        assert form.select_one("input[type=file][name=file]") is not None
        csrf = form.select_one("input[name=csrf_token]")
        assert csrf is not None and csrf["value"]
        assert [o["value"] for o in form.select("select[name=format] option")] == ["native"]
        assert page.select_one("a[href$='/queue']") is not None
        assert page.select_one("#import-result") is not None

    @pytest.mark.parametrize("role", [Role.reviewer, Role.agent])
    def test_other_roles_are_forbidden(self, client: TestClient, session: Session, role: Role) -> None:
        login_as(client, make_user(session, role=role))
        assert client.get(PAGE).status_code == 403
        response = client.post(PAGE, files={"file": ("a.jsonl", jsonl([native()]))})
        assert response.status_code == 403

    def test_anonymous_goes_to_login(self, client: TestClient) -> None:
        response = client.get(PAGE, follow_redirects=False)
        assert response.status_code == 303
        assert urlsplit(response.headers["location"]).path == "/login"


class TestUpload:
    def test_imports_and_shows_counts(self, manager_client: TestClient, session: Session) -> None:
        page = upload(manager_client, TWITTER_50.read_bytes(), source="ignored-records-name-theirs")
        assert counts(page) == {"created": 50, "updated": 0, "rejected": 0}
        assert page.select_one("#import-result a[href$='/queue']") is not None
        again = upload(manager_client, TWITTER_50.read_bytes())
        assert counts(again) == {"created": 0, "updated": 50, "rejected": 0}
        assert len(session.exec(select(Conversation.id).where(Conversation.source == "twitter")).all()) == 50

    def test_shows_the_first_rejections(self, manager_client: TestClient) -> None:
        data = jsonl([native(), native(channel="fax")]) + b"{oops\n" + b"[1]\n" * 25
        page = upload(manager_client, data)
        assert counts(page) == {"created": 1, "updated": 0, "rejected": 27}
        rows = page.select("table.rejections tbody tr")
        assert len(rows) == 20
        first = [td.get_text() for td in rows[0].select("td")]
        assert first[:2] == ["1", "2"] and first[2].startswith("channel: Input should be")
        assert "and 7 more" in text_of(page, "#import-result")

    def test_json_array_file(self, manager_client: TestClient) -> None:
        page = upload(manager_client, f"[{jsonl([native()]).decode()}]".encode(), name="c.json")
        assert counts(page)["created"] == 1

    def test_htmx_gets_only_the_result_region(self, manager_client: TestClient) -> None:
        response = manager_client.post(PAGE, files={"file": ("c.jsonl", jsonl([native()]))},
                                       headers={"HX-Request": "true"})
        page = soup(response.text)
        root = page.find(True)
        assert root is not None and root.get("id") == "import-result"
        assert page.select_one("header.topbar") is None
        assert counts(page) == {"created": 1, "updated": 0, "rejected": 0}

    def test_empty_file(self, manager_client: TestClient) -> None:
        page = upload(manager_client, b"", name="empty.jsonl")
        assert "holds no conversations" in text_of(page, "#import-result")

    def test_no_file_is_422(self, manager_client: TestClient) -> None:
        response = manager_client.post(PAGE, data={"source": "x"},
                                       files={"file": ("", b"", "application/octet-stream")})
        assert response.status_code == 422
        assert "Choose a JSON or JSON Lines file" in text_of(soup(response.text), ".alert-error")

    def test_unsupported_format_is_400(self, manager_client: TestClient) -> None:
        response = manager_client.post(PAGE, files={"file": ("c.jsonl", jsonl([native()]))},
                                       data={"format": "zendesk"})
        assert response.status_code == 400
        assert "not supported yet" in response.text

    def test_csrf_is_required(self, manager_client: TestClient, session: Session) -> None:
        record = native()
        del manager_client.headers["X-CSRF-Token"]
        response = manager_client.post(PAGE, files={"file": ("c.jsonl", jsonl([record]))})
        assert response.status_code == 403
        query = select(Conversation).where(Conversation.external_id == record["external_id"])
        assert session.exec(query).first() is None

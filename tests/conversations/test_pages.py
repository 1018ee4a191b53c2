"""The import page: the form and who may see it (uploads and their jobs: test_jobs.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import Session

from qa.models import Role
from tests.conftest import login_as
from tests.conversations.helpers import jsonl, native
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
        formats = [o["value"] for o in form.select("select[name=format] option")]
        assert formats == ["native", "zendesk", "intercom", "freshdesk", "csv"]
        assert form.select_one("textarea[name=mapping]") is not None
        assert page.select_one("a[href$='/queue']") is not None
        assert page.select_one(".recent-imports") is None  # no imports yet

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

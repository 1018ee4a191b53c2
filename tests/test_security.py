"""Security plumbing: headers and CSP, upload limits, error pages that never leak, OpenAPI location."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session

from qa.app import create_app
from qa.settings import Settings
from qa.web.templates import TEMPLATE_DIR
from tests.conftest import login_as
from tests.factories import make_user

LIMIT = 1024


def assert_security_headers(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"


class Echo(BaseModel):
    text: str


@pytest.fixture
def small_app(settings: Settings, engine: Engine) -> FastAPI:
    """A fresh app with a 1 KiB upload limit and test-only routes that read bodies or fail."""
    app = create_app(settings.model_copy(update={"max_upload_bytes": LIMIT}), engine=engine)

    @app.post("/api/v1/_test/json")
    def json_body(body: Echo) -> dict[str, int]:
        return {"length": len(body.text)}

    @app.post("/api/v1/_test/raw")
    async def raw_body(request: Request) -> dict[str, int]:
        return {"length": len(await request.body())}

    @app.get("/_test/boom")
    def page_boom() -> None:
        raise RuntimeError("secret-internal-detail /etc/caliper")

    @app.get("/api/v1/_test/boom")
    def api_boom() -> None:
        raise RuntimeError("secret-internal-detail /etc/caliper")

    return app


@pytest.fixture
def small(small_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(small_app, raise_server_exceptions=False) as test_client:
        yield test_client


def chunks(total: int, size: int = 300) -> Iterator[bytes]:
    """A body sent with Transfer-Encoding: chunked (no Content-Length)."""
    sent = 0
    while sent < total:
        piece = b"x" * min(size, total - sent)
        sent += len(piece)
        yield piece


class TestSecurityHeaders:
    @pytest.mark.parametrize("path", ["/login", "/static/app.css", "/no/such/page", "/api/v1/me",
                                      "/api/v1/openapi.json"])
    def test_on_every_response(self, client: TestClient, path: str) -> None:
        assert_security_headers(client.get(path, follow_redirects=False))

    def test_on_redirects(self, client: TestClient) -> None:
        assert_security_headers(client.get("/queue", follow_redirects=False))

    def test_no_page_loads_code_from_elsewhere(self, client: TestClient) -> None:
        # Caliper works offline: no CDN-backed Swagger page, and no policy that would allow one.
        assert client.get("/api/v1/docs").status_code == 404
        assert "http" not in client.get("/login").headers["content-security-policy"]


class TestTemplatesObeyTheCsp:
    """script-src/style-src 'self': inline scripts, style attributes and inline handlers would be blocked."""

    TEMPLATES = sorted(TEMPLATE_DIR.rglob("*.html"))
    FORBIDDEN = {
        "an inline <script>": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
        "a <style> block": re.compile(r"<style\b", re.I),
        "a style= attribute": re.compile(r"\sstyle\s*=", re.I),
        "an hx-on attribute": re.compile(r"\shx-on", re.I),
        "an inline event handler": re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I),
        "a javascript: URL": re.compile(r"javascript:", re.I),
    }

    def test_there_are_templates(self) -> None:
        assert len(self.TEMPLATES) >= 4

    @pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATE_DIR)))
    def test_no_inline_code(self, template: Path) -> None:
        source = template.read_text()
        found = [what for what, pattern in self.FORBIDDEN.items() if pattern.search(source)]
        assert not found, f"{template.name} has {', '.join(found)}: the CSP blocks it (use app.js / app.css)"


class TestUploadLimit:
    @pytest.mark.parametrize("path", ["/api/v1/_test/json", "/api/v1/_test/raw", "/login"])
    def test_content_length_over_the_limit_is_413_json(self, small: TestClient, path: str) -> None:
        response = small.post(path, content=b"x" * (LIMIT + 1), headers={"Content-Type": "application/json"})
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/json"
        assert "too large" in response.json()["detail"].lower()
        assert_security_headers(response)

    @pytest.mark.parametrize(("path", "content_type"), [
        ("/api/v1/_test/json", "application/json"),
        ("/api/v1/_test/raw", "application/octet-stream"),
        ("/login", "application/x-www-form-urlencoded"),
        ("/login", "multipart/form-data; boundary=xyz"),
    ])
    def test_chunked_body_over_the_limit_is_413_json(
        self, small: TestClient, path: str, content_type: str
    ) -> None:
        response = small.post(path, content=chunks(LIMIT * 3), headers={"Content-Type": content_type})
        assert "content-length" not in response.request.headers
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/json"
        assert "too large" in response.json()["detail"].lower()

    def test_bodies_under_the_limit_pass(self, small: TestClient) -> None:
        text = "y" * 500
        assert small.post("/api/v1/_test/json", json={"text": text}).json() == {"length": 500}
        response = small.post("/api/v1/_test/raw", content=chunks(LIMIT),
                              headers={"Content-Type": "text/plain"})
        assert response.json() == {"length": LIMIT}


class TestNotFound:
    def test_page_is_html(self, client: TestClient) -> None:
        response = client.get("/no/such/page", headers={"Accept": "text/html"})
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        page = BeautifulSoup(response.text, "html.parser")
        assert page.select_one("h1").get_text(strip=True) == "Not found"

    def test_api_is_json(self, api: TestClient) -> None:
        response = api.get("/api/v1/no/such/thing")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        assert isinstance(response.json()["detail"], str)

    def test_api_wrong_method_is_405_json(self, api: TestClient) -> None:
        response = api.delete("/api/v1/me")
        assert response.status_code == 405
        assert "detail" in response.json()

    def test_htmx_error_is_a_toast(self, client: TestClient) -> None:
        client.get("/login")
        response = client.post("/logout", headers={"HX-Request": "true"})
        assert response.status_code == 403
        assert response.headers["HX-Retarget"] == "#toasts"
        assert "<html" not in response.text.lower()


class TestServerError:
    def test_page_shows_no_traceback(self, small: TestClient, caplog: pytest.LogCaptureFixture) -> None:
        with caplog.at_level(logging.ERROR, logger="qa.web.errors"):
            response = small.get("/_test/boom")
        assert response.status_code == 500
        assert response.headers["content-type"].startswith("text/html")
        assert "Something went wrong" in response.text
        for leak in ("Traceback", "RuntimeError", "secret-internal-detail", "/etc/caliper", ".py"):
            assert leak not in response.text
        assert any("secret-internal-detail" in (r.exc_text or "") or r.exc_info for r in caplog.records)
        assert_security_headers(response)

    def test_api_is_json_without_details(self, small: TestClient) -> None:
        response = small.get("/api/v1/_test/boom")
        assert response.status_code == 500
        body = response.json()
        assert set(body) == {"detail"}
        assert "secret" not in body["detail"] and "Traceback" not in response.text

    def test_htmx_gets_a_toast(self, small: TestClient) -> None:
        response = small.get("/_test/boom", headers={"HX-Request": "true"})
        assert response.status_code == 500
        assert response.headers["HX-Retarget"] == "#toasts"
        assert "secret-internal-detail" not in response.text


class TestOpenApi:
    @pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/openapi.json"])
    def test_served(self, api: TestClient, path: str) -> None:
        response = api.get(path)
        assert response.status_code == 200
        schema = response.json()
        assert schema["openapi"].startswith("3.")
        assert schema["info"]["title"] == "Caliper"
        assert "/api/v1/me" in schema["paths"]

    def test_both_urls_serve_the_same_schema(self, api: TestClient) -> None:
        assert api.get("/openapi.json").json() == api.get("/api/v1/openapi.json").json()

    def test_documents_only_the_api(self, api: TestClient) -> None:
        paths = api.get("/api/v1/openapi.json").json()["paths"]
        assert paths and all(path.startswith("/api/v1/") for path in paths), sorted(paths)


class TestErrorPagesForLoggedInUsers:
    """Error pages render after the request's DB session has ended: they must still show the user."""

    def test_unknown_review_is_a_404_page_with_the_nav(self, client: TestClient, session: Session) -> None:
        login_as(client, make_user(session, role="reviewer", name="Rhea Reviewer"))
        response = client.get("/reviews/987654")
        assert response.status_code == 404
        assert "Rhea Reviewer" in response.text

    def test_forbidden_page_for_an_agent(self, client: TestClient, session: Session) -> None:
        login_as(client, make_user(session, role="agent"))
        response = client.get("/scorecards")
        assert response.status_code == 403
        assert "Not allowed" in response.text

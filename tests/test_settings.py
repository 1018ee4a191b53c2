"""Settings: read from the environment, safe defaults, and no production start with the default secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from qa import cli
from qa.db import make_engine, normalise_url
from qa.settings import DEFAULT_SECRET_KEY, Settings, get_settings

ENV_NAMES = ["DATABASE_URL", "SECRET_KEY", "CALIPER_ENV", "SESSION_MAX_AGE", "HTTPS_ONLY_COOKIES",
             "LOGIN_MAX_FAILURES", "LOGIN_WINDOW_SECONDS", "REVIEWERS_REVIEW_ANY", "MAX_UPLOAD_BYTES",
             "PAGE_SIZE"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No setting leaks in from the shell running the tests, and the cached settings are rebuilt."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


class TestProductionSecret:
    def test_default_secret_is_refused_in_production(self, clean_env: pytest.MonkeyPatch) -> None:
        clean_env.setenv("CALIPER_ENV", "production")
        with pytest.raises(ValidationError, match="SECRET_KEY"):
            Settings()

    def test_short_secret_is_refused_in_production(self, clean_env: pytest.MonkeyPatch) -> None:
        clean_env.setenv("CALIPER_ENV", "production")
        clean_env.setenv("SECRET_KEY", "too-short")
        with pytest.raises(ValidationError, match="at least 32 characters"):
            Settings()

    def test_a_real_secret_is_accepted(self, clean_env: pytest.MonkeyPatch) -> None:
        clean_env.setenv("CALIPER_ENV", "production")
        clean_env.setenv("SECRET_KEY", "s" * 48)
        settings = Settings()
        assert (settings.caliper_env, settings.secret_key) == ("production", "s" * 48)

    def test_default_secret_is_fine_for_development(self) -> None:
        assert Settings().secret_key == DEFAULT_SECRET_KEY

    @pytest.mark.parametrize("command", [["db", "upgrade"], ["serve", "--port", "1"]])
    def test_commands_exit_with_a_one_line_reason(
        self, clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        command: list[str],
    ) -> None:
        import uvicorn

        served: list[object] = []
        clean_env.setattr(uvicorn, "run", lambda *a, **k: served.append(a))
        clean_env.setenv("CALIPER_ENV", "production")
        clean_env.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.db'}")
        assert cli.main(command) != 0
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("qa: ")
        assert "SECRET_KEY" in err and "Traceback" not in err
        assert DEFAULT_SECRET_KEY not in err  # the reason never echoes setting values
        assert not served
        assert not (tmp_path / "prod.db").exists()


class TestDatabaseUrl:
    def test_default_is_a_sqlite_file(self) -> None:
        url = make_url(Settings().database_url)
        assert url.get_backend_name() == "sqlite"
        assert url.database and url.database.endswith(".db") and url.database != ":memory:"

    def test_read_from_the_environment(self, clean_env: pytest.MonkeyPatch) -> None:
        clean_env.setenv("DATABASE_URL", "postgresql://caliper@db.internal/caliper")
        assert Settings().database_url == "postgresql://caliper@db.internal/caliper"
        assert get_settings().database_url == "postgresql://caliper@db.internal/caliper"

    @pytest.mark.parametrize(("given", "expected"), [
        ("postgres://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///caliper.db", "sqlite:///caliper.db"),
    ])
    def test_postgres_urls_use_psycopg(self, given: str, expected: str) -> None:
        assert normalise_url(given) == expected

    def test_engine_for_a_heroku_style_url_uses_psycopg(self) -> None:
        engine = make_engine("postgres://u:p@127.0.0.1:1/db")  # no connection is made
        assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
        engine.dispose()


class TestOtherSettings:
    def test_read_from_the_environment_case_insensitively(self, clean_env: pytest.MonkeyPatch) -> None:
        clean_env.setenv("max_upload_bytes", "1000")
        clean_env.setenv("REVIEWERS_REVIEW_ANY", "false")
        settings = Settings()
        assert (settings.max_upload_bytes, settings.reviewers_review_any) == (1000, False)

    @pytest.mark.parametrize(("name", "value"), [("PAGE_SIZE", "0"), ("PAGE_SIZE", "100000"),
                                                 ("MAX_UPLOAD_BYTES", "-1"), ("CALIPER_ENV", "prod")])
    def test_bad_values_are_refused(self, clean_env: pytest.MonkeyPatch, name: str, value: str) -> None:
        clean_env.setenv(name, value)
        with pytest.raises(ValidationError):
            Settings()

    def test_settings_are_read_once(self, clean_env: pytest.MonkeyPatch) -> None:
        first = get_settings()
        clean_env.setenv("PAGE_SIZE", "7")
        assert get_settings() is first
        get_settings.cache_clear()
        assert get_settings().page_size == 7

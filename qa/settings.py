"""Settings, read from the environment (prefix-free names such as DATABASE_URL, SECRET_KEY)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "caliper-dev-secret-change-me"


class Settings(BaseSettings):
    """Every runtime setting of Caliper; README's "Configuration" table documents each one."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    database_url: str = Field(default="sqlite:///caliper.db")
    secret_key: str = Field(default=DEFAULT_SECRET_KEY)
    caliper_env: Literal["development", "test", "production"] = Field(default="development")
    session_max_age: int = Field(default=60 * 60 * 12, gt=0)
    https_only_cookies: bool = Field(default=False)
    login_max_failures: int = Field(default=10, gt=0)
    login_window_seconds: int = Field(default=15 * 60, gt=0)
    reviewers_review_any: bool = Field(default=True)
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    page_size: int = Field(default=50, gt=0, le=500)
    # Run scheduled sampling rules from the app process (SAMPLING_SCHEDULER=false to leave it to cron
    # with `qa sample scheduled`).
    sampling_scheduler: bool = Field(default=True)

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.caliper_env == "production" and self.secret_key == DEFAULT_SECRET_KEY:
            raise ValueError("SECRET_KEY must be set to a private random value when CALIPER_ENV=production")
        if self.caliper_env == "production" and len(self.secret_key) < 32:
            raise ValueError("SECRET_KEY must be at least 32 characters when CALIPER_ENV=production")
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment on first use."""
    return Settings()

"""Alembic migrations: the only way Caliper's schema is created or changed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from qa.db import normalise_url


def alembic_config(database_url: str) -> Config:
    """An Alembic config that needs no alembic.ini on disk (works from an installed package)."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Create or migrate the database at `database_url` to `revision`."""
    command.upgrade(alembic_config(database_url), revision)

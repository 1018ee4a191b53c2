"""Layering: the pure domain packages (scorecards/, sampling/) import no web, database or app code."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PURE_PACKAGES = ["scorecards", "sampling"]
FORBIDDEN = ("qa", "fastapi", "starlette", "sqlmodel", "sqlalchemy", "alembic", "jinja2", "psycopg")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}  # analyse the packages in `cwd`, not the installed ones
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module `path` imports (relative imports stay inside the package)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_import_linter_contract_is_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_import_linter_contract_catches_a_violation(tmp_path: Path) -> None:
    """Guards the test above: the same contract on a copy where scorecards imports sqlalchemy fails."""
    config = (ROOT / "pyproject.toml").read_text()
    start = config.index("[tool.importlinter]")
    (tmp_path / "pyproject.toml").write_text(config[start:])
    for package in ("qa", "scorecards", "sampling"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "scorecards" / "scoring.py").write_text("import sqlalchemy\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout
    assert "scorecards.scoring -> sqlalchemy" in result.stdout


@pytest.mark.parametrize("package", PURE_PACKAGES)
def test_pure_packages_import_nothing_forbidden(package: str) -> None:
    """A direct check that does not depend on the import-linter configuration."""
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no modules"
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_modules(path) & set(FORBIDDEN)) for path in files
    }
    assert {path: names for path, names in offenders.items() if names} == {}

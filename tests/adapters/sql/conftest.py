"""A fresh database for each test, on each backend the SQL adapter is tested on."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.adapters.sql._legacy import legacy_schema


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLAlchemy URL of an empty database: SQLite, PostgreSQL, MariaDB in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'legacy.db'}"
    name = "postgres_database" if request.param == "postgres" else "mariadb_database"
    return str(request.getfixturevalue(name))


@pytest.fixture
def legacy_url(database_url: str) -> str:
    """``database_url`` with the legacy ERP's tables in it."""
    engine = sa.create_engine(database_url)
    try:
        legacy_schema().create_all(engine)
    finally:
        engine.dispose()
    return database_url

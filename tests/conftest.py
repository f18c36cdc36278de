"""Shared fixtures: state URLs for SQLite and, where it runs, PostgreSQL; fresh
MariaDB and PostgreSQL databases for the SQL table adapter."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

POSTGRES_DSN = os.environ.get("CRMERP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_available() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    try:
        with psycopg.connect(POSTGRES_DSN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {POSTGRES_DSN} is not reachable: {exc}"


_PG_PROBLEM: str | bool | None = False


def require_postgres() -> None:
    """Skip without PostgreSQL, or fail when CRMERP_REQUIRE_POSTGRES=1."""
    global _PG_PROBLEM
    if _PG_PROBLEM is False:
        _PG_PROBLEM = _postgres_available()
    if _PG_PROBLEM:
        if os.environ.get("CRMERP_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"CRMERP_REQUIRE_POSTGRES=1 but {_PG_PROBLEM}")
        pytest.skip(str(_PG_PROBLEM))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL state URL with its own empty schema, dropped afterwards."""
    require_postgres()
    import psycopg

    schema = f"crmerp_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_DSN}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


MARIADB_URL = os.environ.get("CRMERP_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306")


def _mariadb_available() -> str | None:
    try:
        import pymysql
    except ImportError:
        return "PyMySQL is not installed (pip install -e '.[mariadb]')"
    import sqlalchemy as sa

    engine = sa.create_engine(MARIADB_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return None
    except sa.exc.OperationalError as exc:
        return f"MariaDB at {MARIADB_URL} is not reachable: {exc.orig}"
    except pymysql.Error as exc:  # pragma: no cover - raised outside SQLAlchemy's wrapping
        return f"MariaDB at {MARIADB_URL} is not reachable: {exc}"
    finally:
        engine.dispose()


_MARIADB_PROBLEM: str | bool | None = False


def require_mariadb() -> None:
    """Skip without MariaDB, or fail when CRMERP_REQUIRE_MARIADB=1."""
    global _MARIADB_PROBLEM
    if _MARIADB_PROBLEM is False:
        _MARIADB_PROBLEM = _mariadb_available()
    if _MARIADB_PROBLEM:
        if os.environ.get("CRMERP_REQUIRE_MARIADB") == "1":
            pytest.fail(f"CRMERP_REQUIRE_MARIADB=1 but {_MARIADB_PROBLEM}")
        pytest.skip(str(_MARIADB_PROBLEM))


@pytest.fixture
def mariadb_database() -> Iterator[str]:
    """A SQLAlchemy URL of a new, empty MariaDB database, dropped afterwards."""
    require_mariadb()
    import sqlalchemy as sa

    name = f"crmerp_t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(MARIADB_URL)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE `{name}`")
        yield f"{MARIADB_URL}/{name}"
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        engine.dispose()


@pytest.fixture
def postgres_database(postgres_url: str) -> str:
    """A SQLAlchemy URL of PostgreSQL with a new, empty schema first on the search path."""
    return postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A SQLite state URL in a fresh temporary directory."""
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def state_url(request: pytest.FixtureRequest) -> str:
    """Each state backend in turn."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))

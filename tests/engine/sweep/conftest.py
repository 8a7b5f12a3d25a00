"""Fixtures for the sweep tests: a real PostgreSQL server (tests/pg.py) for shared studies."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.pg import Postgres, PostgresUnavailable, start_postgres

_names = itertools.count()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    """One throw-away PostgreSQL per test session (per xdist worker), stopped and deleted at
    the end; the test is skipped when the binaries are missing (`make system-deps`)."""
    try:
        pg = start_postgres()
    except PostgresUnavailable as e:
        pytest.skip(str(e))
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture
def postgres_url(postgres_server: Postgres) -> str:
    """SQLAlchemy URL of a new, empty database on the session's server (one per test)."""
    return postgres_server.create_database(f"test_{next(_names)}")

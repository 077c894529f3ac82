"""Fixtures shared across the test folders. Each starts its real part only when a test asks."""

from collections.abc import Iterator

import pytest

from tests.support.postgres import PostgresCluster


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster for the whole session, deleted at its end."""
    with PostgresCluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """``postgresql://postgres@127.0.0.1:PORT/postgres`` of the session's cluster."""
    return postgres_cluster.url


@pytest.fixture
def postgres_database(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """The URL of a fresh empty database for one test, dropped after it."""
    with postgres_cluster.fresh_database() as url:
        yield url

"""Storage URLs in logs and messages: the password never shows, however it is written."""

import pytest

from logicblocks.event.server.storage_url import redact


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("memory://", "memory://"),
        ("sqlite:///data/events.db", "sqlite:///data/events.db"),
        ("postgresql://app@db:5432/events", "postgresql://app@db:5432/events"),
        ("postgresql://app:s3cret@db:5432/events", "postgresql://app:***@db:5432/events"),
        # Raw characters a URL parser would end the password at; libpq reads them in it.
        ("postgresql://app:se#cr?et@db/events", "postgresql://app:***@db/events"),
        ("postgresql://app:p@ss@db/events", "postgresql://app:***@db/events"),
        (
            "postgresql://app@db/events?sslmode=require&password=s3cret",
            "postgresql://app@db/events?sslmode=require&password=***",
        ),
    ],
)
def test_a_password_is_masked_whole(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert "s3cret" not in redact(url) and "cr?et" not in redact(url)

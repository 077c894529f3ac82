"""The one JSON document a PostgreSQL group insert sends: each record's columns exactly,
payloads as strings holding their text, instants with their offsets (the round trip
through PostgreSQL itself is the contract suite's)."""

import json
from datetime import UTC, datetime, timedelta, timezone

from logicblocks.event.storage.postgres.queries import InsertRows
from logicblocks.event.store.records import trusted_event_record


class Stamp(datetime):
    """A datetime subclass, as some time libraries make them."""


WHEN = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


def test_each_record_travels_with_every_column_and_its_payload_text() -> None:
    payload = '{"b":1e300,"a":[1.50,"\\u0000é"],"n":' + "9" * 40 + "}"
    rows = InsertRows()
    rows.extend(
        [
            trusted_event_record("e-1", "placed", "o-1", "orders", 0, 7, payload, WHEN, WHEN),
            trusted_event_record(
                "e-2",
                'quote " and \\ back',
                "o-1",
                "orders",
                1,
                8,
                "{}",
                Stamp(1, 1, 1, tzinfo=UTC),
                datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5))),
            ),
        ]
    )

    assert json.loads(rows.json()) == [
        {
            "sequence_number": 7,
            "id": "e-1",
            "name": "placed",
            "category": "orders",
            "stream": "o-1",
            "position": 0,
            "payload": payload,
            "observed_at": "2024-05-06T07:08:09.123456+00:00",
            "occurred_at": "2024-05-06T07:08:09.123456+00:00",
        },
        {
            "sequence_number": 8,
            "id": "e-2",
            "name": 'quote " and \\ back',
            "category": "orders",
            "stream": "o-1",
            "position": 1,
            "payload": "{}",
            "observed_at": "0001-01-01T00:00:00+00:00",
            "occurred_at": "2024-01-02T03:04:05-05:00",
        },
    ]

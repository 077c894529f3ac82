"""The PostgreSQL adapter's own promises beyond the contract suite."""

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import psycopg_pool
import pytest

from logicblocks.event.store import (
    ConfigurationError,
    EventStore,
    InvalidInputError,
    StorageOpenError,
    StorageUnavailableError,
    UnmetWriteConditionError,
    WriteCondition,
    position_is,
    stream_is_empty,
)
from logicblocks.event.store.adapters import (
    ConnectionParameters,
    PostgresStorageAdapter,
    TableParameters,
)
from logicblocks.event.store.records import PendingEvent
from logicblocks.event.store.start import NO_EVENTS
from logicblocks.event.testing.waiting import wait_until
from logicblocks.event.types import NewEvent, identifier
from tests.support.postgres import PostgresCluster, hold_write_lock, lock_waiters


@pytest.fixture
def table() -> TableParameters:
    return TableParameters(events_table_name=f"e_{uuid.uuid4().hex}")


@pytest.fixture
def adapter(postgres_url: str, table: TableParameters) -> Iterator[PostgresStorageAdapter]:
    with PostgresStorageAdapter(
        connection_source=ConnectionParameters.from_url(postgres_url), table_parameters=table
    ) as made:
        yield made


def test_a_caller_owned_pool_is_used_and_left_open(
    postgres_url: str, table: TableParameters
) -> None:
    with psycopg_pool.ConnectionPool(postgres_url, min_size=1, max_size=4) as pool:
        adapter = PostgresStorageAdapter(connection_source=pool, table_parameters=table)
        store = EventStore(adapter)
        store.stream(category="c", stream="s").publish(events=[NewEvent(name="n", payload={})])
        adapter.close()
        with pool.connection() as connection:
            count = connection.execute(
                psycopg.sql.SQL("SELECT count(*) FROM {}").format(
                    psycopg.sql.Identifier(table.events_table_name)
                )
            ).fetchone()
        assert count == (1,)


def test_the_schema_is_created_once_and_its_version_recorded(
    postgres_url: str, postgres_cluster: PostgresCluster, table: TableParameters
) -> None:
    connection = ConnectionParameters.from_url(postgres_url)
    # Several adapters opening a new table at the same time: migrations must not collide.
    errors: list[BaseException] = []
    opened: list[PostgresStorageAdapter] = []

    def open_one() -> None:
        try:
            opened.append(
                PostgresStorageAdapter(connection_source=connection, table_parameters=table)
            )
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    EventStore(opened[0]).stream(category="c", stream="s").publish(
        events=[NewEvent(name="n", payload={})]
    )
    for made in opened:
        made.close()

    with PostgresStorageAdapter(connection_source=connection, table_parameters=table) as again:
        assert len(list(again.scan())) == 1
    versions = postgres_cluster.execute(
        psycopg.sql.SQL("SELECT version FROM {}").format(
            psycopg.sql.Identifier(table.schema_version_table_name)
        )
    )
    # Each migration once, whichever process applied it.
    assert sorted(versions) == [(1,), (2,), (3,), (4,)]


def test_a_schema_newer_than_the_code_is_refused(
    postgres_url: str, postgres_cluster: PostgresCluster, table: TableParameters
) -> None:
    connection = ConnectionParameters.from_url(postgres_url)
    PostgresStorageAdapter(connection_source=connection, table_parameters=table).close()
    postgres_cluster.execute(
        psycopg.sql.SQL("INSERT INTO {} (version, description) VALUES (99, 'future')").format(
            psycopg.sql.Identifier(table.schema_version_table_name)
        )
    )
    with pytest.raises(StorageOpenError, match="newer"):
        PostgresStorageAdapter(connection_source=connection, table_parameters=table)


def test_payload_text_is_stored_and_read_exactly(adapter: PostgresStorageAdapter) -> None:
    # jsonb would print 1e300 as a long digit string and reorder the keys; json keeps both.
    text = '{"z": 1e300, "a": [1.0, 2E-5], "m": {"b": 1, "a": 2}}'
    now = datetime.now(UTC)
    adapter.write_records(
        target=identifier.Stream(category="c", stream="s"),
        events=[
            PendingEvent(
                id="exact-1",
                name="n",
                payload=text,
                observed_at=now,
                occurred_at=now,
                id_chosen_by_client=True,
            )
        ],
    )
    (record,) = adapter.read_records(target=identifier.Stream(category="c", stream="s"))
    assert record.payload == text


def test_every_column_is_stored_exactly_whatever_the_session_time_zone(
    postgres_url: str, table: TableParameters
) -> None:
    # The insert sends a group's rows as one JSON document: names must come back unescaped,
    # payload text (escapes included) untouched, instants exact to the microsecond at the
    # ends of the range, before 1970 and in a session whose time zone is not UTC.
    names = ['quote " back \\ slash', "Zoë 😀 \u2028 tab\t", "{}", "[1]", "null"]
    payload = '{ "nul": "\\u0000", "esc": "\\"\\\\\\u00e9", "big": 1e300, "n": -0.0 }'
    instants = [
        datetime(1, 1, 1, tzinfo=UTC),
        # (Not the last hour of 9999: read in this time zone it would be year 10000.)
        datetime(9999, 12, 31, 12, 59, 59, 999_999, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(1900, 2, 28, 12, 0, 0, 1, tzinfo=UTC),
        datetime(2024, 2, 29, 23, 59, 59, 123_456, tzinfo=timezone(timedelta(hours=-9))),
    ]
    events = [
        PendingEvent(
            id=f"{name}-{index}",
            name=name,
            payload=payload,
            observed_at=instant,
            occurred_at=instants[-1 - index],
            id_chosen_by_client=True,
        )
        for index, (name, instant) in enumerate(zip(names, instants, strict=True))
    ]
    target = identifier.Stream(category='cat "é" \\', stream=names[1])
    with (
        psycopg_pool.ConnectionPool(
            postgres_url,
            min_size=1,
            max_size=2,
            kwargs={"autocommit": True, "options": "-c TimeZone=Asia/Kathmandu"},
        ) as pool,
        PostgresStorageAdapter(connection_source=pool, table_parameters=table) as adapter,
    ):
        written = adapter.write_records(target=target, events=events)
        read = list(adapter.read_records(target=target))

    assert read == list(written)
    for record, event in zip(read, events, strict=True):
        assert (record.id, record.name, record.payload) == (event.id, event.name, payload)
        assert (record.category, record.stream) == (target.category, target.stream)
        assert record.observed_at == event.observed_at
        assert record.occurred_at == event.occurred_at


def test_long_scans_page_through_everything_in_order(adapter: PostgresStorageAdapter) -> None:
    store = EventStore(adapter)
    for name in ("a", "b"):
        store.stream(category="c", stream=name).publish(
            events=[NewEvent(name="n", payload={"i": i}) for i in range(1700)]
        )
    assert [e.sequence_number for e in store.log()] == list(range(3400))
    in_stream = list(
        adapter.scan(target=identifier.Stream(category="c", stream="b"), after_sequence_number=1900)
    )
    assert [e.position for e in in_stream] == list(range(201, 1700))
    limited = list(adapter.read_records(after_sequence_number=10, limit=1500))
    assert [r.sequence_number for r in limited] == list(range(11, 1511))


def test_bad_table_names_are_rejected() -> None:
    for name in ("", "1abc", "drop table x;", "a" * 41):
        with pytest.raises(ConfigurationError) as raised:
            TableParameters(events_table_name=name)
        assert raised.value.field == "events_table_name"


def test_connection_parameters_round_trip_through_urls() -> None:
    parameters = ConnectionParameters.from_url("postgresql://us%40er:p%3Ass%20w@db.local:6543/ev")
    assert parameters == ConnectionParameters(
        host="db.local", port=6543, dbname="ev", user="us@er", password="p:ss w"
    )
    conninfo = psycopg.conninfo.conninfo_to_dict(parameters.to_connection_string())
    assert conninfo == {
        "host": "db.local",
        "port": "6543",
        "dbname": "ev",
        "user": "us@er",
        "password": "p:ss w",
    }
    with pytest.raises(ConfigurationError):
        ConnectionParameters.from_url("mysql://x@y/z")


def test_url_query_parameters_are_kept_for_libpq() -> None:
    parameters = ConnectionParameters.from_url(
        "postgresql://app@db/ev?sslmode=verify-full&connect_timeout=3"
    )
    conninfo = psycopg.conninfo.conninfo_to_dict(parameters.to_connection_string())
    assert conninfo["sslmode"] == "verify-full"
    assert conninfo["connect_timeout"] == "3"
    socket = ConnectionParameters.from_url("postgresql://app@/ev?host=/var/run/postgresql")
    assert (socket.host, socket.dbname, socket.options) == ("/var/run/postgresql", "ev", ())
    for bad in ("postgresql://app@db/ev?bogus=1", "postgresql://app@db/ev?host=/tmp"):
        with pytest.raises(ConfigurationError) as raised:
            ConnectionParameters.from_url(bad)
        assert raised.value.field == "url"


def test_urls_mean_what_they_mean_to_libpq_and_its_complaints_leave_the_password_out() -> None:
    # libpq reads a raw "?" or "#" in the password as part of it, as psql does.
    parameters = ConnectionParameters.from_url("postgresql://app:pa?ss#w@db/ev")
    assert (parameters.host, parameters.password, parameters.dbname) == ("db", "pa?ss#w", "ev")
    with pytest.raises(ConfigurationError) as raised:
        ConnectionParameters.from_url("postgresql://app:s3cret@[::1/ev")
    assert raised.value.field == "url"
    assert "libpq does not know" in str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_names_too_long_for_an_index_entry_are_refused_before_the_database(
    adapter: PostgresStorageAdapter,
) -> None:
    store = EventStore(adapter)
    good = store.stream(category="c", stream="fine")
    with pytest.raises(InvalidInputError) as raised:
        store.stream(category="c", stream="s" * 6000).publish(
            events=[NewEvent(name="n", payload={})]
        )
    assert raised.value.field == "stream"
    good.publish(events=[NewEvent(name="n", payload={})])
    assert [e.stream for e in store.log()] == ["fine"]


def wait_for_queue(adapter: PostgresStorageAdapter, length: int) -> None:
    """Wait until ``length`` publishes wait in the adapter's group-commit queue."""
    assert wait_until(lambda: adapter._records.waiting_publishes == length, timeout=30)


def test_concurrent_publishes_share_one_transaction_and_only_failures_are_rejected(
    adapter: PostgresStorageAdapter,
    postgres_url: str,
    postgres_cluster: PostgresCluster,
    table: TableParameters,
) -> None:
    store = EventStore(adapter)
    store.stream(category="c", stream="taken").publish(events=[NewEvent(name="n", payload={})])

    def publish(label: str, stream: str, conditions: set[WriteCondition]) -> Callable[[], object]:
        return lambda: store.stream(category="c", stream=stream).publish(
            events=[NewEvent(name=label, payload={}) for _ in range(2)], conditions=conditions
        )

    plan: list[tuple[str, str, set[WriteCondition]]] = [
        ("ok-1", "s-1", set()),
        ("wrong-position", "taken", {position_is(5)}),
        ("empty-wins", "fresh", {stream_is_empty()}),
        ("empty-loses", "fresh", {stream_is_empty()}),
        ("right-position", "taken", {position_is(0)}),
        ("ok-2", "s-1", set()),
    ]
    results = queue_behind_a_held_lock(
        adapter, postgres_url, postgres_cluster, table, [publish(*entry) for entry in plan]
    )
    outcomes = dict(zip(["leader", *(label for label, _, _ in plan)], results, strict=True))

    assert isinstance(outcomes["wrong-position"], UnmetWriteConditionError)
    assert isinstance(outcomes["empty-loses"], UnmetWriteConditionError)
    for label in ("leader", "ok-1", "empty-wins", "right-position", "ok-2"):
        assert not isinstance(outcomes[label], Exception), outcomes[label]
    assert [e.position for e in store.stream(category="c", stream="s-1").read()] == [0, 1, 2, 3]
    assert [e.name for e in store.stream(category="c", stream="taken").read()] == [
        "n",
        "right-position",
        "right-position",
    ]
    log = list(store.log())
    assert [e.sequence_number for e in log] == list(range(10))
    # One transaction for the leader, one for everything queued behind it.
    transactions = postgres_cluster.execute(
        psycopg.sql.SQL(
            "SELECT count(DISTINCT xmin::text) FROM {} WHERE sequence_number > 0"
        ).format(psycopg.sql.Identifier(table.events_table_name))
    )
    assert transactions == [(2,)]


def test_a_stuck_lock_holder_makes_publishes_fail_as_unavailable_not_hang(
    postgres_url: str, table: TableParameters
) -> None:
    with PostgresStorageAdapter(
        connection_source=ConnectionParameters.from_url(postgres_url),
        table_parameters=table,
        lock_timeout=0.5,
    ) as adapter:
        store = EventStore(adapter)
        stream = store.stream(category="c", stream="s")
        holder = hold_write_lock(postgres_url, table)
        try:
            with pytest.raises(StorageUnavailableError):
                stream.publish(events=[NewEvent(name="n", payload={})])
        finally:
            holder.close()
        stored = stream.publish(events=[NewEvent(name="n", payload={})])
        assert stored[0].sequence_number == 0


def test_head_changes_from_another_adapter_wake_a_waiter(
    adapter: PostgresStorageAdapter, postgres_url: str, table: TableParameters
) -> None:
    assert adapter.wait_for_head_change(NO_EVENTS, timeout=0.01) == NO_EVENTS
    with PostgresStorageAdapter(
        connection_source=ConnectionParameters.from_url(postgres_url), table_parameters=table
    ) as other:
        EventStore(other).stream(category="c", stream="s").publish(
            events=[NewEvent(name="n", payload={}) for _ in range(3)]
        )
    assert adapter.wait_for_head_change(NO_EVENTS, timeout=30) == 2


def queue_behind_a_held_lock(
    adapter: PostgresStorageAdapter,
    postgres_url: str,
    postgres_cluster: PostgresCluster,
    table: TableParameters,
    publishes: list[Callable[[], object]],
) -> list[object]:
    """Run ``publishes`` in threads, queued in order behind a leader stuck on the lock;
    release the lock and return each one's result (or exception), the leader's first."""
    outcomes: list[object] = [None] * (len(publishes) + 1)

    def run(index: int, publish: Callable[[], object]) -> None:
        try:
            outcomes[index] = publish()
        except Exception as error:
            outcomes[index] = error

    leader = EventStore(adapter).stream(category="c", stream="leader")
    calls = [lambda: leader.publish(events=[NewEvent(name="n", payload={})]), *publishes]
    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    holder = hold_write_lock(postgres_url, table)
    try:
        threads[0].start()
        assert wait_until(lambda: lock_waiters(postgres_cluster, table) == 1, timeout=30)
        for index, thread in enumerate(threads[1:], start=1):
            thread.start()
            wait_for_queue(adapter, index)
    finally:
        holder.close()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive()
    return outcomes


def test_every_publish_gets_its_own_events_back_when_queued_ones_exceed_a_group(
    adapter: PostgresStorageAdapter,
    postgres_url: str,
    postgres_cluster: PostgresCluster,
    table: TableParameters,
) -> None:
    # Groups are capped in events: these cannot all go in the group after the leader's,
    # and whichever thread leads next must still see its own publish written.
    store = EventStore(adapter)
    sizes = [3000, 3000, 1, 3000, 1]

    def publish(index: int, size: int) -> Callable[[], object]:
        stream = store.stream(category="big", stream=f"s-{index}")
        return lambda: stream.publish(events=[NewEvent(name="e", payload={}) for _ in range(size)])

    outcomes = queue_behind_a_held_lock(
        adapter,
        postgres_url,
        postgres_cluster,
        table,
        [publish(index, size) for index, size in enumerate(sizes)],
    )[1:]
    for index, (size, outcome) in enumerate(zip(sizes, outcomes, strict=True)):
        assert isinstance(outcome, list), outcome
        assert len(outcome) == size
        assert outcome == store.stream(category="big", stream=f"s-{index}").read()


def test_a_publish_the_database_refuses_fails_alone_not_its_group(
    adapter: PostgresStorageAdapter,
    postgres_url: str,
    postgres_cluster: PostgresCluster,
    table: TableParameters,
) -> None:
    # Validation keeps such text out (records.py); the adapter must still not let one
    # caller's bad row fail the publishes grouped with it.
    store = EventStore(adapter)
    now = datetime.now(UTC)
    unstorable = PendingEvent(
        id=str(uuid.uuid4()),
        name="nul\x00",
        payload="{}",
        observed_at=now,
        occurred_at=now,
        id_chosen_by_client=False,
    )

    def good(name: str) -> Callable[[], object]:
        stream = store.stream(category="c", stream=name)
        return lambda: stream.publish(events=[NewEvent(name=name, payload={})])

    def bad() -> object:
        return adapter.write_records(
            target=identifier.Stream(category="c", stream="bad"), events=[unstorable]
        )

    outcomes = queue_behind_a_held_lock(
        adapter, postgres_url, postgres_cluster, table, [good("good-1"), bad, good("good-2")]
    )[1:]
    assert isinstance(outcomes[1], psycopg.DataError)
    assert [e.name for e in store.stream(category="c", stream="good-1").read()] == ["good-1"]
    assert [e.name for e in store.stream(category="c", stream="good-2").read()] == ["good-2"]
    assert store.stream(category="c", stream="bad").read() == []
    assert [e.sequence_number for e in store.log()] == [0, 1, 2]

# Generated from group_commit_async.py by scripts/async_to_sync.py: edit that file and run
# `make generate`, never this one.
"""Group commit: concurrent publishes of one process share one write transaction.

``group_commit_async.py`` is the source (``AsyncGroupCommit``, run by the server in its
event loop: a publish never leaves the loop's thread); ``group_commit.py`` (``GroupCommit``,
for the threads of the in-process adapter) is generated from it by
``scripts/async_to_sync.py``.

Every write transaction takes the table's advisory lock (see the package docstring), so
there is one writer at a time per table and throughput comes from doing more per lock
hold. Concurrent publishes queue up, and whichever caller finds no transaction running
leads: it takes the queue (up to ``_GROUP_EVENT_LIMIT`` events) into one transaction. A
publish is one or more streams' writes and conditions of its own. Each publish's retry
lookup and conditions are checked on their own against the running state of the group
(``GroupState``: a publish sees the ones before it); only the failing ones are rejected,
the rest are inserted with one statement and committed once. A transaction is four
statements: ``BEGIN`` with the timeouts and the lock, one of reads, one inserting and
sending the ``NOTIFY``, and ``COMMIT``; a group with query conditions reads their first
matches in one more (``QuerySql.first_matches``), from the indexes. Pipeline mode is not
used: it saved round trips but cost the writer more CPU than it saved.
"""

from collections.abc import Callable, Sequence, Set
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson
import psycopg

from logicblocks.event.store.conditions import WriteCondition
from logicblocks.event.store.publishing import (
    PendingWrite,
    check_publish,
    number_writes,
    resolve_retry_writes,
)
from logicblocks.event.store.records import EventRecord
from logicblocks.event.types.query import Query

from ..head_signal import HeadSignal
from ..primitives import Cancelled, Condition, shield
from .group_state import GroupState, publish_queries
from .queries import InsertRows, Queries, json_text, record_from_row, single_int
from .tables import TableParameters

__all__ = ["GroupCommit", "ensure_conditions"]

# A group stops taking queued publishes once it holds this many events, bounding the size
# of one statement and of the memory a group holds.
_GROUP_EVENT_LIMIT = 5000


def ensure_conditions(
    writes: Sequence[PendingWrite], conditions: Set[WriteCondition], state: GroupState
) -> None:
    """Judge a publish's conditions (its streams' and its own) in the group's running
    ``state``, inside the transaction with the lock held; raises
    ``UnmetWriteConditionError`` for the first that fails. A name of this module, so that
    a test can stall a writer right here."""
    check_publish(writes, conditions, state)


@dataclass
class _Publish:
    """One caller's publish waiting in the group-commit queue, and its outcome."""

    writes: Sequence[PendingWrite]
    conditions: Set[WriteCondition]
    done: bool = False
    records: Sequence[EventRecord] = ()
    error: BaseException | None = None

    @property
    def size(self) -> int:
        """How many events the publish writes."""
        return sum(len(write.events) for write in self.writes)

    @property
    def conditioned(self) -> bool:
        """Whether the publish has any condition to judge."""
        return bool(self.conditions) or any(write.conditions for write in self.writes)


class GroupCommit:
    """The write side of one adapter: the queue of publishes and the group transaction.

    ``connection`` lends a pooled connection (failures already translated);
    ``lock_timeout`` and ``statement_timeout`` (seconds) bound each write transaction, so a
    stuck or vanished writer cannot hold the store: its transaction is cancelled or its
    session ended, which rolls it back and frees the lock. ``head_signal`` learns each
    committed head, and ``on_commit`` the records each commit wrote (before the head signal
    moves), whose number is the group's
    size, which is what group commit is for and what an operator wants to see.
    """

    def __init__(
        self,
        *,
        connection: Callable[[], AbstractContextManager[psycopg.Connection[Any]]],
        queries: Queries,
        table_parameters: TableParameters,
        head_signal: HeadSignal,
        on_commit: Callable[[Sequence[EventRecord]], None],
        lock_timeout: float,
        statement_timeout: float,
    ) -> None:
        self._connection = connection
        self._on_commit = on_commit
        self._queries = queries
        self._table_parameters = table_parameters
        self._head_signal = head_signal
        # lock_timeout, statement_timeout, idle_in_transaction_session_timeout.
        self._timeouts = (
            f"{int(lock_timeout * 1000)}ms",
            f"{int(statement_timeout * 1000)}ms",
            f"{int(statement_timeout * 1000)}ms",
        )
        self._begin = queries.begin_write(*self._timeouts, lock_key=table_parameters.lock_key)
        self._queue: list[_Publish] = []
        self._queue_condition = Condition()
        self._leader_active = False

    @property
    def waiting(self) -> int:
        """How many publishes wait in the queue (for tests that line publishes up)."""
        # One read of a list's length: atomic for threads, and the loop never yields in it.
        return len(self._queue)

    def write(
        self, writes: Sequence[PendingWrite], conditions: Set[WriteCondition]
    ) -> Sequence[EventRecord]:
        """Write one publish (``writes`` and its own ``conditions``), in a group with
        whatever others are queued meanwhile."""
        publish = _Publish(writes=writes, conditions=conditions)
        try:
            self._until_done(publish)
        except Cancelled:
            # The caller gave up (its call was cancelled) while waiting for the lock, for
            # a leader, or leading a group without its own publish: a publish still queued
            # is withdrawn rather than written later for nobody. No await separates the
            # check from the removal, so no other caller can take it in between.
            if publish in self._queue:
                self._queue.remove(publish)
            raise
        if publish.error is not None:
            raise publish.error
        return publish.records

    def _until_done(self, publish: _Publish) -> None:
        """Queue ``publish``, then lead groups or wait until it is written or refused."""
        with self._queue_condition:
            self._queue.append(publish)
        # A group is capped in events, so the group this caller leads may not reach its own
        # publish (queued behind larger ones): it leads or waits until its publish is done.
        while True:
            with self._queue_condition:
                while self._leader_active and not publish.done:
                    self._queue_condition.wait()
                if publish.done:
                    return
                # No transaction is running: this caller leads the next group.
                self._leader_active = True
                group = self._take_group()
            # Shielded: the group's other publishes wait on this transaction, so it runs to
            # its end and hands over the lead even if this caller is cancelled meanwhile.
            shield(partial(self._lead, group))

    def _lead(self, group: list[_Publish]) -> None:
        """Commit ``group``, then let the waiting publishes lead or finish."""
        try:
            self._commit_group(group)
        finally:
            with self._queue_condition:
                self._leader_active = False
                self._queue_condition.notify_all()

    def _take_group(self) -> list[_Publish]:
        """Take queued publishes (oldest first) up to the group's event limit."""
        taken = 0
        count = 0
        for publish in self._queue:
            size = publish.size
            if count and taken + size > _GROUP_EVENT_LIMIT:
                break
            taken += size
            count += 1
        group, self._queue = self._queue[:count], self._queue[count:]
        return group

    def _commit_group(self, group: list[_Publish]) -> None:
        """Write a group of publishes in one transaction; record each one's outcome."""
        try:
            head = self._write_group(group)
        except (
            psycopg.DataError,
            psycopg.IntegrityError,
            psycopg.errors.ProgramLimitExceeded,
            ValueError,
        ) as error:
            if len(group) == 1:
                self._fail(group, error)
                return
            # One publish's data broke the whole transaction (nothing was written): write
            # each alone, so only the offender fails, not the publishes grouped with it.
            for publish in group:
                self._commit_group([publish])
            return
        except BaseException as error:
            # Nothing of the group was written (the storage failed). Every publish gets the
            # failure, even one that failed its conditions: those were judged against
            # writes that never happened.
            self._fail(group, error)
            return
        if head is not None:
            self._head_signal.advance(head)
        for publish in group:
            publish.done = True

    @staticmethod
    def _fail(group: list[_Publish], error: BaseException) -> None:
        for publish in group:
            publish.error = error
            publish.records = ()
            publish.done = True

    def _write_group(self, group: list[_Publish]) -> int | None:
        with self._connection() as connection:
            # The transaction is opened and ended by our own statements, which needs
            # autocommit: a caller's pool may lend connections without it (restored after).
            lent_without_autocommit = not connection.autocommit
            if lent_without_autocommit:
                connection.set_autocommit(True)
            try:
                return self._transaction(connection, group)
            finally:
                if lent_without_autocommit:
                    with suppress(psycopg.Error):  # a broken connection is discarded anyway
                        connection.set_autocommit(False)

    def _transaction(
        self, connection: psycopg.Connection[Any], group: list[_Publish]
    ) -> int | None:
        """Write ``group`` in one transaction of four statements (each statement costs the
        writer more CPU than its rows do); the new head, or ``None`` if nothing was new."""
        queries = self._queries
        streams_written = sorted(
            {(w.target.category, w.target.stream) for p in group for w in p.writes}
        )
        client_ids = [
            e.id for p in group for w in p.writes for e in w.events if e.id_chosen_by_client
        ]
        leaves = publish_queries((p.writes, p.conditions) for p in group)
        try:
            # BEGIN, the timeouts and the lock; then the reads, in a statement of their
            # own, whose snapshot is taken once the lock is held.
            connection.execute(self._begin, prepare=False)
            state_cursor = connection.execute(
                queries.write_state,
                (
                    json_text(
                        [
                            {"category": category, "stream": stream}
                            for category, stream in streams_written
                        ]
                    ),
                    json_text(client_ids),
                ),
            )
            state = state_cursor.fetchone()
            head = single_int(state)
            assert state is not None  # single_int refuses a missing row
            positions = {
                (category, stream): position
                for category, stream, position in orjson.loads(state[1])
            }
            stored_ids = orjson.loads(state[2])
            known_ids = {}
            if stored_ids:
                # A retry: its records, to answer with (still under the lock).
                ids_cursor = connection.execute(queries.records_by_id, (json_text(stored_ids),))
                known_ids = {row[0]: record_from_row(row) for row in ids_cursor.fetchall()}
            first_matches: dict[tuple[Query, int], int | None] = {}
            if leaves:
                # Every query condition's first match, from the indexes, in one statement
                # (in the same lock hold, so nothing is committed in between).
                matches_cursor = connection.execute(*queries.query_sql.first_matches(leaves))
                found = matches_cursor.fetchone()
                assert found is not None  # a SELECT of expressions returns one row
                first_matches = dict(zip(leaves, found, strict=True))

            rows = self._assign(
                group,
                GroupState(
                    head=head,
                    positions=positions,
                    first_matches=first_matches,
                    known_ids=known_ids,
                ),
            )
            if not rows:
                connection.rollback()
                return None
            # The insert and the wake-up in one statement, then the commit.
            new_head = rows.last_sequence_number
            connection.execute(
                queries.insert_tagged if rows.tagged else queries.insert,
                (rows.json(), self._table_parameters.channel, str(new_head)),
            )
            connection.commit()
        except BaseException:
            with suppress(psycopg.Error):  # the error that ended the transaction matters
                connection.rollback()
            raise
        self._on_commit(rows.records)
        return new_head

    @staticmethod
    def _assign(group: list[_Publish], state: GroupState) -> InsertRows:
        """Check each publish against the running state and number the accepted ones."""
        rows = InsertRows()
        for publish in group:
            # A publish may be judged again (alone, after its group failed): afresh.
            publish.error, publish.records = None, ()
            try:
                found = {
                    event.id: state.known_ids[event.id]
                    for write in publish.writes
                    for event in write.events
                    if event.id in state.known_ids
                }
                retried = resolve_retry_writes(publish.writes, found)
                if retried is not None:
                    publish.records = retried
                    continue
                if publish.conditioned:
                    ensure_conditions(publish.writes, publish.conditions, state)
            except Exception as error:
                # Rejects this publish only (a failed condition or a reused id); the
                # caller re-raises it.
                publish.error = error
                continue
            records = number_writes(publish.writes, state, head=state.head)
            publish.records = records
            state.accept(records)
            rows.extend(records)
        return rows

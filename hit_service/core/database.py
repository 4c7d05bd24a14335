"""Postgres persistence for the HIT service (psycopg 3 + a connection pool).

All state lives in schema ``mturk`` of the database named by ``HITFLOW_HIT_SERVICE_DB_URL``,
so several service processes can share one database and stay consistent: every rule that
must hold across processes (one HIT per UniqueRequestToken, one HIT type per set of
properties, a balance that never goes negative) is enforced by a constraint or a locking
statement inside the transaction that writes the HIT, never by process memory.

Schema changes are SQL files, one per change, in ``hit_service/migrations/``; ``migrate()``
applies the missing ones in order and records each (``hit_service.core.migrations``).

Methods take an open connection so a caller can compose several of them in one transaction
(see ``Store.transaction``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from hit_service.core import migrations
from hit_service.core.migrations import MIGRATION_LOCK_KEY, SCHEMA  # noqa: F401 - the names callers know

Row = dict[str, Any]
Params = dict[str, Any] | Sequence[Any]  # what a statement of a store binds

# (version, name, SQL) of every migration file (``hit_service.core.migrations``), in order.
MIGRATIONS: list[tuple[int, str, str]] = [(m.version, m.name, m.sql) for m in migrations.load()]

# Tables emptied by ``truncate_all`` (test mode's /_test/reset); new tables join this list.
STATE_TABLES = [
    "payout_items",
    "payout_runs",
    "qualification_tests",
    "panel_visits",
    "panel_links",
    "email_log",
    "email_tokens",
    "signup_requests",
    "worker_profiles",
    "invitations",
    "signin_failures",
    "sessions",
    "batch_rows",
    "batches",
    "projects",
    "requester_users",
    "notification_settings",
    "qualification_requests",
    "qualifications",
    "qualification_types",
    "messages",
    "worker_blocks",
    "bonus_payments",
    "op_tokens",
    "assignments",
    "workers",
    "request_tokens",
    "ledger",
    "hits",
    "hit_types",
    "access_keys",
    "accounts",
]


_INERROR = psycopg.pq.TransactionStatus.INERROR


class _Pending:
    """One unit of work waiting for a group commit."""

    __slots__ = ("atomic", "done", "error", "result", "work")

    def __init__(self, work: Callable[[psycopg.Connection[Row]], Any], atomic: bool) -> None:
        self.work = work
        self.atomic = atomic
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class GroupCommit:
    """Runs concurrent units of work in one transaction: one commit (one WAL flush) for many.

    Creating a HIT debits the requester's account row, whose lock is held until the commit
    has been flushed to disk: one at a time, a requester could create only as many HITs per
    second as the disk can flush (~250 here). Instead, the first caller becomes the leader and
    runs everything queued meanwhile (up to ``max_batch``) in one transaction, each unit in
    its own savepoint (a unit that raises is rolled back alone and gets its own exception);
    the others wait for the commit. Nothing is acknowledged before it is durable.
    """

    def __init__(self, store: Store, max_batch: int = 64) -> None:
        self.store = store
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._busy = False

    def run(self, work: Callable[[psycopg.Connection[Row]], Any], *, atomic: bool = False) -> Any:
        """Run ``work(conn)`` inside a shared transaction; its result once committed.

        ``atomic=True`` promises that ``work`` either completes or, when it raises, leaves the
        database as it found it (a single statement, or later statements that undo earlier
        ones), so it needs no savepoint of its own: saves two round trips per unit. A database
        error inside an atomic unit still fails the whole group.
        """
        item = _Pending(work, atomic)
        with self._lock:
            self._queue.append(item)
            leader = not self._busy
            self._busy = True
        if leader:
            while True:
                with self._lock:
                    batch = self._queue[: self.max_batch]
                    del self._queue[: self.max_batch]
                    if not batch:
                        self._busy = False
                        break
                self._run_batch(batch)
        item.done.wait()
        if item.error is not None:
            raise item.error
        return item.result

    def _run_batch(self, batch: list[_Pending]) -> None:
        try:
            with self.store.transaction() as conn:
                for item in batch:
                    try:
                        if len(batch) == 1 or item.atomic:
                            item.result = item.work(conn)
                        else:
                            with conn.transaction():
                                item.result = item.work(conn)
                    except Exception as exc:
                        item.error = exc
                        if len(batch) == 1 or (item.atomic and conn.info.transaction_status == _INERROR):
                            raise
        except Exception as exc:
            for item in batch:
                if item.error is None:
                    item.error = exc
        finally:
            for item in batch:
                item.done.set()


class Store:
    """A pool of connections to the service's database, and the aggregates' stores.

    The SQL lives in ``hit_service.stores``, one store per aggregate, reached through this
    object (``store.accounts``, ``store.hits``, ``store.assignments``, ``store.quals``,
    ``store.workers``, ``store.console``) so a domain class handed the store has all of them.
    Their methods take an open connection, so a caller composes several in one transaction.
    """

    def __init__(self, db_url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        from hit_service import stores  # the stores import Row from here

        self.accounts = stores.AccountStore()
        self.hits = stores.HitStore()
        self.assignments = stores.AssignmentStore()
        self.quals = stores.QualificationStore()
        self.workers = stores.WorkerStore()
        self.console = stores.ConsoleStore()
        self.batches = stores.BatchStore()
        self.ledger = stores.LedgerStore()
        self.hitflow = stores.HitflowStore()
        self.conninfo = db_url
        # Rows are dicts (the row_factory in kwargs), which the pool's type parameter cannot see.
        self.pool = cast(
            "ConnectionPool[psycopg.Connection[Row]]",
            ConnectionPool(
                db_url,
                min_size=min(min_size, max_size),
                max_size=max_size,
                kwargs={"row_factory": dict_row},
                open=False,
                name="hit_service",
            ),
        )

    def open(self, timeout: float = 10.0) -> None:
        """Open the pool; a bad URL or missing database fails at once with psycopg's reason.

        (The pool alone would retry quietly until ``timeout``.)
        """
        with psycopg.connect(self.conninfo, connect_timeout=max(int(timeout), 1)):
            pass
        self.pool.open(wait=True, timeout=timeout)

    def close(self) -> None:
        """Close every pooled connection."""
        self.pool.close()

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Row]]:
        """A pooled connection in a transaction: committed on success, rolled back on error."""
        with self.pool.connection() as conn:
            yield conn

    def read_one(self, query: str, params: dict[str, Any] | Sequence[Any] = ()) -> Row | None:
        """The first row of one read-only statement, in one round trip (no BEGIN, no COMMIT).

        For checks made on every API call; anything that writes, or reads twice and relies on
        both reads agreeing, belongs in :meth:`transaction`.
        """
        with self.pool.connection() as conn:
            conn.autocommit = True
            try:
                return conn.execute(query, params).fetchone()
            finally:
                if not conn.closed:
                    conn.autocommit = False

    def ready(self) -> None:
        """Raise unless the database answers and accepts a write (readiness: a read-only or
        recovering server answers SELECT 1, yet every API call would fail)."""
        with self.transaction() as conn:
            conn.execute(
                """INSERT INTO mturk.service_settings (name, value) VALUES ('readiness_probe', now()::text)
                   ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value"""
            )

    # -- schema -------------------------------------------------------------------------------

    def migrate(self) -> list[int]:
        """Create or upgrade schema ``mturk`` from the migration files; safe when several
        processes start at once. Returns the versions this call applied."""
        with self.transaction() as conn:
            return migrations.apply(conn, migrations.load())

    def truncate_all(self) -> None:
        """Empty every state table (test mode only); the schema stays."""
        tables = ", ".join(f"{SCHEMA}.{name}" for name in STATE_TABLES)
        with self.transaction() as conn:
            conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")

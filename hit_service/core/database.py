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
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from hit_service.core import migrations
from hit_service.core.migrations import MIGRATION_LOCK_KEY, SCHEMA  # noqa: F401 - the names callers know

Row = dict[str, Any]

# (version, name, SQL) of every migration file (``hit_service.core.migrations``), in order.
MIGRATIONS: list[tuple[int, str, str]] = [(m.version, m.name, m.sql) for m in migrations.load()]

# Tables emptied by ``truncate_all`` (test mode's /_test/reset); new tables join this list.
STATE_TABLES = [
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
    """A pool of connections to the service's database and the SQL the backend needs."""

    def __init__(self, db_url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.pool = ConnectionPool(
            db_url,
            min_size=min(min_size, max_size),
            max_size=max_size,
            kwargs={"row_factory": dict_row},
            open=False,
            name="hit_service",
        )

    def open(self, timeout: float = 10.0) -> None:
        """Open the pool; a bad URL or missing database fails at once with psycopg's reason.

        (The pool alone would retry quietly until ``timeout``.)
        """
        with psycopg.connect(self.pool.conninfo, connect_timeout=max(int(timeout), 1)):
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

    def ping(self) -> None:
        """Raise unless the database answers (for /health)."""
        with self.transaction() as conn:
            conn.execute("SELECT 1").fetchone()

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

    # -- accounts -----------------------------------------------------------------------------

    @staticmethod
    def ensure_account(conn: psycopg.Connection[Row], requester: str, initial_balance: Decimal) -> None:
        """Create the requester's account with the initial balance unless it exists."""
        conn.execute(
            "INSERT INTO mturk.accounts (requester, balance) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (requester, initial_balance),
        )

    @staticmethod
    def balance(conn: psycopg.Connection[Row], requester: str) -> Decimal | None:
        """The requester's balance, or None without an account."""
        row = conn.execute("SELECT balance FROM mturk.accounts WHERE requester = %s", (requester,)).fetchone()
        return None if row is None else row["balance"]

    @staticmethod
    def credit(
        conn: psycopg.Connection[Row],
        requester: str,
        amount: Decimal,
        *,
        kind: str,
        now: datetime,
        hit_id: str | None = None,
        assignment_id: str | None = None,
    ) -> None:
        """Add ``amount`` to the balance and record it in the ledger."""
        conn.execute("UPDATE mturk.accounts SET balance = balance + %s WHERE requester = %s", (amount, requester))
        Store._ledger(conn, requester, amount, kind, now, hit_id, assignment_id)

    @staticmethod
    def debit(
        conn: psycopg.Connection[Row],
        requester: str,
        amount: Decimal,
        *,
        kind: str,
        now: datetime,
        hit_id: str | None = None,
        assignment_id: str | None = None,
    ) -> bool:
        """Take ``amount`` from the balance and record it; False (nothing taken) if short.

        The conditional UPDATE locks the account row, so concurrent debits serialize and the
        balance can never go below zero.
        """
        row = conn.execute(
            """UPDATE mturk.accounts SET balance = balance - %(amount)s
               WHERE requester = %(requester)s AND balance >= %(amount)s RETURNING balance""",
            {"amount": amount, "requester": requester},
        ).fetchone()
        if row is None:
            return False
        Store._ledger(conn, requester, -amount, kind, now, hit_id, assignment_id)
        return True

    @staticmethod
    def _ledger(
        conn: psycopg.Connection[Row],
        requester: str,
        amount: Decimal,
        kind: str,
        now: datetime,
        hit_id: str | None,
        assignment_id: str | None,
    ) -> None:
        conn.execute(
            """INSERT INTO mturk.ledger (requester, amount, kind, hit_id, assignment_id, created_at)
               VALUES (%s, %s, %s, %s, %s, %s)""",
            (requester, amount, kind, hit_id, assignment_id, now),
        )

    @staticmethod
    def set_balance(conn: psycopg.Connection[Row], requester: str | None, balance: Decimal) -> int:
        """Set one requester's balance (creating the account) or every existing one's."""
        if requester is None:
            cur = conn.execute("UPDATE mturk.accounts SET balance = %s", (balance,))
            return cur.rowcount
        conn.execute(
            """INSERT INTO mturk.accounts (requester, balance) VALUES (%s, %s)
               ON CONFLICT (requester) DO UPDATE SET balance = EXCLUDED.balance""",
            (requester, balance),
        )
        return 1

    # -- request tokens -----------------------------------------------------------------------

    @staticmethod
    def claim_request_token(
        conn: psycopg.Connection[Row],
        requester: str,
        token: str,
        hit_id: str,
        now: datetime,
        reusable_before: datetime,
    ) -> str | None:
        """Bind ``token`` to ``hit_id``; return the HIT ID it is already bound to, if live.

        A token older than ``reusable_before`` is taken over. Two transactions claiming the
        same token serialize on the primary key: the second waits for the first and then sees
        its row, so exactly one of them creates a HIT.
        """
        row = conn.execute(
            """INSERT INTO mturk.request_tokens AS t (requester, token, hit_id, created_at)
               VALUES (%(requester)s, %(token)s, %(hit_id)s, %(now)s)
               ON CONFLICT (requester, token) DO UPDATE
                   SET hit_id = EXCLUDED.hit_id, created_at = EXCLUDED.created_at
                   WHERE t.created_at <= %(reusable_before)s
               RETURNING t.hit_id""",
            {
                "requester": requester,
                "token": token,
                "hit_id": hit_id,
                "now": now,
                "reusable_before": reusable_before,
            },
        ).fetchone()
        if row is not None:
            return None
        existing = conn.execute(
            "SELECT hit_id FROM mturk.request_tokens WHERE requester = %s AND token = %s",
            (requester, token),
        ).fetchone()
        if existing is None:  # pragma: no cover - the conflicting row cannot vanish under its lock
            raise RuntimeError("request token conflict without a row")
        return existing["hit_id"]

    @staticmethod
    def release_request_token(conn: psycopg.Connection[Row], requester: str, token: str, hit_id: str) -> None:
        """Undo :meth:`claim_request_token` for a HIT that was not created after all."""
        conn.execute(
            "DELETE FROM mturk.request_tokens WHERE requester = %s AND token = %s AND hit_id = %s",
            (requester, token, hit_id),
        )

    # -- HIT types ----------------------------------------------------------------------------

    @staticmethod
    def upsert_hit_type(conn: psycopg.Connection[Row], hit_type: Row) -> Row:
        """Insert the HIT type unless the requester has one with the same properties; return it."""
        params = dict(hit_type)
        params["qualification_requirements"] = Jsonb(params["qualification_requirements"])
        row = conn.execute(
            """INSERT INTO mturk.hit_types (hit_type_id, requester, properties_hash, hit_group_id,
                   title, description, keywords, reward, assignment_duration_seconds,
                   auto_approval_delay_seconds, qualification_requirements, created_at)
               VALUES (%(hit_type_id)s, %(requester)s, %(properties_hash)s, %(hit_group_id)s,
                   %(title)s, %(description)s, %(keywords)s, %(reward)s,
                   %(assignment_duration_seconds)s, %(auto_approval_delay_seconds)s,
                   %(qualification_requirements)s, %(created_at)s)
               ON CONFLICT (requester, properties_hash) DO NOTHING
               RETURNING *""",
            params,
        ).fetchone()
        if row is not None:
            return row
        existing = conn.execute(
            "SELECT * FROM mturk.hit_types WHERE requester = %s AND properties_hash = %s",
            (hit_type["requester"], hit_type["properties_hash"]),
        ).fetchone()
        assert existing is not None
        return existing

    @staticmethod
    def get_hit_type(conn: psycopg.Connection[Row], hit_type_id: str) -> Row | None:
        """One HIT type by ID."""
        return conn.execute("SELECT * FROM mturk.hit_types WHERE hit_type_id = %s", (hit_type_id,)).fetchone()

    # -- HITs ---------------------------------------------------------------------------------

    @staticmethod
    def insert_hit_and_debit(conn: psycopg.Connection[Row], hit: Row) -> Row | None:
        """Debit ``hit["cost"]`` and insert the HIT in one statement; None (nothing done) if short.

        The conditional UPDATE locks the account row, so concurrent debits serialize and the
        balance can never go below zero.
        """
        params = dict(hit)
        for key in ("qualification_requirements", "layout_parameters", "assignment_review_policy", "hit_review_policy"):
            if params.get(key) is not None:
                params[key] = Jsonb(params[key])
        columns = list(params)
        names = ", ".join(columns)
        values = ", ".join(f"%({name})s" for name in columns)
        return conn.execute(
            f"""WITH d AS (UPDATE mturk.accounts SET balance = balance - %(cost)s
                           WHERE requester = %(requester)s AND balance >= %(cost)s RETURNING requester),
                     l AS (INSERT INTO mturk.ledger (requester, amount, kind, hit_id, created_at)
                           SELECT requester, -%(cost)s::numeric, 'hit', %(hit_id)s, %(creation_time)s FROM d)
                INSERT INTO mturk.hits ({names}) SELECT {values} FROM d RETURNING *""",
            params,
        ).fetchone()

    @staticmethod
    def get_hit(conn: psycopg.Connection[Row], hit_id: str) -> Row | None:
        """One HIT by ID, whoever owns it."""
        return conn.execute("SELECT * FROM mturk.hits WHERE hit_id = %s", (hit_id,)).fetchone()

    @staticmethod
    def list_hits(
        conn: psycopg.Connection[Row],
        requester: str,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Row]:
        """The requester's HITs in (creation_time, hit_id) order, strictly after ``after``."""
        if after is None:
            cur = conn.execute(
                """SELECT * FROM mturk.hits WHERE requester = %s AND status <> 'Disposed'
                   ORDER BY creation_time, hit_id LIMIT %s""",
                (requester, limit),
            )
        else:
            cur = conn.execute(
                """SELECT * FROM mturk.hits WHERE requester = %s AND status <> 'Disposed'
                   AND (creation_time, hit_id) > (%s, %s)
                   ORDER BY creation_time, hit_id LIMIT %s""",
                (requester, after[0], after[1], limit),
            )
        return cur.fetchall()

    @staticmethod
    def recent_hits(conn: psycopg.Connection[Row], offset: int, limit: int) -> list[Row]:
        """Every requester's HITs, newest first (for the HTML pages)."""
        return conn.execute(
            "SELECT * FROM mturk.hits ORDER BY creation_time DESC, hit_id DESC OFFSET %s LIMIT %s",
            (offset, limit),
        ).fetchall()

    @staticmethod
    def count_hits(conn: psycopg.Connection[Row]) -> int:
        """How many HITs exist (for the pages' pager)."""
        row = conn.execute("SELECT count(*) AS n FROM mturk.hits").fetchone()
        return int(row["n"]) if row else 0

"""Postgres persistence for the HIT service (psycopg 3 + a connection pool).

All state lives in schema ``mturk`` of the database named by ``HITFLOW_HIT_SERVICE_DB_URL``,
so several service processes can share one database and stay consistent: every rule that
must hold across processes (one HIT per UniqueRequestToken, one HIT type per set of
properties, a balance that never goes negative) is enforced by a constraint or a locking
statement inside the transaction that writes the HIT, never by process memory.

Schema changes are numbered ``MIGRATIONS``; ``migrate()`` applies the missing ones under a
transaction-level advisory lock, so two processes starting at once do not race. Later issues
add tables as new migrations: ``assignments`` (FK to hits; their counters in ``hits`` are
kept in the same transaction), ``workers``, ``qualification_types`` / ``qualifications``,
``worker_blocks``, ``bonus_payments`` (debited through ``ledger``), ``notification_settings``.

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

SCHEMA = "mturk"
# pg_advisory_xact_lock key for migrations: "hitfmig" as a number, fixed forever.
MIGRATION_LOCK_KEY = 0x6869_7466_6D69_67

Row = dict[str, Any]

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "accounts, ledger, hit types, hits, request tokens",
        """
        CREATE TABLE mturk.accounts (
            requester   text PRIMARY KEY,              -- the SigV4 access key ID, or 'local'
            balance     numeric(12,2) NOT NULL CHECK (balance >= 0),
            created_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE mturk.ledger (                     -- every change of a balance
            entry_id       bigserial PRIMARY KEY,
            requester      text NOT NULL REFERENCES mturk.accounts,
            amount         numeric(12,2) NOT NULL,     -- negative: money spent
            kind           text NOT NULL,              -- 'hit'; later 'bonus', 'refund', ...
            hit_id         text,
            assignment_id  text,
            created_at     timestamptz NOT NULL
        );
        CREATE INDEX ledger_requester_created ON mturk.ledger (requester, created_at);
        CREATE TABLE mturk.hit_types (
            hit_type_id                  text PRIMARY KEY,
            requester                    text NOT NULL,
            properties_hash              text NOT NULL,
            hit_group_id                 text NOT NULL,
            title                        text NOT NULL,
            description                  text NOT NULL,
            keywords                     text,
            reward                       numeric(12,2) NOT NULL,
            assignment_duration_seconds  bigint NOT NULL,
            auto_approval_delay_seconds  bigint NOT NULL,
            qualification_requirements   jsonb NOT NULL DEFAULT '[]',
            created_at                   timestamptz NOT NULL,
            UNIQUE (requester, properties_hash)
        );
        CREATE TABLE mturk.hits (
            hit_id                       text PRIMARY KEY,
            hit_type_id                  text NOT NULL REFERENCES mturk.hit_types,
            requester                    text NOT NULL,
            hit_group_id                 text NOT NULL,
            title                        text NOT NULL,
            description                  text NOT NULL,
            keywords                     text,
            reward                       numeric(12,2) NOT NULL,
            assignment_duration_seconds  bigint NOT NULL,
            auto_approval_delay_seconds  bigint NOT NULL,
            qualification_requirements   jsonb NOT NULL DEFAULT '[]',
            max_assignments              integer NOT NULL CHECK (max_assignments >= 1),
            lifetime_seconds             bigint NOT NULL,
            creation_time                timestamptz NOT NULL,
            expiration                   timestamptz NOT NULL,
            status                       text NOT NULL DEFAULT 'Assignable' CHECK (status IN
                                         ('Assignable', 'Unassignable', 'Reviewable', 'Reviewing',
                                          'Disposed')),
            review_status                text NOT NULL DEFAULT 'NotReviewed',
            question_kind                text NOT NULL,  -- HTMLQuestion/ExternalQuestion/QuestionForm/Layout
            question                     text NOT NULL,  -- as sent; for a layout HIT the rendered HTMLQuestion
            layout_id                    text,
            layout_parameters            jsonb,          -- [{"Name": ..., "Value": ...}] as sent
            requester_annotation         text,
            assignment_review_policy     jsonb,
            hit_review_policy            jsonb,
            unique_request_token         text,
            cost                         numeric(12,2) NOT NULL,  -- debited at creation
            assignments_pending          integer NOT NULL DEFAULT 0,
            assignments_completed        integer NOT NULL DEFAULT 0,
            updated_at                   timestamptz NOT NULL
        );
        CREATE INDEX hits_requester_created ON mturk.hits (requester, creation_time, hit_id);
        CREATE INDEX hits_created ON mturk.hits (creation_time, hit_id);
        CREATE INDEX hits_hit_type ON mturk.hits (hit_type_id);
        CREATE TABLE mturk.request_tokens (             -- UniqueRequestToken, 24-hour window
            requester   text NOT NULL,
            token       text NOT NULL,
            hit_id      text NOT NULL REFERENCES mturk.hits DEFERRABLE INITIALLY DEFERRED,
            created_at  timestamptz NOT NULL,
            PRIMARY KEY (requester, token)
        );
        """,
    ),
    (
        2,
        "requester keys, workers, assignments, bonuses, blocks, messages, qualifications, settings",
        """
        ALTER TABLE mturk.accounts ADD COLUMN name text;
        CREATE UNIQUE INDEX accounts_name ON mturk.accounts (name);
        CREATE TABLE mturk.access_keys (
            access_key_id      text PRIMARY KEY,
            requester          text NOT NULL REFERENCES mturk.accounts ON DELETE CASCADE,
            secret_access_key  text NOT NULL,          -- SigV4 needs the secret itself (HMAC)
            source             text NOT NULL,          -- 'env', 'cli' or 'test'
            created_at         timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX access_keys_requester ON mturk.access_keys (requester);
        CREATE TABLE mturk.service_settings (           -- e.g. the worker-session signing key
            name   text PRIMARY KEY,
            value  text NOT NULL
        );
        CREATE TABLE mturk.workers (
            worker_id            text PRIMARY KEY,
            name                 text NOT NULL UNIQUE,
            password_hash        text NOT NULL,
            locale_country       text NOT NULL DEFAULT 'US',
            locale_subdivision   text,
            created_at           timestamptz NOT NULL
        );
        ALTER TABLE mturk.hits ADD COLUMN assignments_submitted integer NOT NULL DEFAULT 0;
        ALTER TABLE mturk.hits ADD COLUMN reviewing boolean NOT NULL DEFAULT false;
        ALTER TABLE mturk.hits ADD COLUMN disposed_at timestamptz;
        CREATE TABLE mturk.assignments (
            assignment_id       text PRIMARY KEY,
            hit_id              text NOT NULL REFERENCES mturk.hits,
            requester           text NOT NULL,
            worker_id           text NOT NULL REFERENCES mturk.workers,
            status              text NOT NULL CHECK (status IN
                                ('Accepted', 'Submitted', 'Approved', 'Rejected', 'Returned', 'Abandoned')),
            accept_time         timestamptz NOT NULL,
            deadline            timestamptz NOT NULL,
            submit_time         timestamptz,
            auto_approval_time  timestamptz,
            approval_time       timestamptz,
            rejection_time      timestamptz,
            answer              text,
            requester_feedback  text,
            updated_at          timestamptz NOT NULL
        );
        CREATE INDEX assignments_hit ON mturk.assignments (hit_id, submit_time, assignment_id);
        CREATE INDEX assignments_worker ON mturk.assignments (worker_id, accept_time);
        CREATE INDEX assignments_due_abandon ON mturk.assignments (deadline) WHERE status = 'Accepted';
        CREATE INDEX assignments_due_approve ON mturk.assignments (auto_approval_time) WHERE status = 'Submitted';
        CREATE UNIQUE INDEX assignments_one_per_worker ON mturk.assignments (hit_id, worker_id)
            WHERE status NOT IN ('Returned', 'Abandoned');
        CREATE TABLE mturk.op_tokens (                   -- UniqueRequestToken of other operations
            requester   text NOT NULL,
            operation   text NOT NULL,
            token       text NOT NULL,
            reference   text NOT NULL,
            created_at  timestamptz NOT NULL,
            PRIMARY KEY (requester, operation, token)
        );
        CREATE TABLE mturk.bonus_payments (
            bonus_id       bigserial PRIMARY KEY,
            requester      text NOT NULL,
            worker_id      text NOT NULL,
            assignment_id  text NOT NULL REFERENCES mturk.assignments,
            hit_id         text NOT NULL,
            amount         numeric(12,2) NOT NULL,
            fee            numeric(12,2) NOT NULL,
            reason         text NOT NULL,
            grant_time     timestamptz NOT NULL
        );
        CREATE INDEX bonus_assignment ON mturk.bonus_payments (assignment_id, bonus_id);
        CREATE INDEX bonus_hit ON mturk.bonus_payments (hit_id, bonus_id);
        CREATE INDEX bonus_worker ON mturk.bonus_payments (worker_id);
        CREATE TABLE mturk.worker_blocks (
            requester   text NOT NULL,
            worker_id   text NOT NULL,
            reason      text NOT NULL,
            created_at  timestamptz NOT NULL,
            PRIMARY KEY (requester, worker_id)
        );
        CREATE TABLE mturk.messages (                    -- NotifyWorkers
            message_id  bigserial PRIMARY KEY,
            requester   text NOT NULL,
            worker_id   text NOT NULL REFERENCES mturk.workers,
            subject     text NOT NULL,
            body        text NOT NULL,
            sent_at     timestamptz NOT NULL
        );
        CREATE INDEX messages_worker ON mturk.messages (worker_id, sent_at);
        CREATE TABLE mturk.qualification_types (
            qualification_type_id  text PRIMARY KEY,
            requester              text NOT NULL,
            name                   text NOT NULL,
            description            text NOT NULL,
            keywords               text,
            status                 text NOT NULL,   -- Active / Inactive
            retry_delay_seconds    bigint,
            test                   text,
            answer_key             text,
            test_duration_seconds  bigint,
            auto_granted           boolean NOT NULL DEFAULT false,
            auto_granted_value     integer,
            creation_time          timestamptz NOT NULL,
            deleted                boolean NOT NULL DEFAULT false
        );
        CREATE UNIQUE INDEX qualification_types_name ON mturk.qualification_types (requester, lower(name))
            WHERE NOT deleted;
        CREATE TABLE mturk.qualifications (              -- a worker's score for a type
            qualification_type_id  text NOT NULL REFERENCES mturk.qualification_types,
            worker_id              text NOT NULL,
            integer_value          integer,
            locale_country         text,
            locale_subdivision     text,
            status                 text NOT NULL,   -- Granted / Revoked
            grant_time             timestamptz NOT NULL,
            PRIMARY KEY (qualification_type_id, worker_id)
        );
        CREATE TABLE mturk.qualification_requests (
            qualification_request_id  text PRIMARY KEY,
            qualification_type_id     text NOT NULL REFERENCES mturk.qualification_types,
            requester                 text NOT NULL,
            worker_id                 text NOT NULL,
            test                      text,
            answer                    text,
            status                    text NOT NULL,  -- Pending / Approved / Rejected
            reason                    text,
            submit_time               timestamptz NOT NULL,
            decided_at                timestamptz
        );
        CREATE INDEX qualification_requests_type ON mturk.qualification_requests (qualification_type_id, submit_time);
        CREATE TABLE mturk.notification_settings (
            hit_type_id   text PRIMARY KEY REFERENCES mturk.hit_types,
            requester     text NOT NULL,
            notification  jsonb,
            active        boolean,
            updated_at    timestamptz NOT NULL
        );
        """,
    ),
    (
        3,
        "requester console: users, projects (HIT layouts), batches and their rows",
        """
        CREATE TABLE mturk.requester_users (             -- people who sign in to /requester
            user_id        text PRIMARY KEY,
            requester      text NOT NULL REFERENCES mturk.accounts ON DELETE CASCADE,
            name           text NOT NULL UNIQUE,
            password_hash  text NOT NULL,
            created_at     timestamptz NOT NULL
        );
        CREATE TABLE mturk.projects (                    -- a project is a HIT layout
            layout_id                    text PRIMARY KEY,
            requester                    text NOT NULL,
            name                         text NOT NULL,
            title                        text NOT NULL,
            description                  text NOT NULL,
            keywords                     text,
            reward                       numeric(12,2) NOT NULL,
            max_assignments              integer NOT NULL,
            assignment_duration_seconds  bigint NOT NULL,
            lifetime_seconds             bigint NOT NULL,
            auto_approval_delay_seconds  bigint NOT NULL,
            qualification_requirements   jsonb NOT NULL DEFAULT '[]',
            template                     text NOT NULL,
            sample_values                jsonb NOT NULL DEFAULT '{}',
            created_at                   timestamptz NOT NULL,
            updated_at                   timestamptz NOT NULL
        );
        CREATE INDEX projects_requester ON mturk.projects (requester, created_at);
        CREATE TABLE mturk.batches (
            batch_id      bigserial PRIMARY KEY,         -- "BatchId:NNN;" in RequesterAnnotation
            requester     text NOT NULL,
            layout_id     text NOT NULL REFERENCES mturk.projects,
            name          text NOT NULL,
            status        text NOT NULL CHECK (status IN ('draft', 'publishing', 'published', 'stopped',
                                                          'cancelled')),
            file_name     text NOT NULL,
            file_sha256   text NOT NULL,
            variables     jsonb NOT NULL,                -- the CSV header, in order
            row_count     integer NOT NULL,
            properties    jsonb NOT NULL,                -- the project's HIT properties when uploaded
            hit_type_id   text,
            created_hits  integer NOT NULL DEFAULT 0,
            error         text,
            heartbeat     timestamptz,                   -- the publisher's last sign of life
            created_at    timestamptz NOT NULL,
            published_at  timestamptz,
            finished_at   timestamptz
        );
        CREATE INDEX batches_requester ON mturk.batches (requester, created_at);
        CREATE INDEX batches_file ON mturk.batches (requester, file_sha256);
        CREATE TABLE mturk.batch_rows (
            batch_id    bigint NOT NULL REFERENCES mturk.batches ON DELETE CASCADE,
            row_number  integer NOT NULL,                 -- 1 = the first data row
            "values"    jsonb NOT NULL,
            hit_id      text,
            PRIMARY KEY (batch_id, row_number)
        );
        CREATE INDEX batch_rows_hit ON mturk.batch_rows (hit_id);
        """,
    ),
    (
        4,
        "sessions on the server, sign-in failures",
        """
        CREATE TABLE mturk.sessions (                    -- a signed cookie names one row; sign-out deletes it
            session_hash  text PRIMARY KEY,              -- SHA-256 of the cookie's random part
            subject       text NOT NULL,                 -- a worker ID, or 'requester:' + a console user ID
            created_at    timestamptz NOT NULL,
            expires_at    timestamptz NOT NULL
        );
        CREATE INDEX sessions_subject ON mturk.sessions (subject);
        CREATE TABLE mturk.signin_failures (            -- throttling: 'worker:<name>', 'operator', 'addr:<ip>', …
            key            text PRIMARY KEY,
            failures       integer NOT NULL,
            last_failure   timestamptz NOT NULL,
            blocked_until  timestamptz NOT NULL
        );
        """,
    ),
]

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
        """Create or upgrade schema ``mturk``; safe when several processes start at once."""
        applied: list[int] = []
        with self.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            conn.execute(
                f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_migrations (
                        version     integer PRIMARY KEY,
                        name        text NOT NULL,
                        applied_at  timestamptz NOT NULL DEFAULT now())"""
            )
            done = {row["version"] for row in conn.execute(f"SELECT version FROM {SCHEMA}.schema_migrations")}
            for version, name, ddl in MIGRATIONS:
                if version in done:
                    continue
                conn.execute(ddl)
                conn.execute(
                    f"INSERT INTO {SCHEMA}.schema_migrations (version, name) VALUES (%s, %s)",
                    (version, name),
                )
                applied.append(version)
        return applied

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

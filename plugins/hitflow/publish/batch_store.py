"""hitflow's state in PostgreSQL: batches, claimed rows, their HITs and the quarantine.

Every function takes an open psycopg 3 connection and commits its own work, so each step of
the DAG leaves the database consistent if the next one never runs.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hitflow.paths import include_dir
from hitflow.publish.autotune import chunk_size_for
from hitflow.publish.rows import SourceRow

SOURCE_TABLE = "public.person_images"
BATCH_NAMESPACE = uuid.UUID("5b0c7f9e-4d0a-4c51-9a53-7f1d6c2a8e10")
_SCHEMA_LOCK = 0x686974666C6F77  # "hitflow": serialises concurrent schema creation


def batch_uuid(dag_id: str, run_id: str) -> uuid.UUID:
    """The batch of a DAG run; a retried or cleared run resumes the same batch."""
    return uuid.uuid5(BATCH_NAMESPACE, f"{dag_id}/{run_id}")


SCHEMA_VERSION = 7  # bump with every change to include/sql/hitflow_schema.sql


def _applied_version(conn: Any) -> int | None:
    if conn.execute("SELECT to_regclass('hitflow.schema_version')").fetchone()[0] is None:
        return None
    row = conn.execute("SELECT max(version) FROM hitflow.schema_version").fetchone()
    return row[0] if row else None


def apply_schema(conn: Any) -> None:
    """Create or upgrade hitflow's schema, once: a database already at ``SCHEMA_VERSION`` costs
    one query and takes no lock (ALTER TABLE's exclusive locks would queue behind running batches)."""
    if _applied_version(conn) == SCHEMA_VERSION:
        return
    sql = (include_dir() / "sql" / "hitflow_schema.sql").read_text(encoding="utf-8")
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        if _applied_version(conn) == SCHEMA_VERSION:  # another run applied it while we waited
            return
        conn.execute(sql)
        conn.execute("INSERT INTO hitflow.schema_version (version) VALUES (%s)", (SCHEMA_VERSION,))


class ScopeError(ValueError):
    """A run asked for a scope it cannot have (``interval`` without a data interval)."""


@dataclass(frozen=True)
class Scope:
    """Which source rows a run may take: its data interval, or every pending row."""

    start: datetime | None = None
    end: datetime | None = None

    @property
    def name(self) -> str:
        return "pending" if self.start is None else "interval"

    @classmethod
    def for_run(cls, run_type: str, wanted: str, start: datetime | None, end: datetime | None) -> Scope:
        """Decide by the run's type, never by whether it has a data interval.

        Airflow's Trigger dialog fills in a logical date, so a manual run from the UI has the
        inferred interval [yesterday, today) although its user asked for "every pending row".
        Manual runs take what the ``scope`` param says (``pending`` by default); scheduled and
        backfill runs always take their interval (a run without one takes every pending row).
        """
        if run_type != "manual":
            return cls(start, end) if start is not None else cls()
        if wanted == "pending":
            return cls()
        if start is None or end is None:
            raise ScopeError(
                "scope=interval needs a data interval, and this manual run has none (it was triggered "
                "without a logical date): trigger it with a Logical Date, or use scope=pending"
            )
        return cls(start, end)

    def where(self, alias: str = "s") -> tuple[str, dict[str, Any]]:
        if self.start is None:
            return "TRUE", {}
        return (
            f"{alias}.created_at >= %(start)s AND {alias}.created_at < %(end)s",
            {"start": self.start, "end": self.end},
        )


def open_batch(
    conn: Any, *, batch_id: uuid.UUID, dag_id: str, run_id: str, scope: Scope, params: dict[str, Any]
) -> dict[str, Any]:
    """Record the batch (once); return its row, which may be an earlier attempt's."""
    with conn.transaction():
        conn.execute(
            """INSERT INTO hitflow.batches (batch_id, dag_id, run_id, scope, interval_start, interval_end, params)
               VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (batch_id) DO NOTHING""",
            (batch_id, dag_id, run_id, scope.name, scope.start, scope.end, json.dumps(params)),
        )
        row = conn.execute(
            "SELECT batch_id, status, scope, created_at FROM hitflow.batches WHERE batch_id = %s", (batch_id,)
        ).fetchone()
    return {"batch_id": str(row[0]), "status": row[1], "scope": row[2], "created_at": row[3].isoformat()}


def count_claimable(conn: Any, scope: Scope, max_rows: int | None) -> int:
    """How many rows a claim would take now (for the cost a run announces before it starts)."""
    where, args = scope.where()
    return conn.execute(
        f"""SELECT count(*) FROM (SELECT 1 FROM {SOURCE_TABLE} s
             WHERE {where} AND NOT EXISTS (SELECT 1 FROM hitflow.batch_rows b WHERE b.row_id = s.id)
             LIMIT %(limit)s) pending""",
        args | {"limit": max_rows},
    ).fetchone()[0]


def batch_params(conn: Any, batch_id: uuid.UUID) -> dict[str, Any]:
    """The params a batch was opened with (what every later step of its run publishes with)."""
    row = conn.execute("SELECT params FROM hitflow.batches WHERE batch_id = %s", (batch_id,)).fetchone()
    if row is None:
        raise LookupError(f"batch {batch_id} is not recorded")
    return row[0]


def claim_rows(conn: Any, *, batch_id: uuid.UUID, scope: Scope, max_rows: int | None) -> dict[str, int]:
    """Atomically take the scope's unclaimed rows for this batch.

    The primary key of ``batch_rows`` decides races: a row inserted by a concurrent run makes
    this insert skip it. Rows this batch took in an earlier attempt stay with it.
    """
    where, args = scope.where()
    args |= {"batch": batch_id, "limit": max_rows}
    with conn.transaction():
        claimed = conn.execute(
            f"""INSERT INTO hitflow.batch_rows (row_id, batch_id, status, person_id, image_url)
                SELECT s.id, %(batch)s, 'ready', s.person_id, s.image_url FROM {SOURCE_TABLE} s
                 WHERE {where}
                   AND NOT EXISTS (SELECT 1 FROM hitflow.batch_rows b WHERE b.row_id = s.id)
                 ORDER BY s.created_at NULLS LAST, s.id
                 LIMIT %(limit)s
                ON CONFLICT (row_id) DO NOTHING""",
            args,
        ).rowcount
        owned_elsewhere = 0
        if scope.start is not None:
            owned_elsewhere = conn.execute(
                f"""SELECT count(*) FROM {SOURCE_TABLE} s JOIN hitflow.batch_rows b ON b.row_id = s.id
                     WHERE {where} AND b.batch_id <> %(batch)s""",
                args,
            ).fetchone()[0]
        total = conn.execute("SELECT count(*) FROM hitflow.batch_rows WHERE batch_id = %s", (batch_id,)).fetchone()[0]
    return {"claimed_now": claimed, "in_batch": total, "owned_by_other_batches": owned_elsewhere}


def iter_unvalidated_rows(conn: Any, batch_id: uuid.UUID, page: int = 5000) -> Iterator[SourceRow]:
    """Stream the rows claimed since the batch's last validation, with a server-side cursor."""
    with conn.transaction(), conn.cursor(name=f"unvalidated_{batch_id.hex}") as cur:
        cur.itersize = page
        cur.execute(
            f"""SELECT b.row_id, b.person_id, b.image_url, s.created_at
                  FROM hitflow.batch_rows b JOIN {SOURCE_TABLE} s ON s.id = b.row_id
                  JOIN hitflow.batches t ON t.batch_id = b.batch_id
                 WHERE b.batch_id = %s AND b.status = 'ready'
                   AND b.claimed_at > coalesce(t.validated_until, '-infinity')
                 ORDER BY b.row_id""",
            (batch_id,),
        )
        for row in cur:
            yield SourceRow(*row)


def mark_validated(conn: Any, batch_id: uuid.UUID) -> None:
    """Move the batch's validation watermark past every row it has claimed."""
    with conn.transaction():
        conn.execute(
            """UPDATE hitflow.batches SET validated_until = (SELECT max(claimed_at) FROM hitflow.batch_rows
                                                              WHERE batch_id = %(batch)s), updated_at = now()
                WHERE batch_id = %(batch)s""",
            {"batch": batch_id},
        )


def quarantine(conn: Any, batch_id: uuid.UUID, problems: Iterable[tuple[int, str]]) -> int:
    """Move rows to quarantine with their reasons; returns how many moved."""
    problems = list(problems)
    if not problems:
        return 0
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            """WITH moved AS (
                 UPDATE hitflow.batch_rows SET status = 'quarantined'
                  WHERE row_id = %(row)s AND batch_id = %(batch)s AND status IN ('claimed', 'ready')
                 RETURNING row_id, person_id, image_url)
               INSERT INTO hitflow.quarantine (row_id, batch_id, reason, person_id, image_url)
               SELECT row_id, %(batch)s, %(reason)s, person_id, image_url FROM moved
               ON CONFLICT (row_id) DO NOTHING""",
            [{"row": row_id, "batch": batch_id, "reason": reason} for row_id, reason in problems],
        )
    return len(problems)


def quarantine_duplicates(conn: Any, batch_id: uuid.UUID) -> int:
    """Quarantine rows repeating the (person_id, image_url) of an earlier row that is kept."""
    with conn.transaction():
        return conn.execute(
            """WITH dups AS (
                 SELECT b.row_id, b.person_id, b.image_url, min(o.row_id) AS original
                   FROM hitflow.batch_rows b
                   JOIN hitflow.batch_rows o
                     ON o.person_id = b.person_id AND md5(o.image_url) = md5(b.image_url)
                    AND o.image_url = b.image_url AND o.row_id <> b.row_id AND o.status <> 'quarantined'
                    AND (o.batch_id <> b.batch_id OR o.row_id < b.row_id)
                   JOIN hitflow.batches t ON t.batch_id = b.batch_id
                  WHERE b.batch_id = %(batch)s AND b.status = 'ready'
                    AND b.claimed_at > coalesce(t.validated_until, '-infinity')
                  GROUP BY b.row_id, b.person_id, b.image_url),
               moved AS (
                 UPDATE hitflow.batch_rows r SET status = 'quarantined'
                   FROM dups WHERE r.row_id = dups.row_id RETURNING r.row_id)
               INSERT INTO hitflow.quarantine (row_id, batch_id, reason, person_id, image_url)
               SELECT dups.row_id, %(batch)s, 'duplicate of row ' || dups.original, dups.person_id, dups.image_url
                 FROM dups JOIN moved USING (row_id)
               ON CONFLICT (row_id) DO NOTHING""",
            {"batch": batch_id},
        ).rowcount


@dataclass(frozen=True)
class Chunk:
    """One mapped task's share of a batch: the rows with ``first_row <= row_id < next_first``.

    ``chunk`` counts from 1, as the UI's label ("chunk 1 of 3") and the task's log do."""

    chunk: int
    of: int
    first_row: int
    next_first: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"chunk": self.chunk, "of": self.of, "first_row": self.first_row, "next_first": self.next_first}


def plan_chunks(
    conn: Any, batch_id: uuid.UUID, chunk_size: int | None, max_chunks: int
) -> tuple[list[Chunk], int, int]:
    """Cut the batch's publishable rows into row-ID ranges: (chunks, rows, largest chunk size).

    ``chunk_size`` None chooses it from the batch size (:func:`hitflow.publish.autotune.chunk_size_for`).

    Deterministic by row ID, so a resumed batch gets the same chunks, and nothing is written per
    row. If the batch would need more than ``max_chunks`` mapped tasks, the chunk size grows.
    Chunks differ in size by at most one row: a short last chunk would leave the parallel
    slots idle while a full one still runs.
    """
    rows = conn.execute(
        """SELECT count(*) FROM hitflow.batch_rows
            WHERE batch_id = %s AND status IN ('ready', 'published', 'exported')""",
        (batch_id,),
    ).fetchone()[0]
    chunk_size = chunk_size_for(rows, chunk_size)
    if not rows:
        return [], 0, chunk_size
    count = math.ceil(rows / max(chunk_size, math.ceil(rows / max_chunks)))
    starts = [i * rows // count for i in range(count)]  # 0-based positions in row-ID order
    firsts = [
        first
        for (first,) in conn.execute(
            """SELECT row_id FROM (
                 SELECT row_id, row_number() OVER (ORDER BY row_id) - 1 AS pos FROM hitflow.batch_rows
                  WHERE batch_id = %(batch)s AND status IN ('ready', 'published', 'exported')) r
                WHERE pos = ANY(%(starts)s) ORDER BY row_id""",
            {"batch": batch_id, "starts": starts},
        )
    ]
    nexts = [*firsts[1:], None]
    chunks = [
        Chunk(n, len(firsts), first, nxt) for n, (first, nxt) in enumerate(zip(firsts, nexts, strict=True), start=1)
    ]
    return chunks, rows, math.ceil(rows / count)


def counts(conn: Any, batch_id: uuid.UUID) -> dict[str, int]:
    """Rows of the batch by status, plus how many HITs were recovered rather than created."""
    result = dict.fromkeys(("claimed", "ready", "quarantined", "published", "exported"), 0)
    for status, n in conn.execute(
        "SELECT status, count(*) FROM hitflow.batch_rows WHERE batch_id = %s GROUP BY status", (batch_id,)
    ):
        result[status] = n
    result["already_existed"] = conn.execute(
        "SELECT count(*) FROM hitflow.batch_rows WHERE batch_id = %s AND outcome = 'already_existed'",
        (batch_id,),
    ).fetchone()[0]
    return result


def quarantine_reasons(conn: Any, batch_id: uuid.UUID) -> list[dict[str, Any]]:
    return [
        {"row_id": row_id, "reason": reason}
        for row_id, reason in conn.execute(
            "SELECT row_id, reason FROM hitflow.quarantine WHERE batch_id = %s ORDER BY row_id", (batch_id,)
        )
    ]


def chunk_rows(conn: Any, batch_id: uuid.UUID, chunk: Chunk) -> list[tuple[int, str, str, str | None]]:
    """(row_id, person_id, image_url, hit_id) of one chunk, in row order."""
    return conn.execute(
        """SELECT row_id, person_id, image_url, hit_id FROM hitflow.batch_rows
            WHERE batch_id = %(batch)s AND row_id >= %(first)s
              AND (%(next)s::bigint IS NULL OR row_id < %(next)s) AND status IN ('ready', 'published')
            ORDER BY row_id""",
        {"batch": batch_id, "first": chunk.first_row, "next": chunk.next_first},
    ).fetchall()


def record_hit(conn: Any, batch_id: uuid.UUID, row_id: int, hit_id: str, hit_type_id: str, outcome: str) -> None:
    """Write a HIT the moment it exists: one autocommit statement on the chunk's connection.

    The chunk's connection runs with ``synchronous_commit = off`` (see :func:`fast_commits`): a
    write returns before its WAL flush, so recording never waits on the disk. A PostgreSQL crash
    could lose the last fraction of a second of records; the HITs themselves exist, and the
    retry's UniqueRequestToken finds them again.
    """
    conn.execute(
        """UPDATE hitflow.batch_rows
              SET status = 'published', hit_id = %s, hit_type_id = %s, outcome = %s, published_at = now()
            WHERE row_id = %s AND batch_id = %s AND status = 'ready'""",
        (hit_id, hit_type_id, outcome, row_id, batch_id),
    )


def fast_commits(conn: Any) -> None:
    """Let this session's commits skip waiting for the WAL flush (safe for re-derivable records)."""
    conn.execute("SET synchronous_commit TO off")


def set_batch(conn: Any, batch_id: uuid.UUID, **fields: Any) -> None:
    allowed = {"status", "hit_type_id"}
    if not fields or set(fields) - allowed:
        raise ValueError(f"set_batch takes {sorted(allowed)}")
    assignments = ", ".join(f"{name} = %({name})s" for name in fields)
    with conn.transaction():
        conn.execute(
            f"UPDATE hitflow.batches SET {assignments}, updated_at = now() WHERE batch_id = %(batch)s",
            fields | {"batch": batch_id},
        )


def release(conn: Any, batch_id: uuid.UUID, status: str) -> int:
    """Give back every row of a batch that published nothing (refused or dry run)."""
    with conn.transaction():
        conn.execute("DELETE FROM hitflow.quarantine WHERE batch_id = %s", (batch_id,))
        released = conn.execute(
            "DELETE FROM hitflow.batch_rows WHERE batch_id = %s AND hit_id IS NULL", (batch_id,)
        ).rowcount
        conn.execute(
            "UPDATE hitflow.batches SET status = %s, updated_at = now() WHERE batch_id = %s", (status, batch_id)
        )
    return released


def mark_exported(conn: Any, batch_id: uuid.UUID) -> int:
    with conn.transaction():
        return conn.execute(
            "UPDATE hitflow.batch_rows SET status = 'exported' WHERE batch_id = %s AND status = 'ready'",
            (batch_id,),
        ).rowcount


def iter_export_rows(conn: Any, batch_id: uuid.UUID) -> Iterator[tuple[int, str, str, str | None, str | None]]:
    """(row_id, person_id, image_url, hit_id, hit_type_id) of every kept row, streamed."""
    with conn.transaction(), conn.cursor(name=f"export_{batch_id.hex}") as cur:
        cur.execute(
            """SELECT row_id, person_id, image_url, hit_id, hit_type_id FROM hitflow.batch_rows
                WHERE batch_id = %s AND status IN ('ready', 'published', 'exported') ORDER BY row_id""",
            (batch_id,),
        )
        yield from cur

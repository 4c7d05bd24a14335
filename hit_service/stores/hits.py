"""HIT types, HITs and the UniqueRequestTokens that make creating one idempotent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from hit_service.core.database import Params, Row
from hit_service.core.rules import status_sql


class HitStore:
    """The SQL of ``mturk.hit_types``, ``mturk.hits`` and ``mturk.request_tokens``."""

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

    @staticmethod
    def hit_row(conn: psycopg.Connection[Row], hit_id: str, *, lock: bool = False) -> Row | None:
        """The HIT's row (locked for the transaction with ``lock``), whoever owns it."""
        sql = "SELECT * FROM mturk.hits WHERE hit_id = %s" + (" FOR UPDATE" if lock else "")
        return conn.execute(sql, (hit_id,)).fetchone()

    @staticmethod
    def lock_hits_with_due_assignments(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT 1 FROM mturk.hits WHERE hit_id IN (
                   SELECT hit_id FROM mturk.assignments
                   WHERE (status = 'Accepted' AND deadline <= %(now)s)
                      OR (status = 'Submitted' AND auto_approval_time <= %(now)s))
               ORDER BY hit_id FOR UPDATE""",
            params,
        )

    @staticmethod
    def count_rejection(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """UPDATE mturk.hits SET assignments_submitted = assignments_submitted - 1,
               assignments_completed = assignments_completed + 1, updated_at = %s WHERE hit_id = %s""",
            params,
        )

    @staticmethod
    def add_assignments(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """UPDATE mturk.hits SET max_assignments = max_assignments + %s, cost = cost + %s,
               reviewing = false, updated_at = %s WHERE hit_id = %s""",
            params,
        )

    @staticmethod
    def set_expiration(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        """(expiration, slots reserved again out of the released ones, now, HIT ID)."""
        return conn.execute(
            "UPDATE mturk.hits SET expiration = %s, released = released - %s, updated_at = %s WHERE hit_id = %s",
            params,
        )

    @staticmethod
    def set_reviewing(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "UPDATE mturk.hits SET reviewing = %s, updated_at = %s WHERE hit_id = %s",
            params,
        )

    @staticmethod
    def change_hit_type(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """UPDATE mturk.hits SET hit_type_id = %(t)s, hit_group_id = %(g)s, title = %(title)s,
                   description = %(d)s, keywords = %(k)s, reward = %(reward)s,
                   assignment_duration_seconds = %(dur)s, auto_approval_delay_seconds = %(auto)s,
                   qualification_requirements = %(q)s, cost = cost + %(delta)s, updated_at = %(now)s
               WHERE hit_id = %(hit)s""",
            params,
        )

    @staticmethod
    def dispose(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "UPDATE mturk.hits SET status = 'Disposed', disposed_at = %s, updated_at = %s WHERE hit_id = %s",
            params,
        )

    @staticmethod
    def lock_hit_of_assignment(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT * FROM mturk.hits
               WHERE hit_id = (SELECT hit_id FROM mturk.assignments WHERE assignment_id = %s) FOR UPDATE""",
            params,
        )

    @staticmethod
    def count_approval(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """UPDATE mturk.hits SET assignments_submitted = assignments_submitted - 1,
               assignments_completed = assignments_completed + 1, updated_at = %s WHERE hit_id = %s""",
            params,
        )

    @staticmethod
    def hit_type_row(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT * FROM mturk.hit_types WHERE hit_type_id = %s",
            params,
        )

    @staticmethod
    def hit_type_owner(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT requester FROM mturk.hit_types WHERE hit_type_id = %s",
            params,
        )

    @staticmethod
    def page_by_status(
        conn: psycopg.Connection[Row],
        requester: str,
        status: str,
        now: datetime,
        hit_type_id: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Row]:
        """The requester's HITs in ``status`` (as ``status_sql`` computes it at ``now``), by
        (creation time, ID) after the keyset ``after``, optionally of one HIT type."""
        query: dict[str, Any] = {"r": requester, "now": now, "status": status, "limit": limit}
        filters = ""
        if hit_type_id:
            filters += " AND h.hit_type_id = %(type)s"
            query["type"] = hit_type_id
        if after is not None:
            query["t"], query["i"] = after
            filters += " AND (h.creation_time, h.hit_id) > (%(t)s, %(i)s)"
        return conn.execute(
            f"""SELECT h.* FROM mturk.hits h
                WHERE h.requester = %(r)s AND h.status <> 'Disposed' AND ({status_sql()}) = %(status)s {filters}
                ORDER BY h.creation_time, h.hit_id LIMIT %(limit)s""",
            query,
        ).fetchall()

    @staticmethod
    def page_requiring_type(
        conn: psycopg.Connection[Row], requester: str, type_id: str, after: tuple[Any, Any] | None, limit: int
    ) -> list[Row]:
        """The requester's HITs whose requirements name ``type_id``, by (creation time, ID)."""
        query: dict[str, Any] = {"r": requester, "limit": limit, "req": Jsonb([{"QualificationTypeId": type_id}])}
        keyset = ""
        if after is not None:
            query["t"], query["i"] = after
            keyset = "AND (h.creation_time, h.hit_id) > (%(t)s, %(i)s)"
        return conn.execute(
            f"""SELECT h.* FROM mturk.hits h WHERE h.requester = %(r)s AND h.status <> 'Disposed'
                    AND h.qualification_requirements @> %(req)s {keyset}
                ORDER BY h.creation_time, h.hit_id LIMIT %(limit)s""",
            query,
        ).fetchall()

    @staticmethod
    def count_accepted(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "UPDATE mturk.hits SET assignments_pending = assignments_pending + 1, updated_at = %s WHERE hit_id = %s",
            params,
        )

    @staticmethod
    def count_returned(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "UPDATE mturk.hits SET assignments_pending = assignments_pending - 1, updated_at = %s WHERE hit_id = %s",
            params,
        )

    @staticmethod
    def count_submitted(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """UPDATE mturk.hits SET assignments_pending = assignments_pending - 1,
               assignments_submitted = assignments_submitted + 1, updated_at = %s WHERE hit_id = %s""",
            params,
        )

    @staticmethod
    def lock_hit(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT * FROM mturk.hits WHERE hit_id = %s FOR UPDATE",
            params,
        )

    @staticmethod
    def by_id(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT * FROM mturk.hits WHERE hit_id = %s",
            params,
        )

    @staticmethod
    def count_all(conn: psycopg.Connection[Row]) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT count(*) AS n FROM mturk.hits",
        )

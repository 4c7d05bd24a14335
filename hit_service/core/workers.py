"""The worker's side of the lifecycle: find HITs, accept, return, submit; dashboards.

Used by the worker site (``site``). The rules are MTurk's: a worker sees only HIT groups that
are Assignable, from requesters who have not blocked them, and whose requirements let them
discover the group; accepting takes one slot (``NumberOfAssignmentsPending``), at most one
assignment per worker per HIT, and starts the clock (``Deadline`` = accept time +
AssignmentDurationInSeconds). A submission after the deadline is refused and the slot is
freed (the assignment is Abandoned). Returning frees the slot at once.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import psycopg

from hit_service.core import question_xml
from hit_service.core.database import Row
from hit_service.core.lifecycle import answer_xml
from hit_service.core.quals import explain, permissions, type_names, worker_values
from hit_service.core.rules import new_id, status_sql
from hit_service.limits import MAX_ANSWER_BYTES

if TYPE_CHECKING:
    from hit_service.core.clock import Clock
    from hit_service.core.database import Store

GROUP_LIMIT = 200


class SiteError(Exception):
    """Something a worker tried cannot be done; shown on a page with ``status``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class WorkerSite:
    """Mixin of ``MTurkBackend``: what the worker site does."""

    store: Store
    clock: Clock

    if TYPE_CHECKING:

        def settle(self) -> None: ...
        def status(self, row: Row, now: Any = None) -> str: ...

    def worker(self, worker_id: str) -> Row | None:
        with self.store.transaction() as conn:
            return conn.execute("SELECT * FROM mturk.workers WHERE worker_id = %s", (worker_id,)).fetchone()

    def hit_groups(self, worker: Row) -> list[dict[str, Any]]:
        """HIT groups the worker can discover, newest first, with how many HITs they can take."""
        self.settle()
        now = self.clock.now()
        with self.store.transaction() as conn:
            rows = conn.execute(
                f"""SELECT h.hit_group_id, h.requester, a.name AS requester_name, min(h.title) AS title,
                           min(h.description) AS description, min(h.reward) AS reward,
                           min(h.assignment_duration_seconds) AS duration, count(*) AS hits,
                           min(h.keywords) AS keywords, max(h.expiration) AS expiration,
                           sum(h.max_assignments - h.assignments_pending - h.assignments_submitted
                               - h.assignments_completed) AS available,
                           (array_agg(h.hit_id ORDER BY h.creation_time, h.hit_id))[1] AS first_hit,
                           (array_agg(h.qualification_requirements))[1] AS requirements,
                           max(h.creation_time) AS newest
                    FROM mturk.hits h JOIN mturk.accounts a ON a.requester = h.requester
                    WHERE h.status <> 'Disposed' AND h.expiration > %(now)s AND ({status_sql()}) = 'Assignable'
                      AND NOT EXISTS (SELECT 1 FROM mturk.worker_blocks b
                                      WHERE b.requester = h.requester AND b.worker_id = %(w)s)
                      AND NOT EXISTS (SELECT 1 FROM mturk.assignments x
                                      WHERE x.hit_id = h.hit_id AND x.worker_id = %(w)s
                                        AND x.status NOT IN ('Returned', 'Abandoned'))
                    GROUP BY h.hit_group_id, h.requester, a.name
                    ORDER BY max(h.creation_time) DESC LIMIT %(limit)s""",
                {"now": now, "w": worker["worker_id"], "limit": GROUP_LIMIT},
            ).fetchall()
            values = worker_values(conn, worker)
            names = type_names(conn, [row["requirements"] or [] for row in rows])
        groups = []
        for row in rows:
            requirements = row["requirements"] or []
            allowed = permissions(requirements, values)
            if allowed["discover"]:
                groups.append({**row, **allowed, "explained": explain(requirements, values, names)})
        return groups

    def hit_for_worker(self, worker: Row, hit_id: str) -> tuple[Row, dict[str, bool], Row | None]:
        """(HIT, what the worker may do with it, their live assignment on it if any)."""
        self.settle()
        with self.store.transaction() as conn:
            hit = conn.execute(
                """SELECT h.*, a.name AS requester_name FROM mturk.hits h
                   JOIN mturk.accounts a ON a.requester = h.requester WHERE h.hit_id = %s""",
                (hit_id,),
            ).fetchone()
            if hit is None or hit["status"] == "Disposed":
                raise SiteError("This HIT does not exist (any more).", 404)
            values = worker_values(conn, worker)
            blocked = conn.execute(
                "SELECT 1 FROM mturk.worker_blocks WHERE requester = %s AND worker_id = %s",
                (hit["requester"], worker["worker_id"]),
            ).fetchone()
            mine = conn.execute(
                """SELECT * FROM mturk.assignments WHERE hit_id = %s AND worker_id = %s
                   AND status NOT IN ('Returned', 'Abandoned')""",
                (hit_id, worker["worker_id"]),
            ).fetchone()
            requirements = hit["qualification_requirements"] or []
            names = type_names(conn, [requirements])
        allowed: dict[str, Any] = permissions(requirements, values)
        if blocked:
            allowed = {"discover": False, "preview": False, "accept": False}
        allowed["explained"] = explain(requirements, values, names)
        return hit, allowed, mine

    def next_in_group(self, worker: Row, hit_group_id: str) -> str | None:
        """The oldest HIT of the group the worker can still take (None when there is none)."""
        self.settle()
        now = self.clock.now()
        with self.store.transaction() as conn:
            row = conn.execute(
                f"""SELECT h.hit_id FROM mturk.hits h
                    WHERE h.hit_group_id = %(g)s AND h.status <> 'Disposed' AND h.expiration > %(now)s
                      AND ({status_sql()}) = 'Assignable'
                      AND NOT EXISTS (SELECT 1 FROM mturk.assignments x
                                      WHERE x.hit_id = h.hit_id AND x.worker_id = %(w)s
                                        AND x.status NOT IN ('Returned', 'Abandoned'))
                    ORDER BY h.creation_time, h.hit_id LIMIT 1""",
                {"g": hit_group_id, "now": now, "w": worker["worker_id"]},
            ).fetchone()
        return None if row is None else str(row["hit_id"])

    def accept_next_in_group(self, worker: Row, hit_group_id: str) -> str:
        """Accept the next HIT of a group ("Accept & work"); the assignment ID.

        Another worker may take the chosen HIT first: then the next one is tried.
        """
        for _attempt in range(5):
            hit_id = self.next_in_group(worker, hit_group_id)
            if hit_id is None:
                break
            try:
                return self.accept(worker, hit_id)
            except SiteError as error:
                if error.status != 409 or "no longer available" not in error.message:
                    raise
        raise SiteError("There are no more HITs in this group that you can accept.", 404)

    def accept(self, worker: Row, hit_id: str) -> str:
        """Take a slot of the HIT; the new (or the worker's running) assignment's ID."""
        self.settle()
        now = self.clock.now()
        with self.store.transaction() as conn:
            hit = conn.execute("SELECT * FROM mturk.hits WHERE hit_id = %s FOR UPDATE", (hit_id,)).fetchone()
            if hit is None or hit["status"] == "Disposed":
                raise SiteError("This HIT does not exist (any more).", 404)
            mine = conn.execute(
                """SELECT * FROM mturk.assignments WHERE hit_id = %s AND worker_id = %s
                   AND status NOT IN ('Returned', 'Abandoned')""",
                (hit_id, worker["worker_id"]),
            ).fetchone()
            if mine is not None:
                if mine["status"] == "Accepted":
                    return str(mine["assignment_id"])
                raise SiteError("You have already submitted work for this HIT; each worker can do a HIT once.", 409)
            if conn.execute(
                "SELECT 1 FROM mturk.worker_blocks WHERE requester = %s AND worker_id = %s",
                (hit["requester"], worker["worker_id"]),
            ).fetchone():
                raise SiteError("This requester does not accept your work.", 403)
            if self.status(hit, now) != "Assignable":
                raise SiteError("This HIT is no longer available: every assignment is taken or it has expired.", 409)
            requirements = hit["qualification_requirements"] or []
            values = worker_values(conn, worker)
            if not permissions(requirements, values)["accept"]:
                explained = explain(requirements, values, type_names(conn, [requirements]))
                unmet = [e["text"] for e in explained if not e["met"]]
                raise SiteError("You do not meet this HIT's qualification requirements: " + "; ".join(unmet) + ".", 403)
            assignment_id = new_id()
            conn.execute(
                """INSERT INTO mturk.assignments (assignment_id, hit_id, requester, worker_id, status, accept_time,
                       deadline, updated_at) VALUES (%s, %s, %s, %s, 'Accepted', %s, %s, %s)""",
                (
                    assignment_id,
                    hit_id,
                    hit["requester"],
                    worker["worker_id"],
                    now,
                    now + timedelta(seconds=hit["assignment_duration_seconds"]),
                    now,
                ),
            )
            conn.execute(
                "UPDATE mturk.hits SET assignments_pending = assignments_pending + 1, updated_at = %s "
                "WHERE hit_id = %s",
                (now, hit_id),
            )
        return assignment_id

    def assignment_for_worker(self, worker_id: str, assignment_id: str) -> tuple[Row, Row]:
        """(assignment, HIT) of one of the worker's own assignments."""
        self.settle()
        with self.store.transaction() as conn:
            row = conn.execute("SELECT * FROM mturk.assignments WHERE assignment_id = %s", (assignment_id,)).fetchone()
            if row is None or row["worker_id"] != worker_id:
                raise SiteError("There is no such assignment of yours.", 404)
            hit = conn.execute("SELECT * FROM mturk.hits WHERE hit_id = %s", (row["hit_id"],)).fetchone()
        assert hit is not None
        return row, hit

    def assignment_by_id(self, assignment_id: str) -> tuple[Row, Row] | None:
        """(assignment, HIT) by the assignment ID alone (the HIT frame; the ID is the capability)."""
        with self.store.transaction() as conn:
            row = conn.execute("SELECT * FROM mturk.assignments WHERE assignment_id = %s", (assignment_id,)).fetchone()
            if row is None:
                return None
            hit = conn.execute("SELECT * FROM mturk.hits WHERE hit_id = %s", (row["hit_id"],)).fetchone()
        assert hit is not None
        return row, hit

    def _lock_assignment(self, conn: psycopg.Connection[Row], assignment_id: str) -> tuple[Row, Row]:
        first = conn.execute(
            "SELECT hit_id FROM mturk.assignments WHERE assignment_id = %s", (assignment_id,)
        ).fetchone()
        if first is None:
            raise SiteError(f"Assignment {assignment_id} does not exist.", 404)
        hit = conn.execute("SELECT * FROM mturk.hits WHERE hit_id = %s FOR UPDATE", (first["hit_id"],)).fetchone()
        row = conn.execute(
            "SELECT * FROM mturk.assignments WHERE assignment_id = %s FOR UPDATE", (assignment_id,)
        ).fetchone()
        assert hit is not None and row is not None
        return hit, row

    @staticmethod
    def _not_open(row: Row) -> SiteError:
        status = row["status"]
        if status in ("Submitted", "Approved", "Rejected"):
            return SiteError("This assignment has already been submitted; it cannot be submitted again.", 409)
        if status == "Returned":
            return SiteError("This assignment was returned; accept the HIT again to work on it.", 409)
        return SiteError("The time allotted for this assignment ran out; it can no longer be submitted.", 410)

    def return_assignment(self, worker_id: str, assignment_id: str) -> None:
        """Give the slot back (only while the assignment is being worked on)."""
        self.settle()
        now = self.clock.now()
        with self.store.transaction() as conn:
            hit, row = self._lock_assignment(conn, assignment_id)
            if row["worker_id"] != worker_id:
                raise SiteError("There is no such assignment of yours.", 404)
            if row["status"] in ("Submitted", "Approved", "Rejected"):
                raise SiteError("You already submitted this HIT, so there is nothing to return.", 409)
            if row["status"] != "Accepted":
                raise self._not_open(row)
            conn.execute(
                "UPDATE mturk.assignments SET status = 'Returned', updated_at = %s WHERE assignment_id = %s",
                (now, assignment_id),
            )
            conn.execute(
                "UPDATE mturk.hits SET assignments_pending = assignments_pending - 1, updated_at = %s "
                "WHERE hit_id = %s",
                (now, hit["hit_id"]),
            )

    def submit_assignment(
        self, assignment_id: str, fields: list[tuple[str, str]], worker_id: str | None = None
    ) -> tuple[Row, Row]:
        """Store the form's fields as QuestionFormAnswers XML; the assignment becomes Submitted.

        ``worker_id``: the signed-in worker posting the form, if the request carried a session;
        another worker's assignment then does not exist for them.
        """
        self.settle()
        now = self.clock.now()
        with self.store.transaction() as conn:
            hit, row = self._lock_assignment(conn, assignment_id)
            if worker_id is not None and row["worker_id"] != worker_id:
                raise SiteError("There is no such assignment of yours.", 404)
            if row["status"] != "Accepted":
                raise self._not_open(row)
            if now >= row["deadline"]:
                raise self._not_open({**row, "status": "Abandoned"})
            selections = (
                question_xml.selection_fields(hit["question"]) if hit["question_kind"] == "QuestionForm" else set()
            )
            answer = answer_xml([(name, value) for name, value in fields if name != "assignmentId"], selections)
            if len(answer.encode("utf-8")) > MAX_ANSWER_BYTES:
                raise SiteError(
                    f"This answer is too large: {len(answer.encode('utf-8'))} bytes once stored, and an answer "
                    f"can take at most {MAX_ANSWER_BYTES} bytes. Nothing was submitted; shorten it and try again.",
                    413,
                )
            updated = conn.execute(
                """UPDATE mturk.assignments SET status = 'Submitted', submit_time = %s, auto_approval_time = %s,
                       answer = %s, updated_at = %s WHERE assignment_id = %s RETURNING *""",
                (now, now + timedelta(seconds=hit["auto_approval_delay_seconds"]), answer, now, assignment_id),
            ).fetchone()
            conn.execute(
                """UPDATE mturk.hits SET assignments_pending = assignments_pending - 1,
                       assignments_submitted = assignments_submitted + 1, updated_at = %s WHERE hit_id = %s""",
                (now, hit["hit_id"]),
            )
        assert updated is not None
        return updated, hit

    def dashboard(self, worker_id: str) -> dict[str, Any]:
        """The worker's assignments, earnings, bonuses and messages."""
        self.settle()
        with self.store.transaction() as conn:
            assignments = conn.execute(
                """SELECT x.*, h.title, h.reward, a.name AS requester_name FROM mturk.assignments x
                   JOIN mturk.hits h ON h.hit_id = x.hit_id JOIN mturk.accounts a ON a.requester = x.requester
                   WHERE x.worker_id = %s AND x.status NOT IN ('Returned')
                   ORDER BY x.accept_time DESC LIMIT 500""",
                (worker_id,),
            ).fetchall()
            bonuses = conn.execute(
                """SELECT b.*, a.name AS requester_name FROM mturk.bonus_payments b
                   JOIN mturk.accounts a ON a.requester = b.requester
                   WHERE b.worker_id = %s ORDER BY b.grant_time DESC LIMIT 200""",
                (worker_id,),
            ).fetchall()
            messages = conn.execute(
                """SELECT m.*, a.name AS requester_name FROM mturk.messages m
                   JOIN mturk.accounts a ON a.requester = m.requester
                   WHERE m.worker_id = %s ORDER BY m.sent_at DESC LIMIT 100""",
                (worker_id,),
            ).fetchall()
            totals = conn.execute(
                """SELECT coalesce(sum(h.reward) FILTER (WHERE x.status = 'Approved'), 0) AS approved,
                          coalesce(sum(h.reward) FILTER (WHERE x.status = 'Submitted'), 0) AS pending,
                          count(*) FILTER (WHERE x.status = 'Submitted') AS n_submitted,
                          count(*) FILTER (WHERE x.status = 'Approved') AS n_approved,
                          count(*) FILTER (WHERE x.status = 'Rejected') AS n_rejected
                   FROM mturk.assignments x JOIN mturk.hits h ON h.hit_id = x.hit_id WHERE x.worker_id = %s""",
                (worker_id,),
            ).fetchone()
            bonus_total = conn.execute(
                "SELECT coalesce(sum(amount), 0) AS total FROM mturk.bonus_payments WHERE worker_id = %s", (worker_id,)
            ).fetchone()
        assert totals is not None and bonus_total is not None
        bonus_sum: Decimal = bonus_total["total"]
        return {
            "assignments": assignments,
            "bonuses": bonuses,
            "messages": messages,
            "earned": totals["approved"] + bonus_sum,
            "rewards": totals["approved"],
            "bonus_total": bonus_sum,
            "pending": totals["pending"],
            "counts": {
                "Submitted": totals["n_submitted"],
                "Approved": totals["n_approved"],
                "Rejected": totals["n_rejected"],
            },
        }

    def operator_overview(self) -> dict[str, Any]:
        """Requesters, workers and HIT progress for the operator page (no secrets)."""
        from hit_service.core.identity import list_requesters

        self.settle()
        now = self.clock.now()
        requesters = list_requesters(self.store)
        with self.store.transaction() as conn:
            workers = conn.execute(
                """SELECT w.worker_id, w.name, w.locale_country, w.locale_subdivision,
                          count(x.*) FILTER (WHERE x.status = 'Submitted') AS submitted,
                          count(x.*) FILTER (WHERE x.status = 'Approved') AS approved,
                          count(x.*) FILTER (WHERE x.status = 'Rejected') AS rejected
                   FROM mturk.workers w LEFT JOIN mturk.assignments x ON x.worker_id = w.worker_id
                   GROUP BY w.worker_id ORDER BY w.name"""
            ).fetchall()
            hits = conn.execute(
                f"""SELECT h.*, a.name AS requester_name, ({status_sql()}) AS live_status
                    FROM mturk.hits h JOIN mturk.accounts a ON a.requester = h.requester
                    ORDER BY h.creation_time DESC, h.hit_id DESC LIMIT 200""",
                {"now": now},
            ).fetchall()
            total = conn.execute("SELECT count(*) AS n FROM mturk.hits").fetchone()
        return {"requesters": requesters, "workers": workers, "hits": hits, "hit_count": total["n"] if total else 0}

"""The worker's side of the lifecycle: find HITs, accept, return, submit; dashboards.

Used by the worker site (``site``). The rules are MTurk's: a worker sees only HIT groups that
are Assignable, from requesters who have not blocked them, and whose requirements let them
discover the group; accepting takes one slot (``NumberOfAssignmentsPending``), at most one
assignment per worker per HIT, and starts the clock (``Deadline`` = accept time +
AssignmentDurationInSeconds). A submission after the deadline is refused and the slot is
freed (the assignment is Abandoned). Returning frees the slot at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import psycopg

from hit_service.core import answer_rules, question_xml
from hit_service.core.clock import Clock
from hit_service.core.database import Row, Store
from hit_service.core.hit_records import HitRecords
from hit_service.core.lifecycle import answer_xml
from hit_service.core.requirements import explain, permissions, type_names, worker_values
from hit_service.core.rules import new_id
from hit_service.limits import MAX_ANSWER_BYTES

GROUP_LIMIT = 200


class SiteError(Exception):
    """Something a worker tried cannot be done; shown on a page with ``status``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class WorkerSite:
    """What the worker site does, handed the store, the clock and the HIT side."""

    def __init__(self, store: Store, clock: Clock, hits: HitRecords, settle: Callable[[], None]) -> None:
        self.store = store
        self.clock = clock
        self.hits = hits
        self.settle = settle  # the lifecycle's time-driven transitions, run before reading state

    def worker(self, worker_id: str) -> Row | None:
        with self.store.transaction() as conn:
            return self.store.workers.worker_row(conn, (worker_id,)).fetchone()

    def hit_groups(self, worker: Row) -> list[dict[str, Any]]:
        """HIT groups the worker can discover, newest first, with how many HITs they can take."""
        self.settle()
        now = self.clock.now()
        with self.store.transaction() as conn:
            rows = self.store.workers.discoverable_groups(
                conn, {"now": now, "w": worker["worker_id"], "limit": GROUP_LIMIT}
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

    def hit_for_worker(self, worker: Row, hit_id: str) -> tuple[Row, dict[str, Any], Row | None]:
        """(HIT, what the worker may do with it, their live assignment on it if any)."""
        self.settle()
        with self.store.transaction() as conn:
            hit = self.store.workers.hit_with_requester_name(conn, (hit_id,)).fetchone()
            if hit is None or hit["status"] == "Disposed":
                raise SiteError("This HIT does not exist (any more).", 404)
            values = worker_values(conn, worker)
            blocked = self.store.assignments.is_blocked(conn, (hit["requester"], worker["worker_id"])).fetchone()
            mine = self.store.assignments.open_assignment_of_worker(conn, (hit_id, worker["worker_id"])).fetchone()
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
            row = self.store.workers.next_hit_of_group(
                conn, {"g": hit_group_id, "now": now, "w": worker["worker_id"]}
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
            hit = self.store.hits.lock_hit(conn, (hit_id,)).fetchone()
            if hit is None or hit["status"] == "Disposed":
                raise SiteError("This HIT does not exist (any more).", 404)
            mine = self.store.assignments.open_assignment_of_worker(conn, (hit_id, worker["worker_id"])).fetchone()
            if mine is not None:
                if mine["status"] == "Accepted":
                    return str(mine["assignment_id"])
                raise SiteError("You have already submitted work for this HIT; each worker can do a HIT once.", 409)
            if self.store.assignments.is_blocked(conn, (hit["requester"], worker["worker_id"])).fetchone():
                raise SiteError("This requester does not accept your work.", 403)
            if self.hits.status(hit, now) != "Assignable":
                raise SiteError("This HIT is no longer available: every assignment is taken or it has expired.", 409)
            requirements = hit["qualification_requirements"] or []
            values = worker_values(conn, worker)
            if not permissions(requirements, values)["accept"]:
                explained = explain(requirements, values, type_names(conn, [requirements]))
                unmet = [e["text"] for e in explained if not e["met"]]
                raise SiteError("You do not meet this HIT's qualification requirements: " + "; ".join(unmet) + ".", 403)
            assignment_id = new_id()
            self.store.assignments.insert_accepted(
                conn,
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
            self.store.hits.count_accepted(conn, (now, hit_id))
        return assignment_id

    def assignment_for_worker(self, worker_id: str, assignment_id: str) -> tuple[Row, Row]:
        """(assignment, HIT) of one of the worker's own assignments."""
        self.settle()
        with self.store.transaction() as conn:
            row = self.store.assignments.by_id(conn, (assignment_id,)).fetchone()
            if row is None or row["worker_id"] != worker_id:
                raise SiteError("There is no such assignment of yours.", 404)
            hit = self.store.hits.by_id(conn, (row["hit_id"],)).fetchone()
        assert hit is not None
        return row, hit

    def assignment_by_id(self, assignment_id: str) -> tuple[Row, Row] | None:
        """(assignment, HIT) by the assignment ID alone (the HIT frame; the ID is the capability)."""
        with self.store.transaction() as conn:
            row = self.store.assignments.by_id(conn, (assignment_id,)).fetchone()
            if row is None:
                return None
            hit = self.store.hits.by_id(conn, (row["hit_id"],)).fetchone()
        assert hit is not None
        return row, hit

    def _lock_assignment(self, conn: psycopg.Connection[Row], assignment_id: str) -> tuple[Row, Row]:
        first = self.store.assignments.hit_id_of(conn, (assignment_id,)).fetchone()
        if first is None:
            raise SiteError(f"Assignment {assignment_id} does not exist.", 404)
        hit = self.store.hits.lock_hit(conn, (first["hit_id"],)).fetchone()
        row = self.store.assignments.lock_assignment(conn, (assignment_id,)).fetchone()
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
            self.store.assignments.mark_returned(conn, (now, assignment_id))
            self.store.hits.count_returned(conn, (now, hit["hit_id"]))

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
            posted = [(name, value) for name, value in fields if name != "assignmentId"]
            selections: set[str] = set()
            others: dict[str, str] = {}
            if hit["question_kind"] == "QuestionForm":
                form = question_xml.question_form(hit["question"])
                try:
                    posted, others = answer_rules.conform(form, posted)
                except answer_rules.AnswerProblems as exc:
                    raise SiteError(
                        "These answers do not meet the task's rules, so nothing was submitted: "
                        + "; ".join(exc.problems)
                        + ". Go back, correct them and submit again.",
                        400,
                    ) from None
                selections = {q.ident for q in form.questions if q.answer in question_xml.SELECTION_KINDS}
            answer = answer_xml(posted, selections, others)
            if len(answer.encode("utf-8")) > MAX_ANSWER_BYTES:
                raise SiteError(
                    f"This answer is too large: {len(answer.encode('utf-8'))} bytes once stored, and an answer "
                    f"can take at most {MAX_ANSWER_BYTES} bytes. Nothing was submitted; shorten it and try again.",
                    413,
                )
            updated = self.store.assignments.mark_submitted(
                conn, (now, now + timedelta(seconds=hit["auto_approval_delay_seconds"]), answer, now, assignment_id)
            ).fetchone()
            self.store.hits.count_submitted(conn, (now, hit["hit_id"]))
        assert updated is not None
        return updated, hit

    def dashboard(self, worker_id: str) -> dict[str, Any]:
        """The worker's assignments, earnings, bonuses and messages."""
        self.settle()
        with self.store.transaction() as conn:
            assignments = self.store.workers.dashboard_assignments(conn, (worker_id,)).fetchall()
            bonuses = self.store.workers.dashboard_bonuses(conn, (worker_id,)).fetchall()
            messages = self.store.workers.dashboard_messages(conn, (worker_id,)).fetchall()
            totals = self.store.workers.dashboard_totals(conn, (worker_id,)).fetchone()
            bonus_total = self.store.workers.bonus_total(conn, (worker_id,)).fetchone()
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
            workers = self.store.workers.overview_workers(conn).fetchall()
            hits = self.store.workers.overview_hits(conn, {"now": now}).fetchall()
            total = self.store.hits.count_all(conn).fetchone()
        return {"requesters": requesters, "workers": workers, "hits": hits, "hit_count": total["n"] if total else 0}

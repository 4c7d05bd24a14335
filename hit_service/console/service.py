"""What the console does, on the API's own backend.

Every change a requester makes in the console is an MTurk operation run through
``MTurkBackend`` after the same input validation the wire API applies (``Console.call``), so an
approval in the console is exactly what ``ListAssignmentsForHIT`` reports and a HIT made through
the API shows in the console. The console adds only what MTurk's requester UI kept for itself:
projects (which are HIT layouts), batches and their CSV rows.

Every lookup is scoped to the signed-in user's requester account: another account's project,
batch, HIT or worker is "not found", never "forbidden", so IDs cannot be probed.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from hit_service.api.validation import validate
from hit_service.console import csvfiles, summary
from hit_service.console.cancel import Canceller
from hit_service.console.publishing import BatchPublisher
from hit_service.core import layouts
from hit_service.core.database import Row
from hit_service.core.exceptions import RequestError
from hit_service.core.models import MTurkBackend
from hit_service.core.requirements import SYSTEM_TYPES, check_requirements
from hit_service.core.rules import new_id
from mturk_money import assignment_fee, cents, format_money, hit_cost

logger = logging.getLogger("hit_service.console")

API_BATCH = "api"
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")  # every ID this service issues (and MTurk's) fits


def _id(kind: str, value: str) -> str:
    """``value`` when it can be an ID at all; NotFound otherwise (never a database error)."""
    if not ID_RE.match(value):
        raise NotFound(f"{kind} {value!r}")
    return value


class NotFound(Exception):
    """Nothing of that ID in this requester's account."""


class FormError(ValueError):
    """A form the console cannot accept; the message says why."""


class Console:
    """The console's operations for one service process (thread-safe)."""

    def __init__(self, backend: MTurkBackend) -> None:
        self.backend = backend
        self.store = backend.store
        self.publisher = BatchPublisher(backend, self.call)
        self.canceller = Canceller(self)

    # -- the API's path ---------------------------------------------------------------------

    def call(self, requester: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run an MTurk operation as the wire API would: validated, then the backend's handler."""
        cleaned = validate(operation, params)
        handler = self.backend.handlers()[operation]
        result: dict[str, Any] = handler(requester, cleaned)
        return result

    def balance(self, requester: str) -> Decimal:
        return Decimal(self.call(requester, "GetAccountBalance", {})["AvailableBalance"])

    # -- projects ---------------------------------------------------------------------------

    def projects(self, requester: str) -> list[Row]:
        with self.store.transaction() as conn:
            return self.store.console.projects_with_counts(conn, (requester,)).fetchall()

    def project(self, requester: str, layout_id: str) -> Row:
        _id("project", layout_id)
        with self.store.transaction() as conn:
            row = self.store.console.project(conn, (layout_id, requester)).fetchone()
        if row is None:
            raise NotFound(f"project {layout_id}")
        return row

    def save_project(self, requester: str, layout_id: str | None, values: dict[str, Any]) -> str:
        """Create (``layout_id`` None) or update a project after checking it as CreateHIT would."""
        params = {
            "Title": values["title"],
            "Description": values["description"],
            "Keywords": values["keywords"] or None,
            "Reward": values["reward"],
            "AssignmentDurationInSeconds": values["assignment_duration_seconds"],
            "LifetimeInSeconds": values["lifetime_seconds"],
            "AutoApprovalDelayInSeconds": values["auto_approval_delay_seconds"],
            "MaxAssignments": values["max_assignments"],
            "QualificationRequirements": values["qualification_requirements"] or None,
            "HITLayoutId": layout_id or "NEWPROJECT",
        }
        if not values["name"].strip():
            raise FormError("Give the project a name.")
        if not values["template"].strip():
            raise FormError("The task template is empty.")
        if not layouts.placeholders(values["template"]) and "${" in values["template"]:
            raise FormError("Placeholders look like ${name}: letters, digits and _ only.")
        try:
            validate("CreateHIT", params)
        except RequestError as exc:
            raise FormError(exc.message) from None
        now = self.backend.clock.now()
        row = {
            "requester": requester,
            "name": values["name"].strip(),
            "title": values["title"],
            "description": values["description"],
            "keywords": values["keywords"] or None,
            "reward": cents(Decimal(values["reward"])),
            "max_assignments": values["max_assignments"],
            "assignment_duration_seconds": values["assignment_duration_seconds"],
            "lifetime_seconds": values["lifetime_seconds"],
            "auto_approval_delay_seconds": values["auto_approval_delay_seconds"],
            "qualification_requirements": Jsonb(values["qualification_requirements"]),
            "template": values["template"],
            "sample_values": Jsonb(values["sample_values"]),
            "now": now,
        }
        with self.store.transaction() as conn:
            try:
                check_requirements(conn, values["qualification_requirements"])
            except RequestError as exc:
                raise FormError(exc.message) from None
            if layout_id is None:
                layout_id = new_id()
                self.store.console.insert_project(conn, {**row, "layout_id": layout_id})
            else:
                updated = self.store.console.update_project(conn, {**row, "layout_id": layout_id})
                if updated.rowcount == 0:
                    raise NotFound(f"project {layout_id}")
        layouts.forget_project(requester, layout_id)
        return layout_id

    def qualification_choices(self, requester: str) -> list[tuple[str, str]]:
        """(type ID, label) for requirement pickers: system types, then the account's own."""
        choices = [(type_id, name.replace("_", " ")) for type_id, name in SYSTEM_TYPES.items()]
        with self.store.transaction() as conn:
            own = self.store.quals.choices_of_requester(conn, (requester,)).fetchall()
        return choices + [(r["qualification_type_id"], r["name"]) for r in own]

    # -- batches: upload and draft ------------------------------------------------------------

    def create_draft(
        self, requester: str, project: Row, name: str, file_name: str, checked: csvfiles.CheckedFile
    ) -> int:
        """A batch not yet published: its rows and the project's properties as they are now."""
        properties = {
            "Title": project["title"],
            "Description": project["description"],
            "Keywords": project["keywords"],
            "Reward": format_money(project["reward"]),
            "AssignmentDurationInSeconds": project["assignment_duration_seconds"],
            "AutoApprovalDelayInSeconds": project["auto_approval_delay_seconds"],
            "QualificationRequirements": project["qualification_requirements"] or [],
            "LifetimeInSeconds": project["lifetime_seconds"],
            "MaxAssignments": project["max_assignments"],
        }
        now = self.backend.clock.now()
        with self.store.transaction() as conn:
            # A new upload replaces the project's unpublished one: drafts never pile up in the list.
            self.store.batches.drop_drafts(conn, requester, project["layout_id"])
            row = self.store.console.insert_draft(
                conn,
                (
                    requester,
                    project["layout_id"],
                    name,
                    file_name,
                    checked.sha256,
                    Jsonb(list(checked.rows[0].keys())),
                    len(checked.rows),
                    Jsonb(properties),
                    now,
                    Jsonb(checked.extra),
                    checked.delimiter,
                ),
            ).fetchone()
            assert row is not None
            batch_id = int(row["batch_id"])
            with conn.cursor().copy('COPY mturk.batch_rows (batch_id, row_number, "values") FROM STDIN') as copy:
                for number, values in enumerate(checked.rows, start=1):
                    copy.write_row((batch_id, number, json.dumps(values)))
        return batch_id

    def batch(self, requester: str, batch_id: int) -> Row:
        if not 0 < batch_id < 2**63:
            raise NotFound(f"batch {batch_id}")  # not a bigint: no such batch, not a database error
        with self.store.transaction() as conn:
            row = self.store.console.batch_with_project(conn, (batch_id, requester)).fetchone()
        if row is None:
            raise NotFound(f"batch {batch_id}")
        return row

    def batches(self, requester: str) -> list[Row]:
        self.backend.settle()
        with self.store.transaction() as conn:
            return self.store.console.batches_with_counts(conn, (requester,)).fetchall()

    def batch_rows(self, batch_id: int, limit: int) -> list[Row]:
        with self.store.transaction() as conn:
            return self.store.console.batch_rows(conn, (batch_id, limit)).fetchall()

    def batch_row(self, requester: str, batch_id: int, row_number: int) -> Row:
        self.batch(requester, batch_id)
        if not 0 < row_number < 2**31:
            raise NotFound(f"row {row_number}")
        with self.store.transaction() as conn:
            row = self.store.console.batch_row(conn, (batch_id, row_number)).fetchone()
        if row is None:
            raise NotFound(f"row {row_number}")
        return row

    @staticmethod
    def cost(properties: dict[str, Any], hits: int) -> dict[str, Decimal]:
        """Rewards, fees and total of ``hits`` HITs with MTurk's fee rules (the service's own)."""
        reward = Decimal(properties["Reward"])
        assignments = int(properties["MaxAssignments"])
        fee = assignment_fee(reward, assignments)
        return {
            "per_hit": hit_cost(reward, assignments),
            "rewards": reward * assignments * hits,
            "fees": fee * assignments * hits,
            "total": hit_cost(reward, assignments) * hits,
            "fee_per_assignment": fee,
        }

    def delete_draft(self, requester: str, batch_id: int) -> None:
        """Discard the account's unpublished batch: NotFound when it has no such batch (another
        account's is not found either), FormError when the batch is already published."""
        batch = self.batch(requester, batch_id)
        with self.store.transaction() as conn:
            deleted = self.store.console.delete_draft(conn, (batch_id, requester)).fetchone()
        if deleted is None:
            raise FormError(f"Batch {batch['batch_id']} is published: it can be cancelled, not discarded.")

    # -- batches: publishing ------------------------------------------------------------------

    def publish(self, requester: str, batch_id: int) -> None:
        """Mark the draft for publishing and start the publisher (it runs in the background)."""
        now = self.backend.clock.now()
        with self.store.transaction() as conn:
            updated = self.store.console.mark_publishing(conn, (now, batch_id, requester)).fetchone()
        if updated is None:
            raise FormError("This batch is not waiting to be published.")
        self.start(batch_id)

    def resume_if_stalled(self, batch: Row) -> bool:
        """Restart an interrupted publish (``BatchPublisher.resume_if_stalled``)."""
        return self.publisher.resume_if_stalled(batch)

    def start(self, batch_id: int) -> None:
        self.publisher.start(batch_id)

    def wait(self, batch_id: int, timeout: float) -> None:
        """Wait for this process's publisher of ``batch_id`` (tests, the demo)."""
        self.publisher.wait(batch_id, timeout)

    # -- batches: progress, review -------------------------------------------------------------

    def progress(self, requester: str, batch_id: int) -> dict[str, Any]:
        """Publishing and work progress of a batch (``batch_id`` None: the account's API HITs)."""
        self.backend.settle()
        now = self.backend.clock.now()
        batch = self.batch(requester, batch_id)
        self.resume_if_stalled(batch)
        self.canceller.resume_if_stalled(batch)
        with self.store.transaction() as conn:
            money = summary.batch_money(conn, batch_id)
            counts = self.store.console.progress_hits(conn, {"b": batch_id, "now": now}).fetchone()
            statuses = {r["status"]: int(r["n"]) for r in self.store.console.progress_assignments(conn, (batch_id,))}
        assert counts is not None
        expiration = counts["expiration"]
        seconds_left = max(int((expiration - now).total_seconds()), 0) if expiration else 0
        batch = self.batch(requester, batch_id)
        to_publish = batch["row_count"] - batch["skipped_rows"]
        cancelling = batch["status"] == "cancelled" and batch["cancel_finished_at"] is None
        return {
            "time_left": summary.time_left(
                batch["status"], seconds_left, int(batch["properties"]["LifetimeInSeconds"]), bool(counts["hits"])
            ),
            "cancel_total": batch["cancel_total"],
            "cancel_done": batch["cancel_done"],
            "cancelling": cancelling,
            "cancel_percent": round(100 * batch["cancel_done"] / batch["cancel_total"])
            if batch["cancel_total"]
            else (0 if cancelling else 100),
            "skipped_rows": batch["skipped_rows"],
            "money": summary.as_strings(money),
            "batch_id": batch_id,
            "status": batch["status"],
            "error": batch["error"],
            "rows": to_publish,
            "created": batch["created_hits"],
            "percent": min(round(100 * batch["created_hits"] / to_publish), 100) if to_publish else 100,
            "available": int(counts["available"]),
            "pending": int(counts["pending"]),
            "submitted": statuses.get("Submitted", 0),
            "approved": statuses.get("Approved", 0),
            "rejected": statuses.get("Rejected", 0),
            "seconds_left": seconds_left,
            "spent": summary.as_strings({"spent": money["total"]})["spent"],
        }

    def assignments(
        self, requester: str, batch_id: int | None, status: str | None, limit: int = 200, offset: int = 0
    ) -> list[Row]:
        """A batch's assignments (or the API HITs' when ``batch_id`` is None) with their inputs."""
        self.backend.settle()
        with self.store.transaction() as conn:
            return self.store.console.assignments_with_inputs(conn, requester, batch_id, status, limit, offset)

    def api_hits(self, requester: str, limit: int = 200) -> list[Row]:
        """The account's HITs that no console batch made (created through the API)."""
        self.backend.settle()
        with self.store.transaction() as conn:
            return self.store.console.api_hits(conn, (requester, limit)).fetchall()

    def review(
        self, requester: str, assignment_ids: list[str], action: str, feedback: str, *, batch_id: int | None = None
    ) -> list[csvfiles.ReviewResult]:
        """Approve or reject assignments through the API's operations, reporting each one."""
        decisions = [csvfiles.Decision(i + 1, a, action, feedback) for i, a in enumerate(assignment_ids)]
        return self.apply(requester, decisions, batch_id=batch_id)

    def apply(
        self, requester: str, decisions: list[csvfiles.Decision], *, batch_id: int | None = None
    ) -> list[csvfiles.ReviewResult]:
        """Apply review decisions; an assignment already in the asked state is skipped, not redone."""
        results: list[csvfiles.ReviewResult] = []
        in_batch: set[str] | None = None
        if batch_id is not None:
            with self.store.transaction() as conn:
                in_batch = {
                    r["assignment_id"]
                    for r in self.store.console.assignment_ids_for_review(
                        conn, (batch_id, [d.assignment_id for d in decisions if ID_RE.match(d.assignment_id)])
                    )
                }
        for d in decisions:
            if d.error:
                results.append(csvfiles.ReviewResult(d.row, d.assignment_id, d.action or "?", "failed", d.error))
                continue
            if not d.action:
                continue
            if in_batch is not None and d.assignment_id not in in_batch:
                results.append(
                    csvfiles.ReviewResult(
                        d.row, d.assignment_id, d.action, "failed", "no such assignment in this batch"
                    )
                )
                continue
            results.append(self._decide(requester, d))
        return results

    def _decide(self, requester: str, d: csvfiles.Decision) -> csvfiles.ReviewResult:
        try:
            current = self.call(requester, "GetAssignment", {"AssignmentId": d.assignment_id})["Assignment"]
        except RequestError as exc:
            return csvfiles.ReviewResult(d.row, d.assignment_id, d.action, "failed", exc.message)
        status = current["AssignmentStatus"]
        try:
            if d.action == "approve":
                if status == "Approved":
                    return csvfiles.ReviewResult(d.row, d.assignment_id, d.action, "skipped", "already approved")
                params: dict[str, Any] = {"AssignmentId": d.assignment_id}
                if d.feedback:
                    params["RequesterFeedback"] = d.feedback
                if status == "Rejected":
                    params["OverrideRejection"] = True
                self.call(requester, "ApproveAssignment", params)
                note = "approved (rejection overridden)" if status == "Rejected" else "approved"
                return csvfiles.ReviewResult(d.row, d.assignment_id, d.action, "applied", note)
            if status == "Rejected":
                return csvfiles.ReviewResult(d.row, d.assignment_id, d.action, "skipped", "already rejected")
            if status == "Approved":
                return csvfiles.ReviewResult(
                    d.row, d.assignment_id, d.action, "failed", "already approved; an approval cannot be undone"
                )
            if not d.feedback.strip():
                return csvfiles.ReviewResult(d.row, d.assignment_id, d.action, "failed", "a rejection needs a reason")
            self.call(requester, "RejectAssignment", {"AssignmentId": d.assignment_id, "RequesterFeedback": d.feedback})
            return csvfiles.ReviewResult(d.row, d.assignment_id, d.action, "applied", "rejected")
        except RequestError as exc:
            return csvfiles.ReviewResult(d.row, d.assignment_id, d.action, "failed", exc.message)

    def cancel(self, requester: str, batch_id: int) -> None:
        """Stop publishing and start releasing the batch's untaken slots (``cancel.Canceller``)."""
        self.batch(requester, batch_id)
        with self.store.transaction() as conn:
            if not self.store.batches.mark_cancelled(conn, requester, batch_id, self.backend.clock.now()):
                raise FormError("This batch is not published, or is cancelled already.")
        self.canceller.start(batch_id)

    def add_assignments(self, requester: str, batch_id: int, extra: int, nonce: str) -> tuple[int, list[str]]:
        """CreateAdditionalAssignmentsForHIT on every HIT of the batch (once per form: its nonce)."""
        self.batch(requester, batch_id)
        with self.store.transaction() as conn:
            hit_ids = [r["hit_id"] for r in self.store.console.hits_of_batch(conn, (batch_id,))]
        done, problems = 0, []
        for hit_id in hit_ids:
            try:
                self.call(
                    requester,
                    "CreateAdditionalAssignmentsForHIT",
                    {
                        "HITId": hit_id,
                        "NumberOfAdditionalAssignments": extra,
                        "UniqueRequestToken": f"{nonce}-{hit_id}"[:64],
                    },
                )
                done += 1
            except RequestError as exc:
                problems.append(f"{hit_id}: {exc.message}")
        return done, problems

    # -- results CSV ----------------------------------------------------------------------------

    def results_csv(self, requester: str, batch_id: int) -> Iterator[bytes]:
        """MTurk's batch results CSV, streamed: two passes over a server-side cursor, no list in memory."""
        batch = self.batch(requester, batch_id)
        self.backend.settle()
        variables = list(batch["variables"])
        now = self.backend.clock.now()
        query = {"b": batch_id, "req": requester, "d30": now - timedelta(days=30), "d7": now - timedelta(days=7)}

        def rows(answers: list[str]) -> Iterator[list[str]]:
            yield csvfiles.results_header(variables, answers)
            with self.store.transaction() as conn, conn.cursor(name=f"results_{batch_id}") as cursor:
                cursor.itersize = 500
                self.store.console.results_rows(cursor, query)
                for row in cursor:
                    yield csvfiles.results_row(row, variables, answers, batch["row_count"])

        def answer_names() -> list[str]:
            names: dict[str, None] = {}
            with self.store.transaction() as conn, conn.cursor(name=f"answers_{batch_id}") as cursor:
                cursor.itersize = 1000
                self.store.console.answers_of_batch(cursor, (batch_id,))
                for row in cursor:
                    for name in csvfiles.answer_fields(row["answer"]):
                        names.setdefault(name, None)
            return list(names)

        def stream() -> Iterator[bytes]:
            yield from csvfiles.csv_lines(rows(answer_names()))

        return stream()

    # -- workers ------------------------------------------------------------------------------

    def workers(self, requester: str) -> list[Row]:
        """Workers who did this account's work (or are blocked by it), with their figures."""
        self.backend.settle()
        with self.store.transaction() as conn:
            return self.store.console.workers_summary(conn, {"r": requester}).fetchall()

    def worker(self, requester: str, worker_id: str) -> dict[str, Any]:
        """One worker as this account knows them; NotFound when they never met."""
        _id("worker", worker_id)
        rows = [w for w in self.workers(requester) if w["worker_id"] == worker_id]
        with self.store.transaction() as conn:
            quals = self.store.console.worker_quals(conn, (requester, worker_id)).fetchall()
            assignments = self.store.console.worker_assignments(conn, (requester, worker_id)).fetchall()
        if not rows and not quals:
            raise NotFound(f"worker {worker_id}")
        figures = rows[0] if rows else {"submitted": 0, "approved": 0, "rejected": 0, "median_seconds": None}
        return {"worker_id": worker_id, "figures": figures, "quals": quals, "assignments": assignments}

    # -- qualification types and money ----------------------------------------------------------

    def qualification_types(self, requester: str) -> list[Row]:
        with self.store.transaction() as conn:
            return self.store.console.qual_types_with_counts(conn, (requester,)).fetchall()

    def qualification_type(self, requester: str, type_id: str) -> Row:
        _id("qualification type", type_id)
        for row in self.qualification_types(requester):
            if row["qualification_type_id"] == type_id:
                return row
        raise NotFound(f"qualification type {type_id}")

    @staticmethod
    def when(moment: datetime | None) -> str:
        return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")

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
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from hit_service.api.validation import validate
from hit_service.console import csvfiles
from hit_service.core import layouts
from hit_service.core.database import Row
from hit_service.core.exceptions import HIT_ALREADY_EXISTS, INVALID_HIT_STATE, RequestError
from hit_service.core.models import MTurkBackend
from hit_service.core.quals import SYSTEM_TYPES, check_requirements
from hit_service.core.rules import new_id
from mturk_money import assignment_fee, cents, format_money, hit_cost

logger = logging.getLogger("hit_service.console")

PUBLISH_CHUNK = 50
PUBLISH_THREADS = 4  # CreateHITWithHITType calls in flight per process
HEARTBEAT_STALE = timedelta(seconds=15)
PUBLISH_LOCK_NS = 0x6863  # pg_advisory_lock(ns, batch_id): one publisher per batch, any process
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


@dataclass
class ReviewResult:
    """What happened to one row of a reviewed CSV."""

    row: int
    assignment_id: str
    action: str
    outcome: str  # "applied", "skipped" or "failed"
    message: str


def token_for(batch_id: int, row_number: int) -> str:
    """The UniqueRequestToken of a batch row: the same on every attempt, so a resume never duplicates."""
    return f"hitflow-console-{batch_id}-{row_number}"


def annotation_for(batch_id: int) -> str:
    """The RequesterAnnotation of a batch's HITs, as MTurk's requester UI wrote it."""
    return f"BatchId:{batch_id};"


class Console:
    """The console's operations for one service process (thread-safe)."""

    def __init__(self, backend: MTurkBackend) -> None:
        self.backend = backend
        self.store = backend.store
        self._running: dict[int, threading.Thread] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(PUBLISH_THREADS, thread_name_prefix="console-publish")

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
            return conn.execute(
                """SELECT p.*, (SELECT count(*) FROM mturk.batches b
                                WHERE b.layout_id = p.layout_id AND b.status <> 'draft') AS batches
                   FROM mturk.projects p WHERE p.requester = %s ORDER BY p.created_at DESC""",
                (requester,),
            ).fetchall()

    def project(self, requester: str, layout_id: str) -> Row:
        _id("project", layout_id)
        with self.store.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM mturk.projects WHERE layout_id = %s AND requester = %s", (layout_id, requester)
            ).fetchone()
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
                conn.execute(
                    """INSERT INTO mturk.projects (layout_id, requester, name, title, description, keywords, reward,
                           max_assignments, assignment_duration_seconds, lifetime_seconds,
                           auto_approval_delay_seconds, qualification_requirements, template, sample_values,
                           created_at, updated_at)
                       VALUES (%(layout_id)s, %(requester)s, %(name)s, %(title)s, %(description)s, %(keywords)s,
                           %(reward)s, %(max_assignments)s, %(assignment_duration_seconds)s, %(lifetime_seconds)s,
                           %(auto_approval_delay_seconds)s, %(qualification_requirements)s, %(template)s,
                           %(sample_values)s, %(now)s, %(now)s)""",
                    {**row, "layout_id": layout_id},
                )
            else:
                updated = conn.execute(
                    """UPDATE mturk.projects SET name = %(name)s, title = %(title)s, description = %(description)s,
                           keywords = %(keywords)s, reward = %(reward)s, max_assignments = %(max_assignments)s,
                           assignment_duration_seconds = %(assignment_duration_seconds)s,
                           lifetime_seconds = %(lifetime_seconds)s,
                           auto_approval_delay_seconds = %(auto_approval_delay_seconds)s,
                           qualification_requirements = %(qualification_requirements)s, template = %(template)s,
                           sample_values = %(sample_values)s, updated_at = %(now)s
                       WHERE layout_id = %(layout_id)s AND requester = %(requester)s""",
                    {**row, "layout_id": layout_id},
                )
                if updated.rowcount == 0:
                    raise NotFound(f"project {layout_id}")
        layouts.forget_project(requester, layout_id)
        return layout_id

    def qualification_choices(self, requester: str) -> list[tuple[str, str]]:
        """(type ID, label) for requirement pickers: system types, then the account's own."""
        choices = [(type_id, name.replace("_", " ")) for type_id, name in SYSTEM_TYPES.items()]
        with self.store.transaction() as conn:
            own = conn.execute(
                """SELECT qualification_type_id, name FROM mturk.qualification_types
                   WHERE requester = %s AND NOT deleted ORDER BY lower(name)""",
                (requester,),
            ).fetchall()
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
            row = conn.execute(
                """INSERT INTO mturk.batches (requester, layout_id, name, status, file_name, file_sha256, variables,
                       row_count, properties, created_at)
                   VALUES (%s, %s, %s, 'draft', %s, %s, %s, %s, %s, %s) RETURNING batch_id""",
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
            row = conn.execute(
                """SELECT b.*, p.name AS project_name, p.template FROM mturk.batches b
                   JOIN mturk.projects p USING (layout_id) WHERE b.batch_id = %s AND b.requester = %s""",
                (batch_id, requester),
            ).fetchone()
        if row is None:
            raise NotFound(f"batch {batch_id}")
        return row

    def batches(self, requester: str) -> list[Row]:
        self.backend.settle()
        with self.store.transaction() as conn:
            return conn.execute(
                """SELECT b.*, p.name AS project_name,
                          (SELECT count(*) FROM mturk.assignments a JOIN mturk.batch_rows r USING (hit_id)
                           WHERE r.batch_id = b.batch_id AND a.status = 'Submitted') AS to_review
                   FROM mturk.batches b JOIN mturk.projects p USING (layout_id)
                   WHERE b.requester = %s ORDER BY b.created_at DESC LIMIT 500""",
                (requester,),
            ).fetchall()

    def same_file(self, requester: str, sha256: str, exclude: int) -> list[Row]:
        """Earlier batches of this account made from a byte-identical file."""
        with self.store.transaction() as conn:
            return conn.execute(
                """SELECT batch_id, name, status, created_at FROM mturk.batches
                   WHERE requester = %s AND file_sha256 = %s AND batch_id <> %s AND status <> 'draft'
                   ORDER BY created_at""",
                (requester, sha256, exclude),
            ).fetchall()

    def batch_rows(self, batch_id: int, limit: int) -> list[Row]:
        with self.store.transaction() as conn:
            return conn.execute(
                'SELECT row_number, "values", hit_id FROM mturk.batch_rows WHERE batch_id = %s '
                "ORDER BY row_number LIMIT %s",
                (batch_id, limit),
            ).fetchall()

    def batch_row(self, requester: str, batch_id: int, row_number: int) -> Row:
        self.batch(requester, batch_id)
        if not 0 < row_number < 2**31:
            raise NotFound(f"row {row_number}")
        with self.store.transaction() as conn:
            row = conn.execute(
                'SELECT row_number, "values", hit_id FROM mturk.batch_rows WHERE batch_id = %s AND row_number = %s',
                (batch_id, row_number),
            ).fetchone()
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
        with self.store.transaction() as conn:
            conn.execute(
                "DELETE FROM mturk.batches WHERE batch_id = %s AND requester = %s AND status = 'draft'",
                (batch_id, requester),
            )

    # -- batches: publishing ------------------------------------------------------------------

    def publish(self, requester: str, batch_id: int) -> None:
        """Mark the draft for publishing and start the publisher (it runs in the background)."""
        now = self.backend.clock.now()
        with self.store.transaction() as conn:
            updated = conn.execute(
                """UPDATE mturk.batches SET status = 'publishing', published_at = %s, heartbeat = NULL, error = NULL
                   WHERE batch_id = %s AND requester = %s AND status IN ('draft', 'stopped') RETURNING batch_id""",
                (now, batch_id, requester),
            ).fetchone()
        if updated is None:
            raise FormError("This batch is not waiting to be published.")
        self.start(batch_id)

    def resume_if_stalled(self, batch: Row) -> bool:
        """Restart an interrupted publish (its process died): same tokens, so no row gets two HITs."""
        if batch["status"] != "publishing":
            return False
        with self._lock:
            running = self._running.get(batch["batch_id"])
            if running is not None and running.is_alive():
                return False
        beat = batch["heartbeat"]
        if beat is not None and self.backend.clock.now() - beat < HEARTBEAT_STALE:
            return False
        self.start(batch["batch_id"])
        return True

    def start(self, batch_id: int) -> None:
        with self._lock:
            running = self._running.get(batch_id)
            if running is not None and running.is_alive():
                return
            thread = threading.Thread(target=self._publish, args=(batch_id,), name=f"publish-{batch_id}", daemon=True)
            self._running[batch_id] = thread
            thread.start()

    def wait(self, batch_id: int, timeout: float) -> None:
        """Wait for this process's publisher of ``batch_id`` (tests, the demo)."""
        thread = self._running.get(batch_id)
        if thread is not None:
            thread.join(timeout)

    def _publish(self, batch_id: int) -> None:
        """Create the batch's missing HITs, chunk by chunk, under a lock no other process can hold."""
        try:
            with psycopg.connect(self.store.pool.conninfo, autocommit=True) as lock_conn:
                got = lock_conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (PUBLISH_LOCK_NS, batch_id)).fetchone()
                if not got or not got[0]:
                    return  # another process is publishing it
                self._publish_locked(batch_id)
        except Exception as exc:  # the batch shows the error; the operator's log has the trace
            logger.exception("publishing batch %s failed", batch_id)
            with self.store.transaction() as conn:
                conn.execute(
                    "UPDATE mturk.batches SET status = 'stopped', error = %s "
                    "WHERE batch_id = %s AND status = 'publishing'",
                    (f"publishing stopped: {exc}", batch_id),
                )

    def _publish_locked(self, batch_id: int) -> None:
        with self.store.transaction() as conn:
            batch = conn.execute("SELECT * FROM mturk.batches WHERE batch_id = %s", (batch_id,)).fetchone()
        if batch is None or batch["status"] != "publishing":
            return
        requester = batch["requester"]
        props = batch["properties"]
        hit_type_id = batch["hit_type_id"]
        if hit_type_id is None:
            type_params = {k: v for k, v in props.items() if k not in ("LifetimeInSeconds", "MaxAssignments")}
            type_params = {k: v for k, v in type_params.items() if v not in (None, [])}
            hit_type_id = self.call(requester, "CreateHITType", type_params)["HITTypeId"]
            with self.store.transaction() as conn:
                conn.execute("UPDATE mturk.batches SET hit_type_id = %s WHERE batch_id = %s", (hit_type_id, batch_id))
        while True:
            with self.store.transaction() as conn:
                state = conn.execute("SELECT status FROM mturk.batches WHERE batch_id = %s", (batch_id,)).fetchone()
                if state is None or state["status"] != "publishing":
                    return  # cancelled meanwhile
                rows = conn.execute(
                    'SELECT row_number, "values" FROM mturk.batch_rows WHERE batch_id = %s AND hit_id IS NULL '
                    "ORDER BY row_number LIMIT %s",
                    (batch_id, PUBLISH_CHUNK),
                ).fetchall()
                conn.execute(
                    "UPDATE mturk.batches SET heartbeat = %s WHERE batch_id = %s",
                    (self.backend.clock.now(), batch_id),
                )
            if not rows:
                break

            def create(row: Row) -> tuple[int, str | None, str | None]:
                """(row number, HIT ID or None, error or None) for one row."""
                params = {
                    "HITTypeId": hit_type_id,
                    "HITLayoutId": batch["layout_id"],
                    "HITLayoutParameters": [{"Name": k, "Value": v} for k, v in row["values"].items()],
                    "MaxAssignments": props["MaxAssignments"],
                    "LifetimeInSeconds": props["LifetimeInSeconds"],
                    "RequesterAnnotation": annotation_for(batch_id),
                    "UniqueRequestToken": token_for(batch_id, row["row_number"]),
                }
                try:
                    return row["row_number"], self.call(requester, "CreateHITWithHITType", params)["HIT"]["HITId"], None
                except RequestError as exc:
                    if exc.turk_error_code != HIT_ALREADY_EXISTS:
                        return row["row_number"], None, exc.message
                    return row["row_number"], exc.message.split('"')[1], None  # 'The HIT with ID "…" already exists.'

            # A few rows at once: the backend's group commit then writes them in one transaction.
            outcomes = list(self._pool.map(create, rows))
            made = [(hit_id, number) for number, hit_id, _ in outcomes if hit_id is not None]
            errors = [(number, error) for number, _, error in outcomes if error is not None]
            failure = f"row {errors[0][0]}: {errors[0][1]}" if errors else None
            with self.store.transaction() as conn:
                for hit_id, number in made:
                    conn.execute(
                        "UPDATE mturk.batch_rows SET hit_id = %s WHERE batch_id = %s AND row_number = %s",
                        (hit_id, batch_id, number),
                    )
                conn.execute(
                    """UPDATE mturk.batches SET created_hits = (SELECT count(hit_id) FROM mturk.batch_rows
                           WHERE batch_id = %(b)s), heartbeat = %(now)s WHERE batch_id = %(b)s""",
                    {"b": batch_id, "now": self.backend.clock.now()},
                )
                if failure is not None:
                    conn.execute(
                        "UPDATE mturk.batches SET status = 'stopped', error = %s WHERE batch_id = %s",
                        (failure, batch_id),
                    )
            if failure is not None:
                return
            time.sleep(0)  # let request threads in between chunks
        with self.store.transaction() as conn:
            conn.execute(
                """UPDATE mturk.batches SET status = 'published', finished_at = %s
                   WHERE batch_id = %s AND status = 'publishing'""",
                (self.backend.clock.now(), batch_id),
            )

    # -- batches: progress, review -------------------------------------------------------------

    def progress(self, requester: str, batch_id: int) -> dict[str, Any]:
        """Publishing and work progress of a batch (``batch_id`` None: the account's API HITs)."""
        self.backend.settle()
        now = self.backend.clock.now()
        batch = self.batch(requester, batch_id)
        self.resume_if_stalled(batch)
        with self.store.transaction() as conn:
            counts = conn.execute(
                """SELECT count(h.hit_id) AS hits,
                          coalesce(sum(h.assignments_pending), 0) AS pending,
                          coalesce(sum(CASE WHEN h.status = 'Disposed' OR h.expiration <= %(now)s THEN 0
                                   ELSE greatest(h.max_assignments - h.assignments_pending - h.assignments_submitted
                                                 - h.assignments_completed, 0) END), 0) AS available,
                          max(h.expiration) AS expiration
                   FROM mturk.batch_rows r JOIN mturk.hits h USING (hit_id) WHERE r.batch_id = %(b)s""",
                {"b": batch_id, "now": now},
            ).fetchone()
            statuses = {
                r["status"]: int(r["n"])
                for r in conn.execute(
                    """SELECT a.status, count(*) AS n FROM mturk.batch_rows r JOIN mturk.assignments a USING (hit_id)
                       WHERE r.batch_id = %s GROUP BY a.status""",
                    (batch_id,),
                )
            }
            spent = conn.execute(
                """SELECT coalesce(-sum(l.amount), 0) AS spent FROM mturk.ledger l
                   WHERE l.requester = %s AND l.hit_id IN (SELECT hit_id FROM mturk.batch_rows WHERE batch_id = %s)""",
                (requester, batch_id),
            ).fetchone()
        assert counts is not None and spent is not None
        expiration = counts["expiration"]
        seconds_left = max(int((expiration - now).total_seconds()), 0) if expiration else 0
        batch = self.batch(requester, batch_id)
        return {
            "batch_id": batch_id,
            "status": batch["status"],
            "error": batch["error"],
            "rows": batch["row_count"],
            "created": batch["created_hits"],
            "percent": round(100 * batch["created_hits"] / batch["row_count"]) if batch["row_count"] else 100,
            "available": int(counts["available"]),
            "pending": int(counts["pending"]),
            "submitted": statuses.get("Submitted", 0),
            "approved": statuses.get("Approved", 0),
            "rejected": statuses.get("Rejected", 0),
            "seconds_left": seconds_left,
            "spent": format_money(Decimal(spent["spent"])),
        }

    def assignments(
        self, requester: str, batch_id: int | None, status: str | None, limit: int = 200, offset: int = 0
    ) -> list[Row]:
        """A batch's assignments (or the API HITs' when ``batch_id`` is None) with their inputs."""
        self.backend.settle()
        where = "r.batch_id = %(b)s" if batch_id is not None else "r.hit_id IS NULL"
        status_filter = "AND a.status = %(s)s" if status else "AND a.status IN ('Submitted', 'Approved', 'Rejected')"
        with self.store.transaction() as conn:
            return conn.execute(
                f"""SELECT a.*, h.title, h.requester_annotation, r."values", r.row_number
                    FROM mturk.hits h LEFT JOIN mturk.batch_rows r USING (hit_id)
                    JOIN mturk.assignments a ON a.hit_id = h.hit_id
                    WHERE h.requester = %(req)s AND {where} {status_filter}
                    ORDER BY a.submit_time, a.assignment_id LIMIT %(limit)s OFFSET %(offset)s""",
                {"b": batch_id, "req": requester, "s": status, "limit": limit, "offset": offset},
            ).fetchall()

    def api_hits(self, requester: str, limit: int = 200) -> list[Row]:
        """The account's HITs that no console batch made (created through the API)."""
        self.backend.settle()
        with self.store.transaction() as conn:
            return conn.execute(
                """SELECT h.* FROM mturk.hits h
                   WHERE h.requester = %s AND h.status <> 'Disposed'
                     AND NOT EXISTS (SELECT 1 FROM mturk.batch_rows r WHERE r.hit_id = h.hit_id)
                   ORDER BY h.creation_time DESC LIMIT %s""",
                (requester, limit),
            ).fetchall()

    def review(
        self, requester: str, assignment_ids: list[str], action: str, feedback: str, *, batch_id: int | None = None
    ) -> list[ReviewResult]:
        """Approve or reject assignments through the API's operations, reporting each one."""
        decisions = [csvfiles.Decision(i + 1, a, action, feedback) for i, a in enumerate(assignment_ids)]
        return self.apply(requester, decisions, batch_id=batch_id)

    def apply(
        self, requester: str, decisions: list[csvfiles.Decision], *, batch_id: int | None = None
    ) -> list[ReviewResult]:
        """Apply review decisions; an assignment already in the asked state is skipped, not redone."""
        results: list[ReviewResult] = []
        in_batch: set[str] | None = None
        if batch_id is not None:
            with self.store.transaction() as conn:
                in_batch = {
                    r["assignment_id"]
                    for r in conn.execute(
                        """SELECT a.assignment_id FROM mturk.batch_rows r JOIN mturk.assignments a USING (hit_id)
                           WHERE r.batch_id = %s AND a.assignment_id = ANY(%s)""",
                        (batch_id, [d.assignment_id for d in decisions if ID_RE.match(d.assignment_id)]),
                    )
                }
        for d in decisions:
            if d.error:
                results.append(ReviewResult(d.row, d.assignment_id, d.action or "?", "failed", d.error))
                continue
            if not d.action:
                continue
            if in_batch is not None and d.assignment_id not in in_batch:
                results.append(
                    ReviewResult(d.row, d.assignment_id, d.action, "failed", "no such assignment in this batch")
                )
                continue
            results.append(self._decide(requester, d))
        return results

    def _decide(self, requester: str, d: csvfiles.Decision) -> ReviewResult:
        try:
            current = self.call(requester, "GetAssignment", {"AssignmentId": d.assignment_id})["Assignment"]
        except RequestError as exc:
            return ReviewResult(d.row, d.assignment_id, d.action, "failed", exc.message)
        status = current["AssignmentStatus"]
        try:
            if d.action == "approve":
                if status == "Approved":
                    return ReviewResult(d.row, d.assignment_id, d.action, "skipped", "already approved")
                params: dict[str, Any] = {"AssignmentId": d.assignment_id}
                if d.feedback:
                    params["RequesterFeedback"] = d.feedback
                if status == "Rejected":
                    params["OverrideRejection"] = True
                self.call(requester, "ApproveAssignment", params)
                note = "approved (rejection overridden)" if status == "Rejected" else "approved"
                return ReviewResult(d.row, d.assignment_id, d.action, "applied", note)
            if status == "Rejected":
                return ReviewResult(d.row, d.assignment_id, d.action, "skipped", "already rejected")
            if status == "Approved":
                return ReviewResult(
                    d.row, d.assignment_id, d.action, "failed", "already approved; an approval cannot be undone"
                )
            if not d.feedback.strip():
                return ReviewResult(d.row, d.assignment_id, d.action, "failed", "a rejection needs a reason")
            self.call(requester, "RejectAssignment", {"AssignmentId": d.assignment_id, "RequesterFeedback": d.feedback})
            return ReviewResult(d.row, d.assignment_id, d.action, "applied", "rejected")
        except RequestError as exc:
            return ReviewResult(d.row, d.assignment_id, d.action, "failed", exc.message)

    def cancel(self, requester: str, batch_id: int) -> int:
        """Stop publishing and expire the batch's HITs now (work in progress may still be submitted)."""
        batch = self.batch(requester, batch_id)
        with self.store.transaction() as conn:
            conn.execute(
                """UPDATE mturk.batches SET status = 'cancelled', finished_at = %s
                   WHERE batch_id = %s AND status <> 'draft'""",
                (self.backend.clock.now(), batch["batch_id"]),
            )
            hit_ids = [
                r["hit_id"]
                for r in conn.execute(
                    "SELECT hit_id FROM mturk.batch_rows WHERE batch_id = %s AND hit_id IS NOT NULL", (batch_id,)
                )
            ]
        expired = 0
        now = self.backend.clock.now().timestamp()  # epoch seconds, as the wire API gets it
        for hit_id in hit_ids:
            try:
                self.call(requester, "UpdateExpirationForHIT", {"HITId": hit_id, "ExpireAt": now})
                expired += 1
            except RequestError as exc:
                if exc.turk_error_code != INVALID_HIT_STATE:
                    raise
                # disposed meanwhile: nothing to expire
        return expired

    def add_assignments(self, requester: str, batch_id: int, extra: int, nonce: str) -> tuple[int, list[str]]:
        """CreateAdditionalAssignmentsForHIT on every HIT of the batch (once per form: its nonce)."""
        self.batch(requester, batch_id)
        with self.store.transaction() as conn:
            hit_ids = [
                r["hit_id"]
                for r in conn.execute(
                    "SELECT hit_id FROM mturk.batch_rows WHERE batch_id = %s AND hit_id IS NOT NULL", (batch_id,)
                )
            ]
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
        sql = """
            WITH rates AS MATERIALIZED (  -- once, not once per row of a fast-start cursor plan
                SELECT worker_id,
                       count(*) FILTER (WHERE status = 'Approved') AS life_approved,
                       count(*) FILTER (WHERE status = 'Rejected') AS life_rejected,
                       count(*) FILTER (WHERE status = 'Approved' AND approval_time > %(d30)s) AS d30_approved,
                       count(*) FILTER (WHERE status = 'Rejected' AND rejection_time > %(d30)s) AS d30_rejected,
                       count(*) FILTER (WHERE status = 'Approved' AND approval_time > %(d7)s) AS d7_approved,
                       count(*) FILTER (WHERE status = 'Rejected' AND rejection_time > %(d7)s) AS d7_rejected
                FROM mturk.assignments WHERE requester = %(req)s GROUP BY worker_id)
            SELECT h.hit_id, h.hit_type_id, h.title, h.description, h.keywords, h.reward, h.creation_time,
                   h.max_assignments, h.requester_annotation, h.assignment_duration_seconds,
                   h.auto_approval_delay_seconds, h.expiration, h.lifetime_seconds, r."values",
                   a.assignment_id, a.worker_id, a.status, a.accept_time, a.submit_time, a.auto_approval_time,
                   a.approval_time, a.rejection_time, a.requester_feedback, a.answer,
                   rt.life_approved, rt.life_rejected, rt.d30_approved, rt.d30_rejected, rt.d7_approved,
                   rt.d7_rejected
            FROM mturk.batch_rows r JOIN mturk.hits h USING (hit_id)
            LEFT JOIN mturk.assignments a
                   ON a.hit_id = h.hit_id AND a.status IN ('Submitted', 'Approved', 'Rejected')
            LEFT JOIN rates rt ON rt.worker_id = a.worker_id
            WHERE r.batch_id = %(b)s AND h.requester = %(req)s
            ORDER BY r.row_number, a.submit_time, a.assignment_id"""
        query = {"b": batch_id, "req": requester, "d30": now - timedelta(days=30), "d7": now - timedelta(days=7)}

        def rows(answers: list[str]) -> Iterator[list[str]]:
            yield csvfiles.results_header(variables, answers)
            with self.store.transaction() as conn, conn.cursor(name=f"results_{batch_id}") as cursor:
                cursor.itersize = 500
                cursor.execute(sql, query)
                for row in cursor:
                    yield csvfiles.results_row(row, variables, answers, batch["row_count"])

        def answer_names() -> list[str]:
            names: dict[str, None] = {}
            with self.store.transaction() as conn, conn.cursor(name=f"answers_{batch_id}") as cursor:
                cursor.itersize = 1000
                cursor.execute(
                    """SELECT a.answer FROM mturk.batch_rows r JOIN mturk.assignments a USING (hit_id)
                       WHERE r.batch_id = %s AND a.status IN ('Submitted', 'Approved', 'Rejected')""",
                    (batch_id,),
                )
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
            return conn.execute(
                """WITH w AS (
                       SELECT worker_id,
                              count(*) FILTER (WHERE status IN ('Submitted', 'Approved', 'Rejected')) AS submitted,
                              count(*) FILTER (WHERE status = 'Approved') AS approved,
                              count(*) FILTER (WHERE status = 'Rejected') AS rejected,
                              percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM submit_time - accept_time))
                                  FILTER (WHERE submit_time IS NOT NULL) AS median_seconds
                       FROM mturk.assignments WHERE requester = %(r)s GROUP BY worker_id)
                   SELECT coalesce(w.worker_id, b.worker_id) AS worker_id, coalesce(w.submitted, 0) AS submitted,
                          coalesce(w.approved, 0) AS approved, coalesce(w.rejected, 0) AS rejected,
                          w.median_seconds, b.reason AS blocked
                   FROM w FULL JOIN (SELECT worker_id, reason FROM mturk.worker_blocks WHERE requester = %(r)s) b
                        ON b.worker_id = w.worker_id
                   ORDER BY 2 DESC, 1 LIMIT 1000""",
                {"r": requester},
            ).fetchall()

    def worker(self, requester: str, worker_id: str) -> dict[str, Any]:
        """One worker as this account knows them; NotFound when they never met."""
        _id("worker", worker_id)
        rows = [w for w in self.workers(requester) if w["worker_id"] == worker_id]
        with self.store.transaction() as conn:
            quals = conn.execute(
                """SELECT t.qualification_type_id, t.name, q.integer_value, q.status, q.grant_time
                   FROM mturk.qualifications q JOIN mturk.qualification_types t USING (qualification_type_id)
                   WHERE t.requester = %s AND q.worker_id = %s AND NOT t.deleted ORDER BY t.name""",
                (requester, worker_id),
            ).fetchall()
            assignments = conn.execute(
                """SELECT a.assignment_id, a.hit_id, a.status, a.submit_time, h.title,
                          (SELECT coalesce(sum(amount), 0) FROM mturk.bonus_payments p
                           WHERE p.assignment_id = a.assignment_id) AS bonus
                   FROM mturk.assignments a JOIN mturk.hits h USING (hit_id)
                   WHERE a.requester = %s AND a.worker_id = %s AND a.status IN ('Submitted', 'Approved', 'Rejected')
                   ORDER BY a.submit_time DESC LIMIT 200""",
                (requester, worker_id),
            ).fetchall()
        if not rows and not quals:
            raise NotFound(f"worker {worker_id}")
        figures = rows[0] if rows else {"submitted": 0, "approved": 0, "rejected": 0, "median_seconds": None}
        return {"worker_id": worker_id, "figures": figures, "quals": quals, "assignments": assignments}

    # -- qualification types and money ----------------------------------------------------------

    def qualification_types(self, requester: str) -> list[Row]:
        with self.store.transaction() as conn:
            return conn.execute(
                """SELECT t.*, (SELECT count(*) FROM mturk.qualifications q
                                WHERE q.qualification_type_id = t.qualification_type_id AND q.status = 'Granted')
                              AS holders
                   FROM mturk.qualification_types t WHERE t.requester = %s AND NOT t.deleted
                   ORDER BY t.creation_time DESC""",
                (requester,),
            ).fetchall()

    def qualification_type(self, requester: str, type_id: str) -> Row:
        _id("qualification type", type_id)
        for row in self.qualification_types(requester):
            if row["qualification_type_id"] == type_id:
                return row
        raise NotFound(f"qualification type {type_id}")

    def ledger(self, requester: str, limit: int = 300) -> list[Row]:
        with self.store.transaction() as conn:
            return conn.execute(
                """SELECT l.*, (SELECT r.batch_id FROM mturk.batch_rows r WHERE r.hit_id = l.hit_id LIMIT 1) AS batch_id
                   FROM mturk.ledger l WHERE l.requester = %s ORDER BY l.entry_id DESC LIMIT %s""",
                (requester, limit),
            ).fetchall()

    @staticmethod
    def when(moment: datetime | None) -> str:
        return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")

"""hitflow's record of assignments, reviews, bonuses, results and blocks in PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from hitflow.collect.aggregate import Consensus


def open_batches(conn: Any) -> list[dict[str, Any]]:
    """Batches that published HITs and are not complete yet, oldest first."""
    rows = conn.execute(
        """SELECT b.batch_id, b.params, count(r.hit_id) FILTER (WHERE r.disposed_at IS NULL) AS open_hits
             FROM hitflow.batches b JOIN hitflow.batch_rows r ON r.batch_id = b.batch_id AND r.hit_id IS NOT NULL
            WHERE b.status = 'published'
            GROUP BY b.batch_id, b.params, b.created_at ORDER BY b.created_at"""
    ).fetchall()
    return [{"batch_id": str(batch_id), "params": params, "open_hits": n} for batch_id, params, n in rows]


def open_hits(
    conn: Any, batch_id: uuid.UUID, after_row: int = 0, limit: int = 500, upto_row: int | None = None
) -> list[tuple[str, int, int]]:
    """(hit_id, row_id, extra_assignments) of the next ``limit`` HITs not yet disposed of, after
    ``after_row`` (and at most ``upto_row``)."""
    return conn.execute(
        """SELECT hit_id, row_id, extra_assignments FROM hitflow.batch_rows
            WHERE batch_id = %s AND row_id > %s AND (%s::bigint IS NULL OR row_id <= %s)
              AND hit_id IS NOT NULL AND disposed_at IS NULL
            ORDER BY row_id LIMIT %s""",
        (batch_id, after_row, upto_row, upto_row, limit),
    ).fetchall()


def open_hit_ranges(conn: Any, batch_id: uuid.UUID, hits_per_range: int) -> list[tuple[int, int | None]]:
    """The batch's open HITs cut into row-ID ranges (lo, hi] of ``hits_per_range`` HITs each; the
    last range has no upper end, so rows after the last open HIT are still reviewed."""
    bounds = [
        row_id
        for (row_id,) in conn.execute(
            """SELECT row_id FROM (
                   SELECT row_id, row_number() OVER (ORDER BY row_id) AS n FROM hitflow.batch_rows
                    WHERE batch_id = %s AND hit_id IS NOT NULL AND disposed_at IS NULL) numbered
                WHERE n %% %s = 0 ORDER BY row_id""",
            (batch_id, hits_per_range),
        )
    ]
    lows = [0, *bounds]
    return [(lo, hi) for lo, hi in zip(lows, [*bounds, None], strict=True)]


def _rows(lo: int, hi: int | None, alias: str = "") -> tuple[str, dict[str, Any]]:
    """A ``row_id`` range (lo, hi] as SQL and its parameters (hi None: no upper end)."""
    column = f"{alias}.row_id" if alias else "row_id"
    return f"{column} > %(lo)s" + ("" if hi is None else f" AND {column} <= %(hi)s"), {"lo": lo, "hi": hi}


def upsert_assignments(
    conn: Any, batch_id: uuid.UUID, items: list[tuple[int, dict[str, Any], int | None, str | None]]
) -> None:
    """Store assignments once, in one transaction; later runs refresh the status, never the review or bonus.

    ``items`` are (row_id, assignment, age, problem).
    """
    if not items:
        return
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO hitflow.assignments (assignment_id, hit_id, row_id, batch_id, worker_id, status,
                                                accept_time, submit_time, answer_xml, age, answer_problem)
               VALUES (%(id)s, %(hit)s, %(row)s, %(batch)s, %(worker)s, %(status)s, %(accept)s, %(submit)s,
                       %(xml)s, %(age)s, %(problem)s)
               ON CONFLICT (assignment_id) DO UPDATE
                  SET status = EXCLUDED.status, submit_time = EXCLUDED.submit_time, updated_at = now()
                WHERE hitflow.assignments.status IS DISTINCT FROM EXCLUDED.status""",
            [
                {
                    "id": assignment["AssignmentId"],
                    "hit": assignment["HITId"],
                    "row": row_id,
                    "batch": batch_id,
                    "worker": assignment["WorkerId"],
                    "status": assignment["AssignmentStatus"],
                    "accept": assignment.get("AcceptTime"),
                    "submit": assignment.get("SubmitTime"),
                    "xml": assignment.get("Answer"),
                    "age": age,
                    "problem": problem,
                }
                for row_id, assignment, age, problem in items
            ],
        )


def unreviewed(conn: Any, batch_id: uuid.UUID, lo: int = 0, hi: int | None = None) -> list[tuple[str, str, str | None]]:
    """(assignment_id, status, answer_problem) of assignments hitflow has not decided on, rows (lo, hi]."""
    rows, params = _rows(lo, hi)
    return conn.execute(
        f"""SELECT assignment_id, status, answer_problem FROM hitflow.assignments
             WHERE batch_id = %(batch)s AND {rows} AND review_action IS NULL
               AND status IN ('Submitted', 'Approved', 'Rejected')
             ORDER BY assignment_id""",
        params | {"batch": batch_id},
    ).fetchall()


def record_reviews(conn: Any, items: list[tuple[str, str, str | None, str, bool]]) -> None:
    """Record (assignment_id, action, feedback, status, found) decisions, in one transaction;
    ``found``: MTurk had the decision already (hitflow made no call)."""
    if not items:
        return
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            """UPDATE hitflow.assignments SET review_action = %s, requester_feedback = %s, status = %s,
                      review_found = %s, reviewed_at = now(), updated_at = now()
                WHERE assignment_id = %s AND review_action IS NULL""",
            [
                (action, feedback, status, found, assignment_id)
                for assignment_id, action, feedback, status, found in items
            ],
        )


def database_now(conn: Any) -> datetime:
    """The database's clock: where a run's records start (``run_counts``)."""
    row = conn.execute("SELECT now()").fetchone()
    return row[0]


def run_counts(conn: Any, batch_id: uuid.UUID, since: datetime) -> dict[str, int]:
    """What was done to the batch since ``since`` (a run's start), from the records: the same
    counts whichever try of the run did the work (a retried task's own counters see only itself)."""
    params = {"batch": batch_id, "since": since}
    reviews = conn.execute(
        """SELECT count(*) FILTER (WHERE reviewed_at >= %(since)s AND review_action = 'approve' AND NOT review_found),
                  count(*) FILTER (WHERE reviewed_at >= %(since)s AND review_action = 'reject' AND NOT review_found),
                  count(*) FILTER (WHERE reviewed_at >= %(since)s AND review_found),
                  count(*) FILTER (WHERE bonus_paid_at >= %(since)s)
             FROM hitflow.assignments
            WHERE batch_id = %(batch)s AND (reviewed_at >= %(since)s OR bonus_paid_at >= %(since)s)""",
        params,
    ).fetchone()
    results = conn.execute(
        "SELECT count(*) FROM hitflow.results WHERE batch_id = %(batch)s AND computed_at >= %(since)s", params
    ).fetchone()
    disposed = conn.execute(
        "SELECT count(*) FROM hitflow.batch_rows WHERE batch_id = %(batch)s AND disposed_at >= %(since)s", params
    ).fetchone()
    approved, rejected, found, bonuses = reviews
    return {
        "approved": approved,
        "rejected": rejected,
        "already_reviewed": found,
        "bonuses": bonuses,
        "results": results[0],
        "hits_disposed": disposed[0],
    }


def valid_ages_by_row(conn: Any, batch_id: uuid.UUID, lo: int = 0, hi: int | None = None) -> dict[int, list[int]]:
    """Approved, valid ages per row of the batch, rows (lo, hi]."""
    rows, params = _rows(lo, hi)
    found = conn.execute(
        f"""SELECT row_id, array_agg(age ORDER BY assignment_id) FROM hitflow.assignments
             WHERE batch_id = %(batch)s AND {rows} AND age IS NOT NULL AND status = 'Approved'
             GROUP BY row_id""",
        params | {"batch": batch_id},
    ).fetchall()
    return dict(found)


def save_results(conn: Any, batch_id: uuid.UUID, items: list[tuple[int, list[int], Consensus]]) -> int:
    """Upsert the consensus of each (row_id, ages, result), in one transaction; how many rows it
    inserted or changed (an unchanged consensus is not written again)."""
    if not items:
        return 0
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO hitflow.results (row_id, batch_id, person_id, image_url, hit_id, answers, median_age,
                                            mad_years, agreement, ages)
               SELECT row_id, batch_id, person_id, image_url, hit_id, %(n)s, %(median)s, %(mad)s, %(agree)s, %(ages)s
                 FROM hitflow.batch_rows WHERE row_id = %(row)s AND batch_id = %(batch)s
               ON CONFLICT (row_id) DO UPDATE SET answers = EXCLUDED.answers, median_age = EXCLUDED.median_age,
                      mad_years = EXCLUDED.mad_years, agreement = EXCLUDED.agreement, ages = EXCLUDED.ages,
                      computed_at = now()
                WHERE (hitflow.results.answers, hitflow.results.median_age, hitflow.results.mad_years,
                       hitflow.results.agreement, hitflow.results.ages)
                      IS DISTINCT FROM (EXCLUDED.answers, EXCLUDED.median_age, EXCLUDED.mad_years,
                                        EXCLUDED.agreement, EXCLUDED.ages)""",
            [
                {
                    "n": result.answers,
                    "median": result.median_age,
                    "mad": result.mad_years,
                    "agree": result.agreement,
                    "ages": ages,
                    "row": row_id,
                    "batch": batch_id,
                }
                for row_id, ages, result in items
            ],
        )
        return max(cur.rowcount, 0)


def bonus_candidates(
    conn: Any, batch_id: uuid.UUID, lo: int = 0, hi: int | None = None
) -> list[tuple[str, str, int, float]]:
    """(assignment_id, worker_id, age, median_age) of approved answers with a result and no bonus yet, rows (lo, hi]."""
    rows, params = _rows(lo, hi, "a")
    return conn.execute(
        f"""SELECT a.assignment_id, a.worker_id, a.age, r.median_age::float FROM hitflow.assignments a
              JOIN hitflow.results r ON r.row_id = a.row_id
             WHERE a.batch_id = %(batch)s AND {rows} AND a.status = 'Approved' AND a.age IS NOT NULL
               AND a.bonus_paid_at IS NULL
             ORDER BY a.assignment_id""",
        params | {"batch": batch_id},
    ).fetchall()


def record_bonuses(conn: Any, assignment_ids: list[str], amount: str) -> None:
    """Record the bonus of each assignment, in one transaction."""
    if not assignment_ids:
        return
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            """UPDATE hitflow.assignments SET bonus_amount = %s, bonus_paid_at = now(), updated_at = now()
                WHERE assignment_id = %s AND bonus_paid_at IS NULL""",
            [(amount, assignment_id) for assignment_id in assignment_ids],
        )


def hit_counts(conn: Any, hit_ids: list[str]) -> dict[str, tuple[int, int, int]]:
    """{hit_id: (assignments seen, reviewed by hitflow, approved valid answers)} of some HITs."""
    found = conn.execute(
        """SELECT hit_id, count(*), count(review_action),
                  count(*) FILTER (WHERE status = 'Approved' AND age IS NOT NULL)
             FROM hitflow.assignments WHERE hit_id = ANY(%s) GROUP BY hit_id""",
        (hit_ids,),
    ).fetchall()
    return {hit_id: (seen, reviewed, valid) for hit_id, seen, reviewed, valid in found}


def add_extra_assignments(conn: Any, items: list[tuple[str, int]]) -> None:
    """Count (hit_id, count) assignments asked for on top, in one transaction."""
    if not items:
        return
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "UPDATE hitflow.batch_rows SET extra_assignments = extra_assignments + %s WHERE hit_id = %s",
            [(count, hit_id) for hit_id, count in items],
        )


def mark_disposed(conn: Any, hit_ids: list[str]) -> None:
    """Record HITs as disposed of, in one transaction."""
    if not hit_ids:
        return
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "UPDATE hitflow.batch_rows SET hit_status = 'Disposed', disposed_at = now() WHERE hit_id = %s",
            [(hit_id,) for hit_id in hit_ids],
        )


def complete_if_done(conn: Any, batch_id: uuid.UUID) -> bool:
    """Mark the batch complete when every HIT of it is disposed of; True when it is (now or before)."""
    with conn.transaction():
        left = conn.execute(
            """SELECT count(*) FROM hitflow.batch_rows
                WHERE batch_id = %s AND hit_id IS NOT NULL AND disposed_at IS NULL""",
            (batch_id,),
        ).fetchone()[0]
        if left:
            return False
        conn.execute(
            """UPDATE hitflow.batches SET status = 'complete', completed_at = coalesce(completed_at, now()),
                      updated_at = now() WHERE batch_id = %s AND status = 'published'""",
            (batch_id,),
        )
    return True


def worker_rejections(conn: Any) -> list[tuple[str, int, int]]:
    """(worker_id, rejected, reviewed) for workers hitflow has not blocked."""
    return conn.execute(
        """SELECT a.worker_id, count(*) FILTER (WHERE a.review_action = 'reject'), count(a.review_action)
             FROM hitflow.assignments a LEFT JOIN hitflow.worker_blocks w ON w.worker_id = a.worker_id
            WHERE w.worker_id IS NULL GROUP BY a.worker_id ORDER BY a.worker_id"""
    ).fetchall()


def record_block(conn: Any, worker_id: str, reason: str, rejected: int, total: int) -> None:
    with conn.transaction():
        conn.execute(
            """INSERT INTO hitflow.worker_blocks (worker_id, reason, rejection_rate, assignments)
               VALUES (%s, %s, %s, %s) ON CONFLICT (worker_id) DO NOTHING""",
            (worker_id, reason, rejected / total, total),
        )


def batch_report_data(conn: Any, batch_id: uuid.UUID) -> dict[str, Any]:
    """Everything the per-batch report shows (``bonuses``: every bonus paid, one amount each)."""
    params = conn.execute("SELECT params, status FROM hitflow.batches WHERE batch_id = %s", (batch_id,)).fetchone()
    results = conn.execute(
        """SELECT row_id, person_id, image_url, answers, median_age::float, mad_years::float, agreement, ages
             FROM hitflow.results WHERE batch_id = %s ORDER BY row_id""",
        (batch_id,),
    ).fetchall()
    workers = conn.execute(
        """SELECT a.worker_id, count(*), count(*) FILTER (WHERE a.review_action = 'approve'),
                  count(*) FILTER (WHERE a.review_action = 'reject'),
                  count(*) FILTER (WHERE r.row_id IS NOT NULL AND a.age IS NOT NULL
                                   AND abs(a.age - r.median_age) <= 3),
                  count(*) FILTER (WHERE r.row_id IS NOT NULL AND a.age IS NOT NULL),
                  coalesce(sum(a.bonus_amount), 0)
             FROM hitflow.assignments a LEFT JOIN hitflow.results r ON r.row_id = a.row_id
            WHERE a.batch_id = %s GROUP BY a.worker_id ORDER BY a.worker_id""",
        (batch_id,),
    ).fetchall()
    ages = [
        age
        for (age,) in conn.execute(
            "SELECT age FROM hitflow.assignments WHERE batch_id = %s AND age IS NOT NULL", (batch_id,)
        )
    ]
    # Each bonus on its own: its fee is priced per bonus (at least $0.01), not on the sum.
    bonuses = [
        amount
        for (amount,) in conn.execute(
            "SELECT bonus_amount FROM hitflow.assignments WHERE batch_id = %s AND bonus_amount IS NOT NULL", (batch_id,)
        )
    ]
    return {
        "params": params[0],
        "status": params[1],
        "results": results,
        "workers": workers,
        "ages": ages,
        "bonuses": bonuses,
    }


def batch_state(conn: Any, batch_id: uuid.UUID) -> tuple[str | None, int]:
    """(status, HITs not yet disposed of) of a batch; status None when there is no such batch."""
    row = conn.execute(
        """SELECT b.status, count(r.hit_id) FILTER (WHERE r.disposed_at IS NULL)
             FROM hitflow.batches b LEFT JOIN hitflow.batch_rows r ON r.batch_id = b.batch_id
            WHERE b.batch_id = %s GROUP BY b.status""",
        (batch_id,),
    ).fetchone()
    return (row[0], row[1]) if row else (None, 0)

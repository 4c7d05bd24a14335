"""hitflow's record of assignments, reviews, bonuses, results and blocks in PostgreSQL."""

from __future__ import annotations

import uuid
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


def open_hits(conn: Any, batch_id: uuid.UUID) -> list[tuple[str, int]]:
    """(hit_id, row_id) of the batch's HITs not yet disposed of."""
    return conn.execute(
        """SELECT hit_id, row_id FROM hitflow.batch_rows
            WHERE batch_id = %s AND hit_id IS NOT NULL AND disposed_at IS NULL ORDER BY row_id""",
        (batch_id,),
    ).fetchall()


def upsert_assignment(
    conn: Any, *, batch_id: uuid.UUID, row_id: int, assignment: dict[str, Any], age: int | None, problem: str | None
) -> None:
    """Store an assignment once; later runs refresh its status, never its review or bonus."""
    with conn.transaction():
        conn.execute(
            """INSERT INTO hitflow.assignments (assignment_id, hit_id, row_id, batch_id, worker_id, status,
                                                accept_time, submit_time, answer_xml, age, answer_problem)
               VALUES (%(id)s, %(hit)s, %(row)s, %(batch)s, %(worker)s, %(status)s, %(accept)s, %(submit)s,
                       %(xml)s, %(age)s, %(problem)s)
               ON CONFLICT (assignment_id) DO UPDATE
                  SET status = EXCLUDED.status, submit_time = EXCLUDED.submit_time, updated_at = now()
                WHERE hitflow.assignments.status IS DISTINCT FROM EXCLUDED.status""",
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
            },
        )


def unreviewed(conn: Any, batch_id: uuid.UUID) -> list[tuple[str, str, str | None]]:
    """(assignment_id, status, answer_problem) of assignments hitflow has not decided on."""
    return conn.execute(
        """SELECT assignment_id, status, answer_problem FROM hitflow.assignments
            WHERE batch_id = %s AND review_action IS NULL AND status IN ('Submitted', 'Approved', 'Rejected')
            ORDER BY assignment_id""",
        (batch_id,),
    ).fetchall()


def record_review(conn: Any, assignment_id: str, action: str, feedback: str | None, status: str) -> None:
    with conn.transaction():
        conn.execute(
            """UPDATE hitflow.assignments SET review_action = %s, requester_feedback = %s, status = %s,
                      reviewed_at = now(), updated_at = now()
                WHERE assignment_id = %s AND review_action IS NULL""",
            (action, feedback, status, assignment_id),
        )


def valid_ages_by_row(conn: Any, batch_id: uuid.UUID) -> dict[int, list[int]]:
    """Approved, valid ages per row of the batch."""
    rows = conn.execute(
        """SELECT row_id, array_agg(age ORDER BY assignment_id) FROM hitflow.assignments
            WHERE batch_id = %s AND age IS NOT NULL AND status = 'Approved' GROUP BY row_id""",
        (batch_id,),
    ).fetchall()
    return dict(rows)


def save_result(conn: Any, batch_id: uuid.UUID, row_id: int, ages: list[int], result: Consensus) -> None:
    with conn.transaction():
        conn.execute(
            """INSERT INTO hitflow.results (row_id, batch_id, person_id, image_url, hit_id, answers, median_age,
                                            mad_years, agreement, ages)
               SELECT row_id, batch_id, person_id, image_url, hit_id, %(n)s, %(median)s, %(mad)s, %(agree)s, %(ages)s
                 FROM hitflow.batch_rows WHERE row_id = %(row)s AND batch_id = %(batch)s
               ON CONFLICT (row_id) DO UPDATE SET answers = EXCLUDED.answers, median_age = EXCLUDED.median_age,
                      mad_years = EXCLUDED.mad_years, agreement = EXCLUDED.agreement, ages = EXCLUDED.ages,
                      computed_at = now()""",
            {
                "n": result.answers,
                "median": result.median_age,
                "mad": result.mad_years,
                "agree": result.agreement,
                "ages": ages,
                "row": row_id,
                "batch": batch_id,
            },
        )


def bonus_candidates(conn: Any, batch_id: uuid.UUID) -> list[tuple[str, str, int, float]]:
    """(assignment_id, worker_id, age, median_age) of approved answers with a result and no bonus yet."""
    return conn.execute(
        """SELECT a.assignment_id, a.worker_id, a.age, r.median_age::float FROM hitflow.assignments a
             JOIN hitflow.results r ON r.row_id = a.row_id
            WHERE a.batch_id = %s AND a.status = 'Approved' AND a.age IS NOT NULL AND a.bonus_paid_at IS NULL
            ORDER BY a.assignment_id""",
        (batch_id,),
    ).fetchall()


def record_bonus(conn: Any, assignment_id: str, amount: str) -> None:
    with conn.transaction():
        conn.execute(
            """UPDATE hitflow.assignments SET bonus_amount = %s, bonus_paid_at = now(), updated_at = now()
                WHERE assignment_id = %s AND bonus_paid_at IS NULL""",
            (amount, assignment_id),
        )


def reviewed_count(conn: Any, hit_id: str) -> tuple[int, int]:
    """(assignments seen, assignments hitflow reviewed) of one HIT."""
    return conn.execute(
        "SELECT count(*), count(review_action) FROM hitflow.assignments WHERE hit_id = %s", (hit_id,)
    ).fetchone()


def hit_answers(conn: Any, hit_id: str) -> tuple[int, int]:
    """(approved valid answers, extra assignments already asked for) of one HIT."""
    return conn.execute(
        """SELECT (SELECT count(*) FROM hitflow.assignments
                    WHERE hit_id = %(hit)s AND status = 'Approved' AND age IS NOT NULL),
                  (SELECT extra_assignments FROM hitflow.batch_rows WHERE hit_id = %(hit)s)""",
        {"hit": hit_id},
    ).fetchone()


def add_extra_assignments(conn: Any, hit_id: str, count: int) -> None:
    with conn.transaction():
        conn.execute(
            "UPDATE hitflow.batch_rows SET extra_assignments = extra_assignments + %s WHERE hit_id = %s",
            (count, hit_id),
        )


def mark_disposed(conn: Any, hit_id: str, status: str) -> None:
    with conn.transaction():
        conn.execute(
            "UPDATE hitflow.batch_rows SET hit_status = %s, disposed_at = now() WHERE hit_id = %s", (status, hit_id)
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

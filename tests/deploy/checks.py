"""What must hold after every compose-test stage, fault or not: one HIT per row, nothing approved
or paid twice, and the HIT service's records equal hitflow's. Read from both databases through
hitflow-db's published port and from the service through boto3, as an operator would check."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg

from tests.deploy.stack import PUBLISH_DAG, ComposeStack

REPO = Path(__file__).resolve().parents[2]

DEMO_SQL = ("source_schema.sql", "demo_seed.sql", "hitflow_schema.sql")


def batch_of(run_id: str) -> str:
    from hitflow.publish.batch_store import batch_uuid

    return str(batch_uuid(PUBLISH_DAG, run_id))


def load_sql(stack: ComposeStack, *names: str) -> None:
    with psycopg.connect(stack.db_url(), autocommit=True) as conn:
        for name in names:
            conn.execute((REPO / "include" / "sql" / name).read_text())


def next_free_id(stack: ComposeStack) -> int:
    """A source-row ID above every existing one (a rerun on a kept stack must add new rows)."""
    with psycopg.connect(stack.db_url()) as conn:
        row = conn.execute("SELECT coalesce(max(id), 0) FROM public.person_images").fetchone()
    return (int(row[0]) if row else 0) + 1


def add_rows(stack: ComposeStack, first_id: int, count: int, day: str) -> None:
    """``count`` well-formed source rows with IDs from ``first_id``, all created on ``day``."""
    with psycopg.connect(stack.db_url(), autocommit=True) as conn:
        conn.execute(
            """INSERT INTO public.person_images (id, person_id, image_url, created_at)
               SELECT g, 'S' || g, 'https://images.hitflow.example/scale/' || g || '.jpg',
                      %s::timestamptz + (g - %s) * interval '1 millisecond'
                 FROM generate_series(%s::bigint, %s::bigint - 1) g
               ON CONFLICT (id) DO NOTHING""",
            (day, first_id, first_id, first_id + count),
        )


def batch_rows(stack: ComposeStack, batch_id: str) -> dict[int, tuple[str, str | None]]:
    """``row_id → (status, hit_id)`` of one batch, from hitflow's records."""
    with psycopg.connect(stack.db_url()) as conn:
        rows = conn.execute(
            "SELECT row_id, status, hit_id FROM hitflow.batch_rows WHERE batch_id = %s", (uuid.UUID(batch_id),)
        ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def assert_one_hit_per_row(stack: ComposeStack, batch_id: str, expected_rows: int) -> list[dict[str, Any]]:
    """ListHITs through the service's published port: exactly one HIT for every row of the batch,
    and it is the one hitflow recorded."""
    rows = {r: v for r, v in batch_rows(stack, batch_id).items() if v[1] is not None}
    assert len(rows) == expected_rows, f"batch {batch_id} has {len(rows)} rows with a HIT, expected {expected_rows}"
    hits = [h for h in stack.all_hits() if h.get("RequesterAnnotation", "").startswith(f"hitflow batch {batch_id} ")]
    per_row = Counter(int(h["RequesterAnnotation"].rsplit(" ", 1)[1]) for h in hits)
    twice = {row: n for row, n in per_row.items() if n > 1}
    assert not twice, f"rows with more than one HIT: {dict(list(twice.items())[:10])}"
    missing = set(rows) - set(per_row)
    assert not missing, f"{len(missing)} rows without a HIT, e.g. {sorted(missing)[:10]}"
    by_row = {int(h["RequesterAnnotation"].rsplit(" ", 1)[1]): h["HITId"] for h in hits}
    unrecorded = {row for row, (_, hit) in rows.items() if hit != by_row[row]}
    assert not unrecorded, f"hitflow's recorded HIT differs from the service's for rows {sorted(unrecorded)[:10]}"
    return hits


def assert_ledgers_agree(stack: ComposeStack) -> dict[str, int]:
    """No assignment approved or paid twice; the service's approvals, rejections and bonuses are
    exactly hitflow's reviews and payments; the ledger adds up to ``GetAccountBalance`` and the
    service's ``ledger check`` passes. Returns the counts."""
    with psycopg.connect(stack.db_url("hitflow_hit_service")) as conn:
        service = dict(
            conn.execute("SELECT assignment_id, status FROM mturk.assignments WHERE status IN ('Approved', 'Rejected')")
        )
        bonuses = Counter(a for (a,) in conn.execute("SELECT assignment_id FROM mturk.bonus_payments"))
        ledger_twice = conn.execute(
            """SELECT kind, assignment_id, count(*) FROM mturk.ledger
                WHERE assignment_id IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1 LIMIT 10"""
        ).fetchall()
        paid = conn.execute("SELECT coalesce(sum(amount), 0) FROM mturk.bonus_payments").fetchone()[0]
        key = stack.env["HITFLOW_REQUESTER_ACCESS_KEY_ID"]
        ledger_sum = conn.execute(
            "SELECT coalesce(sum(amount), 0) FROM mturk.ledger WHERE requester = %s", (key,)
        ).fetchone()[0]
    with psycopg.connect(stack.db_url()) as conn:
        reviewed = dict(
            conn.execute(
                """SELECT assignment_id, CASE review_action WHEN 'approve' THEN 'Approved' ELSE 'Rejected' END
                     FROM hitflow.assignments WHERE review_action IS NOT NULL"""
            )
        )
        recorded_bonus = dict(
            conn.execute("SELECT assignment_id, bonus_amount FROM hitflow.assignments WHERE bonus_paid_at IS NOT NULL")
        )
    assert not ledger_twice, f"ledger entries repeated for one assignment: {ledger_twice}"
    balance = stack.mturk().get_account_balance()["AvailableBalance"]
    assert str(ledger_sum) == balance, f"the ledger adds up to {ledger_sum}, GetAccountBalance says {balance}"
    # The operator's own check, in the container: charged = earned + fees + reserved per requester.
    check = stack.compose("exec", "-T", "hit-service", "python", "-m", "hit_service", "ledger", "check", check=False)
    assert check.returncode == 0, f"`hit_service ledger check` found a mismatch:\n{check.stdout}{check.stderr}"
    twice = {a: n for a, n in bonuses.items() if n > 1}
    assert not twice, f"bonuses paid twice: {dict(list(twice.items())[:10])}"
    assert set(bonuses) == set(recorded_bonus), (
        f"bonuses the service paid but hitflow did not record: {sorted(set(bonuses) - set(recorded_bonus))[:5]}; "
        f"recorded but not paid: {sorted(set(recorded_bonus) - set(bonuses))[:5]}"
    )
    assert paid == sum(recorded_bonus.values(), start=0), f"service paid {paid}, hitflow recorded {recorded_bonus}"
    differ = {a: (s, reviewed.get(a)) for a, s in service.items() if reviewed.get(a) != s}
    differ |= {a: (service.get(a), r) for a, r in reviewed.items() if service.get(a) != r}
    assert not differ, f"{len(differ)} assignments whose review differs (service, hitflow): {list(differ.items())[:5]}"
    return {
        "approved": sum(1 for s in service.values() if s == "Approved"),
        "rejected": sum(1 for s in service.values() if s == "Rejected"),
        "bonuses": len(bonuses),
    }


def reviewed_in(stack: ComposeStack, batch_id: str) -> int:
    """How many of a batch's answers hitflow has reviewed (approved or rejected) so far."""
    with psycopg.connect(stack.db_url()) as conn:
        row = conn.execute(
            "SELECT count(*) FROM hitflow.assignments WHERE batch_id = %s AND review_action IS NOT NULL",
            (uuid.UUID(batch_id),),
        ).fetchone()
    return int(row[0]) if row else 0


def retried(stack: ComposeStack, dag_id: str, run_id: str) -> dict[str, str]:
    """The run's task instances that needed more than one try: ``task[map index] → tries, worker``."""
    names = stack.worker_hostnames()
    found = {}
    for ti in stack.task_instances(dag_id, run_id):
        if ti["try_number"] > 1:
            host = ti.get("hostname") or "?"
            found[f"{ti['task_id']}[{ti['map_index']}]"] = f"try {ti['try_number']} on {names.get(host, host)}"
    return found


def where_tasks_ran(stack: ComposeStack, dag_id: str, run_id: str, task_id: str) -> dict[str, list[int]]:
    """Worker container name → the map indexes of ``task_id`` it ran (Airflow records the hostname)."""
    names = stack.worker_hostnames()
    placed: dict[str, list[int]] = {}
    for ti in stack.task_instances(dag_id, run_id):
        if ti["task_id"] == task_id:
            host = ti.get("hostname") or "?"
            placed.setdefault(names.get(host, f"not a worker container: {host}"), []).append(ti["map_index"])
    return {name: sorted(indexes) for name, indexes in sorted(placed.items())}

"""Bench section ``collect_30k``: collecting 30,000 answers with mturk_collect_results."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from hitflow.collect.collector import OUTCOME_COUNTS
from scripts.bench.common import (
    CHUNK_SIZE,
    CONCURRENCY,
    Stack,
    process_tree_stats,
    publish_figures,
)

COLLECT_CONF = {
    "bonus_amount": "0.02",
    "bonus_tolerance_years": 3,
    "block_rejection_rate": 0.5,
    "block_min_assignments": 6,
    "concurrency": int(os.environ.get("HITFLOW_BENCH_COLLECT_CONCURRENCY", "32")),
}


MUTATING = {
    "ApproveAssignment",
    "RejectAssignment",
    "SendBonus",
    "CreateWorkerBlock",
    "CreateAdditionalAssignmentsForHIT",
    "UpdateExpirationForHIT",
    "DeleteHIT",
}


def service_records(url: str) -> dict[str, Any]:
    """What the service's own tables say was done: a second collection must leave all of it alone."""
    import psycopg

    with psycopg.connect(url) as conn:
        one = conn.execute(
            """SELECT (SELECT count(*) FROM mturk.ledger), (SELECT count(*) FROM mturk.bonus_payments),
                      (SELECT count(*) FROM mturk.worker_blocks), (SELECT count(*) FROM mturk.op_tokens),
                      (SELECT count(*) FILTER (WHERE status = 'Approved') FROM mturk.assignments),
                      (SELECT count(*) FILTER (WHERE status = 'Rejected') FROM mturk.assignments),
                      (SELECT count(*) FILTER (WHERE status = 'Disposed') FROM mturk.hits),
                      (SELECT max(updated_at)::text FROM mturk.hits),
                      (SELECT max(updated_at)::text FROM mturk.assignments),
                      (SELECT count(*) FROM (SELECT assignment_id FROM mturk.bonus_payments
                                             GROUP BY 1 HAVING count(*) > 1) d)"""
        ).fetchone()
    keys = (
        "ledger_rows",
        "bonus_payments",
        "worker_blocks",
        "op_tokens",
        "approved",
        "rejected",
        "hits_disposed",
        "hits_last_update",
        "assignments_last_update",
        "assignments_paid_twice",
    )
    return dict(zip(keys, one, strict=True))


def collect_figures(seconds: float, result: dict[str, Any]) -> dict[str, Any]:
    assert result["state"] == "success", f"the collect DAG failed; see {result.get('log')}"
    stats = result["stats"]
    run_seconds = stats.get("run_seconds") or seconds
    calls = stats.get("api_calls", {})
    total = sum(calls.values())
    summary = result["summary"] or {}
    return {
        "seconds": round(run_seconds, 1),
        "process_seconds": round(seconds, 1),
        "api_calls": total,
        "api_calls_by_operation": calls,
        "mutating_calls": sum(n for op, n in calls.items() if op in MUTATING),
        "calls_per_second": round(total / run_seconds, 1),
        "task_instances": stats["task_instances"],
        "xcom_bytes": stats["xcom_bytes"],
        "peak_rss_mb": stats.get("peak_rss_mb"),
        "cpu_seconds": stats.get("cpu_seconds"),
        "failed_tries": stats["failed_tries"],
        "seconds_by_task": stats["seconds_by_task"],
        "summary": {k: summary.get(k) for k in OUTCOME_COUNTS}
        | {"blocked": len(summary.get("blocked") or []), "complete": len(summary.get("complete") or [])},
    }


def machine_cpu() -> dict[str, float]:
    """CPU seconds so far of every PostgreSQL process, and the machine's busy and idle seconds
    (all cores), from /proc: the run's CPU budget, beside the task's and the service's own."""
    tick = os.sysconf("SC_CLK_TCK")
    postgres = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat.partition("(")[2].startswith("postgres)"):
            fields = stat.rpartition(")")[2].split()
            # own time, plus (for the postmaster) that of the backends it has reaped
            postgres += sum(int(f) for f in fields[11:15]) / tick
    cpu = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = (cpu[3] + cpu[4]) / tick
    return {"postgres": postgres, "idle": idle, "busy": sum(cpu) / tick - idle}


def bench_collect_30k(admin_url: str, quick: bool) -> dict[str, Any]:
    """Publish, let a simulated crowd answer every HIT 3 times, then collect twice."""
    import psycopg

    from scripts.bench import service_load as bench_service
    from scripts.simulated_crowd import answer_through_backend

    rows = 1000 if quick else 10_000
    out: dict[str, Any] = {"rows": rows, "answers_per_hit": 3, "conf": COLLECT_CONF}
    with Stack(rows) as stack:
        seconds, result = stack.run(chunk_size=CHUNK_SIZE, concurrency=CONCURRENCY)
        out["publish_seconds"] = publish_figures(seconds, result, rows)["seconds"]
        with psycopg.connect(stack.source) as conn:
            hits = conn.execute(
                "SELECT hit_id, person_id FROM hitflow.batch_rows WHERE hit_id IS NOT NULL ORDER BY row_id"
            ).fetchall()
        t = time.perf_counter()
        out["crowd"] = answer_through_backend(stack.service_db, hits, per_hit=3)
        out["crowd"]["seconds"] = round(time.perf_counter() - t, 1)
        out["crowd"]["path"] = "the service's backend (accept + submit_assignment in-process), not HTTP"
        # the service alone, on this box, right now: the yardstick for the collect's calls/s
        alone = bench_service.run(admin_url, seconds=3 if quick else 8)
        out["service_alone"] = {k: alone[k] for k in ("calls_per_second", "p50_ms", "p99_ms", "threads")}
        service_before = process_tree_stats(stack.service.pid)
        machine_before = machine_cpu()
        env = {"HITFLOW_BENCH_COUNT_CALLS": "1"}
        stack.env |= env
        seconds, result = stack.run("mturk_collect_results", **COLLECT_CONF)
        machine_after = machine_cpu()
        first = collect_figures(seconds, result)
        service_after = process_tree_stats(stack.service.pid)
        spent = {k: machine_after[k] - machine_before[k] for k in machine_after}
        first["postgres_cpu_seconds"] = round(spent["postgres"], 1)
        first["machine_busy_share"] = round(spent["busy"] / (spent["busy"] + spent["idle"]), 3)
        first["service_cpu_seconds"] = round(service_after["cpu_seconds"] - service_before["cpu_seconds"], 1)
        first["service_peak_rss_mb"] = service_after["peak_rss_mb"]
        records = service_records(stack.service_db)
        seconds, result = stack.run("mturk_collect_results", **COLLECT_CONF)
        second = collect_figures(seconds, result)
        records_after = service_records(stack.service_db)
    # the service alone again after the runs; the share is taken against the higher figure
    again = bench_service.run(admin_url, seconds=3 if quick else 8)
    out["service_alone"]["calls_per_second_after"] = again["calls_per_second"]
    ceiling = max(alone["calls_per_second"], again["calls_per_second"])
    first["share_of_service_alone"] = round(first["calls_per_second"] / ceiling, 3)
    out["first_run"] = first
    out["service_records"] = records
    out["second_run"] = {
        "seconds": second["seconds"],
        "api_calls_by_operation": second["api_calls_by_operation"],
        "mutating_calls": second["mutating_calls"],
        "service_records_unchanged": records == records_after,
    }
    assert records["assignments_paid_twice"] == 0, records
    assert second["mutating_calls"] == 0 and records == records_after, (second, records, records_after)
    return out

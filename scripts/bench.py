"""`make bench`: hitflow's speed, measured side by side on this machine.

Sections (``--only NAME`` runs one; figures go to a table and ``bench-results.json``):

* ``service``     — the HIT service alone: CreateHITWithHITType calls/s and p50/p95/p99 latency
                    with 32 concurrent signed clients, at full load, paced at 50 % and 75 %
                    of it and at 500 calls/s (the goal's rate; said so when the service cannot
                    reach it); and the same load against a minimal endpoint answering from memory,
                    the ceiling (scripts/bench_service.py, scripts/minimal_endpoint.py).
* ``publish_2k``  — 2,000 rows, 50 ms added to every API call: the publish DAG vs the
                    seed-style serial boto3 loop.
* ``scale_10k``   — 10,000 rows through the publish DAG (``dag.test()``), no added latency:
                    wall time, HITs/s, XCom bytes and task instances per batch, time per task.
* ``scheduler_10k`` — the same 10,000 rows through the real scheduler (CeleryExecutor, the e2e
                    stack of ``tests/e2e/stack.py``; scripts/bench_scheduler.py), in four chunks
                    and then in one: the run's wall time, HITs/s, chunks running at once.
* ``faults_10k``  — the same 10,000 rows while the service injects throttling, ServiceFaults
                    and responses dropped after commit: retries, HITs recovered, and every row
                    checked for exactly one HIT in the service's own ListHITs.
* ``latency_10k`` — 10,000 rows at 100 ms per call: the DAG vs the serial loop (timed on a
                    sample and extrapolated, labelled so) vs the literal one-mapped-task-per-row
                    DAG (refused by Airflow past 1,024 rows; timed at 1,000).
* ``rate_limit``  — the service limits the requester to R calls/s: sustained rate as a share
                    of R, throttled calls retried, task failures.
* ``collect_30k`` — 10,000 rows published, 3 answers each submitted through the service's backend
                    (not timed), then one ``mturk_collect_results`` run: wall time, API calls by
                    operation, calls/s against the service alone in the same section, task
                    instances, XCom bytes, peak RSS; a second run that must change nothing
                    (checked against the service's own tables).
* ``scale_curve`` — 1,000 / 10,000 / 100,000 rows through the publish DAG (``dag.test()``) with
                    chunk size and concurrency left to the automatic rule: seconds, HITs/s, XCom
                    bytes, task instances, peak RSS of the task process and of the service, and
                    HITs/s as a share of the service alone measured in the same section
                    (``HITFLOW_BENCH_SCHEDULER_CURVE=1`` adds the sizes through the real scheduler).
* ``extract_1m``  — a 1,000,000-row interval: claim + validation + duplicate check time and the
                    peak RSS of the process doing it.
* ``console``     — the requester console: a 10,000-row CSV uploaded and published through its
                    forms (rows/s, the progress it reports, API latency of another client meanwhile),
                    then the results CSV of 30,000 assignments (seeded in SQL: 3 per HIT) streamed
                    (seconds, MB, the service's RSS before and at its peak while streaming).
* ``cancel_20k``  — a 20,000-HIT console batch ($7,200.00 held) cancelled through the form after one
                    assignment was submitted and one accepted: seconds until the form answers,
                    seconds until every untaken slot's money is back, the balance before and after
                    (scripts/bench_cancel.py).
* ``soak``        — boto3 clients and workers working HITs through the site at 70 % of the
                    measured capacity for ``--soak-seconds`` (default 600, or
                    ``$HITFLOW_SOAK_SECONDS``): rows/s, API calls/s, p50/p99, errors, the
                    service's RSS at start and end; then the same with 5 % injected faults,
                    every row checked for exactly one HIT (scripts/bench_soak.py).
* ``dag_parse``   — seconds to parse the DAG folder (a DagBag in a fresh interpreter, after
                    Airflow's own import), median of 5: the figure the tests do not assert.

Every run uses throwaway databases (``hitflow_test_*``, dropped afterwards) and its own HIT
service process on this box, so the clients and the service share the 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "plugins")]

from hitflow.collect.collector import OUTCOME_COUNTS  # noqa: E402
from hitflow.publish.autotune import chunk_size_for  # noqa: E402
from scripts import bench_cancel  # noqa: E402
from scripts.demo import airflow_env, demo_credentials, run_dag_result, service_env  # noqa: E402
from tests.integration.helpers import hits_per_row, service_hits, set_faults  # noqa: E402

SECTIONS = (
    "service",
    "publish_2k",
    "scale_10k",
    "scheduler_10k",
    "faults_10k",
    "latency_10k",
    "rate_limit",
    "collect_30k",
    "scale_curve",
    "extract_1m",
    "console",
    "cancel_20k",
    "soak",
    "dag_parse",
)
SOAK = {"seconds": float(os.environ.get("HITFLOW_SOAK_SECONDS", "600"))}


def seed_rows(url: str, count: int, bad_every: int = 0) -> None:
    """``count`` rows on 2026-11-24 (every ``bad_every``-th with no image_url)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for name in ("source_schema.sql", "hitflow_schema.sql"):
            conn.execute((REPO / "include" / "sql" / name).read_text())
        conn.execute(
            """INSERT INTO public.person_images
               SELECT i, 'P' || i,
                      CASE WHEN %(bad)s > 0 AND i %% %(bad)s = 0 THEN NULL
                           ELSE 'https://images.hitflow.example/bench/' || i || '.jpg' END,
                      timestamptz '2026-11-24' + (i %% 86000) * interval '1 second'
                 FROM generate_series(1, %(n)s) AS i""",
            {"n": count, "bad": bad_every},
        )


class Stack:
    """Throwaway databases, a HIT service and an Airflow home for one measurement."""

    def __init__(self, rows: int, service_extra: dict[str, str] | None = None, *, test_mode: bool = False) -> None:
        self.rows = rows
        self.test_mode = test_mode  # the service's /_test endpoints (fault injection) are on
        # two worker processes, as docker-compose.yaml runs the service (sections may override)
        self.service_extra = {"HITFLOW_HIT_SERVICE_WORKERS": "2"} | (service_extra or {})

    def __enter__(self) -> Stack:
        from hit_service.launcher import start_service
        from tests import pg

        self.state = Path(tempfile.mkdtemp(prefix="hitflow-bench-"))
        self.creds = demo_credentials(self.state)
        self.source = pg.create_database("bench_source")
        self.service_db = pg.create_database("bench_service")
        seed_rows(self.source, self.rows)
        self.service = start_service(
            self.service_db,
            log_path=self.state / "hit_service.log",
            test_mode=self.test_mode,
            extra_env=service_env(self.creds) | self.service_extra | {"HITFLOW_HIT_SERVICE_ACCESS_LOG": "0"},
        )
        self.env = airflow_env(self.state, self.source, self.service.url, self.creds, output_dir=self.state / "out")
        return self

    def __exit__(self, *exc: object) -> None:
        from tests import pg

        self.service.stop()
        pg.drop_database(self.source)
        pg.drop_database(self.service_db)

    def run(self, dag_id: str = "mturk_publish_hits", **conf: Any) -> tuple[float, dict[str, Any]]:
        env = self.env
        if not (REPO / "dags" / f"{dag_id}.py").exists():  # a bench-only DAG
            env = env | {"AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "scripts" / "bench_dags")}
        start = time.perf_counter()
        result = run_dag_result(env, dag_id, None, conf, self.state / f"{dag_id}.log")
        result["log"] = str(self.state / f"{dag_id}.log")
        return time.perf_counter() - start, result

    def client(self) -> Any:
        """A plain boto3 ``mturk`` client of the bench requester."""
        import boto3

        return boto3.client("mturk", region_name="us-east-1", endpoint_url=self.service.url, **self.creds)


def serial_loop(stack: Stack, calls: int) -> float:
    """The seed-style loop: one CreateHIT after another; returns seconds per call."""
    from hitflow.publish import questions

    client = stack.client()
    template = questions.load_template()
    start = time.perf_counter()
    for i in range(calls):
        client.create_hit(
            Title="Guess this person's age",
            Description="Look at one photo and type the age.",
            Reward="0.10",
            MaxAssignments=3,
            LifetimeInSeconds=259200,
            AssignmentDurationInSeconds=600,
            Question=questions.html_question(
                template, {"person_id": f"S{i}", "image_url": f"https://images.hitflow.example/s/{i}.jpg"}
            ),
        )
    return (time.perf_counter() - start) / calls


# How the 10,000-row runs publish: four chunks (a scheduler runs up to four publish_chunk tasks
# at once, so all start together and none waits for a free slot) and the most calls in flight
# per chunk the DAG allows (64; at 100 ms per call, 32 gave 24x the serial loop and 64 gave 37x).
# Override to compare other settings.
SERVICE_GOAL_RATE = 500.0  # calls/s at which the service's p99 should stay under 50 ms (issue 14)
CHUNK_SIZE = int(os.environ.get("HITFLOW_BENCH_CHUNK_SIZE", "2500"))
CONCURRENCY = int(os.environ.get("HITFLOW_BENCH_CONCURRENCY", "64"))


def publish_figures(seconds: float, result: dict[str, Any], rows: int) -> dict[str, Any]:
    """Figures of one publish run. ``seconds`` is the DAG run's own wall time (start to end, as
    Airflow records it); ``process_seconds`` adds starting Python, importing Airflow and creating
    the throwaway metadata database."""
    assert result["state"] == "success", f"the publish DAG failed; see {result.get('log')}"
    summary, stats = result["summary"], result["stats"]
    assert summary["hits_in_batch"] == rows, summary
    run_seconds = stats.get("run_seconds") or seconds
    return {
        "seconds": round(run_seconds, 1),
        "process_seconds": round(seconds, 1),
        "hits_per_second": round(rows / run_seconds, 1),
        "task_instances": stats["task_instances"],
        "xcom_bytes": stats["xcom_bytes"],
        "failed_tries": stats["failed_tries"],
        "seconds_by_task": stats["seconds_by_task"],
    }


# -- sections ---------------------------------------------------------------------------------
def bench_service(admin_url: str, quick: bool) -> dict[str, Any]:
    """The service at full load, paced at 50 % and 75 % of it and at the goal's 500 calls/s; the
    minimal endpoint's ceiling."""
    from scripts import bench_service

    seconds = 3 if quick else 10
    minimal = bench_service.run_minimal(seconds=seconds)
    out = bench_service.run(admin_url, seconds=seconds, loads=(0.5, 0.75), rates=(SERVICE_GOAL_RATE,))
    out["minimal_endpoint"] = minimal
    out["share_of_minimal_endpoint"] = round(out["calls_per_second"] / minimal["calls_per_second"], 3)
    return out


def bench_publish_2k(admin_url: str, quick: bool) -> dict[str, Any]:
    rows = 200 if quick else 2000
    with Stack(rows, {"HITFLOW_HIT_SERVICE_LATENCY_MS": "50"}) as stack:
        seconds, result = stack.run(chunk_size=250, concurrency=32)
        dag = publish_figures(seconds, result, rows)
        per_call = serial_loop(stack, rows)
    serial = per_call * rows
    return {
        "rows": rows,
        "latency_ms": 50,
        "dag": dag,
        "serial_loop_seconds": round(serial, 1),
        "speedup": round(serial / dag["seconds"], 1),
    }


def bench_scale_10k(admin_url: str, quick: bool) -> dict[str, Any]:
    rows = 1000 if quick else 10_000
    with Stack(rows) as stack:
        seconds, result = stack.run(chunk_size=CHUNK_SIZE, concurrency=CONCURRENCY)
        figures = publish_figures(seconds, result, rows)
        assert len(service_hits(stack.client())) == rows
    return {"rows": rows, "chunk_size": CHUNK_SIZE, "concurrency": CONCURRENCY, **figures}


def bench_scheduler_10k(admin_url: str, quick: bool) -> dict[str, Any]:
    """Two runs on fresh stacks: the batch in four chunks (all four run at once) and in one."""
    from scripts import bench_scheduler

    rows = 1000 if quick else 10_000
    keep = (
        "rows",
        "chunk_size",
        "concurrency",
        "state",
        "seconds",
        "seconds_from_trigger",
        "hits_per_second",
        "task_instances",
        "failed_tries",
        "peak_parallel_publish_chunk",
        "celery_worker_concurrency",
        "scheduler_gaps_seconds",
        "seconds_by_task",
        "service_hits",
        "stack_start_seconds",
        "stack_timings",
    )
    out: dict[str, Any] = {}
    for label, chunk_size in (("four_chunks", CHUNK_SIZE), ("one_chunk", rows)):
        figures = bench_scheduler.run(rows, chunk_size=chunk_size, concurrency=CONCURRENCY)
        out[label] = {key: figures[key] for key in keep if key in figures}
    return out


FAULTS = {"throttle_rate": 0.05, "service_fault_rate": 0.02, "drop_after_commit_rate": 0.02, "seed": 7}


def bench_faults_10k(admin_url: str, quick: bool) -> dict[str, Any]:
    """The fault tests' injected failures at full size: every row must end with exactly one HIT,
    counted in the service's own ListHITs by the row each HIT's annotation names."""
    rows = 1000 if quick else 10_000
    with Stack(rows, {"HITFLOW_HIT_SERVICE_WORKERS": "1"}, test_mode=True) as stack:  # faults are per process
        set_faults(stack.service, **FAULTS)
        seconds, result = stack.run(chunk_size=CHUNK_SIZE, concurrency=CONCURRENCY)
        figures = publish_figures(seconds, result, rows)
        set_faults(stack.service)
        per_row = hits_per_row(stack.client())
    duplicated = sum(1 for n in per_row.values() if n > 1)
    missing = rows - len(per_row)
    assert not duplicated and not missing, f"{duplicated} rows with several HITs, {missing} rows without one"
    summary = result["summary"]
    return {
        "rows": rows,
        "faults": FAULTS,
        "seconds": figures["seconds"],
        "hits_per_second": figures["hits_per_second"],
        "api_retries": summary["api_retries"],
        "hits_recovered_from_lost_responses": summary["hits_recovered"],
        "task_failures": figures["failed_tries"],
        "rows_with_one_hit": len(per_row),
        "rows_with_several_hits": duplicated,
        "rows_without_a_hit": missing,
    }


PER_ROW_ROWS = int(os.environ.get("HITFLOW_BENCH_PER_ROW_ROWS", "1000"))  # 0 skips the slow per-row DAG


def bench_latency_10k(admin_url: str, quick: bool) -> dict[str, Any]:
    rows, sample, per_row_rows = (1000, 50, 100) if quick else (10_000, 200, PER_ROW_ROWS)
    latency = {"HITFLOW_HIT_SERVICE_LATENCY_MS": "100"}
    out: dict[str, Any] = {"rows": rows, "latency_ms": 100, "chunk_size": CHUNK_SIZE, "concurrency": CONCURRENCY}
    with Stack(rows, latency) as stack:
        seconds, result = stack.run(chunk_size=CHUNK_SIZE, concurrency=CONCURRENCY)
        out["dag"] = publish_figures(seconds, result, rows)
        per_call = serial_loop(stack, sample)
    out["serial_loop"] = {
        "seconds_extrapolated": round(per_call * rows, 1),
        "measured_calls": sample,
        "seconds_per_call": round(per_call, 4),
    }
    out["speedup_vs_serial"] = round(per_call * rows / out["dag"]["seconds"], 1)
    if not per_row_rows:
        return out
    with Stack(rows, latency) as stack:
        seconds, refused = stack.run("one_task_per_row", rows=rows)
        log = Path(refused["log"]).read_text(errors="replace")
        refusals = ("too large to map", "max_map_length")
        reason = next((line.strip() for line in log.splitlines() if any(r in line for r in refusals)), "")
        out["one_task_per_row_at_rows"] = {
            "state": refused["state"],
            "seconds": round(seconds, 1),
            "why": reason[-300:],
        }
    with Stack(per_row_rows, latency) as stack:
        seconds, result = stack.run("one_task_per_row", rows=per_row_rows)
        assert result["state"] == "success", result.get("log")
        with Stack(per_row_rows, latency) as ours:
            our_seconds, our_result = ours.run(chunk_size=CHUNK_SIZE, concurrency=CONCURRENCY)
            publish_figures(our_seconds, our_result, per_row_rows)
    out[f"at_{per_row_rows}_rows"] = {
        "one_task_per_row_seconds": round(seconds, 1),
        "one_task_per_row_task_instances": result["stats"]["task_instances"],
        "hitflow_seconds": round(our_seconds, 1),
        "speedup": round(seconds / our_seconds, 1),
    }
    return out


def bench_rate_limit(admin_url: str, quick: bool) -> dict[str, Any]:
    limit = 100
    rows = 500 if quick else 3000
    # one service process: the token bucket is per process
    one_process = {"HITFLOW_HIT_SERVICE_RATE_LIMIT_PER_SECOND": str(limit), "HITFLOW_HIT_SERVICE_WORKERS": "1"}
    with Stack(rows, one_process) as stack:
        seconds, result = stack.run(chunk_size=500, concurrency=16)
        figures = publish_figures(seconds, result, rows)
    publishing = figures["seconds_by_task"].get("publish_chunk", seconds)
    sustained = rows / publishing
    return {
        "limit_per_second": limit,
        "rows": rows,
        "publish_seconds": round(publishing, 1),
        "sustained_per_second": round(sustained, 1),
        "share_of_limit": round(sustained / limit, 3),
        "throttled_calls_retried": result["summary"]["api_retries"],
        "task_failures": figures["failed_tries"],
    }


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


def process_tree_stats(pid: int) -> dict[str, float]:
    """CPU seconds and peak RSS (MB, the largest process) of ``pid`` and its children."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    cpu, peak = 0.0, 0.0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
            cpu += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        except (OSError, ValueError, IndexError):
            continue
    return {"cpu_seconds": round(cpu, 1), "peak_rss_mb": round(peak, 1)}


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

    from scripts import bench_service
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


def bench_scale_curve(admin_url: str, quick: bool) -> dict[str, Any]:
    """The publish cost curve: does 100,000 rows cost ten times 10,000?"""
    from scripts import bench_service

    sizes = (1000, 5000) if quick else (1000, 10_000, 100_000)
    if os.environ.get("HITFLOW_BENCH_CURVE_SIZES"):  # e.g. "1000,10000,40000" when time is short
        sizes = tuple(int(n) for n in os.environ["HITFLOW_BENCH_CURVE_SIZES"].split(","))
    alone = bench_service.run(admin_url, seconds=3 if quick else 8)
    out: dict[str, Any] = {"service_alone_calls_per_second": alone["calls_per_second"], "dag_test": {}}
    for rows in sizes:
        with Stack(rows, {"HITFLOW_HIT_SERVICE_INITIAL_BALANCE": "9999999.00"}) as stack:  # 100,000 HITs: $36,000
            seconds, result = stack.run()  # chunk_size and concurrency left empty: the automatic rule
            figures = publish_figures(seconds, result, rows)
            service = process_tree_stats(stack.service.pid)
        figures.pop("seconds_by_task")
        out["dag_test"][str(rows)] = figures | {
            "chunks": figures["task_instances"] - 9,
            "peak_rss_mb": result["stats"].get("peak_rss_mb"),
            "service_peak_rss_mb": service["peak_rss_mb"],
            "service_cpu_seconds": service["cpu_seconds"],
        }
    # Measured again after the curve: one 8-s sample moves with whatever else the box is doing,
    # so each share is taken against the higher of the two (the less flattering one).
    again = bench_service.run(admin_url, seconds=3 if quick else 8)
    out["service_alone_calls_per_second_after"] = again["calls_per_second"]
    ceiling = max(alone["calls_per_second"], again["calls_per_second"])
    for figures in out["dag_test"].values():
        figures["share_of_service_alone"] = round(figures["hits_per_second"] / ceiling, 3)
    largest, reference = out["dag_test"][str(sizes[-1])], out["dag_test"][str(sizes[-2])]
    out["largest_vs_previous_hits_per_second"] = round(largest["hits_per_second"] / reference["hits_per_second"], 3)
    if os.environ.get("HITFLOW_BENCH_SCHEDULER_CURVE"):
        from scripts import bench_scheduler

        out["scheduler"] = {}
        for rows in sizes:
            chunk = chunk_size_for(rows, None)
            figures = bench_scheduler.run(rows, chunk_size=chunk, concurrency=64)
            out["scheduler"][str(rows)] = {
                k: figures.get(k)
                for k in ("seconds", "hits_per_second", "task_instances", "failed_tries", "peak_rss_mb")
            }
    return out


def bench_extract_1m(admin_url: str, quick: bool) -> dict[str, Any]:
    from tests import pg

    rows = 100_000 if quick else 1_000_000
    url = pg.create_database("bench_extract")
    try:
        start = time.perf_counter()
        seed_rows(url, rows, bad_every=1000)
        seeded = time.perf_counter() - start
        out = subprocess.run(
            [sys.executable, "-m", "scripts.bench", "--extract-worker", url],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        pg.drop_database(url)
    return {"rows": rows, "seed_seconds": round(seeded, 1), **figures}


def extract_worker(url: str) -> None:
    """Claim, validate and plan a whole 2026-11-24 interval the way the DAG's tasks do; print figures."""
    import resource
    import uuid
    from datetime import UTC, datetime

    import psycopg

    from hitflow.publish import store
    from hitflow.publish.rows import row_problem

    batch_id = uuid.uuid4()
    scope = store.Scope(datetime(2026, 11, 24, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC))
    timings: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        store.open_batch(conn, batch_id=batch_id, dag_id="bench", run_id="bench", scope=scope, params={})
        t = time.perf_counter()
        claim = store.claim_rows(conn, batch_id=batch_id, scope=scope, max_rows=None)
        timings["claim"] = time.perf_counter() - t
        t = time.perf_counter()
        problems = [
            (row.id, reason) for row in store.iter_unvalidated_rows(conn, batch_id) if (reason := row_problem(row))
        ]
        quarantined = store.quarantine(conn, batch_id, problems)
        timings["validate"] = time.perf_counter() - t
        t = time.perf_counter()
        duplicates = store.quarantine_duplicates(conn, batch_id)
        store.mark_validated(conn, batch_id)
        timings["duplicates"] = time.perf_counter() - t
        t = time.perf_counter()
        chunks, _, size = store.plan_chunks(conn, batch_id, 500, 1000)
        timings["plan_chunks"] = time.perf_counter() - t
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "claimed": claim["claimed_now"],
                "quarantined": quarantined,
                "duplicates": duplicates,
                "chunks": len(chunks),
                "chunk_size": size,
                "seconds": {k: round(v, 1) for k, v in timings.items()},
                "total_seconds": round(sum(timings.values()), 1),
                "peak_rss_mb": round(peak_kb / 1024, 1),
            }
        )
    )


def _rss_mb(pid: int) -> float:
    """A process's resident memory now, in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bench_console(admin_url: str, quick: bool) -> dict[str, Any]:
    """Publish a big CSV through the console while the API answers; stream a big results CSV."""
    import statistics
    import threading

    import boto3
    import psycopg
    import requests

    from hit_service.console.client import ConsoleClient
    from hit_service.launcher import start_service
    from tests import pg

    rows = 1000 if quick else 10_000
    state = Path(tempfile.mkdtemp(prefix="hitflow-bench-console-"))
    creds = demo_credentials(state)
    db = pg.create_database("bench_console")
    service = start_service(
        db,
        test_mode=True,
        log_path=state / "hit_service.log",
        extra_env=service_env(creds) | {"HITFLOW_HIT_SERVICE_ACCESS_LOG": "0"},
    )
    try:
        requests.post(
            f"{service.url}/_test/requester-users",
            json={"account": creds["aws_access_key_id"], "name": "bench", "password": "bench-password"},
            timeout=10,
        ).raise_for_status()
        console = ConsoleClient(service.url, "bench", "bench-password", timeout=300)
        layout_id = console.create_project("age_guess", max_assignments="3")
        data = "person_id,image_url\n" + "".join(f"P{i},https://images.example/{i}.jpg\n" for i in range(rows))
        start = time.perf_counter()
        batch_id = console.upload(layout_id, data.encode(), "bench")
        checked = time.perf_counter() - start
        client = boto3.client("mturk", region_name="us-east-1", endpoint_url=service.url, **creds)
        latencies: list[float] = []
        done = threading.Event()

        def api_meanwhile() -> None:
            while not done.is_set():
                t = time.perf_counter()
                client.get_account_balance()
                latencies.append((time.perf_counter() - t) * 1000)
                time.sleep(0.05)

        probe = threading.Thread(target=api_meanwhile, daemon=True)
        probe.start()
        start = time.perf_counter()
        console.publish(batch_id)
        samples = 0
        while (progress := console.progress(batch_id))["status"] == "publishing":
            samples += 1
            time.sleep(0.5)
        published = time.perf_counter() - start
        done.set()
        probe.join()
        assert progress["created"] == rows, progress

        with psycopg.connect(db, autocommit=True) as conn:
            for w in range(3):
                conn.execute(
                    """INSERT INTO mturk.workers (worker_id, name, password_hash, created_at)
                       VALUES (%s, %s, 'x', now())""",
                    (f"AWORKERBENCH{w:02d}", f"bench-worker-{w}"),
                )
            conn.execute(
                """INSERT INTO mturk.assignments (assignment_id, hit_id, requester, worker_id, status, accept_time,
                       deadline, submit_time, auto_approval_time, answer, updated_at)
                   SELECT '3BENCH' || r.row_number || 'W' || w, r.hit_id, %(req)s, 'AWORKERBENCH0' || w, 'Submitted',
                          now() - interval '5 minutes', now() + interval '1 hour', now(), now() + interval '3 days',
                          '<QuestionFormAnswers><Answer><QuestionIdentifier>age</QuestionIdentifier>'
                          || '<FreeText>' || (20 + w) || '</FreeText></Answer></QuestionFormAnswers>', now()
                   FROM mturk.batch_rows r, generate_series(0, 2) AS w WHERE r.batch_id = %(b)s""",
                {"req": creds["aws_access_key_id"], "b": batch_id},
            )
            conn.execute(
                """UPDATE mturk.hits SET assignments_submitted = 3
                   WHERE hit_id IN (SELECT hit_id FROM mturk.batch_rows WHERE batch_id = %s)""",
                (batch_id,),
            )
        before = _rss_mb(service.pid)
        peak = [before]
        streaming = threading.Event()

        def sample() -> None:
            while not streaming.is_set():
                peak.append(_rss_mb(service.pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        start = time.perf_counter()
        size = lines = 0
        with console.session.get(f"{service.url}/requester/batches/{batch_id}/results.csv", stream=True) as response:
            response.raise_for_status()
            for chunk in response.iter_content(65536):
                size += len(chunk)
                lines += chunk.count(b"\r\n")
        streamed = time.perf_counter() - start
        streaming.set()
        sampler.join()
        assert lines == rows * 3 + 1, lines
    finally:
        service.stop()
        pg.drop_database(db)
    return {
        "rows": rows,
        "check_seconds": round(checked, 2),
        "publish_seconds": round(published, 1),
        "rows_per_second": round(rows / published, 1),
        "progress_polls": samples,
        "api_calls_meanwhile": len(latencies),
        "api_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "api_max_ms": round(max(latencies), 1) if latencies else None,
        "assignments": rows * 3,
        "results_seconds": round(streamed, 1),
        "results_mb": round(size / 1e6, 1),
        "service_rss_before_mb": round(before, 1),
        "service_rss_peak_mb": round(max(peak), 1),
    }


def bench_soak(admin_url: str, quick: bool) -> dict[str, Any]:
    """The soak, plain and with 5 % injected faults (``SOAK["seconds"]`` each; 60 s when quick)."""
    from scripts import bench_soak as soak

    seconds = min(SOAK["seconds"], 60.0) if quick else SOAK["seconds"]
    return {
        "plain": soak.run(admin_url, seconds=seconds),
        "faults": soak.run(admin_url, seconds=seconds, fault_rate=0.05),
    }


def bench_dag_parse(admin_url: str, quick: bool) -> dict[str, Any]:
    """Parse the DAG folder in fresh interpreters; heavy imports at parse time show up here."""
    probe = (
        "import json, time\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "t = time.perf_counter()\n"
        f"bag = DagBag(dag_folder={str(REPO / 'dags')!r})\n"
        "seconds = time.perf_counter() - t\n"
        "print(json.dumps({'seconds': seconds, 'dags': len(bag.dags), 'errors': len(bag.import_errors)}))\n"
    )
    runs = []
    with tempfile.TemporaryDirectory(prefix="hitflow-bench-parse-") as home:
        unused = {"aws_access_key_id": "unused", "aws_secret_access_key": "unused"}
        env = os.environ | airflow_env(Path(home), admin_url, "http://127.0.0.1:9", unused)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "plugins")])
        for _ in range(2 if quick else 5):
            out = subprocess.run(
                [sys.executable, "-c", probe], env=env, cwd=REPO, capture_output=True, text=True, check=True
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    seconds = sorted(r["seconds"] for r in runs)
    return {
        "median_seconds": round(seconds[len(seconds) // 2], 3),
        "dags": runs[0]["dags"],
        "errors": runs[0]["errors"],
    }


BENCHES = {
    "service": bench_service,
    "publish_2k": bench_publish_2k,
    "scale_10k": bench_scale_10k,
    "scheduler_10k": bench_scheduler_10k,
    "faults_10k": bench_faults_10k,
    "latency_10k": bench_latency_10k,
    "rate_limit": bench_rate_limit,
    "collect_30k": bench_collect_30k,
    "scale_curve": bench_scale_curve,
    "extract_1m": bench_extract_1m,
    "console": bench_console,
    "cancel_20k": bench_cancel.run,
    "soak": bench_soak,
    "dag_parse": bench_dag_parse,
}


def print_table(results: dict[str, Any]) -> None:
    lines = ["", "hitflow bench", "=" * 78]

    def add(label: str, value: Any, target: str = "") -> None:
        lines.append(f"{label:<52}{value!s:>14}  {target}")

    if "service" in results:
        r = results["service"]
        add("HIT service: CreateHITWithHITType calls/s (32 clients)", r.get("calls_per_second"), "aim >= 500")
        percentiles = f"{r['p50_ms']} / {r['p95_ms']} / {r['p99_ms']}"
        add("HIT service: p50 / p95 / p99 ms at 100 %", percentiles, "aim p99 < 50")
        for share, at in r.get("at_share_of_max", {}).items():
            add(f"  at {share} ({at['calls_per_second']} calls/s)", f"{at['p50_ms']} / {at['p95_ms']} / {at['p99_ms']}")
        for rate, at in r.get("at_rate", {}).items():
            if at.get("reachable") is False:
                add(f"  at {rate}", f"not reached (max {at['full_calls_per_second']}/s)", "aim p99 < 50")
            else:
                figures = f"{at['p50_ms']} / {at['p95_ms']} / {at['p99_ms']}"
                add(f"  at {rate} ({at['calls_per_second']} calls/s)", figures, "aim p99 < 50")
        if "minimal_endpoint" in r:
            add("minimal endpoint (no database): calls/s", r["minimal_endpoint"]["calls_per_second"])
            add("  the service as a share of it", f"{r['share_of_minimal_endpoint']:.0%}", "aim >= 70 %")
    if "publish_2k" in results:
        r = results["publish_2k"]
        add(f"{r['rows']} rows at 50 ms: publish DAG seconds", r["dag"]["seconds"])
        add(f"{r['rows']} rows at 50 ms: serial boto3 loop seconds", r["serial_loop_seconds"])
        add("  speed-up", f"{r['speedup']}x")
    if "scale_10k" in results:
        r = results["scale_10k"]
        add(f"{r['rows']} rows, no latency: publish DAG seconds", r["seconds"], "target <= 30")
        add("  HITs/s", r["hits_per_second"])
        add("  XCom bytes per batch", r["xcom_bytes"])
        add("  task instances per batch", r["task_instances"], f"rows/chunk = {r['rows'] // r['chunk_size']} + 10")
    if "scheduler_10k" in results:
        for r in results["scheduler_10k"].values():
            chunks = r["rows"] // r["chunk_size"]
            add(f"{r['rows']} rows, real scheduler, {chunks} chunk(s): seconds", r["seconds"], "target <= 30")
            add("  HITs/s", r["hits_per_second"])
            add("  publish_chunk tasks at once (peak)", r["peak_parallel_publish_chunk"])
    if "faults_10k" in results:
        r = results["faults_10k"]
        add(f"{r['rows']} rows with injected faults: seconds", r["seconds"])
        add(
            "  retried calls / HITs recovered from lost responses",
            f"{r['api_retries']} / {r['hits_recovered_from_lost_responses']}",
        )
        add("  rows with exactly one HIT (service's ListHITs)", r["rows_with_one_hit"], f"of {r['rows']}")
        add("  task failures", r["task_failures"])
    if "latency_10k" in results:
        r = results["latency_10k"]
        add(f"{r['rows']} rows at 100 ms: publish DAG seconds", r["dag"]["seconds"])
        add("  serial loop seconds (extrapolated)", r["serial_loop"]["seconds_extrapolated"])
        add("  speed-up vs serial", f"{r['speedup_vs_serial']}x", "target >= 20x")
        if "one_task_per_row_at_rows" in r:
            add(f"  one task per row at {r['rows']} rows", r["one_task_per_row_at_rows"]["state"])
            key = next(k for k in r if k.startswith("at_"))
            add(f"  one task per row {key[3:]}: seconds", r[key]["one_task_per_row_seconds"])
            add(f"  hitflow {key[3:]}: seconds", r[key]["hitflow_seconds"])
    if "rate_limit" in results:
        r = results["rate_limit"]
        add(f"rate limit {r['limit_per_second']}/s: sustained calls/s", r["sustained_per_second"])
        add("  share of the limit", f"{r['share_of_limit']:.0%}", "target >= 90 %")
        add("  task failures", r["task_failures"], "target 0")
    if "collect_30k" in results:
        r = results["collect_30k"]
        first = r["first_run"]
        add(f"collect {r['rows'] * 3} answers: seconds", first["seconds"], "goal <= 60")
        add("  API calls / calls/s", f"{first['api_calls']} / {first['calls_per_second']}")
        add("  share of the service alone", f"{first['share_of_service_alone']:.0%}", "aim >= 60 %")
        if "postgres_cpu_seconds" in first:
            cpu = f"{first['cpu_seconds']} / {first['service_cpu_seconds']} / {first['postgres_cpu_seconds']}"
            add("  CPU s: task / service / PostgreSQL", cpu, f"machine {first['machine_busy_share']:.0%} busy")
        add("  task instances / XCom bytes", f"{first['task_instances']} / {first['xcom_bytes']}")
        add("  peak RSS MB (dag.test process)", first["peak_rss_mb"])
        add("  second run: mutating calls", r["second_run"]["mutating_calls"], "target 0")
    if "scale_curve" in results:
        r = results["scale_curve"]
        for rows, f in r["dag_test"].items():
            add(f"{rows} rows, dag.test, auto chunks: seconds / HITs/s", f"{f['seconds']} / {f['hits_per_second']}")
            add(
                "  chunks / task instances / XCom bytes",
                f"{f['chunks']} / {f['task_instances']} / {f['xcom_bytes']}",
                "<= 60 TIs, < 15 MB",
            )
            add("  share of the service alone", f"{f['share_of_service_alone']:.0%}", "aim >= 85 %")
        add("  largest size's HITs/s vs the one before", f"{r['largest_vs_previous_hits_per_second']:.0%}", ">= 90 %")
        for rows, f in r.get("scheduler", {}).items():
            figures = f"{f['seconds']} / {f['hits_per_second']} / {f['task_instances']}"
            add(f"{rows} rows, real scheduler: seconds / HITs/s / TIs", figures)
            if f.get("peak_rss_mb"):
                peak = f"{f['peak_rss_mb']['task_process']} / {f['peak_rss_mb']['service']}"
                add("  peak RSS MB: a task process / the service", peak)
    if "extract_1m" in results:
        r = results["extract_1m"]
        add(f"{r['rows']}-row interval: claim+validate+plan seconds", r["total_seconds"])
        add("  peak RSS MB", r["peak_rss_mb"], "target < 300")
    if "console" in results:
        r = results["console"]
        add(f"console: {r['rows']}-row CSV checked, seconds", r["check_seconds"])
        add("  published, rows/s", r["rows_per_second"], f"{r['publish_seconds']} s")
        add(
            "  API meanwhile: calls, p50 / max ms", f"{r['api_calls_meanwhile']}, {r['api_p50_ms']} / {r['api_max_ms']}"
        )
        add(f"  results CSV of {r['assignments']} assignments, seconds", r["results_seconds"], f"{r['results_mb']} MB")
        add(
            "  service RSS MB before / peak while streaming",
            f"{r['service_rss_before_mb']} / {r['service_rss_peak_mb']}",
        )
    if "cancel_20k" in results:
        r = results["cancel_20k"]
        add(f"cancel a {r['hits']}-HIT batch: the form answers, seconds", r["cancel_answer_seconds"], "at once")
        add("  every untaken slot's money back, seconds", r["release_seconds"], r["released"])
        add(
            "  balance before / published / after",
            f"{r['balance_before']} / {r['balance_published']} / {r['balance_after']}",
        )
    for label, r in (results.get("soak") or {}).items():
        add(f"soak {label} ({r['seconds']:.0f} s, {r['threads']} lanes): rows/s", r["rows_per_s"])
        add("  of measured capacity rows/s", f"{r['target_rows_per_s']} / {r['capacity_rows_per_s']}", "70 %")
        add("  API calls/s; p50 / p99 ms", f"{r['api_calls_per_s']}; {r['api_p50_ms']} / {r['api_p99_ms']}")
        add("  site requests p50 / p99 ms", f"{r['site_p50_ms']} / {r['site_p99_ms']}")
        add("  errors", r["errors"], "target 0")
        rss = f"{r['rss_mb_start']} / {r['rss_mb_end']} ({r['rss_mb_peak']})"
        add("  service RSS MB start / end (peak)", rss, "flat")
        add("  rows with exactly one HIT", r["rows_with_one_hit"], f"of {r['rows_started']} started")
    if "dag_parse" in results:
        r = results["dag_parse"]
        add(f"parse the DAG folder ({r['dags']} DAGs, {r['errors']} errors): median seconds", r["median_seconds"])
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--only", action="append", choices=SECTIONS)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not figures to quote")
    parser.add_argument("--out", default=str(REPO / "bench-results.json"))
    parser.add_argument("--soak-seconds", type=float, help="soak seconds per run ($HITFLOW_SOAK_SECONDS, 600)")
    parser.add_argument("--extract-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.extract_worker:
        extract_worker(args.extract_worker)
        return
    if args.soak_seconds:
        SOAK["seconds"] = args.soak_seconds
    from tests import pg

    os.environ["HITFLOW_TEST_PG_URL"] = pg.ADMIN_URL = args.admin_url
    results: dict[str, Any] = {"quick": args.quick}
    for name in args.only or SECTIONS:
        print(f"bench: {name} …", flush=True)
        start = time.perf_counter()
        with contextlib.ExitStack():
            results[name] = BENCHES[name](args.admin_url, args.quick)
        print(f"bench: {name} done in {time.perf_counter() - start:.0f} s", flush=True)
        Path(args.out).write_text(json.dumps(results, indent=2, default=str))
    print_table(results)
    print(f"\n(written to {args.out})")


if __name__ == "__main__":
    main()

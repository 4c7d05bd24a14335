"""Publishing N rows (default 10,000) through the **real Airflow scheduler** with the CeleryExecutor.

    .venv/bin/python -m scripts.bench.scheduler_stack --rows 10000

``scripts/bench/`` times the publish DAG with ``dag.test()``, which runs the mapped
``publish_chunk`` tasks one after another in one process. This script starts the end-to-end
stack of ``hitflow_support/airflow_stack.py`` instead (api-server, scheduler, dag-processor, triggerer, a
Celery worker, the HIT service, throwaway ``hitflow_test_*`` databases), seeds ``--rows`` rows
dated 2026-11-24 (``scripts.bench.common.seed_rows``), unpauses ``mturk_publish_hits``, lets the
scheduler's own daily run (an interval with none of those rows) finish as a warm-up, then
triggers ONE manual run through ``POST /api/v2/dags/mturk_publish_hits/dagRuns`` with
``{"chunk_size": ..., "concurrency": ...}`` and waits for it.

Figures (printed as JSON): the run's own wall time (``end_date - start_date`` from the REST
API) and the time from the trigger call to the run being seen finished, HITs/s, task
instances, failed tries, seconds per task, the peak number of ``publish_chunk`` task
instances running at once (from their start/end dates), the Celery worker's concurrency, the
gaps the scheduler left between consecutive stages of the DAG, and the HITs counted through
the service's ListHITs (asserted equal to the rows). The stack is always stopped and its
databases dropped; its logs are kept only when something failed.

The machine's cores are shared by every Airflow component, PostgreSQL, Redis, the HIT service
and the task processes, so read the figures as this box's, not Airflow's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
import time
from collections import defaultdict
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [p for p in (str(REPO), str(REPO / "plugins")) if p not in sys.path]

from hitflow_support.airflow_stack import PUBLISH_DAG, Stack, wait_for  # noqa: E402
from hitflow_support.service_queries import service_hits  # noqa: E402
from scripts.bench.common import CHUNK_SIZE, CONCURRENCY, seed_rows  # noqa: E402

# The DAG's stages in dependency order (publish_chunk is the mapped one).
STAGES = (
    "open_batch",
    "extract_rows",
    "validate_rows",
    "check_balance",
    "create_hit_type",
    "plan_chunks",
    "publish_chunk",
    "gather_hit_ids",
    "export_batch",
    "summarize",
    "announce_hits",
)


def _ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def task_instances(stack: Stack, run_id: str) -> list[dict[str, Any]]:
    """Every task instance of the run (mapped ones included), paged through the REST API."""
    found: list[dict[str, Any]] = []
    while True:
        page = stack.get_json(
            f"/dags/{PUBLISH_DAG}/dagRuns/{run_id}/taskInstances", limit=100, offset=len(found), order_by="id"
        )
        found += page["task_instances"]
        if not page["task_instances"] or len(found) >= page["total_entries"]:
            return found


def peak_overlap(spans: list[tuple[datetime, datetime]]) -> int:
    """The largest number of [start, end) spans open at one instant."""
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])  # ends sort before starts
    peak = running = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


def refill(spans: list[tuple[datetime, datetime]], slots: int) -> dict[str, float]:
    """How long a freed slot stayed empty: the i-th start after the first ``slots`` minus the (i - slots)-th end."""
    if slots <= 0:
        return {"sum": 0.0, "max": 0.0}
    starts, ends = sorted(s for s, _ in spans), sorted(e for _, e in spans)
    gaps = [max(0.0, (starts[i] - ends[i - slots]).total_seconds()) for i in range(slots, len(starts))]
    return {"sum": round(sum(gaps), 2), "max": round(max(gaps, default=0.0), 2)}


def _rss_by_parent() -> tuple[dict[int, list[int]], dict[int, float]]:
    """(children of each pid, RSS in MB of each pid), from /proc."""
    children: dict[int, list[int]] = defaultdict(list)
    rss: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        pid = int(entry.name)
        children[int(fields[1])].append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    return children, rss


class PeakMemory:
    """Samples (every ``interval`` s, in a thread) the largest RSS of one process under each root.

    Task processes come and go (Celery forks one per task), so their own peak (VmHWM) is lost
    when they exit; sampling the tree catches them while they run.
    """

    def __init__(self, roots: dict[str, int], interval: float = 0.5) -> None:
        self.roots = roots
        self.interval = interval
        self.peak = dict.fromkeys(roots, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            children, rss = _rss_by_parent()
            for name, root in self.roots.items():
                todo, seen = [root], []
                while todo:
                    pid = todo.pop()
                    seen.append(pid)
                    todo += children.get(pid, [])
                self.peak[name] = max(self.peak[name], *(rss.get(pid, 0.0) for pid in seen))
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def worker_concurrency(stack: Stack) -> int | None:
    """The ``--concurrency`` the stack gave its Celery worker."""
    for component in stack.components:
        if component.name == "celery-worker" and "--concurrency" in component.argv:
            return int(component.argv[component.argv.index("--concurrency") + 1])
    return None


def wait_done(stack: Stack, run_id: str, timeout: float, interval: float = 0.5) -> dict[str, Any]:
    """Like ``Stack.wait_run``, polling every ``interval`` s (its 2 s would blur the trigger-to-done time)."""

    def done() -> dict[str, Any] | None:
        stack.check_running()
        run = stack.get_json(f"/dags/{PUBLISH_DAG}/dagRuns/{run_id}")
        return run if run["state"] in ("success", "failed") else None

    return wait_for(f"{PUBLISH_DAG} run {run_id} to finish", done, timeout, interval=interval)


def warm_up(stack: Stack, timeout: float = 180) -> dict[str, Any] | None:
    """Unpause the DAG; wait for the scheduler's own daily run (it has no rows of ours) to finish.

    Unpausing is needed for any run to be scheduled, and it makes the scheduler create the
    latest daily interval's run (catchup=False). Letting that one finish first keeps it from
    sharing the worker with the measured run, and pays the first task's cold start.
    """
    response = stack.api("PATCH", f"/dags/{PUBLISH_DAG}", json={"is_paused": False})
    response.raise_for_status()
    began = time.monotonic()

    def scheduled_done() -> list[dict[str, Any]] | None:
        stack.check_running()
        runs = stack.dag_runs(PUBLISH_DAG, run_type="scheduled")
        return runs if runs and all(r["state"] in ("success", "failed") for r in runs) else None

    try:
        runs = wait_for("the scheduler's daily run after unpausing", scheduled_done, timeout, interval=1)
    except TimeoutError:
        return None
    run = runs[-1]
    start, end = _ts(run["start_date"]), _ts(run["end_date"])
    return {
        "state": run["state"],
        "seconds": round((end - start).total_seconds(), 1) if start and end else None,
        "seconds_from_unpause": round(time.monotonic() - began, 1),
    }


def run_figures(stack: Stack, run: dict[str, Any], rows: int) -> dict[str, Any]:
    tis = task_instances(stack, run["dag_run_id"])
    run_start, run_end = _ts(run["start_date"]), _ts(run["end_date"])
    seconds = (run_end - run_start).total_seconds()

    by_task: dict[str, float] = defaultdict(float)
    spans: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    waits: list[float] = []
    for ti in tis:
        start, end, queued = _ts(ti["start_date"]), _ts(ti["end_date"]), _ts(ti.get("queued_when"))
        if start and end:
            by_task[ti["task_id"]] += (end - start).total_seconds()
            spans[ti["task_id"]].append((start, end))
        if queued and start:
            waits.append((start - queued).total_seconds())

    # Stage by stage: when the first instance started, the last ended, and how long the
    # scheduler left between the previous stage's end and this one's start.
    stages: dict[str, dict[str, float]] = {}
    previous_end = run_start
    for task_id in STAGES:
        if not spans.get(task_id):
            continue
        first = min(s for s, _ in spans[task_id])
        last = max(e for _, e in spans[task_id])
        stages[task_id] = {
            "gap_before": round((first - previous_end).total_seconds(), 2),
            "span": round((last - first).total_seconds(), 2),
        }
        previous_end = last
    all_spans = [span for task_spans in spans.values() for span in task_spans]
    chunks = spans.get("publish_chunk", [])
    peak_chunks = peak_overlap(chunks)
    return {
        "seconds": round(seconds, 1),
        "hits_per_second": round(rows / seconds, 1),
        "task_instances": len(tis),
        "ti_states": dict(sorted(_count(ti["state"] for ti in tis).items())),
        "failed_tries": sum(1 for ti in tis if (ti.get("try_number") or 0) > 1),
        "seconds_by_task": {k: round(v, 1) for k, v in sorted(by_task.items(), key=lambda kv: -kv[1])},
        "publish_chunk_instances": len(spans.get("publish_chunk", [])),
        "peak_parallel_publish_chunk": peak_chunks,
        "publish_chunk_slot_idle_seconds": round(
            peak_chunks * stages.get("publish_chunk", {}).get("span", 0) - by_task.get("publish_chunk", 0), 1
        ),
        "publish_chunk_refill_seconds": refill(chunks, peak_chunks),
        "peak_parallel_tasks": peak_overlap(all_spans),
        "stages": stages,
        "scheduler_gaps_seconds": round(sum(s["gap_before"] for s in stages.values()), 1),
        "after_last_task_seconds": round((run_end - previous_end).total_seconds(), 2),
        "queued_to_start_seconds": {"sum": round(sum(waits), 1), "max": round(max(waits, default=0), 2)},
    }


def _count(items: Any) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        counts[str(item)] += 1
    return counts


def run(
    rows: int = 10_000, *, chunk_size: int = CHUNK_SIZE, concurrency: int = CONCURRENCY, keep_logs: bool = False
) -> dict[str, Any]:
    """Start a stack with ``rows`` rows, publish them in one manual run, return the figures."""
    # 100,000 HITs cost $36,000 at the defaults: more than the service's default balance
    stack = Stack(service_env={"HITFLOW_HIT_SERVICE_INITIAL_BALANCE": "9999999.00"})
    ok = False
    out: dict[str, Any] = {"rows": rows, "chunk_size": chunk_size, "concurrency": concurrency}
    try:
        began = time.monotonic()
        stack.start(partial(seed_rows, count=rows))
        out["stack_start_seconds"] = round(time.monotonic() - began, 1)
        out["celery_worker_concurrency"] = worker_concurrency(stack)
        out["warmup_scheduled_run"] = warm_up(stack)

        conf = {"chunk_size": chunk_size, "concurrency": concurrency}
        worker = next(c.pid for c in stack.components if c.name == "celery-worker" and c.pid)
        with PeakMemory({"task_process": worker, "service": stack.hit_service.pid}) as memory:
            triggered = time.monotonic()
            response = stack.api(
                "POST", f"/dags/{PUBLISH_DAG}/dagRuns", json={"logical_date": None, "conf": conf, "note": "bench"}
            )
            if response.status_code != 200:
                raise RuntimeError(f"trigger answered {response.status_code}: {response.text}")
            run_id = response.json()["dag_run_id"]
            finished = wait_done(stack, run_id, timeout=max(600.0, rows / 5))
        # the largest single process under the Celery worker (a task process or the worker
        # itself), and under the HIT service (its supervisor or one of its worker processes)
        out["peak_rss_mb"] = {name: round(mb, 1) for name, mb in memory.peak.items()}
        out["seconds_from_trigger"] = round(time.monotonic() - triggered, 1)
        out["run_id"] = run_id
        out["state"] = finished["state"]
        out |= run_figures(stack, finished, rows)
        if finished["state"] == "success":
            summary = stack.get_json(
                f"/dags/{PUBLISH_DAG}/dagRuns/{run_id}/taskInstances/summarize/xcomEntries/return_value"
            )["value"]
            out["summary"] = {k: summary.get(k) for k in ("hits_in_batch", "hits_created_now", "api_retries")}
        out["service_hits"] = len(service_hits(stack.mturk()))
        assert out["state"] == "success", f"the run ended {out['state']}: {stack.task_states(PUBLISH_DAG, run_id)}"
        assert out["service_hits"] == rows, f"ListHITs counts {out['service_hits']} HITs for {rows} rows"
        ok = True
        return out
    except BaseException:
        print(stack.diagnostics(), file=sys.stderr)
        raise
    finally:
        t = time.monotonic()
        report = stack.stop()
        if report.get("killed") or report.get("leftovers_killed"):
            out["stack_stop_report"] = report
        out["stack_stop_seconds"] = round(time.monotonic() - t, 1)
        out["stack_timings"] = {k: round(v, 1) for k, v in stack.timings.items()}
        if ok and not keep_logs:
            shutil.rmtree(stack.root, ignore_errors=True)
        else:
            print(f"stack logs kept in {stack.logs}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--keep-logs", action="store_true", help="keep the stack's logs even when all went well")
    args = parser.parse_args(argv)
    figures = run(args.rows, chunk_size=args.chunk_size, concurrency=args.concurrency, keep_logs=args.keep_logs)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

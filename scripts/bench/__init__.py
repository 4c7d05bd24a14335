"""`make bench`: hitflow's speed, measured side by side on this machine.

Sections (``--only NAME`` runs one; figures go to a table and ``bench-results.json``):

* ``service``     — the HIT service alone: CreateHITWithHITType calls/s and p50/p95/p99 latency
                    with 32 concurrent signed clients, at full load, paced at 50 % and 75 %
                    of it and at 500 calls/s (the goal's rate; said so when the service cannot
                    reach it); and the same load against a minimal endpoint answering from memory,
                    the ceiling (scripts/bench/service_load.py, scripts/minimal_endpoint.py).
* ``publish_2k``  — 2,000 rows, 50 ms added to every API call: the publish DAG vs the
                    seed-style serial boto3 loop.
* ``scale_10k``   — 10,000 rows through the publish DAG (``dag.test()``), no added latency:
                    wall time, HITs/s, XCom bytes and task instances per batch, time per task.
* ``scheduler_10k`` — the same 10,000 rows through the real scheduler (CeleryExecutor, the e2e
                    stack of ``hitflow_support/airflow_stack.py``; scripts/bench/scheduler_stack.py), in four chunks
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
                    (scripts/bench/cancel_20k.py).
* ``soak``        — boto3 clients and workers working HITs through the site at 70 % of the
                    measured capacity for ``--soak-seconds`` (default 600, or
                    ``$HITFLOW_SOAK_SECONDS``): rows/s, API calls/s, p50/p99, errors, the
                    service's RSS at start and end; then the same with 5 % injected faults,
                    every row checked for exactly one HIT (scripts/bench/soak_load.py).
* ``dag_parse``   — seconds to parse the DAG folder (a DagBag in a fresh interpreter, after
                    Airflow's own import), median of 5: the figure the tests do not assert.

Every run uses throwaway databases (``hitflow_test_*``, dropped afterwards) and its own HIT
service process on this box, so the clients and the service share the 2 cores.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Every section imports hitflow (plugins/) and scripts.*: make both importable however the bench starts.
REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [p for p in (str(REPO), str(REPO / "plugins")) if p not in sys.path]

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

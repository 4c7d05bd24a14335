"""§4 of the deploy story: hosts that fail, on the three-worker stack. After each fault the run
finishes (through Airflow's retries, or one ``clearTaskInstances`` call, the REST form of
``airflow tasks clear``, which the test records), every row has exactly one HIT in ``ListHITs``,
and nothing is approved or paid twice (the service's ledger equals hitflow's records).

Each publish fault is injected into a fresh batch of ``FAULT_ROWS`` rows (10,000, as in the
scale-out stage; ``HITFLOW_FAULT_ROWS`` makes it smaller on a slow machine) published in chunks of
``FAULT_CHUNK``; the hitflow-db restart (c) hits the collect of the batch (b) published, answered
three times (30,000 answers). Timings of each fault (injected after, run total, whether a clear
was needed) land in ``stack.timings``.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from typing import Any

import psycopg

from tests.deploy import checks
from tests.deploy.stack import COLLECT_DAG, PUBLISH_DAG, ComposeStack, wait_for
from tests.deploy.test_1_compose_stack import LONG_RUNNING

FAULT_ROWS = int(os.environ.get("HITFLOW_FAULT_ROWS", "10000"))
FAULT_CHUNK = max(FAULT_ROWS // 10, 1)  # ten chunks: more than the four that run at once
_IDS = itertools.count(2_000_000, 100_000)
PUBLISHED: list[str] = []  # batches published under a fault, in order


def ensure_three_workers(stack: ComposeStack) -> None:
    stack.compose("up", "-d", "--no-recreate", "--scale", "airflow-worker=3")
    stack.wait_healthy(LONG_RUNNING | {"airflow-worker": 3}, timeout=900)


def running_ti(stack: ComposeStack, dag_id: str, run_id: str, task_id: str, timeout: float = 600) -> dict[str, Any]:
    def one() -> dict[str, Any] | None:
        tis = [t for t in stack.task_instances(dag_id, run_id) if t["task_id"] == task_id and t["state"] == "running"]
        return tis[0] if tis and tis[0].get("hostname") else None

    return wait_for(f"a running {task_id} of {run_id}", one, timeout, interval=0.5)


def container_of(stack: ComposeStack, service: str, hostname: str | None = None) -> str:
    for container in stack.containers(service, all_states=True):
        if hostname is None or container["Config"]["Hostname"] == hostname:
            return container["Name"].lstrip("/")
    raise AssertionError(f"no {service} container with hostname {hostname}")


def finish(stack: ComposeStack, dag_id: str, run_id: str, name: str, timeout: float = 1800) -> dict[str, Any]:
    """Wait for the run; if it failed, clear its failed tasks once (``airflow tasks clear``) and wait again."""
    run = stack.wait_run(dag_id, run_id, timeout=timeout)
    stack.timings[f"{name}_cleared"] = 0
    if run["state"] == "failed":
        response = stack.api(
            "POST",
            f"/dags/{dag_id}/clearTaskInstances",
            json={"dag_run_id": run_id, "only_failed": True, "dry_run": False, "reset_dag_runs": True},
        )
        assert response.status_code == 200, response.text
        stack.timings[f"{name}_cleared"] = 1
        run = stack.wait_run(dag_id, run_id, timeout=timeout)
    stack.facts[f"{name}: tasks that took more than one try"] = checks.retried(stack, dag_id, run_id)
    assert run["state"] == "success", {
        f"{t['task_id']}[{t['map_index']}]": t["state"] for t in stack.task_instances(dag_id, run_id)
    }
    return run


def publish_under_fault(stack: ComposeStack, name: str, inject: Callable[[dict[str, Any]], None]) -> str:
    """Publish a fresh FAULT_ROWS batch; ``inject`` runs once a chunk is running (given that
    task instance). Returns the batch ID after checking one HIT per row and the ledgers."""
    ensure_three_workers(stack)
    stack.lift_spending_limits()  # the batches cost more than the default limits
    stack.fund_requester()  # and more than the starting balance, after two of them
    checks.add_rows(stack, max(next(_IDS), checks.next_free_id(stack)), FAULT_ROWS, "2026-11-29T00:00:00+00:00")
    start = time.monotonic()
    run_id = stack.trigger(
        PUBLISH_DAG, {"max_rows": FAULT_ROWS, "chunk_size": FAULT_CHUNK, "concurrency": 4}, f"compose-test {name}"
    )
    ti = running_ti(stack, PUBLISH_DAG, run_id, "publish_chunk")
    stack.timings[f"{name}_injected_after"] = round(time.monotonic() - start, 1)
    inject(ti)
    finish(stack, PUBLISH_DAG, run_id, name)
    stack.timings[f"{name}_run_total"] = round(time.monotonic() - start, 1)
    batch = checks.batch_of(run_id)
    checks.assert_one_hit_per_row(stack, batch, FAULT_ROWS)
    checks.assert_ledgers_agree(stack)
    PUBLISHED.append(batch)
    return batch


def test_a_worker_container_killed_while_its_chunk_publishes(stack: ComposeStack) -> None:
    def kill(ti: dict[str, Any]) -> None:
        victim = container_of(stack, "airflow-worker", ti["hostname"])
        stack.docker("kill", victim)
        stack.facts["a_kill_worker: killed"] = f"{victim}, running publish_chunk[{ti['map_index']}]"
        time.sleep(20)  # the host is down for a while, then comes back
        stack.docker("start", victim)

    publish_under_fault(stack, "a_kill_worker", kill)


def test_b_worker_cut_off_from_the_network_for_30_s(stack: ComposeStack) -> None:
    def cut(ti: dict[str, Any]) -> None:
        victim = container_of(stack, "airflow-worker", ti["hostname"])
        info = stack.docker("inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", victim)
        network = info.stdout.split()[0]
        stack.docker("network", "disconnect", network, victim)
        stack.facts["b_partition_worker: cut off"] = f"{victim}, running publish_chunk[{ti['map_index']}]"
        time.sleep(30)
        stack.docker("network", "connect", "--alias", "airflow-worker", network, victim)

    publish_under_fault(stack, "b_partition_worker", cut)


def test_c_hitflow_db_restarted_during_a_collect(stack: ComposeStack) -> None:
    from scripts import simulated_crowd

    # The batch (b) published under its fault; published here, fault-free, if (b) did not get that far.
    batch = PUBLISHED[-1] if PUBLISHED else publish_under_fault(stack, "c_publish", lambda ti: None)
    with psycopg.connect(stack.db_url()) as conn:
        hits = conn.execute(
            "SELECT hit_id, person_id FROM hitflow.batch_rows WHERE batch_id = %s::uuid ORDER BY row_id", (batch,)
        ).fetchall()
    # The collect the publish triggered (through its asset) ends before the crowd starts, so the
    # answers are left to the run below (an hourly run could still take some: the fact says).
    wait_for("no collect run in progress", lambda: not _collect_running(stack), 900)
    simulated_crowd.answer_through_backend(
        stack.db_url("hitflow_hit_service"), hits, per_hit=3, prefix=f"fault-c-{batch[:8]}"
    )
    wait_for("no collect run in progress", lambda: not _collect_running(stack), 900)
    before = checks.reviewed_in(stack, batch)
    stack.facts["c_restart_db: answers reviewed before the run"] = before
    start = time.monotonic()
    run_id = stack.trigger(COLLECT_DAG, {"bonus_amount": "0.05"}, "compose-test c: hitflow-db restart")
    running_ti(stack, COLLECT_DAG, run_id, "collect_chunk")

    def reviewing() -> int:  # the restart lands while reviews are being written, not at task start-up
        done = checks.reviewed_in(stack, batch)
        return done if done >= before + 300 else 0

    at = wait_for("reviews under way", reviewing, 600, interval=0.5)
    stack.facts["c_restart_db: answers reviewed when hitflow-db was restarted"] = at
    stack.timings["c_restart_db_injected_after"] = round(time.monotonic() - start, 1)
    stack.docker("restart", container_of(stack, "hitflow-db"))
    finish(stack, COLLECT_DAG, run_id, "c_restart_db")
    stack.timings["c_restart_db_run_total"] = round(time.monotonic() - start, 1)
    counts = checks.assert_ledgers_agree(stack)
    reviewed = checks.reviewed_in(stack, batch)
    assert reviewed == 3 * FAULT_ROWS, f"{reviewed} of {3 * FAULT_ROWS} answers reviewed ({counts})"


def _collect_running(stack: ComposeStack) -> bool:
    runs = stack.get_json(f"/dags/{COLLECT_DAG}/dagRuns", limit=100)["dag_runs"]
    return any(r["state"] in ("queued", "running") for r in runs)


def test_d_hit_service_killed_mid_publish_and_started_again(stack: ComposeStack) -> None:
    def kill(ti: dict[str, Any]) -> None:
        service = container_of(stack, "hit-service")
        stack.docker("kill", service)
        time.sleep(15)
        stack.docker("start", service)

    publish_under_fault(stack, "d_kill_service", kill)


def test_e_scheduler_restarted_mid_run(stack: ComposeStack) -> None:
    publish_under_fault(
        stack, "e_restart_scheduler", lambda ti: stack.docker("restart", container_of(stack, "airflow-scheduler"))
    )

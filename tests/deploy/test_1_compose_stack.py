"""§3 of the deploy story: the real compose file on the real engine, from ``cp .env.example .env``
to the collect report in ``./output``, then three Celery workers and a 10,000-row batch.

Each stage's duration lands in ``stack.timings``, and which worker ran what in ``stack.facts``
(both printed at the end and kept in ``compose-test-timings.json``); README's "Deploy" quotes them.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg

from tests.deploy import checks
from tests.deploy.stack import COLLECT_DAG, PUBLISH_DAG, ComposeStack, wait_for

LONG_RUNNING = {
    "airflow-db": 1,
    "redis": 1,
    "hitflow-db": 1,
    "hit-service": 1,
    "airflow-apiserver": 1,
    "airflow-scheduler": 1,
    "airflow-dag-processor": 1,
    "airflow-triggerer": 1,
    "airflow-worker": 1,
}
SCALE_ROWS = 10_000
SCALE_CHUNK = 1_000  # ten publish chunks: enough to land on each of three workers
STATE: dict[str, Any] = {}


def assert_success(stack: ComposeStack, dag_id: str, run: dict[str, Any]) -> None:
    if run["state"] != "success":
        states = {
            f"{t['task_id']}[{t['map_index']}]": t["state"] for t in stack.task_instances(dag_id, run["dag_run_id"])
        }
        raise AssertionError(f"{dag_id} run {run['dag_run_id']} is {run['state']}: {states}")


def test_stack_builds_and_comes_up_healthy(stack: ComposeStack) -> None:
    stack.timed("build", lambda: stack.compose("build", timeout=1800))
    stack.timed("up", lambda: stack.compose("up", "-d", timeout=900))
    stack.timed("healthy", lambda: stack.wait_healthy(LONG_RUNNING, timeout=900))
    init = stack.logs("airflow-init", 200)
    assert "hitflow init: done" in init, init
    assert "created database hitflow_hit_service" in init, "airflow-init creates the service's database"


def test_ui_and_rest_api_answer_with_both_connections(stack: ComposeStack) -> None:
    import requests

    page = requests.get(f"{stack.api_url}/", timeout=30)
    assert page.status_code == 200 and "<html" in page.text.lower(), page.text[:200]
    assert stack.get_json("/version")["version"] == "3.3.2"
    connections = {c["connection_id"]: c for c in stack.get_json("/connections", limit=100)["connections"]}
    assert {"mturk_default", "hitflow_db"} <= set(connections), sorted(connections)
    assert connections["hitflow_db"]["host"] == "hitflow-db"
    assert '"endpoint_url": "http://hit-service:8100"' in (connections["mturk_default"]["extra"] or "")
    bad = requests.post(f"{stack.api_url}/auth/token", json={"username": "admin", "password": "wrong"}, timeout=30)
    assert bad.status_code in (401, 403), "the admin password from .env is the only one accepted"


def test_demo_rows_publish_on_the_celery_worker(stack: ComposeStack) -> None:
    checks.load_sql(stack, *checks.DEMO_SQL)  # from the host, through hitflow-db's port
    for dag_id in (PUBLISH_DAG, COLLECT_DAG):
        stack.unpause(dag_id)
    run_id = stack.trigger(PUBLISH_DAG, {"max_rows": 100}, "compose-test demo rows")
    run = stack.timed("publish_demo", lambda: stack.wait_run(PUBLISH_DAG, run_id, timeout=900))
    assert_success(stack, PUBLISH_DAG, run)
    summary = stack.xcom(PUBLISH_DAG, run_id, "summarize")
    assert summary["hits_created_now"] > 0, summary
    batch = checks.batch_of(run_id)
    checks.assert_one_hit_per_row(stack, batch, summary["hits_created_now"])
    workers = set(stack.worker_hostnames())
    hosts = {ti["hostname"] for ti in stack.task_instances(PUBLISH_DAG, run_id)}
    assert hosts <= workers, f"tasks ran outside the worker containers: {hosts - workers}"
    STATE["demo"] = {"batch": batch, "hits": summary["hits_created_now"], "run_id": run_id}


def test_simulated_crowd_answers_and_collect_writes_the_report(stack: ComposeStack) -> None:
    from scripts import simulated_crowd

    demo = STATE["demo"]
    state_dir = stack.root / ".run"
    state_dir.mkdir(exist_ok=True)
    passwords = simulated_crowd.ensure_workers(stack.db_url("hitflow_hit_service"), state_dir)
    answered = stack.timed(
        "crowd_demo",
        lambda: simulated_crowd.answer_open_hits(
            stack.env["HITFLOW_HIT_SERVICE_PUBLIC_URL"], stack.db_url(), passwords
        ),
    )
    assert answered["answers"] >= demo["hits"] * 3 - answered["skipped"] and answered["answers"] > 0, answered
    # The asset-triggered collect (run right after publishing) saw no answers yet: wait for it,
    # then collect with the answers in.
    wait_for("no collect run in progress", lambda: not _collect_running(stack), 600)
    run_id = stack.trigger(COLLECT_DAG, {"bonus_amount": "0.05"}, "compose-test collect")
    run = stack.timed("collect_demo", lambda: stack.wait_run(COLLECT_DAG, run_id, timeout=900))
    assert_success(stack, COLLECT_DAG, run)
    counts = checks.assert_ledgers_agree(stack)
    assert counts["approved"] > 0 and counts["bonuses"] > 0, counts
    report = stack.root / "output" / "reports" / demo["batch"]
    assert any(report.glob("*.html")), f"no report in {report} (host's ./output)"
    STATE["demo_counts"] = counts


def _collect_running(stack: ComposeStack) -> bool:
    runs = stack.get_json(f"/dags/{COLLECT_DAG}/dagRuns", limit=100)["dag_runs"]
    return any(r["state"] in ("queued", "running") for r in runs)


def test_three_workers_share_a_10k_publish_and_its_30k_answer_collect(stack: ComposeStack) -> None:
    from scripts import simulated_crowd

    expected = LONG_RUNNING | {"airflow-worker": 3}
    stack.timed("scale_to_3", lambda: stack.compose("up", "-d", "--no-recreate", "--scale", "airflow-worker=3"))
    stack.timed("scale_healthy", lambda: stack.wait_healthy(expected, timeout=900))
    assert len(stack.worker_hostnames()) == 3

    stack.lift_spending_limits()
    stack.fund_requester()
    checks.add_rows(stack, 1_000_000, SCALE_ROWS, "2026-11-30T00:00:00+00:00")
    run_id = stack.trigger(
        PUBLISH_DAG, {"max_rows": SCALE_ROWS, "chunk_size": SCALE_CHUNK, "concurrency": 16}, "compose-test 10k"
    )
    run = stack.timed("publish_10k", lambda: stack.wait_run(PUBLISH_DAG, run_id, timeout=1800))
    assert_success(stack, PUBLISH_DAG, run)
    batch = checks.batch_of(run_id)
    checks.assert_one_hit_per_row(stack, batch, SCALE_ROWS)
    placed = checks.where_tasks_ran(stack, PUBLISH_DAG, run_id, "publish_chunk")
    stack.facts["publish_10k: publish_chunk map indexes by worker container"] = placed
    assert len(placed) == 3 and all(name.startswith(stack.project) for name in placed), placed

    with psycopg.connect(stack.db_url()) as conn:
        hits = conn.execute(
            "SELECT hit_id, person_id FROM hitflow.batch_rows WHERE batch_id = %s::uuid ORDER BY row_id", (batch,)
        ).fetchall()
    start = time.monotonic()
    answered = simulated_crowd.answer_through_backend(stack.db_url("hitflow_hit_service"), hits, per_hit=3)
    stack.timings["crowd_30k"] = round(time.monotonic() - start, 1)
    assert answered["answers"] == 3 * SCALE_ROWS, answered

    wait_for("no collect run in progress", lambda: not _collect_running(stack), 900)
    # The hourly collect may have run while the crowd answered: say how much was left to this run.
    stack.facts["collect_30k: answers reviewed before the run"] = checks.reviewed_in(stack, batch)
    collect_id = stack.trigger(COLLECT_DAG, {"bonus_amount": "0.05"}, "compose-test 30k answers")
    run = stack.timed("collect_30k", lambda: stack.wait_run(COLLECT_DAG, collect_id, timeout=2400))
    assert_success(stack, COLLECT_DAG, run)
    collect_placed = checks.where_tasks_ran(stack, COLLECT_DAG, collect_id, "collect_chunk")
    stack.facts["collect_30k: collect_chunk map indexes by worker container"] = collect_placed
    assert len(collect_placed) == 3, collect_placed
    counts = checks.assert_ledgers_agree(stack)
    assert counts["approved"] + counts["rejected"] >= 3 * SCALE_ROWS, counts
    STATE["scale"] = {"batch": batch, "run_id": run_id, "collect_run_id": collect_id}

"""hitflow as a team runs it: a real Airflow with the CeleryExecutor, driven through its REST API
and CLI, publishing to the HIT service over the MTurk protocol.

The tests run in file order against one running deployment (the ``stack`` fixture), then
``test_airflow_ui.py`` drives the same deployment from a browser and ``test_stop.py`` stops it:

1. the dag-processor registers the DAGs (paused), and sees a new DAG file within seconds;
2. a trigger past any limit of any param of either DAG is refused (HTTP 400) with a message
   that names the param (and, for a pattern, quotes its description), as the UI's form shows it;
3. a manual run triggered through ``POST /api/v2/dags/{dag_id}/dagRuns`` with the form's
   ``conf`` publishes exactly its rows with those params;
4. ``airflow backfill create`` over three past days publishes each day's rows exactly once,
   and running it again (as is, then reprocessing the completed runs) adds no HIT;
5. the scheduler itself runs the latest daily interval after the DAG is unpaused;
6. ``mturk_collect_results`` runs on the ``hitflow_published_hits`` asset the publish runs emit
   (only runs that created HITs emit it).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
import requests

from hitflow_support.airflow_stack import COLLECT_DAG, PUBLISH_DAG, REPO, Stack, annotations_by_row, wait_for
from tests.e2e.plan import Plan

ASSET = "hitflow_published_hits"
COLLECT_DAG_FILE = REPO / "dags" / "mturk_collect_results.py"


# ---------------------------------------------------------------------------------- helpers
def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def parse_ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def batch_of(dag_id: str, run_id: str) -> uuid.UUID:
    from hitflow.publish.batch_store import batch_uuid

    return batch_uuid(dag_id, run_id)


def rows_by_batch(stack: Stack) -> dict[int, tuple[str, str, str | None]]:
    """``row_id → (batch_id, status, hit_id)`` from hitflow.batch_rows."""
    with psycopg.connect(stack.source_url) as conn:
        rows = conn.execute("SELECT row_id, batch_id::text, status, hit_id FROM hitflow.batch_rows").fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def all_hits(stack: Stack) -> list[dict[str, Any]]:
    client = stack.mturk()
    hits, token = [], None
    while True:
        page = client.list_hits(MaxResults=100, **({"NextToken": token} if token else {}))
        hits += page["HITs"]
        token = page.get("NextToken")
        if not token or not page["HITs"]:
            return hits


def form_conf(stack: Stack, **overrides: Any) -> dict[str, Any]:
    """What the UI's trigger form posts: every param's current value, some of them changed."""
    details = stack.get_json(f"/dags/{PUBLISH_DAG}/details")
    conf = {name: spec["value"] for name, spec in details["params"].items()}
    unknown = set(overrides) - set(conf)
    assert not unknown, f"params not on the form: {unknown}"
    return conf | overrides


def summary_of(stack: Stack, dag_id: str, run_id: str) -> dict[str, Any]:
    entry = stack.get_json(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/summarize/xcomEntries/return_value")
    return entry["value"]


def assert_run_succeeded(stack: Stack, run: dict[str, Any]) -> None:
    if run["state"] != "success":
        states = stack.task_states(run["dag_id"], run["dag_run_id"])
        pytest.fail(f"{run['dag_id']} run {run['dag_run_id']} ended {run['state']}; task states {states}")


def unpause(stack: Stack, dag_id: str) -> None:
    """What the UI's toggle does: ``PATCH /api/v2/dags/{dag_id}`` with ``is_paused`` false."""
    response = stack.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
    assert response.status_code == 200, response.text
    assert response.json()["is_paused"] is False


# ---------------------------------------------------------------------------------- 1. parsing
def test_dag_processor_registers_the_dags_paused(stack: Stack) -> None:
    expected = {PUBLISH_DAG} | ({COLLECT_DAG} if COLLECT_DAG_FILE.exists() else set())

    def registered() -> dict[str, Any] | None:
        dags = {d["dag_id"]: d for d in stack.get_json("/dags", limit=100)["dags"]}
        return dags if expected <= set(dags) else None

    t = time.monotonic()
    dags = wait_for(f"the dag-processor to register {sorted(expected)}", registered, timeout=120)
    stack.timings["dags_registered"] = time.monotonic() - t
    assert stack.get_json("/importErrors")["import_errors"] == []
    # [core] dags_are_paused_at_creation is False here: the DAGs' own is_paused_upon_creation.
    assert all(dags[d]["is_paused"] for d in expected), "hitflow's DAGs must arrive paused"
    assert dags[PUBLISH_DAG]["timetable_summary"] is not None
    health = stack.health()
    assert {k: health[k]["status"] for k in ("metadatabase", "scheduler", "triggerer", "dag_processor")} == {
        "metadatabase": "healthy",
        "scheduler": "healthy",
        "triggerer": "healthy",
        "dag_processor": "healthy",
    }


def test_a_new_dag_file_is_seen_within_seconds(stack: Stack) -> None:
    """``[dag_processor] refresh_interval`` is 5 s here (300 s by default)."""
    dag_id = f"e2e_probe_{stack.run_id}"
    (stack.probe_dags / f"{dag_id}.py").write_text(
        "from datetime import datetime\n"
        "from airflow.sdk import dag, task\n\n"
        f"@dag(dag_id={dag_id!r}, schedule=None, start_date=datetime(2026, 11, 1), tags=['e2e'])\n"
        "def probe():\n"
        "    @task\n"
        "    def noop():\n"
        "        return 1\n"
        "    noop()\n\n"
        "probe()\n"
    )
    t = time.monotonic()
    wait_for(f"{dag_id} to appear", lambda: stack.api("GET", f"/dags/{dag_id}").status_code == 200, 60, 0.5)
    stack.timings["new_dag_seen"] = time.monotonic() - t
    assert stack.timings["new_dag_seen"] < 60


# ---------------------------------------------------------------------------------- 2-3. REST
def bad_values(spec: dict[str, Any]) -> list[tuple[str, Any]]:
    """One value past each limit of a param's schema: (which limit, value)."""
    types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    step = 1 if "integer" in types else 0.5
    out: list[tuple[str, Any]] = []
    if "minimum" in spec:
        out.append(("minimum", spec["minimum"] - step))
    if "maximum" in spec:
        out.append(("maximum", spec["maximum"] + step))
    if "enum" in spec:
        out.append(("enum", "not-" + spec["enum"][0]))
    if "pattern" in spec:
        out += [("pattern", "abc"), ("pattern", "0.00" if "0.10" in spec["description"] else "a b")]
    if spec.get("minLength"):
        out.append(("minLength", ""))
    if "maxLength" in spec:
        out.append(("maxLength", "x" * (spec["maxLength"] + 1)))
    out.append(("type", [] if "string" in types else "abc"))
    return out


def test_every_params_limits_are_refused_through_rest_with_its_description(stack: Stack) -> None:
    """Every minimum, maximum, enum, pattern and length of both DAGs' params, through REST: a 400
    that names the param, and for a pattern its description rather than the regex; no run created."""
    from hitflow.collect.policy import COLLECT_PARAM_SPECS
    from hitflow.publish.batch_config import PARAM_SPECS

    for dag_id, specs in ((PUBLISH_DAG, PARAM_SPECS), (COLLECT_DAG, COLLECT_PARAM_SPECS)):
        if dag_id == COLLECT_DAG and not COLLECT_DAG_FILE.exists():
            continue
        before = len(stack.dag_runs(dag_id))
        defaults = {name: spec["value"] for name, spec in stack.get_json(f"/dags/{dag_id}/details")["params"].items()}
        checked = 0
        for name, spec in specs.items():
            for limit, value in bad_values(spec):
                conf = defaults | {name: value}
                response = stack.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})
                assert response.status_code == 400, f"{dag_id} {name}={value!r} ({limit}): {response.text}"
                first_line = response.json()["detail"].splitlines()[0]
                assert first_line.startswith(f"Invalid input for param {name}: "), first_line
                if limit == "pattern":  # the value and the rule it breaks, never the regex
                    assert f"{value!r} is not one of [{spec['rule']!r}]" in first_line, first_line
                    assert spec["pattern"] not in first_line, first_line
                checked += 1
        assert len(stack.dag_runs(dag_id)) == before, f"a refused trigger created a {dag_id} run"
        assert checked >= len(specs)
    # The Backfill dialog posts the same conf to /backfills (when its override box is ticked).
    response = stack.api(
        "POST",
        "/backfills",
        json={"dag_id": PUBLISH_DAG, "from_date": "2026-11-10T00:00:00Z", "to_date": "2026-11-11T00:00:00Z",
              "dag_run_conf": {"reward": "0.00"}},
    )  # fmt: skip
    assert response.status_code in (400, 422), response.text
    assert PARAM_SPECS["reward"]["rule"] in response.json()["detail"]
    assert stack.get_json("/backfills", dag_id=PUBLISH_DAG)["backfills"] == []


def test_trigger_with_an_invalid_param_is_refused(stack: Stack) -> None:
    before = len(stack.dag_runs(PUBLISH_DAG))
    response = stack.api(
        "POST", f"/dags/{PUBLISH_DAG}/dagRuns", json={"logical_date": None, "conf": form_conf(stack, reward="$1")}
    )
    assert response.status_code == 400, response.text
    assert "reward" in response.text or "$1" in response.text, response.text
    anonymous = requests.post(
        f"{stack.api_url}/api/v2/dags/{PUBLISH_DAG}/dagRuns", json={"logical_date": None}, timeout=10
    )
    assert anonymous.status_code == 401, anonymous.text
    forged = stack.api(
        "POST", f"/dags/{PUBLISH_DAG}/dagRuns", json={"logical_date": None}, headers={"Authorization": "Bearer nope"}
    )
    assert forged.status_code in (401, 403), forged.text
    assert len(stack.dag_runs(PUBLISH_DAG)) == before, "a refused trigger must not create a run"


def _task_log(stack: Stack, dag_id: str, run_id: str, task_id: str) -> str:
    folder = stack.logs / "tasks" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    return "\n".join(path.read_text(errors="replace") for path in sorted(folder.rglob("attempt=*.log")))


def test_a_scheduled_run_over_the_spending_limit_creates_no_hit(stack: Stack, plan: Plan) -> None:
    """Unpausing starts the latest daily run at once, with nobody watching: with the team's per-run
    limit below its cost ($1.44 for the 4 scheduled rows) it creates nothing and says why. Then the
    limit is lifted and the run cleared, and it publishes (checked in the schedule section)."""
    limit = {"key": "hitflow_spend_limit_per_run_usd", "value": "1.43"}
    assert stack.api("POST", "/variables", json=limit).status_code in (200, 201)
    if COLLECT_DAG_FILE.exists():
        unpause(stack, COLLECT_DAG)  # before any publish run, so it sees every asset event
    unpause(stack, PUBLISH_DAG)

    def refused() -> dict[str, Any] | None:
        stack.check_running()
        runs = [r for r in stack.dag_runs(PUBLISH_DAG, run_type="scheduled") if r["state"] in ("success", "failed")]
        return runs[0] if runs else None

    run = wait_for("the scheduler's daily run", refused, timeout=180, interval=2)
    assert run["state"] == "failed", "the scheduled run went past the spending limit"
    log = _task_log(stack, PUBLISH_DAG, run["dag_run_id"], "check_balance")
    assert "spending limit: this run would cost $1.44" in log and "per-run limit of $1.43" in log, log[-3000:]
    assert "hitflow_spend_limit_per_run_usd" in log and "No HIT was created; 4 rows were released" in log
    assert not set(plan.scheduled) & set(rows_by_batch(stack)), "the refused run kept its rows"
    assert not set(plan.scheduled) & set(annotations_by_row(all_hits(stack)))

    assert stack.api("DELETE", f"/variables/{limit['key']}").status_code in (200, 204)
    cleared = stack.api("POST", f"/dags/{PUBLISH_DAG}/dagRuns/{run['dag_run_id']}/clear", json={"dry_run": False})
    assert cleared.status_code == 200, cleared.text


def test_manual_trigger_through_the_rest_api_publishes_its_rows_with_the_form_params(stack: Stack, plan: Plan) -> None:
    # Both DAGs were unpaused by the test before; unpausing also started the latest daily run.
    unpause(stack, PUBLISH_DAG)
    conf = form_conf(stack, max_rows=len(plan.manual), reward="0.25", max_assignments=2, mode="both")
    response = stack.api(
        "POST", f"/dags/{PUBLISH_DAG}/dagRuns", json={"logical_date": None, "conf": conf, "note": "e2e manual run"}
    )
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["run_type"] == "manual" and created["conf"]["reward"] == "0.25"
    assert created["logical_date"] is None

    t = time.monotonic()
    run = stack.wait_run(PUBLISH_DAG, created["dag_run_id"], timeout=240)
    stack.timings["manual_run"] = time.monotonic() - t
    print("manual run task timings", stack.task_timings(PUBLISH_DAG, created["dag_run_id"]))
    assert_run_succeeded(stack, run)
    assert run["data_interval_start"] is None, "a manual run without a logical date has no data interval"

    batch = str(batch_of(PUBLISH_DAG, run["dag_run_id"]))
    rows = rows_by_batch(stack)
    mine = sorted(r for r, (b, _, _) in rows.items() if b == batch)
    assert mine == plan.manual, "the manual run takes the oldest pending rows, max_rows of them"
    assert {rows[r][1] for r in mine} == {"published"}

    hits = {h["HITId"]: h for h in all_hits(stack)}
    for row_id in plan.manual:
        hit = hits[rows[row_id][2]]
        assert hit["Reward"] == "0.25" and hit["MaxAssignments"] == 2, hit
        assert hit["RequesterAnnotation"] == f"hitflow batch {batch} row {row_id}"
    summary = summary_of(stack, PUBLISH_DAG, run["dag_run_id"])
    assert summary["hits_created_now"] == len(plan.manual)
    assert (stack.output_dir / "batches" / batch / "input.csv").exists(), "mode=both writes the bulk-upload CSV"


# ---------------------------------------------------------------------------------- 4. backfill
KNOWN_RERUN_BUG = "publish_chunk needs a HIT type"


def _backfill(stack: Stack, plan: Plan, *extra: str, wait: bool = True) -> dict[str, Any]:
    """``airflow backfill create`` over the three days; wait until the scheduler completes it."""
    first, last = plan.backfill_days[0], plan.backfill_days[-1]
    known = {b["id"] for b in stack.get_json("/backfills", dag_id=PUBLISH_DAG)["backfills"]}
    stack.airflow(
        "backfill", "create", "--dag-id", PUBLISH_DAG,
        "--from-date", first.isoformat(), "--to-date", last.isoformat(), *extra,
        timeout=120,
    )  # fmt: skip

    def created(complete: bool) -> dict[str, Any] | None:
        stack.check_running()
        new = [b for b in stack.get_json("/backfills", dag_id=PUBLISH_DAG)["backfills"] if b["id"] not in known]
        return new[0] if new and (new[0]["completed_at"] or not complete) else None

    if not wait:
        return wait_for("the backfill to be recorded", lambda: created(False), timeout=30)
    return wait_for(f"backfill {' '.join(extra) or '(first)'} to complete", lambda: created(True), 300, 2)


def _backfill_runs(stack: Stack) -> dict[date, dict[str, Any]]:
    return {parse_ts(r["logical_date"]).date(): r for r in stack.dag_runs(PUBLISH_DAG, run_type="backfill")}


def _check_days_published_once(stack: Stack, plan: Plan, runs: dict[date, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = rows_by_batch(stack)
    hits = all_hits(stack)
    per_row = annotations_by_row(hits)
    for day, good in plan.backfill.items():
        run = runs[day]
        assert parse_ts(run["data_interval_start"]) == midnight(day)
        assert parse_ts(run["data_interval_end"]) == midnight(day + timedelta(days=1))
        batch = str(batch_of(PUBLISH_DAG, run["dag_run_id"]))
        in_batch = sorted(r for r, (b, _, _) in rows.items() if b == batch)
        bad = sorted(r for r, d in plan.backfill_bad.items() if d == day)
        assert in_batch == sorted(good + bad), f"{day}: the run took rows {in_batch}"
        for row_id in good:
            assert rows[row_id][1] == "published" and rows[row_id][2], (day, row_id, rows[row_id])
            assert per_row.get(row_id) == [rows[row_id][2]], f"row {row_id} of {day} has HITs {per_row.get(row_id)}"
        for row_id in bad:
            assert rows[row_id][1] == "quarantined" and row_id not in per_row
        batch_hits = [h for h in hits if (h.get("RequesterAnnotation") or "").startswith(f"hitflow batch {batch} ")]
        assert len(batch_hits) == len(good), f"{day}: {len(batch_hits)} HITs for {len(good)} rows"
    for row_id in plan.untouched:
        assert row_id not in rows, f"row {row_id} lies in no run's interval but was taken"
    duplicates = {r: ids for r, ids in per_row.items() if len(ids) > 1}
    assert not duplicates, f"rows with more than one HIT: {duplicates}"
    return hits


def test_backfill_publishes_each_day_once_and_running_it_again_adds_no_hit(stack: Stack, plan: Plan) -> None:
    # The backfill reads the serialized DAG: the dag-processor wrote it already; reserialize is
    # what the README tells operators to run first.
    stack.airflow("dags", "reserialize", timeout=180)
    t = time.monotonic()
    first = _backfill(stack, plan)
    stack.timings["backfill_3_days"] = time.monotonic() - t
    runs = _backfill_runs(stack)
    assert sorted(runs) == plan.backfill_days, f"backfill runs for {sorted(runs)}"
    for run in runs.values():
        assert_run_succeeded(stack, run)
        assert summary_of(stack, PUBLISH_DAG, run["dag_run_id"])["hits_created_now"] == len(
            plan.backfill[parse_ts(run["logical_date"]).date()]
        )
    hits_before = _check_days_published_once(stack, plan, runs)

    # The same command again: every day already has a successful run, so no run is created.
    t = time.monotonic()
    again = _backfill(stack, plan)
    stack.timings["backfill_again"] = time.monotonic() - t
    assert again["id"] != first["id"]
    assert {d: r["dag_run_id"] for d, r in _backfill_runs(stack).items()} == {
        d: r["dag_run_id"] for d, r in runs.items()
    }
    hits_after = _check_days_published_once(stack, plan, _backfill_runs(stack))
    assert sorted(h["HITId"] for h in hits_after) == sorted(h["HITId"] for h in hits_before)


def _rerun_bug_seen(stack: Stack, runs: dict[date, dict[str, Any]]) -> bool:
    for run in runs.values():
        folder = (
            stack.logs / "tasks" / f"dag_id={PUBLISH_DAG}" / f"run_id={run['dag_run_id']}" / "task_id=publish_chunk"
        )
        for log in folder.rglob("attempt=*.log"):
            if KNOWN_RERUN_BUG in log.read_text(errors="replace"):
                return True
    return False


def test_reprocessing_the_completed_backfill_adds_no_hit(stack: Stack, plan: Plan) -> None:
    """``--reprocess-behavior completed`` clears the days' runs: each resumes its own batch."""
    before = _backfill_runs(stack)
    assert sorted(before) == plan.backfill_days and all(r["state"] == "success" for r in before.values())
    hits_before = sorted(h["HITId"] for h in all_hits(stack))
    t = time.monotonic()
    _backfill(stack, plan, "--reprocess-behavior", "completed", wait=False)

    def settled() -> str | None:
        stack.check_running()
        now = _backfill_runs(stack)
        rerun = all(
            r["state"] == "success" and parse_ts(r["end_date"]) > parse_ts(before[d]["end_date"])
            for d, r in now.items()
        )
        return "done" if rerun else ("bug" if _rerun_bug_seen(stack, now) else None)

    outcome = wait_for("the reprocessed backfill runs", settled, timeout=300, interval=2)
    stack.timings["backfill_reprocess"] = time.monotonic() - t
    after = _backfill_runs(stack)
    assert {d: r["dag_run_id"] for d, r in after.items()} == {d: r["dag_run_id"] for d, r in before.items()}
    assert sorted(h["HITId"] for h in all_hits(stack)) == hits_before, "reprocessing created HITs"
    if outcome == "bug":
        for run in after.values():  # stop the retries: the runs cannot succeed
            stack.api("PATCH", f"/dags/{PUBLISH_DAG}/dagRuns/{run['dag_run_id']}", json={"state": "failed"})
        pytest.fail(
            "a cleared run whose rows are all published must succeed, but publish_chunk raised "
            f"ValueError('{KNOWN_RERUN_BUG}…'): create_hit_type returned no HIT type for it"
        )
    for run in after.values():
        assert summary_of(stack, PUBLISH_DAG, run["dag_run_id"])["hits_created_now"] == 0
    _check_days_published_once(stack, plan, after)


# ---------------------------------------------------------------------------------- 5. schedule
def test_the_scheduler_runs_the_latest_daily_interval(stack: Stack, plan: Plan) -> None:
    def scheduled() -> list[dict[str, Any]] | None:
        runs = stack.dag_runs(PUBLISH_DAG, run_type="scheduled")
        return runs if runs and all(r["state"] in ("success", "failed") for r in runs) else None

    runs = wait_for("the scheduler's daily run", scheduled, timeout=180, interval=2)
    if datetime.now(UTC).date() == plan.today:  # past midnight UTC the next day's run is due too
        assert len(runs) == 1, f"catchup=False: only the latest interval runs, got {[r['dag_run_id'] for r in runs]}"
    mine = [r for r in runs if parse_ts(r["data_interval_start"]) == midnight(plan.scheduled_day)]
    assert len(mine) == 1, f"no single run for {plan.scheduled_day}: {[r['dag_run_id'] for r in runs]}"
    run = mine[0]
    assert_run_succeeded(stack, run)
    assert parse_ts(run["data_interval_start"]) == midnight(plan.scheduled_day)
    assert parse_ts(run["data_interval_end"]) == midnight(plan.today)
    batch = str(batch_of(PUBLISH_DAG, run["dag_run_id"]))
    rows = rows_by_batch(stack)
    assert sorted(r for r, (b, _, _) in rows.items() if b == batch) == plan.scheduled
    per_row = annotations_by_row(all_hits(stack))
    for row_id in plan.scheduled:
        assert per_row.get(row_id) == [rows[row_id][2]]
        # scheduled runs use the params' defaults
    summary = summary_of(stack, PUBLISH_DAG, run["dag_run_id"])
    assert summary["hits_created_now"] == len(plan.scheduled) and summary["mode"] == "api"


# ---------------------------------------------------------------------------------- 6. asset
def test_collect_dag_runs_on_the_published_hits_asset(stack: Stack) -> None:
    if not COLLECT_DAG_FILE.exists():
        pytest.xfail(f"{COLLECT_DAG} does not exist yet ({COLLECT_DAG_FILE.relative_to(REPO)} is missing)")
    publish_runs = [r for r in stack.dag_runs(PUBLISH_DAG) if r["state"] == "success"]
    assets = [a for a in stack.get_json("/assets", limit=100)["assets"] if a["name"] == ASSET]
    assert len(assets) == 1, f"asset {ASSET} not registered"
    events = stack.get_json("/assets/events", asset_id=assets[0]["id"], limit=100)["asset_events"]
    assert {e["source_dag_id"] for e in events} == {PUBLISH_DAG}
    created = {
        r["dag_run_id"]
        for r in publish_runs
        if summary_of(stack, PUBLISH_DAG, r["dag_run_id"])["created_or_recovered_now"]
    }
    missing = created - {e["source_run_id"] for e in events}
    assert not missing, f"publish runs that created HITs but emitted no {ASSET} event: {missing}"
    extra = {e["source_run_id"] for e in events} - {r["dag_run_id"] for r in publish_runs}
    assert not extra, f"{ASSET} events from runs that are not successful: {extra}"

    def asset_triggered_done() -> list[dict[str, Any]] | None:
        stack.check_running()
        # one listing for both questions: two could see a run still running, then finished
        every = stack.dag_runs(COLLECT_DAG)
        runs = [r for r in every if r["run_type"] == "asset_triggered"]
        pending = [r for r in every if r["state"] not in ("success", "failed")]
        return runs if runs and not pending else None

    t = time.monotonic()
    runs = wait_for(f"{COLLECT_DAG} to run on {ASSET}", asset_triggered_done, timeout=240, interval=2)
    stack.timings["collect_after_publish"] = time.monotonic() - t
    for run in runs:
        assert_run_succeeded(stack, run)
    consumed = Counter()
    for run in runs:
        for event in stack.get_json(f"/dags/{COLLECT_DAG}/dagRuns/{run['dag_run_id']}/upstreamAssetEvents")[
            "asset_events"
        ]:
            consumed[(event["source_dag_id"], event["source_run_id"])] += 1
    assert consumed, "asset-triggered collect runs name no upstream asset event"
    assert {dag for dag, _ in consumed} == {PUBLISH_DAG}

"""The Airflow UI journey, in a real browser against the e2e deployment's api-server.

Runs after ``test_airflow_e2e.py`` (file order), when the REST run, the CLI backfill and the
scheduler's own run have taken their rows. What is left pending is ``plan.ui_backfill`` (days no
run covers yet) and ``plan.ui_pending`` (older days, and rows no interval holds):

1. sign in; the DAG's Details page shows its description;
2. the Trigger dialog with reward 0.00, or a number outside its range, is refused with the value and
   the rule, in sight of the Trigger button; the typed value is kept (never clamped); nothing is
   created;
3. the Backfill dialog over the two ``ui_backfill`` days, with "Override parameters on existing
   runs" ticked and reward 0.15 / 1 row per chunk, is submitted (its runs claim their rows);
4. meanwhile the Trigger dialog submitted with its defaults — it fills in a logical date, so the
   run gets the inferred interval [yesterday, today) — takes every pending row (scope ``pending``);
5. each backfill run used the dialog's params (and says so in its first log line), and its
   mapped tasks are labelled "chunk 1 of 2", "chunk 2 of 2";
6. the asset events of those runs appear on the asset's page;
7. the collect's batch reports open from Browse → hitflow reports (the hitflow plugin).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
import requests

from hitflow_support.airflow_stack import ADMIN_USER, COLLECT_DAG, PUBLISH_DAG, Stack, wait_for
from tests.e2e.plan import Plan
from tests.e2e.test_airflow_e2e import (
    ASSET,
    all_hits,
    assert_run_succeeded,
    batch_of,
    midnight,
    parse_ts,
    rows_by_batch,
    summary_of,
)
from tests.e2e.ui import AirflowUI, signed_in


@pytest.fixture(scope="module")
def ui(stack: Stack) -> Iterator[AirflowUI]:
    with signed_in(stack.api_url, ADMIN_USER, stack.password, stack.root / "screens") as page:
        yield page


def task_log(stack: Stack, run_id: str, task_id: str) -> str:
    folder = stack.logs / "tasks" / f"dag_id={PUBLISH_DAG}" / f"run_id={run_id}" / f"task_id={task_id}"
    return "\n".join(path.read_text(errors="replace") for path in sorted(folder.rglob("attempt=*.log")))


def first_hitflow_line(log: str) -> str:
    """The first line the task itself logged (after Airflow's "Pre Execute" group)."""
    lines = [line for line in log.splitlines() if '"logger":"airflow.task"' in line]
    assert lines, f"the task logged nothing through its logger:\n{log[-2000:]}"
    return lines[0]


def batch_record(stack: Stack, batch_id: str) -> tuple[str, dict[str, Any]]:
    with psycopg.connect(stack.source_url) as conn:
        scope, params = conn.execute(
            "SELECT scope, params FROM hitflow.batches WHERE batch_id = %s", (batch_id,)
        ).fetchone()
    return scope, params


def test_sign_in_and_the_dag_details_show_its_description(stack: Stack, ui: AirflowUI) -> None:
    ui.open(f"/dags/{PUBLISH_DAG}/details")
    description = stack.get_json(f"/dags/{PUBLISH_DAG}")["description"]
    assert description
    ui.page.get_by_text(description).first.wait_for()
    ui.shot("dag-details")


def refusal_banner(ui: AirflowUI, param: str) -> Any:
    """The dialog's error banner for ``param``, waited for; in sight when the user presses Trigger.

    Airflow puts it above Logical Date, at the top of the dialog (at the button only a toast):
    with hitflow's rarely changed params folded into sections, the two fit in one 900 px window.
    """
    banner = ui.dialog.get_by_text(f"Invalid input for param {param}:").first
    banner.wait_for()
    box, viewport = banner.bounding_box(), ui.page.viewport_size
    assert box and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (
        f"the refusal is out of sight when the user presses Trigger: {box} in {viewport}"
    )
    return banner


def test_the_trigger_form_refuses_a_zero_reward_naming_the_value_and_the_rule(stack: Stack, ui: AirflowUI) -> None:
    from hitflow.publish.batch_config import PARAM_SPECS

    runs_before, hits_before = len(stack.dag_runs(PUBLISH_DAG)), len(all_hits(stack))
    dialog = ui.open_trigger_dialog(PUBLISH_DAG)
    ui.fill_param("reward", "0.00")
    trigger = dialog.get_by_role("button", name="Trigger")
    trigger.scroll_into_view_if_needed()  # where the user's eyes are when they press it
    trigger.click()
    banner = refusal_banner(ui, "reward")
    ui.shot("trigger-refused")
    text = banner.inner_text()
    assert f"Invalid input for param reward: '0.00' is not one of [{PARAM_SPECS['reward']['rule']!r}]" in text
    assert "was expected" not in dialog.inner_text() and PARAM_SPECS["reward"]["pattern"] not in text
    assert dialog.is_visible(), "a refused trigger closes the dialog (the user loses the form)"
    assert dialog.locator("#element_reward").input_value() == "0.00", "the typed value was replaced"
    ui.close_dialog()
    time.sleep(2)  # a run created anyway would be visible by now
    assert len(stack.dag_runs(PUBLISH_DAG)) == runs_before and len(all_hits(stack)) == hits_before


@pytest.mark.parametrize(
    ("param", "typed", "message"),
    [
        ("max_assignments", "0", "0 is less than the minimum of 1"),
        ("max_assignments", "5000", "5000 is greater than the maximum of 1000"),
        ("max_rows", "-5", "-5 is less than the minimum of 1"),
    ],
)
def test_a_typed_number_is_kept_and_refused_never_clamped(
    stack: Stack, ui: AirflowUI, param: str, typed: str, message: str
) -> None:
    """Airflow's number input clamps to a top-level minimum/maximum when it loses focus (0 became
    1 and the run went ahead): the value stays as typed and the trigger is refused."""
    runs_before = len(stack.dag_runs(PUBLISH_DAG))
    dialog = ui.open_trigger_dialog(PUBLISH_DAG)
    field = ui.param_field(param)
    field.fill(typed)
    field.blur()  # where the clamping happened
    trigger = dialog.get_by_role("button", name="Trigger")
    trigger.scroll_into_view_if_needed()
    assert field.input_value() == typed, f"{param}: the form changed {typed} to {field.input_value()}"
    trigger.click()
    banner = refusal_banner(ui, param)
    assert message in banner.inner_text()
    ui.shot(f"refused-{param}-{typed}")
    assert field.input_value() == typed
    ui.close_dialog()
    time.sleep(2)
    assert len(stack.dag_runs(PUBLISH_DAG)) == runs_before


def test_the_backfill_dialog_with_override_ticked_submits_its_params(stack: Stack, ui: AirflowUI, plan: Plan) -> None:
    days = sorted(plan.ui_backfill)
    known = {b["id"] for b in stack.get_json("/backfills", dag_id=PUBLISH_DAG)["backfills"]}
    dialog = ui.open_trigger_dialog(PUBLISH_DAG, backfill=True)
    ui.pick_datetime(0, days[0])
    ui.pick_datetime(1, days[-1])
    # Without this box the dialog sends dag_run_conf null and the runs use the defaults.
    dialog.get_by_text("Override parameters on existing runs", exact=True).click()
    ui.fill_param("reward", "0.15")
    ui.fill_param("chunk_size", "1")
    dialog.locator("input[name=max_active_runs]").fill(str(len(days)))
    dialog.get_by_text(f"{len(days)} runs will be triggered").wait_for()
    ui.shot("backfill-filled")
    dialog.get_by_role("button", name="Run Backfill").click()
    backfill = wait_for(
        "the UI's backfill",
        lambda: [b for b in stack.get_json("/backfills", dag_id=PUBLISH_DAG)["backfills"] if b["id"] not in known],
        timeout=30,
    )[0]
    assert backfill["dag_run_conf"]["reward"] == "0.15" and backfill["dag_run_conf"]["chunk_size"] == 1
    stack.timings["ui_backfill_started"] = time.monotonic()
    # The next test triggers a run that takes every pending row: let these runs claim theirs first.
    wanted = {r for rows in plan.ui_backfill.values() for r in rows}
    t = time.monotonic()
    wait_for("the backfill runs to claim their rows", lambda: wanted <= set(rows_by_batch(stack)), 240, 1)
    stack.timings["ui_backfill_claimed"] = time.monotonic() - t


def test_trigger_with_the_defaults_takes_every_pending_row(stack: Stack, ui: AirflowUI, plan: Plan) -> None:
    known = {r["dag_run_id"] for r in stack.dag_runs(PUBLISH_DAG)}
    dialog = ui.open_trigger_dialog(PUBLISH_DAG)
    ui.shot("trigger-defaults")
    dialog.get_by_role("button", name="Trigger").click()
    dialog.wait_for(state="hidden")

    def created() -> dict[str, Any] | None:
        new = [r for r in stack.dag_runs(PUBLISH_DAG, run_type="manual") if r["dag_run_id"] not in known]
        return new[0] if new else None

    t = time.monotonic()
    run = stack.wait_run(PUBLISH_DAG, wait_for("the UI's run", created, 30)["dag_run_id"], timeout=240)
    stack.timings["ui_trigger_run"] = time.monotonic() - t
    assert_run_succeeded(stack, run)
    assert run["triggered_by"] == "ui"
    # What the dialog does: a logical date, so the interval the timetable infers — which holds
    # none of the pending rows. The run type, not the interval, decides the scope.
    assert parse_ts(run["data_interval_start"]) == midnight(plan.today - timedelta(days=1))
    batch = str(batch_of(PUBLISH_DAG, run["dag_run_id"]))
    rows = rows_by_batch(stack)
    assert sorted(r for r, (b, _, _) in rows.items() if b == batch) == plan.ui_pending
    summary = summary_of(stack, PUBLISH_DAG, run["dag_run_id"])
    assert summary["scope"]["name"] == "pending" and summary["hits_created_now"] == len(plan.ui_pending)
    assert batch_record(stack, batch)[0] == "pending"
    log = task_log(stack, run["dag_run_id"], "open_batch")
    assert "manual run" in first_hitflow_line(log) and "scope pending (scope=pending)" in log


def test_the_backfill_runs_used_the_dialogs_params_and_label_their_chunks(
    stack: Stack, ui: AirflowUI, plan: Plan
) -> None:
    days = sorted(plan.ui_backfill)

    def finished() -> dict[date, dict[str, Any]] | None:
        stack.check_running()
        runs = {
            parse_ts(r["logical_date"]).date(): r
            for r in stack.dag_runs(PUBLISH_DAG, run_type="backfill")
            if parse_ts(r["logical_date"]).date() in plan.ui_backfill
        }
        done = len(runs) == len(days) and all(r["state"] in ("success", "failed") for r in runs.values())
        return runs if done else None

    runs = wait_for("the UI's backfill runs to finish", finished, timeout=300, interval=2)
    stack.timings["ui_backfill"] = time.monotonic() - stack.timings.pop("ui_backfill_started", time.monotonic())
    assert sorted(runs) == days
    rows, hits = rows_by_batch(stack), {h["HITId"]: h for h in all_hits(stack)}
    for day, run in runs.items():
        assert_run_succeeded(stack, run)
        # Named after the end of its interval: the run holding `day`'s rows is named a day later.
        assert run["dag_run_id"] == f"backfill__{day + timedelta(days=1)}T00:00:00+00:00"
        assert run["conf"]["reward"] == "0.15"
        batch = str(batch_of(PUBLISH_DAG, run["dag_run_id"]))
        assert sorted(r for r, (b, _, _) in rows.items() if b == batch) == plan.ui_backfill[day]
        assert {hits[rows[r][2]]["Reward"] for r in plan.ui_backfill[day]} == {"0.15"}
        scope, params = batch_record(stack, batch)
        assert scope == "interval" and params["reward"] == "0.15" and params["chunk_size"] == 1
        first = first_hitflow_line(task_log(stack, run["dag_run_id"], "open_batch"))
        assert "backfill run" in first and "reward='0.15'" in first and "from the run's conf" in first, first
        # the form posts all 16 params: the line names the two that differ from the defaults
        assert "params changed from the defaults: reward='0.15', chunk_size=1 (" in first, first

    run_id = runs[days[0]]["dag_run_id"]
    ui.open(f"/dags/{PUBLISH_DAG}/runs/{quote(run_id)}/tasks/publish_chunk/mapped")
    for n in (1, 2):
        ui.page.get_by_text(f"chunk {n} of 2", exact=True).wait_for()
    ui.shot("mapped-chunk-labels")
    assert "chunk 1 of 2" in task_log(stack, run_id, "publish_chunk")


def test_the_asset_events_appear_on_the_assets_page(stack: Stack, ui: AirflowUI) -> None:
    asset = next(a for a in stack.get_json("/assets", limit=100)["assets"] if a["name"] == ASSET)
    events = stack.get_json("/assets/events", asset_id=asset["id"], limit=100)
    ui_runs = {r["dag_run_id"] for r in stack.dag_runs(PUBLISH_DAG) if r["triggered_by"] == "ui"}
    ui_runs |= {r["dag_run_id"] for r in stack.dag_runs(PUBLISH_DAG, run_type="backfill")}
    assert ui_runs & {e["source_run_id"] for e in events["asset_events"]}
    ui.open("/assets")
    ui.page.get_by_role("link", name=ASSET).first.click()
    ui.page.get_by_text(f"{events['total_entries']} Asset Events").first.wait_for()
    assert ui.page.get_by_text("Source:").count() >= 1
    ui.shot("asset-events")


def test_the_batch_reports_are_one_click_away_in_the_ui(stack: Stack, ui: AirflowUI) -> None:
    """The collect (run on the asset earlier) stored its reports in hitflow's database; the hitflow
    plugin shows them under Browse, to signed-in users only, whichever worker wrote them."""
    with psycopg.connect(stack.source_url) as conn:
        batches = [str(b) for (b,) in conn.execute("SELECT batch_id FROM hitflow.reports ORDER BY written_at")]
    assert batches, "the collect stored no report"
    anonymous = requests.get(f"{stack.api_url}/hitflow/reports/", timeout=30)
    assert anonymous.status_code in (401, 403), anonymous.status_code
    runs = [r for r in stack.dag_runs(COLLECT_DAG) if r["state"] == "success" and r["run_type"] == "asset_triggered"]
    summaries = [summary_of(stack, COLLECT_DAG, r["dag_run_id"]) for r in runs]
    outcomes = [o for summary in summaries for o in summary["batches"] if o.get("report_url")]
    assert outcomes and outcomes[0]["report_url"] == f"{stack.api_url}/hitflow/reports/{outcomes[0]['batch_id']}"
    page = requests.get(outcomes[0]["report_url"], headers={"Authorization": f"Bearer {stack.token()}"}, timeout=30)
    assert page.status_code == 200 and "<svg" in page.text and outcomes[0]["batch_id"] in page.text

    ui.open("/")
    ui.page.get_by_text("Browse", exact=True).first.click()
    ui.page.get_by_role("menuitem", name="hitflow reports").click()
    frame = ui.page.frame_locator("iframe").first
    frame.get_by_role("link", name=batches[-1]).click()
    frame.get_by_text("Guessed age (years)").first.wait_for()
    frame.get_by_role("heading", name=f"Batch {batches[-1]}").wait_for()
    ui.shot("batch-report")

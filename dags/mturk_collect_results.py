"""
### mturk_collect_results

The second half of the HIT lifecycle, for every batch that `mturk_publish_hits` published and
that is not complete yet. Runs when the publish DAG emits `hitflow_published_hits`, **and hourly**
(the DAG list shows the schedule as the asset only; the hourly half is in the timetable).

For each open batch, in mapped tasks of 2,000 HITs each (spread over the Celery workers), in
chunks of 500 HITs, with `concurrency` API calls in flight and each step's records written in one
transaction per chunk:

1. **Collect** — pages through `ListAssignmentsForHIT` for each of the batch's HITs (from
   hitflow's own record, never by listing the whole account) and upserts every assignment into
   `hitflow.assignments` with its raw answer XML and the parsed age (a whole number 1–120) or
   the reason it is not one.
2. **Review** — approves valid answers; rejects clearly invalid ones with `RequesterFeedback`
   (param `reject_invalid`). Assignments MTurk already approved (auto-approval) are recorded,
   never approved twice.
3. **Aggregate** — once `min_answers` valid answers are in: median, median absolute deviation,
   answer count and an agreement flag per image, in `hitflow.results`.
4. **Bonus** (optional `bonus_amount`) — for answers within `bonus_tolerance_years` of the
   median; idempotent through a `UniqueRequestToken` per assignment.
5. **Close** — a HIT whose work is all in and reviewed but that rejections left short of
   `min_answers` valid answers gets up to `max_extra_assignments` more
   (`CreateAdditionalAssignmentsForHIT`); otherwise it is deleted (a HIT with every slot
   submitted is Reviewable already; any other is looked up with `GetHIT` and expired first if it
   must be). A batch whose HITs are all disposed of becomes `complete`.

Then workers past `block_rejection_rate` are blocked (once) and a per-batch report is written
(charts of the guesses and their spread per image, agreement, cost). **See it in the Airflow UI:
Browse → hitflow reports** (or the URL in the summary's log line), wherever the worker ran; a copy
is on the worker's disk under `output/reports/<batch>/`. `hitflow_age_results` is emitted only
when results changed or a batch completed.

Re-running is always safe: nothing is approved, rejected, paid or stored twice.

**Paused on creation. Unpausing starts a run at once** (the latest hourly slot), then one every
hour and one after every publish run that created HITs: it approves, rejects and pays for work.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, get_current_context, task

from hitflow.assets import AGE_RESULTS, PUBLISHED_HITS
from hitflow.collect.policy import COLLECT_PARAM_SPECS
from hitflow.dag_defaults import DEFAULT_ARGS, START_DATE
from hitflow.errors import explain_failures
from hitflow.params import dag_params

log = logging.getLogger("airflow.task")  # the task logger: its lines lead the UI's log view
# botocore retries each collection call up to this many times (throttling, 5xx, a dropped
# connection): every call here is safe to repeat (see hitflow.collect.collector).
COLLECT_ATTEMPTS = 5


@dag(
    dag_id="mturk_collect_results",
    description="Collect, review, aggregate and pay for the published HITs' answers (on new HITs, and hourly)",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("@hourly", timezone="UTC"), assets=[PUBLISHED_HITS]),
    start_date=START_DATE,
    catchup=False,
    # Paused wherever it is deployed: unpaused, it approves and pays for work every hour.
    is_paused_upon_creation=True,
    max_active_runs=1,  # two collections of the same batch at once would race on reviews
    doc_md=__doc__,
    tags=["hitflow", "mturk", "collect"],
    default_args=DEFAULT_ARGS,
    params=dag_params(COLLECT_PARAM_SPECS),
)
def mturk_collect_results() -> None:
    @task
    @explain_failures
    def list_open_batches(**context: Any) -> list[dict[str, Any]]:
        """Check the review params, then list the published batches that are not complete."""
        from airflow.sdk.exceptions import AirflowFailException

        from hitflow.collect import results_store
        from hitflow.collect.policy import resolve_policy
        from hitflow.connections import hitflow_db
        from hitflow.params import ConfigError
        from hitflow.publish.batch_store import apply_schema

        try:
            resolve_policy(dict(context["params"]))
        except ConfigError as err:
            raise AirflowFailException(str(err)) from err
        with hitflow_db() as conn:
            apply_schema(conn)
            batches = results_store.open_batches(conn)
            since = results_store.database_now(conn).isoformat()  # where this run's records start
        for batch in batches:
            log.info("batch %s: %s HITs open", batch["batch_id"], batch["open_hits"])
        if not batches:
            log.info("no open batch")
        return [
            {
                "batch_id": b["batch_id"],
                "reward": b["params"]["reward"],
                "max_assignments": b["params"]["max_assignments"],
                "since": since,
            }
            for b in batches
        ]

    @task(multiple_outputs=False)
    @explain_failures
    def plan_collect_chunks(batches: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Cut each open batch's HITs into row ranges of HITS_PER_TASK HITs, one mapped task
        each, so that a large batch's collection spreads over the Celery workers."""
        import uuid

        from hitflow.collect import collector, results_store
        from hitflow.connections import hitflow_db

        with hitflow_db() as conn:
            return [
                batch | {"lo": lo, "hi": hi}
                for batch in batches
                for lo, hi in results_store.open_hit_ranges(conn, uuid.UUID(batch["batch_id"]), collector.HITS_PER_TASK)
            ]

    @task(map_index_template="{{ chunk_label }}", max_active_tis_per_dag=4, multiple_outputs=False)
    @explain_failures
    def collect_chunk(chunk: dict[str, Any], **context: Any) -> dict[str, Any]:
        """Collect, review, aggregate, pay bonuses and close the HITs of one row range of a batch."""
        import uuid

        from hitflow.collect.collector import BatchCollector
        from hitflow.collect.policy import resolve_policy
        from hitflow.connections import hitflow_db, mturk_hook

        upto = "end" if chunk["hi"] is None else chunk["hi"]
        label = f"batch {chunk['batch_id'][:8]} rows {chunk['lo'] + 1}-{upto}"
        get_current_context()["chunk_label"] = label  # type: ignore[literal-required]
        params = dict(context["params"])
        with hitflow_db() as conn:
            collector = BatchCollector(
                mturk=mturk_hook(params["concurrency"], attempts=COLLECT_ATTEMPTS, validate_parameters=False),
                conn=conn,
                policy=resolve_policy(params),
                concurrency=params["concurrency"],
                max_assignments=chunk["max_assignments"],
            )
            outcome = collector.run(uuid.UUID(chunk["batch_id"]), chunk["lo"], chunk["hi"], finish=False)
        log.info("%s: %s", label, outcome.to_dict())
        return outcome.to_dict() | {"since": chunk.get("since")}

    @task(multiple_outputs=False)
    @explain_failures
    def finish_batches(chunk_outcomes: Any) -> list[dict[str, Any]]:
        """Add up each batch's ranges, mark the batches whose HITs are all disposed of complete, and
        write each batch's report (once every range of it is done)."""
        import uuid
        from datetime import datetime

        from airflow.configuration import conf

        from hitflow.collect import report_store, results_store
        from hitflow.collect.collector import OUTCOME_COUNTS
        from hitflow.collect.report import write_report
        from hitflow.connections import hitflow_db
        from hitflow.paths import output_dir
        from hitflow.ui.links import report_url

        per_batch: dict[str, dict[str, Any]] = {}
        since: dict[str, str | None] = {}
        for chunk in list(chunk_outcomes[:]):  # one request, not one per item
            total = per_batch.setdefault(
                chunk["batch_id"], {"batch_id": chunk["batch_id"]} | dict.fromkeys(OUTCOME_COUNTS, 0)
            )
            since[chunk["batch_id"]] = chunk.get("since")
            for key in OUTCOME_COUNTS:
                total[key] += chunk[key]
        with hitflow_db() as conn:
            for batch_id, outcome in per_batch.items():
                key = uuid.UUID(batch_id)
                outcome["complete"] = results_store.complete_if_done(conn, key)
                if since[batch_id]:  # what the whole run did, every try of its tasks included
                    outcome.update(results_store.run_counts(conn, key, datetime.fromisoformat(since[batch_id])))
                report = write_report(
                    output_dir() / "reports" / batch_id, batch_id, results_store.batch_report_data(conn, key)
                )
                # Also in the database: the UI plugin shows it whichever worker wrote it.
                report_store.save_report(conn, key, report.read_text(encoding="utf-8"))
                outcome["report"] = str(report)
                outcome["report_url"] = report_url(conf.get("api", "base_url", fallback="") or "", batch_id)
                log.info("batch %s: %s", batch_id, outcome)
        return list(per_batch.values())

    @task(trigger_rule="none_failed")
    @explain_failures
    def block_workers(outcomes: Any, **context: Any) -> list[str]:
        """Block workers whose rejection rate passed the threshold (each once)."""
        from hitflow.collect.collector import block_workers as block
        from hitflow.collect.policy import resolve_policy
        from hitflow.connections import hitflow_db, mturk_hook

        policy = resolve_policy(dict(context["params"]))
        if policy.block_rejection_rate is None:
            return []
        with hitflow_db() as conn:
            blocked = block(mturk=mturk_hook(attempts=COLLECT_ATTEMPTS), conn=conn, policy=policy)
        log.info("blocked %s workers: %s", len(blocked), blocked)
        return blocked

    @task(trigger_rule="none_failed", multiple_outputs=False)
    def summarize(outcomes: Any, blocked: list[str]) -> dict[str, Any]:
        """Say which batches progressed and which are complete."""
        from hitflow.collect.collector import OUTCOME_COUNTS

        outcomes = list(outcomes[:]) if outcomes else []  # one request, not one per item
        totals = {key: sum(o[key] for o in outcomes) for key in OUTCOME_COUNTS}
        complete = [o["batch_id"] for o in outcomes if o["complete"]]
        for outcome in outcomes:
            state = "complete" if outcome["complete"] else "still open"
            log.info(
                "batch %s is %s: approved %s, rejected %s, %s images aggregated, %s bonuses; report %s (file %s)",
                outcome["batch_id"],
                state,
                outcome["approved"],
                outcome["rejected"],
                outcome["results"],
                outcome["bonuses"],
                outcome.get("report_url"),
                outcome["report"],
            )
        return {"batches": outcomes, "complete": complete, "blocked": blocked, **totals}

    @task(outlets=[AGE_RESULTS])
    def announce_results(summary: dict[str, Any], **context: Any) -> None:
        """Emit ``hitflow_age_results`` only when results changed (as the publish DAG's asset does)."""
        from airflow.sdk.exceptions import AirflowSkipException

        changed = [o["batch_id"] for o in summary["batches"] if o["results_changed"] or o["complete"]]
        if not changed:
            raise AirflowSkipException("no result changed and no batch completed: no hitflow_age_results event")
        context["outlet_events"][AGE_RESULTS].extra = {
            "batches": changed,
            "results_changed": summary["results_changed"],
            "complete": summary["complete"],
        }
        log.info("emitted hitflow_age_results for %s", ", ".join(changed))

    batches = list_open_batches()
    outcomes = finish_batches(collect_chunk.expand(chunk=plan_collect_chunks(batches)))
    announce_results(summarize(outcomes, block_workers(outcomes)))


mturk_collect_results()

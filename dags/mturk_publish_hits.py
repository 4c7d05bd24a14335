"""
### mturk_publish_hits

Turns new rows of `public.person_images` into "guess this person's age" HITs on MTurk's
requester API (hitflow's HIT service, or any MTurk-compatible endpoint).

* **Which rows** — decided by the run's *type*, never by whether it has a data interval:
  **scheduled runs and backfills** take the rows whose `created_at` falls in the run's data
  interval; a **manual run** (the Trigger button, REST, CLI) takes what its `scope` param says:
  `pending` (default) — every row not yet published, however old — or `interval` — only the
  rows of the interval the trigger form infers from its *Logical Date* (`[yesterday, today)`).
* **Dates read a day late.** A run is named after the *end* of its day: Trigger with Logical
  Date Nov 20 (`scope=interval`) takes Nov 19's rows; the scheduled run or backfill of logical
  date Nov 20 takes Nov 20's rows and is listed (and its run ID named) under Nov 21.
* **Backfill drops the Run Parameters** unless *Override parameters on existing runs* is ticked:
  without it every run uses the defaults, whatever the form shows.
* `open_batch`'s first log line names the params that differ from the defaults and where they came
  from (or why a backfill has none); the next lists every value, then the scope and the cost.
* **Typed values are kept or refused**: a value outside a param's range is refused by the Trigger
  dialog with the param, the value and the rule (the banner above *Logical Date*); nothing is
  clamped. Rarely changed params are folded under *HIT properties* and *Tuning*.
* **Spending limit**: a run that would cost more than the Airflow Variable
  `hitflow_spend_limit_per_run_usd` (default $100.00), or take the day's total (UTC) past
  `hitflow_spend_limit_per_day_usd` (default $300.00), creates no HIT: `check_balance` releases its
  rows and says what it would have cost and how to raise the limit (`none` turns one off).
* Rows are **claimed** into a batch whose UUID is derived from the run, so two runs never take
  the same row and a retried or cleared run resumes its own batch.
* Bad rows go to `hitflow.quarantine` with a reason; the rest go on.
* The batch is priced with MTurk's fees and checked against `GetAccountBalance` before
  anything is created.
* One mapped task per **chunk** ("chunk 1 of 3") creates the HITs (`CreateHITWithHITType`, a
  deterministic `UniqueRequestToken` per row), with bounded concurrency and backoff. HIT IDs go
  to Postgres as soon as they exist and to XCom (one value per task).
* `mode` = `csv` or `both` writes the requester UI's bulk-upload CSV; every non-dry run writes
  a manifest CSV. `announce_hits` emits the `hitflow_published_hits` asset only when the run
  created HITs (which starts `mturk_collect_results`).
* **Paused on creation. Unpausing spends money:** the scheduler at once starts the latest daily run
  (yesterday's rows, default params), then one a day at 00:00 UTC; the Trigger dialog's *Unpause on
  trigger* box is ticked by default and unpauses even when the trigger is refused. The spending
  limit caps what that run can cost. Runs of a paused DAG wait queued.
* A failure on configuration or an unreachable service logs one line naming the connection
  (`mturk_default`, `hitflow_db`), the endpoint and what to check, before the traceback. A chunk
  logs its retries as one summary per 30 s (counts per error, the rows hit).
* Mapped chunks are labelled "chunk 1 of 3" once a try succeeds: Airflow renders
  `map_index_template` only when a try finishes successfully, so a running, failed or up-for-retry
  chunk shows its index (0, 1, 2); its log's first line names the chunk either way.
* For `mode` = `csv` or `both` the summary names the HIT service's requester console
  (`/requester/projects`), where that CSV is uploaded as a batch of a project.

Connections: `hitflow_db` (postgres) and `mturk_default` (aws; `endpoint_url` in its extra).
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task

from hitflow.assets import PUBLISHED_HITS
from hitflow.dag_defaults import DEFAULT_ARGS, START_DATE
from hitflow.errors import explain_failures
from hitflow.params import dag_params
from hitflow.publish.batch_config import PARAM_SPECS

log = logging.getLogger("airflow.task")  # the task logger: its lines lead the UI's log view


def _load(batch_id: str) -> tuple[Any, Any]:
    """(batch UUID, PublishConfig) of a batch: its params are recorded once, by ``open_batch``."""
    import uuid

    from hitflow.connections import hitflow_db
    from hitflow.publish import batch_store
    from hitflow.publish.batch_config import PublishConfig

    batch = uuid.UUID(batch_id)
    with hitflow_db() as conn:
        return batch, PublishConfig(**batch_store.batch_params(conn, batch))


@dag(
    dag_id="mturk_publish_hits",
    description="Publish new person_images rows as age-guess HITs (daily; a manual run takes every pending row)",
    # A data-interval timetable, not Airflow 3's default CronTriggerTimetable: each daily run
    # and backfill must own the day [start, end) whose rows it publishes.
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    # Paused wherever it is deployed, whatever [core] dags_are_paused_at_creation says: the
    # first unpause (also the trigger dialog's "Unpause on trigger") starts a paid daily run.
    is_paused_upon_creation=True,
    max_active_runs=3,
    doc_md=__doc__,
    tags=["hitflow", "mturk", "publish"],
    default_args=DEFAULT_ARGS,
    params=dag_params(PARAM_SPECS),
)
def mturk_publish_hits() -> None:
    # Every task returns one XCom (multiple_outputs=False): a dict return would otherwise also be
    # stored key by key. Each step gets the previous step's state, so the graph is the data flow.

    @task(multiple_outputs=False)
    @explain_failures
    def open_batch(**context: Any) -> dict[str, Any]:
        """Say which params, scope and cost this run has; validate; record the batch."""
        from airflow.sdk.exceptions import AirflowFailException

        import mturk_money as fees
        from hitflow.connections import hitflow_db
        from hitflow.publish import batch_store, runlog
        from hitflow.publish.batch_config import ConfigError, resolve_config

        dag_run = context["dag_run"]
        run_type = str(getattr(dag_run.run_type, "value", dag_run.run_type))
        params, conf = dict(context["params"]), dict(dag_run.conf or {})
        log.info("%s", runlog.params_line(run_type, context["run_id"], PARAM_SPECS, params, conf))
        log.info("%s", runlog.all_params_line(PARAM_SPECS, params))
        try:
            config = resolve_config(params)
        except ConfigError as err:
            raise AirflowFailException(str(err)) from err
        start, end = context.get("data_interval_start"), context.get("data_interval_end")
        try:
            scope = batch_store.Scope.for_run(run_type, config.scope, start, end)
        except batch_store.ScopeError as err:
            raise AirflowFailException(str(err)) from err
        if scope.start is None:
            why = "scope=pending" if run_type == "manual" else f"a {run_type} run without a data interval"
            log.info("scope pending (%s): every row not yet published, however old", why)
        else:
            why = "scope=interval" if run_type == "manual" else f"a {run_type} run takes its data interval"
            log.info("scope interval (%s): rows created in [%s, %s)", why, scope.start, scope.end)
        batch_id = batch_store.batch_uuid(context["dag"].dag_id, context["run_id"])
        with hitflow_db() as conn:
            batch_store.apply_schema(conn)
            pending = batch_store.count_claimable(conn, scope, config.max_rows)
            if config.creates_hits and pending:
                cost = fees.batch_cost(config.reward, config.max_assignments, pending)
                # A scheduled run spends money with nobody watching: its cost comes first.
                (log.warning if run_type != "manual" else log.info)(
                    "this %s run would create %s HITs × %s assignments at $%s: $%s with MTurk's fees",
                    run_type,
                    pending,
                    config.max_assignments,
                    config.reward,
                    cost,
                )
            else:
                log.info(
                    "%s rows to take; this run creates no HIT (mode=%s, dry_run=%s)",
                    pending,
                    config.mode,
                    config.dry_run,
                )
            batch = batch_store.open_batch(
                conn,
                batch_id=batch_id,
                dag_id=context["dag"].dag_id,
                run_id=context["run_id"],
                scope=scope,
                params=config.to_dict(),
            )
        log.info("batch %s (%s), scope %s", batch_id, batch["status"], scope.name)
        return {
            "batch_id": str(batch_id),
            "scope": {
                "name": scope.name,
                "start": scope.start.isoformat() if scope.start else None,
                "end": scope.end.isoformat() if scope.end else None,
            },
        }

    @task(multiple_outputs=False)
    @explain_failures
    def extract_rows(batch: dict[str, Any]) -> dict[str, Any]:
        """Claim the scope's unclaimed rows for this batch (atomic; concurrent runs skip them)."""
        from datetime import datetime

        from hitflow.connections import hitflow_db
        from hitflow.publish import batch_store

        batch_id, config = _load(batch["batch_id"])
        bounds = [datetime.fromisoformat(batch["scope"][k]) if batch["scope"][k] else None for k in ("start", "end")]
        with hitflow_db() as conn:
            claim = batch_store.claim_rows(
                conn, batch_id=batch_id, scope=batch_store.Scope(*bounds), max_rows=config.max_rows
            )
        log.info(
            "claimed %s rows now, %s in the batch, %s of the scope already belong to other batches",
            claim["claimed_now"],
            claim["in_batch"],
            claim["owned_by_other_batches"],
        )
        return batch | claim

    @task(multiple_outputs=False)
    @explain_failures
    def validate_rows(claim: dict[str, Any]) -> dict[str, Any]:
        """Quarantine rows that cannot become HITs (streamed: memory does not grow with the batch)."""
        from hitflow.connections import hitflow_db
        from hitflow.publish import batch_store
        from hitflow.publish.rows import row_problem

        batch_id, _ = _load(claim["batch_id"])
        with hitflow_db() as conn:
            problems = [
                (row.id, reason)
                for row in batch_store.iter_unvalidated_rows(conn, batch_id)
                if (reason := row_problem(row))
            ]
            invalid = batch_store.quarantine(conn, batch_id, problems)
            duplicates = batch_store.quarantine_duplicates(conn, batch_id)
            batch_store.mark_validated(conn, batch_id)
        log.info("quarantined %s invalid and %s duplicate rows", invalid, duplicates)
        return claim | {"invalid": invalid, "duplicates": duplicates}

    @task(multiple_outputs=False)
    @explain_failures
    def check_balance(validated: dict[str, Any]) -> dict[str, Any]:
        """Refuse (and release) a batch over the spending limit or the balance, before anything is created."""
        from datetime import UTC, datetime

        from airflow.sdk.exceptions import AirflowFailException

        import mturk_money as fees
        from hitflow.connections import hitflow_db, mturk_hook
        from hitflow.publish import batch_store, spending

        batch_id, config = _load(validated["batch_id"])
        with hitflow_db() as conn:
            to_create = batch_store.counts(conn, batch_id)["ready"]
            if not (config.creates_hits or config.dry_run) or to_create == 0:
                return validated | {"balance_check": {"checked": False, "to_create": to_create}}
            cost = fees.batch_cost(config.reward, config.max_assignments, to_create)
            what = f"{to_create} HITs × {config.max_assignments} assignments at ${config.reward} plus MTurk's fees"
            try:
                limits = spending.read_limits()
            except spending.LimitError as err:
                raise AirflowFailException(str(err)) from err
            today = spending.committed_today(conn, batch_id, datetime.now(UTC))
            over_limit = spending.refusal(limits, cost, today, what)
            if over_limit and not config.dry_run:
                released = batch_store.release(conn, batch_id, "refused")
                raise AirflowFailException(
                    f"{over_limit} No HIT was created; {released} rows were released for a later run."
                )
            if over_limit:
                log.warning("a real run would be refused: %s", over_limit)
            balance = fees.parse_money(mturk_hook().get_account_balance()["AvailableBalance"])
            verdict = {
                "checked": True,
                "to_create": to_create,
                "cost": str(cost),
                "balance": str(balance),
                "affordable": cost <= balance,
            }
            log.info(
                "%s HITs × %s assignments cost $%s with fees; available balance $%s",
                to_create,
                config.max_assignments,
                cost,
                balance,
            )
            if cost > balance and not config.dry_run:
                released = batch_store.release(conn, batch_id, "refused")
                raise AirflowFailException(
                    f"batch {batch_id} needs ${cost} ({to_create} HITs × {config.max_assignments} assignments "
                    f"at ${config.reward} plus MTurk fees) but the available balance is ${balance}. "
                    f"No HIT was created; {released} rows were released for a later run."
                )
        return validated | {"balance_check": verdict}

    @task(multiple_outputs=False)
    @explain_failures
    def create_hit_type(priced: dict[str, Any]) -> dict[str, Any]:
        """One HIT type per batch configuration (MTurk answers the same ID for the same properties)."""
        from hitflow.connections import hitflow_db, mturk_hook
        from hitflow.publish import batch_store

        batch_id, config = _load(priced["batch_id"])
        if not config.creates_hits:
            return priced | {"hit_type_id": None}
        # Also when every row is already published (a cleared run): MTurk answers the same ID
        # for the same properties, and the chunks then only collect the recorded HIT IDs.
        hit_type_id = mturk_hook().create_hit_type(
            Title=config.title,
            Description=config.description,
            Keywords=config.keywords,
            Reward=str(config.reward),
            AssignmentDurationInSeconds=config.assignment_duration_seconds,
            AutoApprovalDelayInSeconds=config.auto_approval_delay_seconds,
        )
        with hitflow_db() as conn:
            batch_store.set_batch(conn, batch_id, hit_type_id=hit_type_id)
        return priced | {"hit_type_id": hit_type_id}

    @task
    @explain_failures
    def plan_chunks(typed: dict[str, Any]) -> list[dict[str, Any]]:
        """Cut the publishable rows into row-ID ranges; no chunks when this run creates no HITs."""
        from hitflow.connections import hitflow_db
        from hitflow.publish import batch_store
        from hitflow.publish.batch_config import MAX_CHUNKS

        batch_id, config = _load(typed["batch_id"])
        with hitflow_db() as conn:
            chunks, rows, size = batch_store.plan_chunks(conn, batch_id, config.chunk_size, MAX_CHUNKS)
        log.info("%s publishable rows in %s chunks of up to %s", rows, len(chunks), size)
        if not config.creates_hits:
            return []
        # Each chunk carries what its task needs, so publish_chunk hangs off plan_chunks alone.
        ids = {"batch_id": typed["batch_id"], "hit_type_id": typed["hit_type_id"]}
        return [ids | chunk.to_dict() for chunk in chunks]

    @task(map_index_template="{{ chunk_label }}", max_active_tis_per_dag=4, retries=3, multiple_outputs=False)
    @explain_failures
    def publish_chunk(chunk: dict[str, Any]) -> dict[str, Any]:
        """Create the HITs of one chunk and return their IDs (in row order)."""
        from hitflow.connections import hitflow_db, mturk_hook
        from hitflow.publish import batch_store
        from hitflow.publish.publisher import ChunkPublisher

        label = f"chunk {chunk['chunk']} of {chunk['of']}"
        get_current_context()["chunk_label"] = label  # type: ignore[literal-required]
        if chunk["hit_type_id"] is None:
            raise ValueError("publish_chunk needs a HIT type; create_hit_type returned none")
        batch_id, config = _load(chunk["batch_id"])
        log.info("%s: rows %s to %s", label, chunk["first_row"], chunk["next_first"] or "the end")
        with hitflow_db() as conn:
            publisher = ChunkPublisher(
                mturk=mturk_hook(config.max_in_flight, validate_parameters=False),
                conn=conn,
                config=config,
                batch_id=batch_id,
                hit_type_id=chunk["hit_type_id"],
            )
            chunk_range = {k: chunk[k] for k in ("chunk", "of", "first_row", "next_first")}
            return publisher.publish(batch_store.Chunk(**chunk_range)).to_dict()

    @task(trigger_rule="none_failed", multiple_outputs=False)
    def gather_hit_ids(typed: dict[str, Any], results: Any) -> dict[str, Any]:
        """Collect the mapped tasks' HIT IDs for the export and later DAGs."""
        # One slice request for every chunk's result; iterating would ask for one item at a
        # time and end on a "not found" error line.
        results = list(results[:]) if results else []
        hit_ids = [hit_id for result in results for hit_id in result["hit_ids"]]
        totals = {
            key: sum(result[key] for result in results)
            for key in ("created", "already_existed", "already_recorded", "quarantined", "retries")
        }
        log.info("%s HITs from %s chunks: %s", len(hit_ids), len(results), totals)
        return typed | {"hit_ids": hit_ids, "chunks": len(results), "totals": totals}

    @task(trigger_rule="none_failed", multiple_outputs=False)
    @explain_failures
    def export_batch(gathered: dict[str, Any]) -> dict[str, Any]:
        """Write the manifest, and the bulk-upload CSV in `csv`/`both` mode."""
        from hitflow.connections import hitflow_db
        from hitflow.paths import output_dir
        from hitflow.publish import batch_store, export, question_html

        state = {k: v for k, v in gathered.items() if k != "hit_ids"}  # in XCom once is enough
        batch_id, config = _load(gathered["batch_id"])
        if config.dry_run:
            return state | {"files": {}}
        if config.layout_id:
            variables = ["person_id", "image_url"]
        else:
            found = question_html.template_variables(question_html.template_for(config.task_ui))
            variables = [v for v in ("person_id", "image_url") if v in found] + [
                v for v in found if v not in ("person_id", "image_url")
            ]
        with hitflow_db() as conn:
            by_status = batch_store.counts(conn, batch_id)
            if not (by_status["ready"] or by_status["published"] or by_status["exported"]):
                log.info("nothing to export: the batch has no publishable rows")
                return state | {"files": {}}
            if config.mode == "csv":
                batch_store.mark_exported(conn, batch_id)
            files = export.write_batch_csvs(
                output_dir() / "batches" / str(batch_id),
                str(batch_id),
                variables,
                batch_store.iter_export_rows(conn, batch_id),
            )
        if not config.exports_csv:
            import os

            os.remove(files.pop("input_csv"))
        for name, path in files.items():
            log.info("%s: %s", name, path)
        return state | {"files": files}

    @task(trigger_rule="none_failed", multiple_outputs=False)
    @explain_failures
    def summarize(exported: dict[str, Any]) -> dict[str, Any]:
        """Counts, quarantine reasons and cost of this batch; closes it."""
        import mturk_money as fees
        from hitflow.connections import hitflow_db
        from hitflow.publish import batch_store

        batch_id, config = _load(exported["batch_id"])
        totals = exported.get("totals", {})
        with hitflow_db() as conn:
            by_status = batch_store.counts(conn, batch_id)
            reasons = batch_store.quarantine_reasons(conn, batch_id)
            if config.dry_run:
                batch_store.release(conn, batch_id, "dry_run")
            else:
                batch_store.set_batch(conn, batch_id, status="exported" if config.mode == "csv" else "published")
        hits = by_status["published"]
        summary = {
            "batch_id": str(batch_id),
            "scope": exported["scope"],
            "mode": config.mode,
            "dry_run": config.dry_run,
            "hits_in_batch": hits,
            "hits_created_now": totals.get("created", 0),
            "hits_recovered": by_status["already_existed"],
            "api_retries": totals.get("retries", 0),
            "already_published": exported["owned_by_other_batches"],
            "exported_rows": by_status["exported"],
            "publishable_rows": by_status["ready"] if config.dry_run else None,
            "quarantined": len(reasons),
            "quarantine": reasons,
            "cost_usd": str(fees.batch_cost(config.reward, config.max_assignments, hits)),
            "balance_check": exported["balance_check"],
            "files": exported.get("files", {}),
            "created_or_recovered_now": totals.get("created", 0) + totals.get("already_existed", 0),
        }
        files = exported.get("files", {})
        if config.exports_csv and files:
            from hitflow.connections import console_upload_url

            # Nowhere else to take the file since MTurk closed: the service's requester console.
            summary["console_url"] = console_upload_url()
            log.info(
                "upload %s as a batch in the requester console: %s", files.get("input_csv"), summary["console_url"]
            )
        log.info("summary: %s", ", ".join(f"{k}={v}" for k, v in summary.items() if k != "quarantine"))
        for item in reasons:
            log.info("quarantined row %s: %s", item["row_id"], item["reason"])
        return summary

    @task(outlets=[PUBLISHED_HITS])
    def announce_hits(summary: dict[str, Any], **context: Any) -> None:
        """Emit ``hitflow_published_hits`` (which starts a collect run) only when HITs were created."""
        from airflow.sdk.exceptions import AirflowSkipException

        if not summary["created_or_recovered_now"]:
            raise AirflowSkipException("this run created no HIT: no hitflow_published_hits event")
        context["outlet_events"][PUBLISHED_HITS].extra = {
            "batch_id": summary["batch_id"],
            "hits": summary["hits_in_batch"],
            "hits_created_now": summary["hits_created_now"],
        }
        log.info("emitted hitflow_published_hits for batch %s", summary["batch_id"])

    typed = create_hit_type(check_balance(validate_rows(extract_rows(open_batch()))))
    results = publish_chunk.expand(chunk=plan_chunks(typed))
    announce_hits(summarize(export_batch(gather_hit_ids(typed, results))))


mturk_publish_hits()

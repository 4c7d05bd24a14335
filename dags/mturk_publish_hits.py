"""
### mturk_publish_hits

Turns new rows of `public.person_images` into "guess this person's age" HITs on MTurk's
requester API (hitflow's HIT service, or any MTurk-compatible endpoint).

* **Scheduled runs and backfills** take the rows whose `created_at` falls in the run's data
  interval; a **manual run** (no data interval) takes every row not yet published.
* Rows are **claimed** into a batch whose UUID is derived from the run, so two runs never take
  the same row and a retried or cleared run resumes its own batch.
* Bad rows go to `hitflow.quarantine` with a reason; the rest go on.
* The batch is priced with MTurk's fees and checked against `GetAccountBalance` before
  anything is created.
* One mapped task per **chunk** creates the HITs (`CreateHITWithHITType`, a deterministic
  `UniqueRequestToken` per row), with bounded concurrency and backoff. HIT IDs go to Postgres
  as soon as they exist and to XCom for the downstream tasks.
* `mode` = `csv` or `both` writes the requester UI's bulk-upload CSV; every non-dry run writes
  a manifest CSV. The summary emits the `hitflow_published_hits` asset.

Connections: `hitflow_db` (postgres) and `mturk_default` (aws; `endpoint_url` in its extra).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task

from hitflow.assets import PUBLISHED_HITS
from hitflow.dag_defaults import DEFAULT_ARGS, START_DATE
from hitflow.params import dag_params
from hitflow.publish.config import PARAM_SPECS


def _batch_uuid(batch: dict[str, Any]) -> Any:
    import uuid

    return uuid.UUID(batch["batch_id"])


def _config(batch: dict[str, Any]) -> Any:
    from hitflow.publish.config import PublishConfig

    return PublishConfig(**batch["config"])


@dag(
    dag_id="mturk_publish_hits",
    # A data-interval timetable, not Airflow 3's default CronTriggerTimetable: each daily run
    # and backfill must own the day [start, end) whose rows it publishes.
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=3,
    doc_md=__doc__,
    tags=["hitflow", "mturk", "publish"],
    default_args=DEFAULT_ARGS,
    params=dag_params(PARAM_SPECS),
)
def mturk_publish_hits() -> None:
    @task
    def open_batch(**context: Any) -> dict[str, Any]:
        """Validate the params, create hitflow's schema if needed and record this run's batch."""
        from airflow.sdk.exceptions import AirflowFailException

        from hitflow.connections import hitflow_db
        from hitflow.publish import store
        from hitflow.publish.config import ConfigError, resolve_config

        try:
            config = resolve_config(dict(context["params"]))
        except ConfigError as err:
            raise AirflowFailException(str(err)) from err
        start, end = context.get("data_interval_start"), context.get("data_interval_end")
        scope = store.Scope(start, end) if start is not None else store.Scope()
        batch_id = store.batch_uuid(context["dag"].dag_id, context["run_id"])
        with hitflow_db() as conn:
            store.apply_schema(conn)
            batch = store.open_batch(
                conn,
                batch_id=batch_id,
                dag_id=context["dag"].dag_id,
                run_id=context["run_id"],
                scope=scope,
                params=config.to_dict(),
            )
        print(
            f"batch {batch_id} ({batch['status']}), scope {scope.name}"
            + (f" [{start} .. {end})" if start is not None else ": every pending row")
        )
        return batch | {
            "config": config.to_dict(),
            "scope": {"start": start.isoformat() if start else None, "end": end.isoformat() if end else None},
        }

    @task
    def extract_rows(batch: dict[str, Any]) -> dict[str, int]:
        """Claim the scope's unclaimed rows for this batch (atomic; concurrent runs skip them)."""
        from hitflow.connections import hitflow_db
        from hitflow.publish import store

        scope = batch["scope"]
        start = datetime.fromisoformat(scope["start"]) if scope["start"] else None
        end = datetime.fromisoformat(scope["end"]) if scope["end"] else None
        with hitflow_db() as conn:
            claim = store.claim_rows(
                conn, batch_id=_batch_uuid(batch), scope=store.Scope(start, end), max_rows=batch["config"]["max_rows"]
            )
        print(
            f"claimed {claim['claimed_now']} rows now, {claim['in_batch']} in the batch, "
            f"{claim['owned_by_other_batches']} of the scope already belong to other batches"
        )
        return claim

    @task
    def validate_rows(batch: dict[str, Any], claim: dict[str, int]) -> dict[str, int]:
        """Quarantine rows that cannot become HITs (streamed: memory does not grow with the batch)."""
        from hitflow.connections import hitflow_db
        from hitflow.publish import store
        from hitflow.publish.rows import row_problem

        batch_id = _batch_uuid(batch)
        with hitflow_db() as conn:
            problems = [
                (row.id, reason) for row in store.iter_unvalidated_rows(conn, batch_id) if (reason := row_problem(row))
            ]
            invalid = store.quarantine(conn, batch_id, problems)
            duplicates = store.quarantine_duplicates(conn, batch_id)
            store.mark_validated(conn, batch_id)
        print(f"quarantined {invalid} invalid and {duplicates} duplicate rows")
        return {"invalid": invalid, "duplicates": duplicates}

    @task
    def plan_chunks(batch: dict[str, Any], validation: dict[str, int]) -> list[dict[str, Any]]:
        """Cut the publishable rows into row-ID ranges; no chunks when this run creates no HITs."""
        from hitflow.connections import hitflow_db
        from hitflow.publish import store
        from hitflow.publish.config import MAX_CHUNKS

        config = _config(batch)
        with hitflow_db() as conn:
            chunks, rows, size = store.plan_chunks(conn, _batch_uuid(batch), config.chunk_size, MAX_CHUNKS)
        print(f"{rows} publishable rows in {len(chunks)} chunks of up to {size}")
        return [chunk.to_dict() for chunk in chunks] if config.creates_hits else []

    @task
    def check_balance(batch: dict[str, Any], chunks: list[dict[str, Any]]) -> dict[str, Any]:
        """Refuse (and release) a batch the account cannot pay for, before anything is created."""
        from airflow.sdk.exceptions import AirflowFailException

        from hitflow import fees
        from hitflow.connections import hitflow_db, mturk_hook
        from hitflow.publish import store

        config = _config(batch)
        batch_id = _batch_uuid(batch)
        with hitflow_db() as conn:
            to_create = store.counts(conn, batch_id)["ready"]
            if not (config.creates_hits or config.dry_run) or to_create == 0:
                return {"checked": False, "to_create": to_create}
            cost = fees.batch_cost(config.reward_amount, config.max_assignments, to_create)
            balance = fees.parse_money(mturk_hook().get_account_balance()["AvailableBalance"])
            verdict = {
                "checked": True,
                "to_create": to_create,
                "cost": str(cost),
                "balance": str(balance),
                "affordable": cost <= balance,
            }
            print(
                f"{to_create} HITs × {config.max_assignments} assignments cost ${cost} with fees; "
                f"available balance ${balance}"
            )
            if cost > balance and not config.dry_run:
                released = store.release(conn, batch_id, "refused")
                raise AirflowFailException(
                    f"batch {batch_id} needs ${cost} ({to_create} HITs × {config.max_assignments} assignments "
                    f"at ${config.reward} plus MTurk fees) but the available balance is ${balance}. "
                    f"No HIT was created; {released} rows were released for a later run."
                )
        return verdict

    @task
    def create_hit_type(batch: dict[str, Any], balance: dict[str, Any]) -> str | None:
        """One HIT type per batch configuration (MTurk answers the same ID for the same properties)."""
        from hitflow.connections import hitflow_db, mturk_hook
        from hitflow.publish import store

        config = _config(batch)
        if not config.creates_hits:
            return None
        # Also when every row is already published (a cleared run): MTurk answers the same ID
        # for the same properties, and the chunks then only collect the recorded HIT IDs.
        hit_type_id = mturk_hook().create_hit_type(
            Title=config.title,
            Description=config.description,
            Keywords=config.keywords,
            Reward=config.reward,
            AssignmentDurationInSeconds=config.assignment_duration_seconds,
            AutoApprovalDelayInSeconds=config.auto_approval_delay_seconds,
        )
        with hitflow_db() as conn:
            store.set_batch(conn, _batch_uuid(batch), hit_type_id=hit_type_id)
        return hit_type_id

    @task(map_index_template="{{ chunk_label }}", max_active_tis_per_dag=4, retries=3)
    def publish_chunk(chunk: dict[str, Any], batch: dict[str, Any], hit_type_id: str | None) -> dict[str, Any]:
        """Create the HITs of one chunk and return their IDs (in row order)."""
        from hitflow.connections import hitflow_db, mturk_hook
        from hitflow.publish import store
        from hitflow.publish.publisher import ChunkPublisher

        get_current_context()["chunk_label"] = f"chunk {chunk['chunk'] + 1} of {chunk['of']}"  # type: ignore[literal-required]
        if hit_type_id is None:
            raise ValueError("publish_chunk needs a HIT type; create_hit_type returned none")
        config = _config(batch)
        with hitflow_db() as conn:
            publisher = ChunkPublisher(
                mturk=mturk_hook(config.max_in_flight, validate_parameters=False),
                conn=conn,
                config=config,
                batch_id=_batch_uuid(batch),
                hit_type_id=hit_type_id,
            )
            return publisher.publish(store.Chunk(**chunk)).to_dict()

    @task(trigger_rule="none_failed")
    def gather_hit_ids(results: Any) -> dict[str, Any]:
        """Collect the mapped tasks' HIT IDs for the export and later DAGs."""
        # One slice request for every chunk's result; iterating would ask for one item at a
        # time and end on a "not found" error line.
        results = list(results[:]) if results else []
        hit_ids = [hit_id for result in results for hit_id in result["hit_ids"]]
        totals = {
            key: sum(result[key] for result in results)
            for key in ("created", "already_existed", "already_recorded", "quarantined", "retries")
        }
        print(f"{len(hit_ids)} HITs from {len(results)} chunks: {totals}")
        return {"hit_ids": hit_ids, "chunks": len(results), **totals}

    @task(trigger_rule="none_failed")
    def export_batch(batch: dict[str, Any], gathered: dict[str, Any]) -> dict[str, Any]:
        """Write the manifest, and the bulk-upload CSV in `csv`/`both` mode."""
        from hitflow.connections import hitflow_db
        from hitflow.paths import output_dir
        from hitflow.publish import export, questions, store

        config = _config(batch)
        if config.dry_run:
            return {}
        batch_id = _batch_uuid(batch)
        if config.layout_id:
            variables = ["person_id", "image_url"]
        else:
            found = questions.template_variables(questions.load_template())
            variables = [v for v in ("person_id", "image_url") if v in found] + [
                v for v in found if v not in ("person_id", "image_url")
            ]
        with hitflow_db() as conn:
            by_status = store.counts(conn, batch_id)
            if not (by_status["ready"] or by_status["published"] or by_status["exported"]):
                print("nothing to export: the batch has no publishable rows")
                return {}
            if config.mode == "csv":
                store.mark_exported(conn, batch_id)
            files = export.write_batch_csvs(
                output_dir() / "batches" / str(batch_id),
                str(batch_id),
                variables,
                store.iter_export_rows(conn, batch_id),
            )
        if not config.exports_csv:
            import os

            os.remove(files.pop("input_csv"))
        for name, path in files.items():
            print(f"{name}: {path}")
        return files

    @task(trigger_rule="none_failed", outlets=[PUBLISHED_HITS])
    def summarize(
        batch: dict[str, Any],
        claim: dict[str, int],
        gathered: dict[str, Any],
        files: dict[str, Any],
        balance: dict[str, Any],
        **context: Any,
    ) -> dict[str, Any]:
        """Counts, quarantine reasons and cost of this batch; closes it and emits the asset."""
        from hitflow import fees
        from hitflow.connections import hitflow_db
        from hitflow.publish import store

        config = _config(batch)
        batch_id = _batch_uuid(batch)
        with hitflow_db() as conn:
            by_status = store.counts(conn, batch_id)
            reasons = store.quarantine_reasons(conn, batch_id)
            if config.dry_run:
                store.release(conn, batch_id, "dry_run")
            else:
                store.set_batch(conn, batch_id, status="exported" if config.mode == "csv" else "published")
        hits = by_status["published"]
        summary = {
            "batch_id": str(batch_id),
            "scope": batch["scope"],
            "mode": config.mode,
            "dry_run": config.dry_run,
            "hits_in_batch": hits,
            "hits_created_now": gathered.get("created", 0),
            "hits_recovered": by_status["already_existed"],
            "api_retries": gathered.get("retries", 0),
            "already_published": claim["owned_by_other_batches"],
            "exported_rows": by_status["exported"],
            "publishable_rows": by_status["ready"] if config.dry_run else None,
            "quarantined": len(reasons),
            "quarantine": reasons,
            "cost_usd": str(fees.batch_cost(config.reward_amount, config.max_assignments, hits)),
            "balance_check": balance,
            "files": files,
        }
        context["outlet_events"][PUBLISHED_HITS].extra = {
            "batch_id": str(batch_id),
            "hits": hits,
            "dry_run": config.dry_run,
        }
        print("summary: " + ", ".join(f"{k}={v}" for k, v in summary.items() if k != "quarantine"))
        for item in reasons:
            print(f"quarantined row {item['row_id']}: {item['reason']}")
        return summary

    batch = open_batch()
    claim = extract_rows(batch)
    validation = validate_rows(batch, claim)
    chunks = plan_chunks(batch, validation)
    balance = check_balance(batch, chunks)
    hit_type_id = create_hit_type(batch, balance)
    results = publish_chunk.partial(batch=batch, hit_type_id=hit_type_id).expand(chunk=chunks)
    gathered = gather_hit_ids(results)
    files = export_batch(batch, gathered)
    summarize(batch, claim, gathered, files, balance)


mturk_publish_hits()

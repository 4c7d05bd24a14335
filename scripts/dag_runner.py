"""Run a hitflow DAG once with ``dag.test()`` and read back its summary (demo, bench, tests)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def param_defaults(dag_id: str) -> dict[str, Any]:
    """Every param of a hitflow DAG at its default (an empty dict for other DAGs)."""
    from hitflow.collect.policy import COLLECT_PARAM_SPECS
    from hitflow.publish.batch_config import PARAM_SPECS

    specs = {"mturk_publish_hits": PARAM_SPECS, "mturk_collect_results": COLLECT_PARAM_SPECS}.get(dag_id, {})
    return {name: spec["default"] for name, spec in specs.items()}


def test_run(dag: Any, logical_date: datetime | None, conf: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
    """Run ``dag`` once; the DagRun and its ``summarize`` task's return value (None if it did not run).

    dag.test() runs tasks in this process, where one run's conf can stick to the DAG's params:
    every param is passed, so each run sees exactly the values it names. A run with a logical
    date takes that day's interval (``scope=interval``) unless ``conf`` says otherwise.
    """
    params = param_defaults(dag.dag_id)
    if logical_date is not None and "scope" in params:
        # dag.test() always makes a *manual* run; one with a logical date stands for that day's
        # scheduled run here, so it takes the day's interval (scope=interval), as that run would.
        params["scope"] = "interval"
    dr = dag.test(logical_date=logical_date, run_conf=params | conf)
    return dr, task_result(dr, "summarize")


def task_result(dr: Any, task_id: str) -> Any:
    """The return value a (non-mapped) task of ``dr`` pushed to XCom, or None."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        value = session.scalar(
            XComModel.get_many(
                run_id=dr.run_id, key="return_value", dag_ids=dr.dag_id, task_ids=task_id
            ).with_only_columns(XComModel.value)
        )
    return XComModel.deserialize_value(type("Row", (), {"value": value})()) if value else None


def count_api_calls() -> dict[str, int]:
    """Count every boto3 API call this process makes from now on, by operation (for the bench).

    Wraps botocore's one entry point for operations, so a call counts once however many times
    botocore retries it.
    """
    import threading

    from botocore.client import BaseClient

    counts: dict[str, int] = {}
    lock = threading.Lock()
    original = BaseClient._make_api_call

    def counted(self: Any, operation_name: str, api_params: Any) -> Any:
        with lock:
            counts[operation_name] = counts.get(operation_name, 0) + 1
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counted  # type: ignore[method-assign]
    return counts

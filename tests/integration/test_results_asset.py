"""``hitflow_age_results`` is emitted only when a collection changed results (or completed a batch)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scripts.dag_runner import param_defaults, task_result
from tests.integration.helpers import good_rows, run, seed, table
from tests.integration.test_collect_dag import add_workers, answer, hit_of_row
from tests.integration.test_publish_dag import DAY

pytestmark = pytest.mark.integration


def age_result_events() -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetEvent.extra).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == "hitflow_age_results")
        ).all()  # fmt: skip
    return [row[0] for row in rows]


def collect(collect_dag, **conf):
    dr = collect_dag.test(logical_date=None, run_conf=param_defaults(collect_dag.dag_id) | conf)
    announce = next(ti for ti in dr.get_task_instances() if ti.task_id == "announce_results")
    return dr, str(announce.state), task_result(dr, "summarize")


def test_the_results_asset_is_emitted_only_when_results_change(
    dag, collect_dag, source_db, hit_service, clean_state
) -> None:
    seed(source_db, good_rows(1, 2, DAY - timedelta(hours=3)))
    state, published = run(dag, None, max_assignments=2)
    assert state == "success"
    add_workers(hit_service, "dee", "eli")
    for row in (1, 2):
        answer(hit_service, "dee", hit_of_row(source_db, row), "40")
    before = len(age_result_events())

    dr, announced, summary = collect(collect_dag, min_answers=2)  # one answer per image: no consensus yet
    assert dr.state == "success" and summary["approved"] == 2 and summary["results_changed"] == 0
    assert announced == "skipped" and len(age_result_events()) == before

    for row in (1, 2):
        answer(hit_service, "eli", hit_of_row(source_db, row), "44")
    dr, announced, summary = collect(collect_dag, min_answers=2)
    assert summary["results_changed"] == 2 and announced == "success"
    events = age_result_events()
    assert len(events) == before + 1 and events[-1]["batches"] == [published["batch_id"]]
    assert table(source_db, "SELECT count(*) FROM hitflow.results") == [(2,)]

    dr, announced, summary = collect(collect_dag, min_answers=2)  # nothing new: no event
    assert announced == "skipped" and len(age_result_events()) == before + 1

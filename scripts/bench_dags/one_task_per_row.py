"""
### one_task_per_row (benchmark only)

The literal "one mapped task per row" design that hitflow's publish DAG avoids: the bench
runs it to show Airflow refusing more than `[core] max_map_length` (1024) mapped instances and
to time it at 1,000 rows. Never deployed: it lives outside `dags/`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from airflow.sdk import Param, dag, task


@dag(
    dag_id="one_task_per_row",
    schedule=None,
    start_date=datetime(2026, 11, 1, tzinfo=UTC),
    catchup=False,
    doc_md=__doc__,
    tags=["bench"],
    default_args={"retries": 0},
    params={"rows": Param(1000, type="integer", minimum=1)},
)
def one_task_per_row() -> None:
    @task
    def list_rows(**context: Any) -> list[int]:
        return list(range(1, int(context["params"]["rows"]) + 1))

    @task
    def hit_type() -> str:
        from hitflow.connections import mturk_hook

        return mturk_hook().create_hit_type(
            Title="Guess this person's age", Description="bench", Reward="0.10", AssignmentDurationInSeconds=600
        )

    @task
    def create_one(row: int, hit_type_id: str, **context: Any) -> str:
        from hitflow.connections import mturk_hook
        from hitflow.publish import question_html
        from hitflow.publish.publisher import request_token

        question = question_html.html_question(
            question_html.load_template(), {"person_id": f"P{row}", "image_url": f"https://img.example.org/{row}.jpg"}
        )
        return mturk_hook().create_hit_with_hit_type(
            HITTypeId=hit_type_id,
            MaxAssignments=3,
            LifetimeInSeconds=259200,
            Question=question,
            UniqueRequestToken=request_token(context["run_id"], row),
        )["HITId"]

    create_one.partial(hit_type_id=hit_type()).expand(row=list_rows())


one_task_per_row()

"""What the bench's sections share: seeded source rows, a throwaway stack, the serial loop, figures."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from scripts.bench import REPO
from scripts.demo import airflow_env, demo_credentials, run_dag_result, service_env


def seed_rows(url: str, count: int, bad_every: int = 0) -> None:
    """``count`` rows on 2026-11-24 (every ``bad_every``-th with no image_url)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for name in ("source_schema.sql", "hitflow_schema.sql"):
            conn.execute((REPO / "include" / "sql" / name).read_text())
        conn.execute(
            """INSERT INTO public.person_images
               SELECT i, 'P' || i,
                      CASE WHEN %(bad)s > 0 AND i %% %(bad)s = 0 THEN NULL
                           ELSE 'https://images.hitflow.example/bench/' || i || '.jpg' END,
                      timestamptz '2026-11-24' + (i %% 86000) * interval '1 second'
                 FROM generate_series(1, %(n)s) AS i""",
            {"n": count, "bad": bad_every},
        )


class Stack:
    """Throwaway databases, a HIT service and an Airflow home for one measurement."""

    def __init__(self, rows: int, service_extra: dict[str, str] | None = None, *, test_mode: bool = False) -> None:
        self.rows = rows
        self.test_mode = test_mode  # the service's /_test endpoints (fault injection) are on
        # two worker processes, as docker-compose.yaml runs the service (sections may override)
        self.service_extra = {"HITFLOW_HIT_SERVICE_WORKERS": "2"} | (service_extra or {})

    def __enter__(self) -> Stack:
        from hitflow_support import pg
        from hitflow_support.service_process import start_service

        self.state = Path(tempfile.mkdtemp(prefix="hitflow-bench-"))
        self.creds = demo_credentials(self.state)
        self.source = pg.create_database("bench_source")
        self.service_db = pg.create_database("bench_service")
        seed_rows(self.source, self.rows)
        self.service = start_service(
            self.service_db,
            log_path=self.state / "hit_service.log",
            test_mode=self.test_mode,
            extra_env=service_env(self.creds) | self.service_extra | {"HITFLOW_HIT_SERVICE_ACCESS_LOG": "0"},
        )
        self.env = airflow_env(self.state, self.source, self.service.url, self.creds, output_dir=self.state / "out")
        return self

    def __exit__(self, *exc: object) -> None:
        from hitflow_support import pg

        self.service.stop()
        pg.drop_database(self.source)
        pg.drop_database(self.service_db)

    def run(self, dag_id: str = "mturk_publish_hits", **conf: Any) -> tuple[float, dict[str, Any]]:
        env = self.env
        if not (REPO / "dags" / f"{dag_id}.py").exists():  # a bench-only DAG
            env = env | {"AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "scripts" / "bench_dags")}
        start = time.perf_counter()
        result = run_dag_result(env, dag_id, None, conf, self.state / f"{dag_id}.log")
        result["log"] = str(self.state / f"{dag_id}.log")
        return time.perf_counter() - start, result

    def client(self) -> Any:
        """A plain boto3 ``mturk`` client of the bench requester."""
        import boto3

        return boto3.client("mturk", region_name="us-east-1", endpoint_url=self.service.url, **self.creds)


def serial_loop(stack: Stack, calls: int) -> float:
    """The seed-style loop: one CreateHIT after another; returns seconds per call."""
    from hitflow.publish import question_html

    client = stack.client()
    template = question_html.load_template()
    start = time.perf_counter()
    for i in range(calls):
        client.create_hit(
            Title="Guess this person's age",
            Description="Look at one photo and type the age.",
            Reward="0.10",
            MaxAssignments=3,
            LifetimeInSeconds=259200,
            AssignmentDurationInSeconds=600,
            Question=question_html.html_question(
                template, {"person_id": f"S{i}", "image_url": f"https://images.hitflow.example/s/{i}.jpg"}
            ),
        )
    return (time.perf_counter() - start) / calls


CHUNK_SIZE = int(os.environ.get("HITFLOW_BENCH_CHUNK_SIZE", "2500"))


CONCURRENCY = int(os.environ.get("HITFLOW_BENCH_CONCURRENCY", "64"))


def publish_figures(seconds: float, result: dict[str, Any], rows: int) -> dict[str, Any]:
    """Figures of one publish run. ``seconds`` is the DAG run's own wall time (start to end, as
    Airflow records it); ``process_seconds`` adds starting Python, importing Airflow and creating
    the throwaway metadata database."""
    assert result["state"] == "success", f"the publish DAG failed; see {result.get('log')}"
    summary, stats = result["summary"], result["stats"]
    assert summary["hits_in_batch"] == rows, summary
    run_seconds = stats.get("run_seconds") or seconds
    return {
        "seconds": round(run_seconds, 1),
        "process_seconds": round(seconds, 1),
        "hits_per_second": round(rows / run_seconds, 1),
        "task_instances": stats["task_instances"],
        "xcom_bytes": stats["xcom_bytes"],
        "failed_tries": stats["failed_tries"],
        "seconds_by_task": stats["seconds_by_task"],
    }


def process_tree_stats(pid: int) -> dict[str, float]:
    """CPU seconds and peak RSS (MB, the largest process) of ``pid`` and its children."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    cpu, peak = 0.0, 0.0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
            cpu += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        except (OSError, ValueError, IndexError):
            continue
    return {"cpu_seconds": round(cpu, 1), "peak_rss_mb": round(peak, 1)}


@contextmanager
def console_service(name: str) -> Iterator[tuple[Any, dict[str, str], str]]:
    """A test-mode HIT service on a fresh database ``bench_<name>`` with the console user ``bench``
    (password ``bench-password``): yields the service, its requester credentials and the database URL."""
    import requests

    from hitflow_support import pg
    from hitflow_support.service_process import start_service

    state = Path(tempfile.mkdtemp(prefix=f"hitflow-bench-{name}-"))
    creds = demo_credentials(state)
    db = pg.create_database(f"bench_{name}")
    service = start_service(
        db,
        test_mode=True,
        log_path=state / "hit_service.log",
        extra_env=service_env(creds) | {"HITFLOW_HIT_SERVICE_ACCESS_LOG": "0"},
    )
    try:
        requests.post(
            f"{service.url}/_test/requester-users",
            json={"account": creds["aws_access_key_id"], "name": "bench", "password": "bench-password"},
            timeout=10,
        ).raise_for_status()
        yield service, creds, db
    finally:
        service.stop()
        pg.drop_database(db)

"""`make bench`: hitflow's publish path against a seed-style serial boto3 loop.

2,000 rows, the HIT service adding 50 ms to every API call (as a remote API would), measured
side by side in one run on this machine: once through the publish DAG (``dag.test()``, chunked
and concurrent) and once with the loop that MTurk tutorials show — one CreateHIT after another.
Figures are printed as a table and written to ``bench-results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "plugins")]

from scripts.demo import airflow_env, demo_credentials, run_publish, service_env  # noqa: E402


def seed_rows(url: str, count: int) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for name in ("source_schema.sql", "hitflow_schema.sql"):
            conn.execute((REPO / "include" / "sql" / name).read_text())
        conn.execute(
            """INSERT INTO public.person_images
               SELECT i, 'P' || i, 'https://images.hitflow.example/bench/' || i || '.jpg',
                      timestamptz '2026-11-24' + i * interval '1 second'
                 FROM generate_series(1, %s) AS i""",
            (count,),
        )


def serial_loop(service_url: str, creds: dict[str, str], count: int) -> float:
    """The seed-style loop: one CreateHIT per row, one after another; returns seconds."""
    import boto3

    from hitflow.publish import questions

    client = boto3.client("mturk", region_name="us-east-1", endpoint_url=service_url, **creds)
    template = questions.load_template()
    start = time.perf_counter()
    for i in range(count):
        client.create_hit(
            Title="Guess this person's age",
            Description="Look at one photo and type the age.",
            Reward="0.10",
            MaxAssignments=3,
            LifetimeInSeconds=259200,
            AssignmentDurationInSeconds=600,
            Question=questions.html_question(
                template, {"person_id": f"S{i}", "image_url": f"https://images.hitflow.example/s/{i}.jpg"}
            ),
        )
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--chunk-size", type=int, default=250)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--out", default=str(REPO / "bench-results.json"))
    args = parser.parse_args(argv)

    from hit_service.launcher import start_service
    from tests import pg

    os.environ["HITFLOW_TEST_PG_URL"] = args.admin_url
    pg.ADMIN_URL = args.admin_url
    state = Path(tempfile.mkdtemp(prefix="hitflow-bench-"))
    creds = demo_credentials(state)
    source, service_db = pg.create_database("bench_source"), pg.create_database("bench_service")
    results: dict[str, Any] = {"rows": args.rows, "latency_ms": args.latency_ms}
    try:
        seed_rows(source, args.rows)
        extra = service_env(creds) | {"HITFLOW_HIT_SERVICE_LATENCY_MS": str(args.latency_ms)}
        with start_service(service_db, extra_env=extra, log_path=state / "hit_service.log") as service:
            env = airflow_env(state, source, service.url, creds, output_dir=state / "output")
            log = state / "bench-airflow.log"
            start = time.perf_counter()
            summary = run_publish(env, None, {"chunk_size": args.chunk_size, "concurrency": args.concurrency}, log)
            dag_seconds = time.perf_counter() - start
            assert summary["hits_in_batch"] == args.rows, summary
            loop_seconds = serial_loop(service.url, creds, args.rows)
        results |= {
            "dag": {
                "seconds": round(dag_seconds, 2),
                "hits_per_second": round(args.rows / dag_seconds, 1),
                "chunk_size": args.chunk_size,
                "concurrency": args.concurrency,
                "note": "dag.test() wall time including Airflow start-up in a child process",
            },
            "serial_loop": {"seconds": round(loop_seconds, 2), "hits_per_second": round(args.rows / loop_seconds, 1)},
            "speedup": round(loop_seconds / dag_seconds, 1),
        }
    finally:
        pg.drop_database(source)
        pg.drop_database(service_db)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"\nPublishing {args.rows} rows, HIT service latency {args.latency_ms} ms per call\n")
    print(f"{'path':<34}{'seconds':>10}{'HITs/s':>10}")
    print(f"{'publish DAG (dag.test)':<34}{results['dag']['seconds']:>10}{results['dag']['hits_per_second']:>10}")
    print(
        f"{'serial boto3 loop':<34}{results['serial_loop']['seconds']:>10}"
        f"{results['serial_loop']['hits_per_second']:>10}"
    )
    print(f"\nspeed-up: {results['speedup']}x   (written to {args.out})")


if __name__ == "__main__":
    main()

"""Benchmark the HIT service's CreateHITWithHITType: throughput and latency with 32 signed clients.

    python -m scripts.bench_service --admin-url postgresql://postgres@127.0.0.1:5432/postgres

Creates a throwaway database (``hitflow_bench_<random>``), starts the service on it (not in
test mode, no injected latency; ``--workers`` uvicorn processes, default
``HITFLOW_HIT_SERVICE_WORKERS`` or 2), registers one requester key, creates one HIT type, then
runs ``--threads`` threads (default 32), each with its own boto3 client signing its calls,
calling CreateHITWithHITType for ``--seconds`` (default 10). Prints calls/s and p50/p99
latency in ms as JSON, stops the service and drops the database.

The clients run in this one Python process, on the same machine as the service: on a 2-core
box they compete with the service for CPU, and boto3 spends ~0.7 ms of CPU per call under
the GIL, so the figures are a lower bound of what the service does with remote clients.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import string
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import psycopg
from botocore.config import Config
from psycopg import sql

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # pragma: no cover - when run as a file
    sys.path.insert(0, str(REPO_ROOT))

from hit_service.launcher import start_service  # noqa: E402

QUESTION = (
    '<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/'
    'HTMLQuestion.xsd"><HTMLContent><![CDATA[<!DOCTYPE html><html><body><form><input name="age"></form>'
    "</body></html>]]></HTMLContent><FrameHeight>400</FrameHeight></HTMLQuestion>"
)


def _database_url(admin_url: str, name: str) -> str:
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


def _client(url: str, key: str, secret: str) -> Any:
    return boto3.client(
        "mturk",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}, max_pool_connections=4, tcp_keepalive=True),
    )


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def run(
    admin_url: str,
    *,
    seconds: float = 10.0,
    threads: int = 32,
    workers: int | None = None,
    warmup_seconds: float = 1.0,
) -> dict[str, Any]:
    """Run the benchmark and return its figures (calls, calls/s, p50/p99 ms, errors)."""
    workers = workers or int(os.environ.get("HITFLOW_HIT_SERVICE_WORKERS", "2"))
    name = f"hitflow_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db_url = _database_url(admin_url, name)
    key = "AKIA" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))
    secret = secrets.token_urlsafe(30)[:40]
    try:
        service = start_service(
            db_url,
            test_mode=False,
            requester_keys={key: secret},
            extra_env={
                "HITFLOW_HIT_SERVICE_WORKERS": str(workers),
                "HITFLOW_HIT_SERVICE_INITIAL_BALANCE": "9999999.00",
                "HITFLOW_HIT_SERVICE_DB_POOL_MAX": "20",
                "HITFLOW_HIT_SERVICE_ACCESS_LOG": "0",
            },
            timeout=60,
        )
        try:
            setup = _client(service.url, key, secret)
            hit_type = setup.create_hit_type(
                Title="Benchmark: how old is this person?",
                Description="A benchmark HIT type.",
                Reward="0.01",
                AssignmentDurationInSeconds=600,
            )["HITTypeId"]
            clients = [_client(service.url, key, secret) for _ in range(threads)]
            for client in clients:  # open each client's connection before the clock starts
                client.get_account_balance()
            latencies: list[list[float]] = [[] for _ in range(threads)]
            errors = [0] * threads
            barrier = threading.Barrier(threads + 1)
            state = {"measure_from": 0.0, "stop_at": 0.0}

            def worker(index: int) -> None:
                client = clients[index]
                mine = latencies[index]
                barrier.wait()
                while True:
                    started = time.perf_counter()
                    if started >= state["stop_at"]:
                        return
                    try:
                        client.create_hit_with_hit_type(HITTypeId=hit_type, LifetimeInSeconds=3600, Question=QUESTION)
                    except Exception:
                        errors[index] += 1
                        continue
                    if started >= state["measure_from"]:
                        mine.append(time.perf_counter() - started)

            def cpu_seconds(pid: int) -> float:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
                    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
                except (OSError, ValueError, IndexError):
                    return float("nan")

            def service_cpu() -> float:
                pids = [service.pid]
                children = Path(f"/proc/{service.pid}/task/{service.pid}/children")
                if children.exists():
                    pids += [int(p) for p in children.read_text().split()]
                return sum(cpu_seconds(p) for p in pids)

            pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
            for thread in pool:
                thread.start()
            now = time.perf_counter()
            state["measure_from"] = now + warmup_seconds
            state["stop_at"] = now + warmup_seconds + seconds
            barrier.wait()
            time.sleep(warmup_seconds)
            cpu_before, client_before = service_cpu(), time.process_time()
            for thread in pool:
                thread.join()
            cpu_service = service_cpu() - cpu_before
            cpu_client = time.process_time() - client_before
            measured_window = seconds
            merged = sorted(x for values in latencies for x in values)
            with psycopg.connect(db_url) as conn:
                row = conn.execute("SELECT count(*) FROM mturk.hits").fetchone()
            return {
                "operation": "CreateHITWithHITType",
                "threads": threads,
                "service_workers": workers,
                "seconds": measured_window,
                "calls": len(merged),
                "calls_per_second": round(len(merged) / measured_window, 1),
                "p50_ms": round(_percentile(merged, 0.50) * 1000, 2),
                "p99_ms": round(_percentile(merged, 0.99) * 1000, 2),
                "errors": sum(errors),
                "service_cpu_ms_per_call": round(cpu_service * 1000 / max(len(merged), 1), 3),
                "client_cpu_ms_per_call": round(cpu_client * 1000 / max(len(merged), 1), 3),
                "hits_in_database": int(row[0]) if row else 0,
                "cpus": os.cpu_count(),
                "load_average_1m": round(os.getloadavg()[0], 2),
                "service_pid": service.pid,
            }
        finally:
            service.stop()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--admin-url", default=os.environ.get("HITFLOW_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--workers", type=int, default=None, help="uvicorn worker processes (default 2)")
    args = parser.parse_args(argv)
    result = run(args.admin_url, seconds=args.seconds, threads=args.threads, workers=args.workers)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

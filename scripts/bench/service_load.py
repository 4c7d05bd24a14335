"""Benchmark the HIT service's CreateHITWithHITType: throughput and latency with 32 signed clients.

    python -m scripts.bench.service_load --admin-url postgresql://postgres@127.0.0.1:5432/postgres

Creates a throwaway database (``hitflow_bench_<random>``), starts the service on it (not in
test mode, no injected latency; ``--workers`` uvicorn processes, default
``HITFLOW_HIT_SERVICE_WORKERS`` or 2), registers one requester key, creates one HIT type, then
runs ``--threads`` threads (default 32), each with its own boto3 client signing its calls,
calling CreateHITWithHITType for ``--seconds`` (default 10). Prints calls/s and p50/p95/p99
latency in ms as JSON (``--loads 0.5,0.75``: again with the clients paced at those shares of
the full rate), stops the service and drops the database. ``--minimal`` drives
``scripts/minimal_endpoint.py`` (no database) the same way instead: the ceiling.

The clients run in this one Python process, on the same machine as the service: on a 2-core
box they compete with the service for CPU, and boto3 spends ~0.7 ms of CPU per call under
the GIL, so the figures are a lower bound of what the service does with remote clients.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import string
import subprocess
import sys
import threading
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import boto3
import psycopg
from botocore.config import Config
from psycopg import sql

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # pragma: no cover - when run as a file
    sys.path.insert(0, str(REPO_ROOT))

from hitflow_support.service_process import free_port, start_service  # noqa: E402

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


def cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and its child processes (uvicorn's workers)."""

    def one(p: int) -> float:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return 0.0

    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    return sum(one(p) for p in pids)


def drive(
    url: str,
    key: str,
    secret: str,
    hit_type: str,
    *,
    seconds: float,
    threads: int = 32,
    rate: float | None = None,
    warmup_seconds: float = 1.0,
    server_pid: int | None = None,
) -> dict[str, Any]:
    """``threads`` signed boto3 clients calling CreateHITWithHITType for ``seconds``.

    ``rate`` (calls/s over all threads) paces the clients: each thread starts its calls on a
    fixed schedule, and a call's latency is counted from its scheduled start, so time spent
    queueing behind a slow answer counts too. None: every thread calls again at once.
    """
    clients = [_client(url, key, secret) for _ in range(threads)]
    for client in clients:  # open each client's connection before the clock starts
        client.get_account_balance()
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    barrier = threading.Barrier(threads + 1)
    state = {"measure_from": 0.0, "stop_at": 0.0}
    interval = threads / rate if rate else 0.0

    def worker(index: int) -> None:
        client = clients[index]
        mine = latencies[index]
        barrier.wait()
        due = state["measure_from"] - warmup_seconds + interval * index / threads
        while True:
            if interval:
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                started = due
                due += interval
            else:
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

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    now = time.perf_counter()
    state["measure_from"] = now + warmup_seconds
    state["stop_at"] = now + warmup_seconds + seconds
    barrier.wait()
    time.sleep(warmup_seconds)
    cpu_server = cpu_seconds(server_pid) if server_pid else 0.0
    client_before = time.process_time()
    for thread in pool:
        thread.join()
    cpu_server = (cpu_seconds(server_pid) - cpu_server) if server_pid else float("nan")
    cpu_client = time.process_time() - client_before
    merged = sorted(x for values in latencies for x in values)
    calls = max(len(merged), 1)
    return {
        "threads": threads,
        "target_calls_per_second": rate,
        "seconds": seconds,
        "calls": len(merged),
        "calls_per_second": round(len(merged) / seconds, 1),
        "p50_ms": round(_percentile(merged, 0.50) * 1000, 2),
        "p95_ms": round(_percentile(merged, 0.95) * 1000, 2),
        "p99_ms": round(_percentile(merged, 0.99) * 1000, 2),
        "errors": sum(errors),
        "server_cpu_ms_per_call": round(cpu_server * 1000 / calls, 3),
        "client_cpu_ms_per_call": round(cpu_client * 1000 / calls, 3),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def _keys() -> tuple[str, str]:
    key = "AKIA" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))
    return key, secrets.token_urlsafe(30)[:40]


def _hit_type(url: str, key: str, secret: str) -> str:
    return _client(url, key, secret).create_hit_type(
        Title="Benchmark: how old is this person?",
        Description="A benchmark HIT type.",
        Reward="0.01",
        AssignmentDurationInSeconds=600,
    )["HITTypeId"]


def run(
    admin_url: str,
    *,
    seconds: float = 10.0,
    threads: int = 32,
    workers: int | None = None,
    warmup_seconds: float = 1.0,
    loads: tuple[float, ...] = (),
    rates: tuple[float, ...] = (),
) -> dict[str, Any]:
    """The service at full load (calls/s, p50/p95/p99 ms, errors, CPU per call); then, for each
    fraction in ``loads``, the latency with the clients paced at that share of the full rate, and
    for each of ``rates`` (calls/s) paced at that rate — when it is below the full rate."""
    workers = workers or int(os.environ.get("HITFLOW_HIT_SERVICE_WORKERS", "2"))
    name = f"hitflow_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db_url = _database_url(admin_url, name)
    key, secret = _keys()
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
            hit_type = _hit_type(service.url, key, secret)
            load = partial(
                drive,
                service.url,
                key,
                secret,
                hit_type,
                seconds=seconds,
                threads=threads,
                warmup_seconds=warmup_seconds,
                server_pid=service.pid,
            )
            full = load()
            at_loads = {f"{round(share * 100)}%": load(rate=share * full["calls_per_second"]) for share in loads}
            at_rates = {
                f"{rate:g}/s": load(rate=rate)
                if rate < full["calls_per_second"]
                else {"reachable": False, "full_calls_per_second": full["calls_per_second"]}
                for rate in rates
            }
            with psycopg.connect(db_url) as conn:
                row = conn.execute("SELECT count(*) FROM mturk.hits").fetchone()
        finally:
            service.stop()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    return {
        "operation": "CreateHITWithHITType",
        "service_workers": workers,
        **full,
        "service_cpu_ms_per_call": full["server_cpu_ms_per_call"],
        "hits_in_database": int(row[0]) if row else 0,
        "cpus": os.cpu_count(),
        "at_share_of_max": at_loads,
        "at_rate": at_rates,
    }


def run_minimal(*, seconds: float = 10.0, threads: int = 32, workers: int = 2) -> dict[str, Any]:
    """The same load against ``scripts.minimal_endpoint`` (no database): this box's ceiling."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "uvicorn", "scripts.minimal_endpoint:app", "--port", str(port)]
    cmd += ["--host", "127.0.0.1", "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    process = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the minimal endpoint did not start") from None
                time.sleep(0.2)
        key, secret = _keys()
        return {
            "workers": workers,
            **drive(url, key, secret, "T" * 30, seconds=seconds, threads=threads, server_pid=process.pid),
        }
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--admin-url", default=os.environ.get("HITFLOW_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--workers", type=int, default=None, help="uvicorn worker processes (default 2)")
    parser.add_argument("--loads", default="", help="shares of the full rate to pace at too, e.g. 0.5,0.75")
    parser.add_argument("--rates", default="", help="calls/s to pace at too, e.g. 500")
    parser.add_argument("--minimal", action="store_true", help="drive scripts.minimal_endpoint instead")
    args = parser.parse_args(argv)
    if args.minimal:
        print(json.dumps(run_minimal(seconds=args.seconds, threads=args.threads), indent=2))
        return 0
    loads = tuple(float(x) for x in args.loads.split(",") if x)
    rates = tuple(float(x) for x in args.rates.split(",") if x)
    result = run(
        args.admin_url, seconds=args.seconds, threads=args.threads, workers=args.workers, loads=loads, rates=rates
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

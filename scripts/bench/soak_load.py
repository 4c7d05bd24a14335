"""Soak the HIT service: requester API calls and workers working HITs through the site, for minutes.

    python -m scripts.bench.soak_load --admin-url postgresql://postgres@127.0.0.1:5432/postgres \\
        [--seconds 600] [--threads 8] [--load 0.7] [--fault-rate 0.05]

Each unit of work is one source "row" carried through its whole life, the way the pipelines
and a crowd do it: a requester's boto3 client creates the row's HIT (CreateHITWithHITType
with a deterministic UniqueRequestToken and ``RequesterAnnotation: soak row N``), a worker
signed in to the site previews, accepts and submits it through the real forms, and the
requester lists the assignment, approves it and reads the HIT back. ``--threads`` threads
each own a boto3 client and a worker account.

First the capacity is measured (rows/s with every thread going flat out for
``--capacity-seconds``); then the soak runs for ``--seconds`` at ``--load`` (70 %) of it,
rows started on a fixed schedule. Reported: rows/s and API calls/s, p50/p99 of API calls and
of site requests, errors (must be 0), the service process's RSS at the start and end of the
soak (and its peak, sampled every 5 s), and — always — every row checked for exactly one
HIT in the service's own ListHITs. ``--fault-rate`` injects that share of faults (throttling,
ServiceFaults, responses dropped after the commit) into API calls; clients retry as boto3's
standard mode does, and a retried create that finds its token taken reads the HIT ID from
the HitAlreadyExists message, as the pipelines do.

The service runs in test mode (for fault injection and the worker-account endpoint) with one
uvicorn process, on the same 2-core machine as the clients.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import string
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import httpx
import psycopg
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from psycopg import sql

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # pragma: no cover - when run as a file
    sys.path.insert(0, str(REPO_ROOT))

from hitflow_support.crowd_client import accept_hit, sign_in, submit_fields  # noqa: E402
from hitflow_support.service_process import start_service  # noqa: E402

QUESTION = (
    '<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/'
    'HTMLQuestion.xsd"><HTMLContent><![CDATA[<!DOCTYPE html><html><body><form><input name="age"></form>'
    "</body></html>]]></HTMLContent><FrameHeight>400</FrameHeight></HTMLQuestion>"
)
EXISTING_HIT = re.compile(r'HIT with ID "([A-Z0-9]+)"')


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


class Lane:
    """One thread's requester client and worker session, and what it measured."""

    def __init__(self, url: str, key: str, secret: str, worker: dict[str, str], hit_type: str, tag: str) -> None:
        self.url = url
        self.client = boto3.client(
            "mturk",
            region_name="us-east-1",
            endpoint_url=url,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=Config(retries={"total_max_attempts": 6, "mode": "standard"}, tcp_keepalive=True),
        )
        self.worker = worker
        self.hit_type = hit_type
        self.tag = tag
        self.session: requests.Session | None = None
        self.api_ms: list[float] = []
        self.site_ms: list[float] = []
        self.errors: list[str] = []
        self.retries = 0
        self.rows_done = 0

    def api(self, call: str, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            answer = getattr(self.client, call)(**kwargs)
            self.retries += answer.get("ResponseMetadata", {}).get("RetryAttempts", 0)
            return answer
        except ClientError as exc:
            self.retries += exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
            raise
        finally:
            self.api_ms.append((time.perf_counter() - started) * 1000)

    def site(self, step: Any, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return step(*args)
        finally:
            self.site_ms.append((time.perf_counter() - started) * 1000)

    def create(self, row: int) -> str:
        try:
            return self.api(
                "create_hit_with_hit_type",
                HITTypeId=self.hit_type,
                MaxAssignments=1,
                LifetimeInSeconds=3600,
                Question=QUESTION,
                RequesterAnnotation=f"soak row {row}",
                UniqueRequestToken=f"soak-{self.tag}-{row}",
            )["HIT"]["HITId"]
        except ClientError as exc:  # a retry after a dropped answer: the token names the HIT made
            found = EXISTING_HIT.search(exc.response["Error"].get("Message", ""))
            if exc.response.get("TurkErrorCode") == "AWS.MechanicalTurk.HitAlreadyExists" and found:
                return found.group(1)
            raise

    def approve(self, assignment_id: str) -> None:
        try:
            self.api("approve_assignment", AssignmentId=assignment_id)
        except ClientError as exc:  # approved by the attempt whose answer was dropped: done
            status = self.api("get_assignment", AssignmentId=assignment_id)["Assignment"]["AssignmentStatus"]
            if status != "Approved":
                raise RuntimeError(f"approve {assignment_id}: {exc}") from exc

    def work_row(self, row: int) -> None:
        """One row's whole life: create, preview + accept + submit on the site, list, approve, read."""
        try:
            hit_id = self.create(row)
            if self.session is None:
                self.session = self.site(sign_in, self.url, self.worker["name"], self.worker["password"])
            assignment_id = self.site(accept_hit, self.session, self.url, hit_id)
            self.site(submit_fields, self.session, self.url, assignment_id, {"age": str(20 + row % 50)})
            listed = self.api("list_assignments_for_hit", HITId=hit_id)["Assignments"]
            if [a["AssignmentId"] for a in listed] != [assignment_id]:
                raise RuntimeError(f"row {row}: ListAssignmentsForHIT gave {listed!r}")
            self.approve(assignment_id)
            if self.api("get_hit", HITId=hit_id)["HIT"]["NumberOfAssignmentsCompleted"] != 1:
                raise RuntimeError(f"row {row}: HIT {hit_id} does not show its approved assignment")
            self.rows_done += 1
        except Exception as exc:  # counted and reported: the soak's errors must be 0
            self.errors.append(f"row {row}: {type(exc).__name__}: {exc}"[:300])


def _drive(lanes: list[Lane], seconds: float, rate: float | None, first_row: int) -> tuple[int, float]:
    """Run rows on every lane for ``seconds``: flat out (``rate`` None) or started ``rate`` per second."""
    lock = threading.Lock()
    state = {"next": first_row}
    start = time.perf_counter()
    stop_at = start + seconds

    def lane_loop(lane: Lane) -> None:
        while True:
            with lock:
                row = state["next"]
                state["next"] += 1
            due = start + (row - first_row) / rate if rate else time.perf_counter()
            if due >= stop_at:
                return
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            lane.work_row(row)

    threads = [threading.Thread(target=lane_loop, args=(lane,), daemon=True) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return state["next"] - first_row - len(lanes), time.perf_counter() - start


def hits_per_row(client: Any) -> Counter[int]:
    """HITs per soak row in the service's own ListHITs."""
    counts: Counter[int] = Counter()
    kwargs: dict[str, Any] = {"MaxResults": 100}
    while True:
        page = client.list_hits(**kwargs)
        for hit in page["HITs"]:
            annotation = hit.get("RequesterAnnotation", "")
            if annotation.startswith("soak row "):
                counts[int(annotation.rsplit(" ", 1)[1])] += 1
        if not page.get("NextToken"):
            return counts
        kwargs["NextToken"] = page["NextToken"]


def run(
    admin_url: str,
    *,
    seconds: float = 600.0,
    threads: int = 8,
    load: float = 0.7,
    capacity_seconds: float = 20.0,
    fault_rate: float = 0.0,
) -> dict[str, Any]:
    """Measure capacity, soak at ``load`` of it for ``seconds``; the figures as a dict."""
    name = f"hitflow_test_{uuid.uuid4().hex[:8]}_soak"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db_url = admin_url.rpartition("/")[0] + "/" + name
    key = "AKIA" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))
    secret = secrets.token_urlsafe(30)[:40]
    tag = uuid.uuid4().hex[:6]
    try:
        with start_service(
            db_url,
            test_mode=True,
            requester_keys={key: secret},
            extra_env={
                "HITFLOW_HIT_SERVICE_WORKERS": "1",  # one process: its RSS is the service's memory
                "HITFLOW_HIT_SERVICE_INITIAL_BALANCE": "9999999.00",
                "HITFLOW_HIT_SERVICE_DB_POOL_MAX": "20",
                "HITFLOW_HIT_SERVICE_ACCESS_LOG": "0",
            },
            timeout=90,
        ) as service:
            setup = boto3.client(
                "mturk",
                region_name="us-east-1",
                endpoint_url=service.url,
                aws_access_key_id=key,
                aws_secret_access_key=secret,
            )
            hit_type = setup.create_hit_type(
                Title="Soak: how old is this person?",
                Description="A soak-test HIT type.",
                Reward="0.05",
                AssignmentDurationInSeconds=600,
                AutoApprovalDelayInSeconds=3600,
            )["HITTypeId"]
            lanes = []
            for index in range(threads):
                worker_name = f"soak-{tag}-{index}"
                password = secrets.token_urlsafe(12)
                made = httpx.post(
                    f"{service.url}/_test/workers", json={"name": worker_name, "password": password}, timeout=30
                )
                made.raise_for_status()
                lanes.append(Lane(service.url, key, secret, made.json() | {"password": password}, hit_type, tag))

            rows, took = _drive(lanes, capacity_seconds, None, 0)
            capacity = rows / took
            for lane in lanes:
                lane.api_ms.clear()
                lane.site_ms.clear()
                lane.rows_done = 0
                lane.retries = 0
            capacity_errors = sum(len(lane.errors) for lane in lanes)
            if fault_rate:
                share = fault_rate / 5
                faults = {
                    "throttle_rate": 2 * share,
                    "service_fault_rate": 2 * share,
                    "drop_after_commit_rate": share,
                    "seed": 13,
                }
                httpx.post(f"{service.url}/_test/faults", json=faults, timeout=10).raise_for_status()
            rss_start = _rss_mb(service.pid)
            peak = [rss_start]
            sampling = threading.Event()

            def sample() -> None:
                while not sampling.wait(5):
                    peak.append(_rss_mb(service.pid))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            target = load * capacity
            started_rows, soak_seconds = _drive(lanes, seconds, target, 1_000_000)
            sampling.set()
            sampler.join()
            rss_end = _rss_mb(service.pid)
            if fault_rate:
                httpx.post(f"{service.url}/_test/faults", json={}, timeout=10).raise_for_status()
            counts = hits_per_row(setup)
            soak_rows = {row: n for row, n in counts.items() if row >= 1_000_000}
            api_ms = [ms for lane in lanes for ms in lane.api_ms]
            site_ms = [ms for lane in lanes for ms in lane.site_ms]
            errors = [e for lane in lanes for e in lane.errors]
            done = sum(lane.rows_done for lane in lanes)
            return {
                "seconds": round(soak_seconds, 1),
                "threads": threads,
                "fault_rate": fault_rate,
                "capacity_rows_per_s": round(capacity, 2),
                "target_rows_per_s": round(target, 2),
                "rows_started": started_rows,
                "rows_done": done,
                "rows_per_s": round(done / soak_seconds, 2),
                "api_calls": len(api_ms),
                "api_calls_per_s": round(len(api_ms) / soak_seconds, 1),
                "api_p50_ms": round(_percentile(api_ms, 0.5), 1),
                "api_p99_ms": round(_percentile(api_ms, 0.99), 1),
                "api_retries": sum(lane.retries for lane in lanes),
                "site_requests": len(site_ms),
                "site_p50_ms": round(_percentile(site_ms, 0.5), 1),
                "site_p99_ms": round(_percentile(site_ms, 0.99), 1),
                "errors": len(errors) - capacity_errors,
                "error_samples": errors[:5],
                "rss_mb_start": rss_start,
                "rss_mb_end": rss_end,
                "rss_mb_peak": max([*peak, rss_end]),
                "rows_with_one_hit": sum(1 for n in soak_rows.values() if n == 1),
                "rows_with_several_hits": sum(1 for n in soak_rows.values() if n > 1),
                "rows_without_hit": max(0, started_rows - len(soak_rows)),
            }
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", required=True)
    parser.add_argument("--seconds", type=float, default=600.0, help="soak duration (default 600: 10 minutes)")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--load", type=float, default=0.7, help="share of the measured capacity (default 0.7)")
    parser.add_argument("--capacity-seconds", type=float, default=20.0)
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of API calls given a fault")
    args = parser.parse_args(argv)
    figures = run(
        args.admin_url,
        seconds=args.seconds,
        threads=args.threads,
        load=args.load,
        capacity_seconds=args.capacity_seconds,
        fault_rate=args.fault_rate,
    )
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

"""Bench section ``console``: the requester console: a 10,000-row CSV and a 30,000-row results CSV."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from scripts.bench.common import console_service


def _rss_mb(pid: int) -> float:
    """A process's resident memory now, in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bench_console(admin_url: str, quick: bool) -> dict[str, Any]:
    """Publish a big CSV through the console while the API answers; stream a big results CSV."""
    import statistics
    import threading

    import boto3
    import psycopg

    from hitflow_support.console_client import ConsoleClient

    rows = 1000 if quick else 10_000
    with console_service("console") as (service, creds, db):
        console = ConsoleClient(service.url, "bench", "bench-password", timeout=300)
        layout_id = console.create_project("age_guess", max_assignments="3")
        data = "person_id,image_url\n" + "".join(f"P{i},https://images.example/{i}.jpg\n" for i in range(rows))
        start = time.perf_counter()
        batch_id = console.upload(layout_id, data.encode(), "bench")
        checked = time.perf_counter() - start
        client = boto3.client("mturk", region_name="us-east-1", endpoint_url=service.url, **creds)
        latencies: list[float] = []
        done = threading.Event()

        def api_meanwhile() -> None:
            while not done.is_set():
                t = time.perf_counter()
                client.get_account_balance()
                latencies.append((time.perf_counter() - t) * 1000)
                time.sleep(0.05)

        probe = threading.Thread(target=api_meanwhile, daemon=True)
        probe.start()
        start = time.perf_counter()
        console.publish(batch_id)
        samples = 0
        while (progress := console.progress(batch_id))["status"] == "publishing":
            samples += 1
            time.sleep(0.5)
        published = time.perf_counter() - start
        done.set()
        probe.join()
        assert progress["created"] == rows, progress

        with psycopg.connect(db, autocommit=True) as conn:
            for w in range(3):
                conn.execute(
                    """INSERT INTO mturk.workers (worker_id, name, password_hash, created_at)
                       VALUES (%s, %s, 'x', now())""",
                    (f"AWORKERBENCH{w:02d}", f"bench-worker-{w}"),
                )
            conn.execute(
                """INSERT INTO mturk.assignments (assignment_id, hit_id, requester, worker_id, status, accept_time,
                       deadline, submit_time, auto_approval_time, answer, updated_at)
                   SELECT '3BENCH' || r.row_number || 'W' || w, r.hit_id, %(req)s, 'AWORKERBENCH0' || w, 'Submitted',
                          now() - interval '5 minutes', now() + interval '1 hour', now(), now() + interval '3 days',
                          '<QuestionFormAnswers><Answer><QuestionIdentifier>age</QuestionIdentifier>'
                          || '<FreeText>' || (20 + w) || '</FreeText></Answer></QuestionFormAnswers>', now()
                   FROM mturk.batch_rows r, generate_series(0, 2) AS w WHERE r.batch_id = %(b)s""",
                {"req": creds["aws_access_key_id"], "b": batch_id},
            )
            conn.execute(
                """UPDATE mturk.hits SET assignments_submitted = 3
                   WHERE hit_id IN (SELECT hit_id FROM mturk.batch_rows WHERE batch_id = %s)""",
                (batch_id,),
            )
        before = _rss_mb(service.pid)
        peak = [before]
        streaming = threading.Event()

        def sample() -> None:
            while not streaming.is_set():
                peak.append(_rss_mb(service.pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        start = time.perf_counter()
        size = lines = 0
        with console.session.get(f"{service.url}/requester/batches/{batch_id}/results.csv", stream=True) as response:
            response.raise_for_status()
            for chunk in response.iter_content(65536):
                size += len(chunk)
                lines += chunk.count(b"\r\n")
        streamed = time.perf_counter() - start
        streaming.set()
        sampler.join()
        assert lines == rows * 3 + 1, lines
    return {
        "rows": rows,
        "check_seconds": round(checked, 2),
        "publish_seconds": round(published, 1),
        "rows_per_second": round(rows / published, 1),
        "progress_polls": samples,
        "api_calls_meanwhile": len(latencies),
        "api_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "api_max_ms": round(max(latencies), 1) if latencies else None,
        "assignments": rows * 3,
        "results_seconds": round(streamed, 1),
        "results_mb": round(size / 1e6, 1),
        "service_rss_before_mb": round(before, 1),
        "service_rss_peak_mb": round(max(peak), 1),
    }

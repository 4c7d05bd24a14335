"""Bench section ``extract_1m``: claiming and validating a 1,000,000-row interval."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from scripts.bench.common import (
    REPO,
    seed_rows,
)


def bench_extract_1m(admin_url: str, quick: bool) -> dict[str, Any]:
    from hitflow_support import pg

    rows = 100_000 if quick else 1_000_000
    url = pg.create_database("bench_extract")
    try:
        start = time.perf_counter()
        seed_rows(url, rows, bad_every=1000)
        seeded = time.perf_counter() - start
        out = subprocess.run(
            [sys.executable, "-m", "scripts.bench", "--extract-worker", url],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        pg.drop_database(url)
    return {"rows": rows, "seed_seconds": round(seeded, 1), **figures}


def extract_worker(url: str) -> None:
    """Claim, validate and plan a whole 2026-11-24 interval the way the DAG's tasks do; print figures."""
    import resource
    import uuid
    from datetime import UTC, datetime

    import psycopg

    from hitflow.publish import batch_store
    from hitflow.publish.rows import row_problem

    batch_id = uuid.uuid4()
    scope = batch_store.Scope(datetime(2026, 11, 24, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC))
    timings: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        batch_store.open_batch(conn, batch_id=batch_id, dag_id="bench", run_id="bench", scope=scope, params={})
        t = time.perf_counter()
        claim = batch_store.claim_rows(conn, batch_id=batch_id, scope=scope, max_rows=None)
        timings["claim"] = time.perf_counter() - t
        t = time.perf_counter()
        problems = [
            (row.id, reason)
            for row in batch_store.iter_unvalidated_rows(conn, batch_id)
            if (reason := row_problem(row))
        ]
        quarantined = batch_store.quarantine(conn, batch_id, problems)
        timings["validate"] = time.perf_counter() - t
        t = time.perf_counter()
        duplicates = batch_store.quarantine_duplicates(conn, batch_id)
        batch_store.mark_validated(conn, batch_id)
        timings["duplicates"] = time.perf_counter() - t
        t = time.perf_counter()
        chunks, _, size = batch_store.plan_chunks(conn, batch_id, 500, 1000)
        timings["plan_chunks"] = time.perf_counter() - t
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "claimed": claim["claimed_now"],
                "quarantined": quarantined,
                "duplicates": duplicates,
                "chunks": len(chunks),
                "chunk_size": size,
                "seconds": {k: round(v, 1) for k, v in timings.items()},
                "total_seconds": round(sum(timings.values()), 1),
                "peak_rss_mb": round(peak_kb / 1024, 1),
            }
        )
    )

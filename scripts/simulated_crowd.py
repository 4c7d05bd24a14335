"""A simulated crowd for the demo: a few workers answer the open HITs through the worker site.

Every answer goes through the site's real HTTP forms (sign in, accept, post to
``/mturk/externalSubmit``), never into the database. Each person gets a hidden "true" age; the
careful workers guess within a few years of it, and one sloppy worker sometimes types nonsense,
so the review policy has something to reject.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import secrets
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
WORKERS = ("demo-ana", "demo-ben", "demo-cy", "demo-dee", "demo-sloppy")


def true_age(person_id: str) -> int:
    return 18 + int(hashlib.sha256(person_id.encode()).hexdigest(), 16) % 60


def guess(worker: str, person_id: str, rng: random.Random) -> str:
    if worker == "demo-sloppy" and rng.random() < 0.5:
        return rng.choice(["idk", "200", "", "thirty", "0"])
    return str(max(1, true_age(person_id) + rng.randint(-4, 4)))


def ensure_workers(service_db_url: str, state: Path) -> dict[str, str]:
    """The demo workers' passwords; creates the accounts with the service's operator CLI once."""
    path = state / "demo_workers.json"
    passwords = json.loads(path.read_text()) if path.exists() else {}
    env = os.environ | {"HITFLOW_HIT_SERVICE_DB_URL": service_db_url}
    listed = subprocess.run(
        [sys.executable, "-m", "hit_service", "worker", "list"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    existing = {w["name"] for w in json.loads(listed)}
    for name in WORKERS:
        if name in existing and name in passwords:
            continue
        if name in existing:
            raise SystemExit(f"worker {name} exists but its password is not in {path}; remove it or the file")
        passwords[name] = secrets.token_urlsafe(12)
        subprocess.run(  # the password on stdin: never in the process list
            [sys.executable, "-m", "hit_service", "worker", "add", name],
            cwd=REPO,
            env=env,
            input=passwords[name] + "\n",
            capture_output=True,
            text=True,
            check=True,
        )
    path.write_text(json.dumps(passwords, indent=2))
    path.chmod(0o600)
    return passwords


def open_hits(source_url: str) -> list[tuple[str, str]]:
    """(hit_id, person_id) of every published HIT not yet disposed of."""
    import psycopg

    with psycopg.connect(source_url) as conn:
        return conn.execute(
            """SELECT hit_id, person_id FROM hitflow.batch_rows
                WHERE hit_id IS NOT NULL AND disposed_at IS NULL ORDER BY row_id"""
        ).fetchall()


def answer_open_hits(base_url: str, source_url: str, passwords: dict[str, str], per_hit: int = 3) -> dict[str, Any]:
    """Each open HIT gets up to ``per_hit`` answers from different workers; returns counts."""
    from hitflow_support.crowd_client import CrowdError, submit_answer_over_http

    hits = open_hits(source_url)
    jobs = [
        (WORKERS[(i + k) % len(WORKERS)], hit_id, person_id)
        for i, (hit_id, person_id) in enumerate(hits)
        for k in range(per_hit)
    ]

    def work(worker: str) -> tuple[int, int]:
        rng = random.Random(worker)
        done = skipped = 0
        for name, hit_id, person_id in jobs:
            if name != worker:
                continue
            try:
                submit_answer_over_http(
                    base_url,
                    worker,
                    passwords[worker],
                    hit_id,
                    {"age": guess(worker, person_id, rng), "person_id": person_id},
                )
                done += 1
            except CrowdError:  # already answered by this worker, or no assignment left
                skipped += 1
        return done, skipped

    with ThreadPoolExecutor(max_workers=len(WORKERS)) as pool:
        results = list(pool.map(work, WORKERS))
    return {"hits": len(hits), "answers": sum(d for d, _ in results), "skipped": sum(s for _, s in results)}


def answer_through_backend(
    service_db_url: str,
    hit_ids: list[tuple[str, str]],
    *,
    per_hit: int = 3,
    workers: int = 30,
    threads: int = 4,
    prefix: str = "bench",
) -> dict[str, Any]:
    """Bench crowd: ``per_hit`` workers accept and submit each HIT through the service's backend.

    The same ``accept`` and ``submit_assignment`` the worker site calls (every rule and counter
    of theirs applies), in this process, skipping HTTP, pages and sign-in: the bench times the
    collection, not the answering. ``hit_ids`` are (hit_id, person_id); the last worker of
    ``workers`` is sloppy (70 % of its answers are not a valid age), so review rejects and blocks.
    The accounts are new, named ``prefix``-NN: a second crowd on one service needs its own prefix
    (the first crowd's sloppy worker is blocked by then).
    """
    from datetime import UTC, datetime

    from hit_service.core.clock import SystemClock
    from hit_service.core.database import Store
    from hit_service.core.identity import add_worker
    from hit_service.core.models import MTurkBackend

    store = Store(service_db_url, max_size=threads + 1)
    store.open()
    try:
        backend = MTurkBackend(store, SystemClock(), REPO / "include" / "layouts", Decimal("0"))
        names = [f"{prefix}-{i:02d}" for i in range(workers - 1)] + [f"{prefix}-sloppy"]
        rows = []
        for name in names:
            created = add_worker(store, name, secrets.token_urlsafe(12), datetime.now(UTC))
            rows.append(backend.worker(created["worker_id"]))

        def work(start: int) -> int:
            done = 0
            for i in range(start, len(hit_ids), threads):
                hit_id, person_id = hit_ids[i]
                rng = random.Random(hit_id)
                for k in range(per_hit):
                    worker = rows[(i + k * 7) % len(rows)]
                    name = worker["name"]
                    if name.endswith("-sloppy") and rng.random() < 0.7:
                        age = rng.choice(["idk", "200", "", "thirty", "0"])
                    else:
                        age = str(max(1, true_age(person_id) + rng.randint(-4, 4)))
                    assignment_id = backend.accept(worker, hit_id)
                    backend.submit_assignment(assignment_id, [("age", age), ("person_id", person_id)])
                    done += 1
            return done

        with ThreadPoolExecutor(max_workers=threads) as pool:
            answers = sum(pool.map(work, range(threads)))
    finally:
        store.close()
    return {"hits": len(hit_ids), "answers": answers, "workers": workers}

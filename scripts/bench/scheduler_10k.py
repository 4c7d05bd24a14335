"""Bench section ``scheduler_10k``: the same 10,000 rows through the real scheduler."""

from __future__ import annotations

from typing import Any

from scripts.bench.common import (
    CHUNK_SIZE,
    CONCURRENCY,
)


def bench_scheduler_10k(admin_url: str, quick: bool) -> dict[str, Any]:
    """Two runs on fresh stacks: the batch in four chunks (all four run at once) and in one."""
    from scripts.bench import scheduler_stack as bench_scheduler

    rows = 1000 if quick else 10_000
    keep = (
        "rows",
        "chunk_size",
        "concurrency",
        "state",
        "seconds",
        "seconds_from_trigger",
        "hits_per_second",
        "task_instances",
        "failed_tries",
        "peak_parallel_publish_chunk",
        "celery_worker_concurrency",
        "scheduler_gaps_seconds",
        "seconds_by_task",
        "service_hits",
        "stack_start_seconds",
        "stack_timings",
    )
    out: dict[str, Any] = {}
    for label, chunk_size in (("four_chunks", CHUNK_SIZE), ("one_chunk", rows)):
        figures = bench_scheduler.run(rows, chunk_size=chunk_size, concurrency=CONCURRENCY)
        out[label] = {key: figures[key] for key in keep if key in figures}
    return out

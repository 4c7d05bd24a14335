"""Bench section ``scale_10k``: 10,000 rows through the publish DAG (dag.test())."""

from __future__ import annotations

from typing import Any

from hitflow_support.service_queries import service_hits
from scripts.bench.common import (
    CHUNK_SIZE,
    CONCURRENCY,
    Stack,
    publish_figures,
)


def bench_scale_10k(admin_url: str, quick: bool) -> dict[str, Any]:
    rows = 1000 if quick else 10_000
    with Stack(rows) as stack:
        seconds, result = stack.run(chunk_size=CHUNK_SIZE, concurrency=CONCURRENCY)
        figures = publish_figures(seconds, result, rows)
        assert len(service_hits(stack.client())) == rows
    return {"rows": rows, "chunk_size": CHUNK_SIZE, "concurrency": CONCURRENCY, **figures}

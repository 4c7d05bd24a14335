"""Bench section ``publish_2k``: 2,000 rows at 50 ms per call: the publish DAG vs the serial loop."""

from __future__ import annotations

from typing import Any

from scripts.bench.common import (
    Stack,
    publish_figures,
    serial_loop,
)


def bench_publish_2k(admin_url: str, quick: bool) -> dict[str, Any]:
    rows = 200 if quick else 2000
    with Stack(rows, {"HITFLOW_HIT_SERVICE_LATENCY_MS": "50"}) as stack:
        seconds, result = stack.run(chunk_size=250, concurrency=32)
        dag = publish_figures(seconds, result, rows)
        per_call = serial_loop(stack, rows)
    serial = per_call * rows
    return {
        "rows": rows,
        "latency_ms": 50,
        "dag": dag,
        "serial_loop_seconds": round(serial, 1),
        "speedup": round(serial / dag["seconds"], 1),
    }

"""Bench section ``latency_10k``: 10,000 rows at 100 ms per call: DAG vs serial loop vs one task per row."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from scripts.bench.common import (
    CHUNK_SIZE,
    CONCURRENCY,
    Stack,
    publish_figures,
    serial_loop,
)

PER_ROW_ROWS = int(os.environ.get("HITFLOW_BENCH_PER_ROW_ROWS", "1000"))  # 0 skips the slow per-row DAG


def bench_latency_10k(admin_url: str, quick: bool) -> dict[str, Any]:
    rows, sample, per_row_rows = (1000, 50, 100) if quick else (10_000, 200, PER_ROW_ROWS)
    latency = {"HITFLOW_HIT_SERVICE_LATENCY_MS": "100"}
    out: dict[str, Any] = {"rows": rows, "latency_ms": 100, "chunk_size": CHUNK_SIZE, "concurrency": CONCURRENCY}
    with Stack(rows, latency) as stack:
        seconds, result = stack.run(chunk_size=CHUNK_SIZE, concurrency=CONCURRENCY)
        out["dag"] = publish_figures(seconds, result, rows)
        per_call = serial_loop(stack, sample)
    out["serial_loop"] = {
        "seconds_extrapolated": round(per_call * rows, 1),
        "measured_calls": sample,
        "seconds_per_call": round(per_call, 4),
    }
    out["speedup_vs_serial"] = round(per_call * rows / out["dag"]["seconds"], 1)
    if not per_row_rows:
        return out
    with Stack(rows, latency) as stack:
        seconds, refused = stack.run("one_task_per_row", rows=rows)
        log = Path(refused["log"]).read_text(errors="replace")
        refusals = ("too large to map", "max_map_length")
        reason = next((line.strip() for line in log.splitlines() if any(r in line for r in refusals)), "")
        out["one_task_per_row_at_rows"] = {
            "state": refused["state"],
            "seconds": round(seconds, 1),
            "why": reason[-300:],
        }
    with Stack(per_row_rows, latency) as stack:
        seconds, result = stack.run("one_task_per_row", rows=per_row_rows)
        assert result["state"] == "success", result.get("log")
        with Stack(per_row_rows, latency) as ours:
            our_seconds, our_result = ours.run(chunk_size=CHUNK_SIZE, concurrency=CONCURRENCY)
            publish_figures(our_seconds, our_result, per_row_rows)
    out[f"at_{per_row_rows}_rows"] = {
        "one_task_per_row_seconds": round(seconds, 1),
        "one_task_per_row_task_instances": result["stats"]["task_instances"],
        "hitflow_seconds": round(our_seconds, 1),
        "speedup": round(seconds / our_seconds, 1),
    }
    return out

"""Bench section ``scale_curve``: the 1k / 10k / 100k publish curve."""

from __future__ import annotations

import os
from typing import Any

from hitflow.publish.autotune import chunk_size_for
from scripts.bench.common import (
    Stack,
    process_tree_stats,
    publish_figures,
)


def bench_scale_curve(admin_url: str, quick: bool) -> dict[str, Any]:
    """The publish cost curve: does 100,000 rows cost ten times 10,000?"""
    from scripts.bench import service_load as bench_service

    sizes = (1000, 5000) if quick else (1000, 10_000, 100_000)
    if os.environ.get("HITFLOW_BENCH_CURVE_SIZES"):  # e.g. "1000,10000,40000" when time is short
        sizes = tuple(int(n) for n in os.environ["HITFLOW_BENCH_CURVE_SIZES"].split(","))
    alone = bench_service.run(admin_url, seconds=3 if quick else 8)
    out: dict[str, Any] = {"service_alone_calls_per_second": alone["calls_per_second"], "dag_test": {}}
    for rows in sizes:
        with Stack(rows, {"HITFLOW_HIT_SERVICE_INITIAL_BALANCE": "9999999.00"}) as stack:  # 100,000 HITs: $36,000
            seconds, result = stack.run()  # chunk_size and concurrency left empty: the automatic rule
            figures = publish_figures(seconds, result, rows)
            service = process_tree_stats(stack.service.pid)
        figures.pop("seconds_by_task")
        out["dag_test"][str(rows)] = figures | {
            "chunks": figures["task_instances"] - 9,
            "peak_rss_mb": result["stats"].get("peak_rss_mb"),
            "service_peak_rss_mb": service["peak_rss_mb"],
            "service_cpu_seconds": service["cpu_seconds"],
        }
    # Measured again after the curve: one 8-s sample moves with whatever else the box is doing,
    # so each share is taken against the higher of the two (the less flattering one).
    again = bench_service.run(admin_url, seconds=3 if quick else 8)
    out["service_alone_calls_per_second_after"] = again["calls_per_second"]
    ceiling = max(alone["calls_per_second"], again["calls_per_second"])
    for figures in out["dag_test"].values():
        figures["share_of_service_alone"] = round(figures["hits_per_second"] / ceiling, 3)
    largest, reference = out["dag_test"][str(sizes[-1])], out["dag_test"][str(sizes[-2])]
    out["largest_vs_previous_hits_per_second"] = round(largest["hits_per_second"] / reference["hits_per_second"], 3)
    if os.environ.get("HITFLOW_BENCH_SCHEDULER_CURVE"):
        from scripts.bench import scheduler_stack as bench_scheduler

        out["scheduler"] = {}
        for rows in sizes:
            chunk = chunk_size_for(rows, None)
            figures = bench_scheduler.run(rows, chunk_size=chunk, concurrency=64)
            out["scheduler"][str(rows)] = {
                k: figures.get(k)
                for k in ("seconds", "hits_per_second", "task_instances", "failed_tries", "peak_rss_mb")
            }
    return out

"""Bench section ``rate_limit``: the service rate-limits the requester: sustained share of the limit."""

from __future__ import annotations

from typing import Any

from scripts.bench.common import (
    Stack,
    publish_figures,
)


def bench_rate_limit(admin_url: str, quick: bool) -> dict[str, Any]:
    limit = 100
    rows = 500 if quick else 3000
    # one service process: the token bucket is per process
    one_process = {"HITFLOW_HIT_SERVICE_RATE_LIMIT_PER_SECOND": str(limit), "HITFLOW_HIT_SERVICE_WORKERS": "1"}
    with Stack(rows, one_process) as stack:
        seconds, result = stack.run(chunk_size=500, concurrency=16)
        figures = publish_figures(seconds, result, rows)
    publishing = figures["seconds_by_task"].get("publish_chunk", seconds)
    sustained = rows / publishing
    return {
        "limit_per_second": limit,
        "rows": rows,
        "publish_seconds": round(publishing, 1),
        "sustained_per_second": round(sustained, 1),
        "share_of_limit": round(sustained / limit, 3),
        "throttled_calls_retried": result["summary"]["api_retries"],
        "task_failures": figures["failed_tries"],
    }

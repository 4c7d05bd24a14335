"""Bench section ``faults_10k``: 10,000 rows under injected faults, exactly one HIT per row."""

from __future__ import annotations

from typing import Any

from hitflow_support.service_queries import hits_per_row, set_faults
from scripts.bench.common import (
    CHUNK_SIZE,
    CONCURRENCY,
    Stack,
    publish_figures,
)

FAULTS = {"throttle_rate": 0.05, "service_fault_rate": 0.02, "drop_after_commit_rate": 0.02, "seed": 7}


def bench_faults_10k(admin_url: str, quick: bool) -> dict[str, Any]:
    """The fault tests' injected failures at full size: every row must end with exactly one HIT,
    counted in the service's own ListHITs by the row each HIT's annotation names."""
    rows = 1000 if quick else 10_000
    with Stack(rows, {"HITFLOW_HIT_SERVICE_WORKERS": "1"}, test_mode=True) as stack:  # faults are per process
        set_faults(stack.service, **FAULTS)
        seconds, result = stack.run(chunk_size=CHUNK_SIZE, concurrency=CONCURRENCY)
        figures = publish_figures(seconds, result, rows)
        set_faults(stack.service)
        per_row = hits_per_row(stack.client())
    duplicated = sum(1 for n in per_row.values() if n > 1)
    missing = rows - len(per_row)
    assert not duplicated and not missing, f"{duplicated} rows with several HITs, {missing} rows without one"
    summary = result["summary"]
    return {
        "rows": rows,
        "faults": FAULTS,
        "seconds": figures["seconds"],
        "hits_per_second": figures["hits_per_second"],
        "api_retries": summary["api_retries"],
        "hits_recovered_from_lost_responses": summary["hits_recovered"],
        "task_failures": figures["failed_tries"],
        "rows_with_one_hit": len(per_row),
        "rows_with_several_hits": duplicated,
        "rows_without_a_hit": missing,
    }

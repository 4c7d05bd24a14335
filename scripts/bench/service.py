"""Bench section ``service``: the HIT service alone vs a minimal endpoint."""

from __future__ import annotations

from typing import Any

# How the 10,000-row runs publish: four chunks (a scheduler runs up to four publish_chunk tasks
# at once, so all start together and none waits for a free slot) and the most calls in flight
# per chunk the DAG allows (64; at 100 ms per call, 32 gave 24x the serial loop and 64 gave 37x).
# Override to compare other settings.
SERVICE_GOAL_RATE = 500.0  # calls/s at which the service's p99 should stay under 50 ms (issue 14)


# -- sections ---------------------------------------------------------------------------------
def bench_service(admin_url: str, quick: bool) -> dict[str, Any]:
    """The service at full load, paced at 50 % and 75 % of it and at the goal's 500 calls/s; the
    minimal endpoint's ceiling."""
    from scripts.bench import service_load as bench_service

    seconds = 3 if quick else 10
    minimal = bench_service.run_minimal(seconds=seconds)
    out = bench_service.run(admin_url, seconds=seconds, loads=(0.5, 0.75), rates=(SERVICE_GOAL_RATE,))
    out["minimal_endpoint"] = minimal
    out["share_of_minimal_endpoint"] = round(out["calls_per_second"] / minimal["calls_per_second"], 3)
    return out

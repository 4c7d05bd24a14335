"""Bench section ``soak``: a soak at 70 % of capacity, then under faults."""

from __future__ import annotations

import os
from typing import Any

SOAK = {"seconds": float(os.environ.get("HITFLOW_SOAK_SECONDS", "600"))}


def bench_soak(admin_url: str, quick: bool) -> dict[str, Any]:
    """The soak, plain and with 5 % injected faults (``SOAK["seconds"]`` each; 60 s when quick)."""
    from scripts.bench import soak_load as soak

    seconds = min(SOAK["seconds"], 60.0) if quick else SOAK["seconds"]
    return {
        "plain": soak.run(admin_url, seconds=seconds),
        "faults": soak.run(admin_url, seconds=seconds, fault_rate=0.05),
    }

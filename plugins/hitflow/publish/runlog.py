"""The first line a publish run logs: which params it runs with, and where they came from.

The Trigger form posts every param, so "from the run's conf" would name all sixteen for every UI
run: the line names those that differ from the defaults instead. A backfill without a conf gets
the reason in the same line (the UI's Backfill dialog drops its Run Parameters unless "Override
parameters on existing runs" is ticked).
"""

from __future__ import annotations

from typing import Any

BACKFILL_WITHOUT_CONF = (
    "a backfill without a conf runs with the defaults: the UI's Backfill dialog sends its Run Parameters "
    "only with 'Override parameters on existing runs' ticked"
)


def params_line(
    run_type: str, run_id: str, specs: dict[str, dict[str, Any]], params: dict[str, Any], conf: dict[str, Any]
) -> str:
    """``<run type> run <id>: <what differs> (<where from>)``, one line."""
    changed = [f"{name}={params.get(name)!r}" for name, spec in specs.items() if params.get(name) != spec["default"]]
    what = f"params changed from the defaults: {', '.join(changed)}" if changed else "every param at its default"
    if not any(name in conf for name in specs):
        where = BACKFILL_WITHOUT_CONF if run_type == "backfill" else "the run has no conf"
    else:
        where = "from the run's conf"
    return f"{run_type} run {run_id}: {what} ({where})"


def all_params_line(specs: dict[str, dict[str, Any]], params: dict[str, Any]) -> str:
    return "all params: " + " ".join(f"{name}={params.get(name)!r}" for name in specs)

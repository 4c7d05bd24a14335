"""``python -m scripts.bench``: run the sections (``--only NAME``), print the table, write the JSON."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import time
from pathlib import Path
from typing import Any

import scripts.bench
from scripts.bench import SECTIONS
from scripts.bench.common import REPO
from scripts.bench.extract_1m import extract_worker
from scripts.bench.soak import SOAK
from scripts.bench.table import print_table


def section(name: str) -> Any:
    """The function that runs section ``name``: ``bench_<name>`` in its own module."""
    return getattr(importlib.import_module(f"scripts.bench.{name}"), f"bench_{name}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=scripts.bench.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--only", action="append", choices=SECTIONS)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not figures to quote")
    parser.add_argument("--out", default=str(REPO / "bench-results.json"))
    parser.add_argument("--soak-seconds", type=float, help="soak seconds per run ($HITFLOW_SOAK_SECONDS, 600)")
    parser.add_argument("--extract-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.extract_worker:
        extract_worker(args.extract_worker)
        return
    if args.soak_seconds:
        SOAK["seconds"] = args.soak_seconds
    from hitflow_support import pg

    os.environ["HITFLOW_TEST_PG_URL"] = pg.ADMIN_URL = args.admin_url
    # The bench publishes up to 100k rows a run: above the spending limit's defaults on purpose.
    for variable in ("HITFLOW_SPEND_LIMIT_PER_RUN_USD", "HITFLOW_SPEND_LIMIT_PER_DAY_USD"):
        os.environ.setdefault(f"AIRFLOW_VAR_{variable}", "none")
    results: dict[str, Any] = {"quick": args.quick}
    for name in args.only or SECTIONS:
        print(f"bench: {name} …", flush=True)
        start = time.perf_counter()
        with contextlib.ExitStack():
            results[name] = section(name)(args.admin_url, args.quick)
        print(f"bench: {name} done in {time.perf_counter() - start:.0f} s", flush=True)
        Path(args.out).write_text(json.dumps(results, indent=2, default=str))
    print_table(results)
    print(f"\n(written to {args.out})")


if __name__ == "__main__":
    main()

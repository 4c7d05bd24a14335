"""Bench section ``dag_parse``: seconds to parse the DAG folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from scripts.bench.common import (
    REPO,
)
from scripts.demo import airflow_env


def bench_dag_parse(admin_url: str, quick: bool) -> dict[str, Any]:
    """Parse the DAG folder in fresh interpreters; heavy imports at parse time show up here."""
    probe = (
        "import json, time\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "t = time.perf_counter()\n"
        f"bag = DagBag(dag_folder={str(REPO / 'dags')!r})\n"
        "seconds = time.perf_counter() - t\n"
        "print(json.dumps({'seconds': seconds, 'dags': len(bag.dags), 'errors': len(bag.import_errors)}))\n"
    )
    runs = []
    with tempfile.TemporaryDirectory(prefix="hitflow-bench-parse-") as home:
        unused = {"aws_access_key_id": "unused", "aws_secret_access_key": "unused"}
        env = os.environ | airflow_env(Path(home), admin_url, "http://127.0.0.1:9", unused)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "plugins")])
        for _ in range(2 if quick else 5):
            out = subprocess.run(
                [sys.executable, "-c", probe], env=env, cwd=REPO, capture_output=True, text=True, check=True
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    seconds = sorted(r["seconds"] for r in runs)
    return {
        "median_seconds": round(seconds[len(seconds) // 2], 3),
        "dags": runs[0]["dags"],
        "errors": runs[0]["errors"],
    }

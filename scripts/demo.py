"""`make demo`, `make hit-service` and `make stop`: run hitflow locally on the demo rows.

The demo creates its databases if they are missing (it never drops any), loads the demo rows,
starts the HIT service in the background, runs ``mturk_publish_hits`` for one past data
interval and once as a manual run, and prints what happened. Running it again publishes
nothing new: every row is already in a batch.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import string
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "plugins")]

DEMO_INTERVAL_END = "2026-11-25T00:00:00+00:00"  # the run for this date publishes 2026-11-24's rows


def _db_url(admin_url: str, database: str) -> str:
    return f"{admin_url.rpartition('/')[0]}/{database}"


def ensure_database(admin_url: str, database: str) -> str:
    """Create ``database`` if it does not exist; return its URL."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    return _db_url(admin_url, database)


def load_demo_rows(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for name in ("source_schema.sql", "demo_seed.sql", "hitflow_schema.sql"):
            conn.execute((REPO / "include" / "sql" / name).read_text())
        return conn.execute("SELECT count(*) FROM public.person_images").fetchone()[0]


def demo_credentials(state: Path) -> dict[str, str]:
    """The demo requester's AWS-style key pair, made once and kept in the state folder."""
    path = state / "demo_credentials.json"
    if path.exists():
        return json.loads(path.read_text())
    alphabet = string.ascii_uppercase + string.digits
    creds = {
        "aws_access_key_id": "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16)),
        "aws_secret_access_key": "".join(
            secrets.choice(string.ascii_letters + string.digits + "/+") for _ in range(40)
        ),
    }
    path.write_text(json.dumps(creds, indent=2))
    path.chmod(0o600)
    return creds


def service_env(creds: dict[str, str]) -> dict[str, str]:
    return {"HITFLOW_HIT_SERVICE_REQUESTER_KEYS": f"{creds['aws_access_key_id']}:{creds['aws_secret_access_key']}"}


def start_hit_service(db_url: str, port: int, state: Path, creds: dict[str, str]) -> tuple[str, str]:
    """Start the service in the background unless ours already answers; return (url, how)."""
    from hitflow_support.service_process import _healthy, start_service

    url = f"http://127.0.0.1:{port}"
    pid_file = state / "hit_service.pid"
    if _healthy(url):
        return url, "already running" + (f" (pid {pid_file.read_text().strip()})" if pid_file.exists() else "")
    service = start_service(
        db_url, port=port, detach=True, log_path=state / "hit_service.log", extra_env=service_env(creds)
    )
    pid_file.write_text(str(service.pid))
    return url, f"started (pid {service.pid}, log {state / 'hit_service.log'})"


def write_cli_settings(state: Path, service_db_url: str, port: int) -> Path:
    """The settings the operator CLI needs to manage the demo's service (it finds this file itself)."""
    path = state / "hit_service.env"
    path.write_text(
        "# Written by make demo: the operator CLI (python -m hit_service …) reads this when run in the repository.\n"
        f"HITFLOW_HIT_SERVICE_DB_URL={service_db_url}\nHITFLOW_HIT_SERVICE_PORT={port}\n"
    )
    path.chmod(0o600)
    return path


def console_demo(url: str, service_db_url: str, state: Path, creds: dict[str, str], csv_path: Path | None) -> None:
    """A demo requester user for the console, and one small batch published through its upload route.

    The user's password is made once and kept in ``.run/demo_console.json`` (never printed). The
    batch is the first rows of the file the publish DAG exported: the console finds them published
    already (the DAG's HITs) and says so; the first run publishes them anyway, so the console has a
    batch of its own to review, and a run again publishes nothing twice.
    """
    import csv
    import io

    from hitflow_support.console_client import ConsoleClient, ConsoleError

    path = state / "demo_console.json"
    info = json.loads(path.read_text()) if path.exists() else {}
    if "password" not in info:
        info = {"user": "demo", "password": secrets.token_urlsafe(18)}
        done = subprocess.run(
            [sys.executable, "-m", "hit_service", "requester", "add-user", creds["aws_access_key_id"], info["user"]],
            input=info["password"] + "\n",
            env=os.environ | {"HITFLOW_HIT_SERVICE_DB_URL": service_db_url},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            print(f"   could not create the console user: {done.stderr.strip()}")
            return
        path.write_text(json.dumps(info, indent=2))
        path.chmod(0o600)
    print("\n== Requester console")
    console = ConsoleClient(url, info["user"], info["password"])
    console.post("/requester/account/name", {"name": "hitflow demo lab"})  # what workers see, not the key ID
    if "layout_id" not in info:
        info["layout_id"] = console.create_project("age_guess", name="Age guess (demo)", max_assignments="2")
        path.write_text(json.dumps(info, indent=2))
    if csv_path is None and info.get("csv"):
        csv_path = Path(info["csv"])  # this run exported nothing new: the earlier file again
    if csv_path is not None:
        info["csv"] = str(csv_path)
        path.write_text(json.dumps(info, indent=2))
    if csv_path is None or not csv_path.exists():
        print("   no CSV from the publish DAG to upload")
    else:
        with open(csv_path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))[:4]  # the header and three rows: a small batch
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        batch_id = console.upload(info["layout_id"], out.getvalue().encode("utf-8"), "Demo batch", "demo.csv")
        try:
            note = console.publish(batch_id)  # no choice made: published only if no row was published before
        except ConsoleError as exc:
            note = str(exc)
        if note and info.get("console_batch"):  # an earlier run published these rows in the console
            console.post(f"/requester/batches/{batch_id}/discard")
            print(f"   demo batch       not published again: {note}")
        else:
            if note:  # the DAG published these rows through the API: the console says so
                print(f"   rows seen before {note}")
                console.publish(batch_id, again=True)  # the first run publishes them anyway, to have a batch to review
            info["console_batch"] = batch_id
            path.write_text(json.dumps(info, indent=2))
            progress = console.wait_published(batch_id)
            print(f"   demo batch       #{batch_id}: {progress['created']} HITs from {len(rows) - 1} CSV rows")
            answered = answer_console_batch(url, service_db_url, state, console, batch_id)
            print(f"   answers          {answered} from the simulated crowd, waiting for review in the console")
    print(f"   console          {url}/requester  (user {info['user']}, password in {path}; not printed)")


def answer_console_batch(url: str, service_db_url: str, state: Path, console: Any, batch_id: int) -> int:
    """Two simulated workers answer each HIT of a console batch (its HITs read from the results CSV)."""
    import csv
    import io
    import random

    from hitflow_support.crowd_client import CrowdError, submit_answer_over_http
    from scripts.simulated_crowd import WORKERS, ensure_workers, guess

    passwords = ensure_workers(service_db_url, state)
    rows = list(csv.DictReader(io.StringIO(console.results_csv(batch_id))))
    answered = 0
    for i, row in enumerate(rows):
        for worker in (WORKERS[i % 4], WORKERS[(i + 1) % 4]):
            age = guess(worker, row["Input.person_id"], random.Random(worker + row["HITId"]))
            try:
                submit_answer_over_http(url, worker, passwords[worker], row["HITId"], {"age": age})
                answered += 1
            except CrowdError:
                pass  # already answered
    return answered


def airflow_env(
    state: Path, source_url: str, service_url: str, creds: dict[str, str], output_dir: Path = REPO / "output"
) -> dict[str, str]:
    from urllib.parse import urlsplit

    parts = urlsplit(source_url)
    home = state / "airflow"
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "HITFLOW_OUTPUT_DIR": str(output_dir),
        "AIRFLOW_CONN_HITFLOW_DB": json.dumps(
            {
                "conn_type": "postgres",
                "host": parts.hostname,
                "port": parts.port or 5432,
                "login": parts.username or "postgres",
                "password": parts.password,
                "schema": parts.path.lstrip("/"),
            }
        ),
        "AIRFLOW_CONN_MTURK_DEFAULT": json.dumps(
            {
                "conn_type": "aws",
                "login": creds["aws_access_key_id"],
                "password": creds["aws_secret_access_key"],
                "extra": {"endpoint_url": service_url, "region_name": "us-east-1"},
            }
        ),
    }


def run_dag_result(
    env: dict[str, str], dag_id: str, logical_date: str | None, conf: dict[str, Any], log: Path
) -> dict[str, Any]:
    """Run a DAG once with dag.test() in a child process (its logs go to ``log``).

    Returns ``{"state", "run_id", "summary", "stats"}``, whatever the run's outcome.
    """
    out = log.with_suffix(".json")
    out.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "scripts.demo",
        "--run-dag",
        logical_date or "manual",
        "--dag-id",
        dag_id,
        "--conf",
        json.dumps(conf),
        "--out",
        str(out),
    ]
    with log.open("a") as sink:
        code = subprocess.call(cmd, cwd=REPO, env=os.environ | env, stdout=sink, stderr=subprocess.STDOUT)
    result = json.loads(out.read_text()) if out.exists() else {"state": "failed", "summary": None, "stats": {}}
    if code != 0:
        result["state"] = "failed"
    return result


def run_dag(
    env: dict[str, str], dag_id: str, logical_date: str | None, conf: dict[str, Any], log: Path
) -> dict[str, Any]:
    """Run a DAG once; its summary, or exit with the log's path if it failed."""
    result = run_dag_result(env, dag_id, logical_date, conf, log)
    if result["state"] != "success":
        raise SystemExit(f"{dag_id} failed ({result['state']}); see {log}")
    return result["summary"]


def run_publish(env: dict[str, str], logical_date: str | None, conf: dict[str, Any], log: Path) -> dict[str, Any]:
    return run_dag(env, "mturk_publish_hits", logical_date, conf, log)


def _run_dag_here(dag_id: str, logical_date: str, conf: dict[str, Any], out: Path) -> None:
    """Child-process side of :func:`run_dag`: migrate, run, write the summary and run statistics."""
    import resource

    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils import db
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    from scripts.dag_runner import count_api_calls, test_run

    calls = count_api_calls() if os.environ.get("HITFLOW_BENCH_COUNT_CALLS") else None
    db.initdb()
    dags_folder = Path(os.environ.get("AIRFLOW__CORE__DAGS_FOLDER", REPO / "dags"))
    dag = DagBag(dag_folder=str(dags_folder / f"{dag_id}.py")).dags[dag_id]
    date = None if logical_date == "manual" else datetime.fromisoformat(logical_date)
    dr, summary = test_run(dag, date, conf)
    with create_session() as session:
        tis = session.execute(
            select(TaskInstance.task_id, TaskInstance.state, TaskInstance.try_number, TaskInstance.duration).where(
                TaskInstance.dag_id == dag.dag_id, TaskInstance.run_id == dr.run_id
            )
        ).all()
        xcom_bytes = session.scalar(
            select(func.coalesce(func.sum(func.length(XComModel.value)), 0)).where(
                XComModel.dag_id == dag.dag_id, XComModel.run_id == dr.run_id
            )
        )
    seconds: dict[str, float] = {}
    for task_id, _, _, duration in tis:
        seconds[task_id] = round(seconds.get(task_id, 0.0) + (duration or 0.0), 2)
    run_seconds = (dr.end_date - dr.start_date).total_seconds() if dr.start_date and dr.end_date else None
    stats = {
        "run_seconds": round(run_seconds, 2) if run_seconds is not None else None,
        "task_instances": len(tis),
        "failed_tries": sum(max(0, (tries or 1) - 1) for _, _, tries, _ in tis),
        "failed_task_instances": sum(1 for _, state, _, _ in tis if str(state).endswith("failed")),
        "xcom_bytes": int(xcom_bytes or 0),
        "seconds_by_task": seconds,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_seconds": round(sum(os.times()[:2]), 1),
    }
    if calls is not None:
        stats["api_calls"] = dict(sorted(calls.items()))
    out.write_text(
        json.dumps({"state": str(dr.state), "run_id": dr.run_id, "summary": summary, "stats": stats}, default=str)
    )


COLLECT_CONF = {
    "bonus_amount": "0.02",
    "bonus_tolerance_years": 3,
    "block_rejection_rate": 0.5,
    "block_min_assignments": 6,
}


def print_collection(summary: dict[str, Any], source_url: str) -> None:
    """What mturk_collect_results did, and the aggregated age of every image so far."""
    import psycopg

    print("\n== mturk_collect_results")
    print(
        f"   assignments      {summary['assignments_seen']} seen, {summary['approved']} approved, "
        f"{summary['rejected']} rejected ({summary['flagged']} answers flagged invalid), "
        f"{summary['already_reviewed']} already reviewed"
    )
    print(
        f"   bonuses          {summary['bonuses']}    HITs disposed {summary['hits_disposed']}    "
        f"workers blocked {len(summary['blocked'])}"
    )
    for batch in summary["batches"]:
        state = "complete" if batch["complete"] else "still open"
        print(f"   batch {batch['batch_id']} is {state}; report {batch['report']}")
    with psycopg.connect(source_url) as conn:
        rows = conn.execute(
            """SELECT r.row_id, r.person_id, r.median_age, r.mad_years, r.answers, r.agreement
                 FROM hitflow.results r ORDER BY r.row_id"""
        ).fetchall()
        money = conn.execute(
            """SELECT count(*) FILTER (WHERE a.review_action = 'approve'), coalesce(sum(a.bonus_amount), 0)
                 FROM hitflow.assignments a"""
        ).fetchone()
    print(f"\n== Aggregated ages ({len(rows)} images; median of the workers' guesses, MAD, answers)")
    for row_id, person_id, median, mad, answers, agreement in rows:
        flag = "" if agreement else "   (workers disagree)"
        print(
            f"   row {row_id:>3}  {person_id:<8} {float(median):>5.1f} years  MAD {float(mad):>4.1f}  n={answers}{flag}"
        )
    print(f"   paid so far      {money[0]} approved assignments, ${money[1]:.2f} in bonuses (fees in the reports)")


def print_run(title: str, summary: dict[str, Any]) -> None:
    print(f"\n== {title}")
    scope = summary["scope"]
    print(f"   batch            {summary['batch_id']}")
    print("   scope            " + (f"{scope['start']} .. {scope['end']}" if scope["start"] else "every pending row"))
    print(
        f"   HITs created     {summary['hits_created_now']} (in this batch: {summary['hits_in_batch']}, "
        f"rows already published by earlier batches: {summary['already_published']})"
    )
    print(f"   cost with fees   ${summary['cost_usd']}")
    print(f"   quarantined      {summary['quarantined']}")
    for item in summary["quarantine"]:
        print(f"      row {item['row_id']}: {item['reason']}")
    for name, path in summary["files"].items():
        if name != "rows":
            print(f"   {name:<16} {path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--admin-url", default=os.environ.get("HITFLOW_DB_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--source-db", default="hitflow")
    parser.add_argument("--service-db", default="hitflow_hit_service")
    parser.add_argument("--port", type=int, default=int(os.environ.get("HITFLOW_HIT_SERVICE_PORT", "8100")))
    parser.add_argument("--state-dir", default=str(REPO / ".run"))
    parser.add_argument("--stop", action="store_true", help="stop the HIT service the demo started")
    parser.add_argument("--hit-service-foreground", action="store_true", help="run the HIT service in the foreground")
    parser.add_argument("--run-dag", help=argparse.SUPPRESS)
    parser.add_argument("--dag-id", default="mturk_publish_hits", help=argparse.SUPPRESS)
    parser.add_argument("--conf", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    state = Path(args.state_dir)
    state.mkdir(parents=True, exist_ok=True)

    if args.run_dag:
        _run_dag_here(args.dag_id, args.run_dag, json.loads(args.conf), Path(args.out))
        return
    if args.stop:
        from hitflow_support.service_process import stop_pid

        pid_file = state / "hit_service.pid"
        if not pid_file.exists():
            print("nothing to stop: the demo's HIT service is not running")
            return
        stop_pid(int(pid_file.read_text()))
        pid_file.unlink()
        print("stopped the HIT service")
        return

    service_url = ensure_database(args.admin_url, args.service_db)
    creds = demo_credentials(state)
    if args.hit_service_foreground:
        env = (
            os.environ
            | service_env(creds)
            | {"HITFLOW_HIT_SERVICE_DB_URL": service_url, "HITFLOW_HIT_SERVICE_PORT": str(args.port)}
        )
        print(f"HIT service on http://127.0.0.1:{args.port} (database {args.service_db}); Ctrl-C stops it")
        os.execve(sys.executable, [sys.executable, "-m", "hit_service"], env)

    source_url = ensure_database(args.admin_url, args.source_db)
    rows = load_demo_rows(source_url)
    print(f"Postgres         {args.admin_url.rpartition('/')[0]}  (databases {args.source_db}, {args.service_db})")
    print(f"demo rows        {rows} in {args.source_db}.public.person_images")
    url, how = start_hit_service(service_url, args.port, state, creds)
    print(f"HIT service      {url}  {how}")
    write_cli_settings(state, service_url, args.port)

    env = airflow_env(state, source_url, url, creds)
    log = state / "demo-airflow.log"
    log.write_text(f"demo run {datetime.now(UTC).isoformat()}\n")
    interval = run_publish(env, DEMO_INTERVAL_END, {"mode": "both"}, log)
    print_run("Scheduled-style run for the data interval ending " + DEMO_INTERVAL_END, interval)
    manual = run_publish(env, None, {"mode": "both"}, log)
    print_run("Manual run (no data interval: every pending row)", manual)

    exported = (manual.get("files") or {}).get("input_csv") or (interval.get("files") or {}).get("input_csv")
    console_demo(url, service_url, state, creds, Path(exported) if exported else None)

    from scripts.simulated_crowd import answer_open_hits, ensure_workers

    crowd = answer_open_hits(url, source_url, ensure_workers(service_url, state))
    print(f"\n== Simulated crowd ({len(ensure_workers(service_url, state))} workers, through the worker site's forms)")
    print(f"   {crowd['answers']} answers submitted to {crowd['hits']} open HITs")
    collected = run_dag(env, "mturk_collect_results", None, COLLECT_CONF, log)
    print_collection(collected, source_url)

    cli = ".venv/bin/python -m hit_service"
    cli_note = "it reads .run/hit_service.env by itself when run in the repository"
    if state.resolve() != (REPO / ".run").resolve():
        cli = f"HITFLOW_HIT_SERVICE_CONFIG={state / 'hit_service.env'} {cli}"
        cli_note = "the demo's settings are in that file"
    print(f"""
== Look at the HITs
   worker site      {url}/worker/login  (sign in as a worker: make one with the CLI below)
   console          {url}/requester  (the requester console)
   operator page    {url}/hits  (every HIT of every requester, previewed as a worker sees it)
   operator CLI     {cli} worker add NAME
                    {cli} requester list
                    ({cli_note})
   Airflow log      {log}
   credentials      DEMO requester (local only): aws_access_key_id={creds["aws_access_key_id"]},
                    its secret key in {state / "demo_credentials.json"} (not printed)
   boto3            boto3.client("mturk", region_name="us-east-1", endpoint_url="{url}",
                                 aws_access_key_id="{creds["aws_access_key_id"]}",
                                 aws_secret_access_key="<the secret from that file>").list_hits()
   stop it          make stop""")


if __name__ == "__main__":
    main()

"""A real Airflow deployment on this machine, started and stopped by the end-to-end tests.

What runs (each a process of its own, its output in ``<tmp>/logs/<name>.log``):

* ``airflow api-server`` (UI, public REST API, execution API for the workers) on a free port,
* ``airflow scheduler`` with the **CeleryExecutor**,
* ``airflow dag-processor`` (parses ``dags/``; refresh every few seconds, not every 5 minutes),
* ``airflow triggerer``,
* ``airflow celery worker`` on its own queue, against the Redis on 127.0.0.1:6379 (started here
  if nothing answers there),
* the HIT service (``python -m hit_service`` via ``hitflow_support.service_process.start_service``) with a
  requester key pair.

Airflow's metadata database, hitflow's source database and the HIT service's database are
throwaway PostgreSQL databases named ``hitflow_test_*`` (``hitflow_support/pg.py``); only those are
dropped. Every process carries ``HITFLOW_E2E_RUN=<id>`` in its environment, which is how
:meth:`Stack.leftovers` finds anything (children included) that outlived :meth:`Stack.stop`.
Processes are stopped by PID: descendants are recorded before the parent is signalled, then
signalled themselves, because ``airflow`` commands leave children behind when only their own
PID is stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests

from hitflow_support import pg

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")
PUBLISH_DAG = "mturk_publish_hits"
COLLECT_DAG = "mturk_collect_results"
ADMIN_USER = "admin"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
MARKER = "HITFLOW_E2E_RUN"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_ROUTINE = re.compile(r'\[http\.access\].*status_code=[23]\d\d|" [23]\d\d( OK| Created| No Content)?$')


def tail(path: Path, lines: int = 60, routine: bool = True) -> str:
    """The last ``lines`` lines of a log; ``routine=False`` leaves out successful HTTP access lines."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    kept = [line for line in text.splitlines() if routine or not _ROUTINE.search(line)]
    return "\n".join(kept[-lines:])


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = check()
        except (requests.RequestException, OSError) as exc:  # the server may still be starting
            last = exc
        if last and not isinstance(last, Exception):
            return last
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")
        time.sleep(interval)


def redis_answers(host: str | None = None, port: int | None = None) -> bool:
    host, port = host or REDIS_HOST, port or REDIS_PORT
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def stop_trees(pids: dict[str, int], timeout: float = 30.0) -> dict[str, list[int]]:
    """Stop each PID and all its descendants, all at once; return, by name, the PIDs that needed SIGKILL.

    The descendants are recorded first. Each parent gets SIGTERM so it can shut its children
    down cleanly (a Celery warm shutdown, uvicorn's workers, the dag-processor's parsers); then
    whatever it left behind gets SIGTERM by PID, and SIGKILL if it still has not exited.
    """
    families: dict[str, list[psutil.Process]] = {}
    for name, pid in pids.items():
        if not pid or pid == os.getpid():  # psutil.Process(None) would be this very process
            continue
        try:
            root = psutil.Process(pid)
            families[name] = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    roots = [family[0] for family in families.values()]
    for root in roots:
        _signal(root, signal.SIGTERM)
    psutil.wait_procs(roots, timeout=timeout)
    everyone = [proc for family in families.values() for proc in family]
    for proc in everyone:
        _signal(proc, signal.SIGTERM)
    _, alive = psutil.wait_procs(everyone, timeout=timeout / 3)
    for proc in alive:
        _signal(proc, signal.SIGKILL)
    psutil.wait_procs(alive, timeout=5)
    alive_pids = {proc.pid for proc in alive}
    return {
        name: [proc.pid for proc in family if proc.pid in alive_pids]
        for name, family in families.items()
        if any(proc.pid in alive_pids for proc in family)
    }


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by ``pid``, its live children and its reaped ones."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.NoSuchProcess:
            continue
    return total


def _signal(proc: psutil.Process, sig: int) -> None:
    with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
        proc.send_signal(sig)


@dataclass
class Component:
    """One long-running process of the stack."""

    name: str
    argv: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Stack:
    """Everything one end-to-end run starts; ``start()`` then ``stop()`` (idempotent)."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="hitflow-e2e-")))
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    components: list[Component] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)
    started_redis_pid: int | None = None
    hit_service: Any = None
    api_port: int = 0
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    access_key: str = field(
        default_factory=lambda: (
            "AKIAE2E" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(13))
        )
    )
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(30)[:40])
    env: dict[str, str] = field(default_factory=dict)
    metadata_url: str = ""
    source_url: str = ""
    service_url: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    service_env: dict[str, str] = field(default_factory=dict)  # extra settings for the HIT service
    _token: str | None = None
    _stopped: bool = False

    # ------------------------------------------------------------------ paths and URLs
    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def home(self) -> Path:
        return self.root / "airflow_home"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def probe_dags(self) -> Path:
        """A second DAG bundle the tests write new DAG files into while everything runs."""
        return self.root / "probe_dags"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def queue(self) -> str:
        """This run's Celery queue: a worker of another run on the same Redis never takes our tasks."""
        return f"hitflow_e2e_{self.run_id}"

    # ------------------------------------------------------------------ start
    def start(self, seed: Callable[[str], None]) -> None:
        """Create the databases, seed the source rows, start the HIT service and Airflow."""
        began = time.monotonic()
        for path in (self.logs, self.home, self.output_dir, self.probe_dags):
            path.mkdir(parents=True, exist_ok=True)
        self._ensure_redis()
        self.metadata_url = self._database("airflow")
        self.source_url = self._database("source")
        self.service_url = self._database("hitsvc")
        pg_apply(self.source_url, "source_schema.sql", "hitflow_schema.sql")
        seed(self.source_url)

        from hitflow_support.service_process import start_service

        self.hit_service = start_service(
            self.service_url,
            port=0,
            requester_keys={self.access_key: self.secret_key},
            # two worker processes, as docker-compose.yaml runs it
            extra_env={
                MARKER: self.run_id,
                "HITFLOW_LAYOUTS_DIR": str(REPO / "include" / "layouts"),
                "HITFLOW_HIT_SERVICE_WORKERS": "2",
                **self.service_env,
            },
            log_path=self.logs / "hit_service.log",
        )
        self.api_port = free_port()
        self.env = self._airflow_env()
        (self.home / "passwords.json").write_text(json.dumps({ADMIN_USER: self.password}))

        t = time.monotonic()
        self.airflow("db", "migrate", timeout=180)
        self.timings["db_migrate"] = time.monotonic() - t

        self._spawn("api-server", [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(self.api_port)])
        self._spawn("scheduler", [AIRFLOW, "scheduler"])
        self._spawn("dag-processor", [AIRFLOW, "dag-processor"])
        self._spawn("triggerer", [AIRFLOW, "triggerer"])
        self._spawn(
            "celery-worker",
            [
                AIRFLOW,
                "celery",
                "worker",
                "--queues",
                self.queue,
                "--concurrency",
                "6",
                "--celery-hostname",
                f"hitflow-e2e-{self.run_id}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
        )
        t = time.monotonic()
        wait_for("the api-server's /api/v2/monitor/health", self._api_up, timeout=120)
        self.timings["api_server_up"] = time.monotonic() - t
        # The execution API (what task processes call) builds itself on its first request:
        # ~15 s here, longer than the task client's timeout, so the first tasks would retry.
        t = time.monotonic()
        wait_for("the execution API", self._execution_api_up, timeout=120)
        self.timings["execution_api_warm"] = time.monotonic() - t
        wait_for("the scheduler, dag-processor and triggerer to report healthy", self._components_healthy, 120)
        wait_for("the Celery worker to join", self._worker_ready, timeout=120)
        self.timings["start_total"] = time.monotonic() - began

    def _ensure_redis(self) -> None:
        if redis_answers():
            return
        redis = shutil.which("redis-server")
        if not redis:
            raise RuntimeError(
                "nothing answers on 127.0.0.1:6379 and redis-server is not installed (apt-get install redis-server)"
            )
        pidfile = self.root / "redis.pid"
        subprocess.run(
            [redis, "--daemonize", "yes", "--bind", REDIS_HOST, "--port", str(REDIS_PORT), "--save", "",
             "--appendonly", "no", "--pidfile", str(pidfile), "--logfile", str(self.logs / "redis.log")],
            check=True,
        )  # fmt: skip
        wait_for("redis-server to answer PING", redis_answers, timeout=20, interval=0.2)
        self.started_redis_pid = int(
            wait_for("redis-server's pid file", lambda: pidfile.exists() and pidfile.read_text().strip(), 10, 0.2)
        )

    def _database(self, label: str) -> str:
        url = pg.create_database(f"e2e_{label}")
        self.databases.append(url)
        return url

    def _airflow_env(self) -> dict[str, str]:
        meta = self.metadata_url.replace("postgresql://", "postgresql+psycopg2://", 1)
        src = pg_conn_parts(self.source_url)
        # PYTHONDONTWRITEBYTECODE (set in some shells) would make every airflow process compile
        # Airflow from source again: ~9 s of CPU each instead of ~4.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))
            and k not in ("AIRFLOW_HOME", "PYTHONDONTWRITEBYTECODE")
        }
        bundles = [
            {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
             "kwargs": {"path": str(REPO / "dags"), "refresh_interval": 5}},
            {"name": "e2e-probe", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
             "kwargs": {"path": str(self.probe_dags), "refresh_interval": 5}},
        ]  # fmt: skip
        env.update(
            {
                MARKER: self.run_id,
                "PYTHONUNBUFFERED": "1",
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
                # hitflow prices with mturk_money (repository root), as the image's PYTHONPATH=/opt/hitflow allows.
                "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CORE__FERNET_KEY": _fernet_key(),
                # Not Airflow's default (True): hitflow's DAGs must arrive paused by themselves
                # (is_paused_upon_creation), not because a deployment says so.
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta,
                "AIRFLOW__API__BASE_URL": self.api_url,
                "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(24),
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
                "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/0",
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.metadata_url,
                "AIRFLOW__OPERATORS__DEFAULT_QUEUE": self.queue,
                # Parse fast: a new or changed DAG file is seen within seconds, not 5 minutes.
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "60",
                "AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL": "2",
                "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "300",
                "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
                "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
                # The log servers of the worker and triggerer bind ports: use free ones.
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.logs / "tasks"),
                "AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY": str(self.logs / "dag_processor"),
                "HITFLOW_OUTPUT_DIR": str(self.output_dir),
                "HITFLOW_INCLUDE_DIR": str(REPO / "include"),
                "HITFLOW_BACKOFF_BASE_SECONDS": "0.1",
                "AIRFLOW_CONN_HITFLOW_DB": json.dumps({"conn_type": "postgres", **src}),
                "AIRFLOW_CONN_MTURK_DEFAULT": json.dumps(
                    {
                        "conn_type": "aws",
                        "login": self.access_key,
                        "password": self.secret_key,
                        "extra": {"endpoint_url": self.hit_service.url, "region_name": "us-east-1"},
                    }
                ),
            }
        )
        return env

    def _spawn(self, name: str, argv: list[str]) -> Component:
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv, cwd=self.root, env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        component = Component(name, argv, log, process)
        self.components.append(component)
        return component

    def check_running(self) -> None:
        """Fail with the log's tail if a component has exited."""
        for c in self.components:
            if not c.running():
                code = c.process.returncode if c.process else None
                raise RuntimeError(f"airflow {c.name} exited with code {code}; log {c.log}:\n{tail(c.log)}")

    def _api_up(self) -> bool:
        self.check_running()
        return requests.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).status_code == 200

    def _execution_api_up(self) -> bool:
        self.check_running()
        return requests.get(f"{self.api_url}/execution/health", timeout=90).status_code == 200

    def health(self) -> dict[str, Any]:
        return requests.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).json()

    def _components_healthy(self) -> bool:
        self.check_running()
        health = self.health()
        return all(
            health.get(key, {}).get("status") == "healthy"
            for key in ("metadatabase", "scheduler", "dag_processor", "triggerer")
        )

    def _worker_ready(self) -> bool:
        self.check_running()
        log = tail(self.logs / "celery-worker.log", 400)
        return f"hitflow-e2e-{self.run_id}@" in log and " ready." in log

    # ------------------------------------------------------------------ using it
    def airflow(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run an ``airflow`` CLI command against this deployment (output appended to logs/cli.log)."""
        result = subprocess.run(
            [AIRFLOW, *args], cwd=self.root, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        with (self.logs / "cli.log").open("a") as log:
            log.write(f"$ airflow {' '.join(args)}  (exit {result.returncode})\n{result.stdout}{result.stderr}\n")
        if check and result.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def token(self) -> str:
        """A JWT from the simple auth manager's ``POST /auth/token`` (what the UI's login does)."""
        if self._token is None:
            response = requests.post(
                f"{self.api_url}/auth/token", json={"username": ADMIN_USER, "password": self.password}, timeout=10
            )
            if response.status_code != 201:
                raise RuntimeError(f"/auth/token answered {response.status_code}: {response.text}")
            self._token = response.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token()}"} | kwargs.pop("headers", {})
        return requests.request(method, f"{self.api_url}/api/v2{path}", headers=headers, timeout=30, **kwargs)

    def get_json(self, path: str, **params: Any) -> Any:
        response = self.api("GET", path, params=params)
        response.raise_for_status()
        return response.json()

    def dag_runs(self, dag_id: str, **params: Any) -> list[dict[str, Any]]:
        return self.get_json(f"/dags/{dag_id}/dagRuns", limit=100, order_by="id", **params)["dag_runs"]

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 240) -> dict[str, Any]:
        """Wait until the run finishes; return it (its ``state`` may be failed: the caller asserts)."""

        def done() -> dict[str, Any] | None:
            self.check_running()
            run = self.get_json(f"/dags/{dag_id}/dagRuns/{run_id}")
            return run if run["state"] in ("success", "failed") else None

        return wait_for(f"{dag_id} run {run_id} to finish", done, timeout, interval=2)

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        tis = self.get_json(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100)["task_instances"]
        return {f"{t['task_id']}[{t['map_index']}]" if t["map_index"] >= 0 else t["task_id"]: t["state"] for t in tis}

    def task_timings(self, dag_id: str, run_id: str) -> dict[str, float]:
        """Seconds tasks waited (queued → start) and ran (start → end), summed and at most."""
        tis = self.get_json(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100)["task_instances"]
        waits, runs = [], []
        for ti in tis:
            queued, start, end = (_ts(ti.get(k)) for k in ("queued_when", "start_date", "end_date"))
            if queued and start:
                waits.append((start - queued).total_seconds())
            if start and end:
                runs.append((end - start).total_seconds())
        return {
            "tasks": len(tis),
            "wait_sum": sum(waits),
            "wait_max": max(waits, default=0),
            "run_sum": sum(runs),
            "run_max": max(runs, default=0),
        }

    def mturk(self) -> Any:
        import boto3

        return boto3.client(
            "mturk",
            region_name="us-east-1",
            endpoint_url=self.hit_service.url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )

    # ------------------------------------------------------------------ diagnostics and stop
    def diagnostics(self, lines: int = 40) -> str:
        parts = [f"e2e run {self.run_id} in {self.root}"]
        for name in [c.name for c in self.components] + ["hit_service", "cli"]:
            parts.append(f"----- {name} (last {lines} lines of {self.logs / (name + '.log')}) -----")
            parts.append(tail(self.logs / f"{name}.log", lines, routine=False))
        return "\n".join(parts)

    def stop(self) -> dict[str, Any]:
        """Stop everything this stack started, by PID; drop its databases. Safe to call twice."""
        if self._stopped:
            return {}
        self._stopped = True
        report: dict[str, Any] = {"killed": {}}
        pids = {c.name: c.pid for c in self.components if c.pid is not None}
        if self.hit_service is not None:
            pids["hit_service"] = self.hit_service.pid
        if self.started_redis_pid:
            pids["redis-server"] = self.started_redis_pid
        for name, pid in pids.items():
            self.timings[f"cpu_{name}"] = tree_cpu_seconds(pid)
        # In phases: nothing schedules new work, then the worker finishes what it runs (its
        # tasks still need the API server and the HIT service), then the servers go.
        phases = [
            ("scheduler", "dag-processor", "triggerer"),
            ("celery-worker",),
            ("api-server", "hit_service", "redis-server"),
        ]
        for phase in phases:
            report["killed"] |= stop_trees({name: pids.pop(name) for name in phase if name in pids})
        report["killed"] |= stop_trees(pids)  # anything not named above
        for component in self.components:
            if component.process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    component.process.wait(5)
        if self.hit_service is not None:
            self.hit_service.stop()  # already gone: this reaps it
        leftovers = self.leftovers()  # anything of ours that escaped the trees above
        if leftovers:
            report["leftovers_killed"] = leftovers
            stop_trees({str(pid): pid for pid in leftovers}, timeout=5)
        self._forget_queue()
        for url in reversed(self.databases):
            pg.drop_database(url)
        self.databases.clear()
        return report

    def _forget_queue(self) -> None:
        """Delete this run's Celery queue and its kombu bindings from Redis (nothing else)."""
        import redis

        if not redis_answers():
            return
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=0)
        keys = list(client.scan_iter(match=f"*{self.queue}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()

    def leftovers(self) -> list[int]:
        """PIDs of live processes started by this run (they carry ``HITFLOW_E2E_RUN=<id>``)."""
        found = []
        for proc in psutil.process_iter(["pid"]):
            try:
                if (
                    proc.pid != os.getpid()
                    and proc.environ().get(MARKER) == self.run_id
                    and proc.status() != psutil.STATUS_ZOMBIE
                ):
                    found.append(proc.pid)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        if self.started_redis_pid and psutil.pid_exists(self.started_redis_pid):
            found.append(self.started_redis_pid)
        return found


def _ts(text: str | None) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def pg_apply(url: str, *files: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for name in files:
            conn.execute((REPO / "include" / "sql" / name).read_text())


def pg_conn_parts(url: str) -> dict[str, Any]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return {
        "host": parts.hostname,
        "port": parts.port or 5432,
        "login": parts.username or "postgres",
        "password": parts.password,
        "schema": parts.path.lstrip("/"),
    }


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def annotations_by_row(hits: Iterable[dict[str, Any]]) -> dict[int, list[str]]:
    """HIT IDs per source row, from hitflow's ``RequesterAnnotation`` (``hitflow batch B row R``)."""
    rows: dict[int, list[str]] = {}
    for hit in hits:
        words = (hit.get("RequesterAnnotation") or "").split()
        if len(words) == 5 and words[:2] == ["hitflow", "batch"] and words[3] == "row":
            rows.setdefault(int(words[4]), []).append(hit["HITId"])
    return rows

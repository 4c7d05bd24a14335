"""hitflow's docker-compose.yaml on the real Docker engine, driven from the host as a team drives it.

:meth:`ComposeStack.prepare` copies the work tree (tracked and new files, nothing ignored) to a
temporary folder, does what README's "Deploy" says (``cp .env.example .env``, generated secrets,
``mkdir output``) and picks free host ports, so the run never touches the developer's own
``.env``, ``output/`` or ports. Everything else goes through the compose command
(``docker compose`` or Debian's ``docker-compose`` 1.29) and ``docker`` itself; containers are
found by the labels compose puts on them, which both versions write. :meth:`ComposeStack.down`
removes the containers, network and volumes of this project only.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import string
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]
PUBLISH_DAG = "mturk_publish_hits"
COLLECT_DAG = "mturk_collect_results"
ONE_SHOT = {"airflow-init"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 2.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (requests.RequestException, OSError) as exc:  # a container restarting: ask again
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def _secret() -> str:
    return secrets.token_urlsafe(24)


def generated_env(images: dict[str, str], project: str) -> dict[str, str]:
    """The values README tells a user to fill in, generated, plus free host ports and the images."""
    from cryptography.fernet import Fernet

    alphabet = string.ascii_uppercase + string.digits
    api_port, service_port = free_port(), free_port()
    return {
        "COMPOSE_PROJECT_NAME": project,
        **images,
        "AIRFLOW_ADMIN_PASSWORD": _secret(),
        "AIRFLOW_FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW_JWT_SECRET": _secret(),
        "AIRFLOW_API_SECRET_KEY": _secret(),
        "AIRFLOW_DB_PASSWORD": _secret(),
        "HITFLOW_DB_PASSWORD": _secret(),
        "HITFLOW_REQUESTER_ACCESS_KEY_ID": "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16)),
        "HITFLOW_REQUESTER_SECRET_ACCESS_KEY": secrets.token_urlsafe(30),
        "AIRFLOW_API_HOST_PORT": str(api_port),
        "AIRFLOW_BASE_URL": f"http://localhost:{api_port}",
        "HITFLOW_HIT_SERVICE_HOST_PORT": str(service_port),
        "HITFLOW_HIT_SERVICE_PUBLIC_URL": f"http://localhost:{service_port}",
        "HITFLOW_DB_HOST_PORT": str(free_port()),
        "FLOWER_HOST_PORT": str(free_port()),
    }


def fill_env_file(example: str, values: dict[str, str]) -> str:
    """.env.example with ``values`` put in: existing ``NAME=`` lines rewritten, others appended."""
    lines, seen = [], set()
    for line in example.splitlines():
        name, sep, _ = line.partition("=")
        if sep and not line.lstrip().startswith("#") and name.strip() in values:
            lines.append(f"{name.strip()}={values[name.strip()]}")
            seen.add(name.strip())
        else:
            lines.append(line)
    lines += [f"{k}={v}" for k, v in values.items() if k not in seen]
    return "\n".join(lines) + "\n"


@dataclass
class ComposeStack:
    root: Path
    compose_cmd: list[str]
    env: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)  # what ran where, retries: printed with the timings
    _token: str | None = None

    # ------------------------------------------------------------------ setting up
    @classmethod
    def prepare(cls, compose_cmd: list[str], images: dict[str, str]) -> ComposeStack:
        project = "hitflowct" + secrets.token_hex(3)
        root = Path(tempfile.mkdtemp(prefix="hitflow-compose-")) / "hitflow"
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
        ).stdout.split(b"\0")
        for name in filter(None, (n.decode() for n in listed)):
            source = REPO / name
            if source.is_file():
                target = root / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        env = generated_env(images, project)
        # README's steps: cp .env.example .env, fill in the secrets, mkdir output.
        (root / ".env").write_text(fill_env_file((root / ".env.example").read_text(), env))
        (root / ".env").chmod(0o600)
        output = root / "output"
        output.mkdir()
        output.chmod(0o777)  # the containers run as uid AIRFLOW_UID, group 0
        return cls(root=root, compose_cmd=compose_cmd, env=env)

    @classmethod
    def attach(cls, root: Path, compose_cmd: list[str]) -> ComposeStack:
        """A stack a previous run kept (HITFLOW_COMPOSE_KEEP=1), from its folder's .env."""
        env = {}
        for line in (root / ".env").read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep and not line.lstrip().startswith("#"):
                env[name.strip()] = value.strip()
        return cls(root=root, compose_cmd=compose_cmd, env=env)

    @property
    def project(self) -> str:
        return self.env["COMPOSE_PROJECT_NAME"]

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.env['AIRFLOW_API_HOST_PORT']}"

    @property
    def service_url(self) -> str:
        return f"http://127.0.0.1:{self.env['HITFLOW_HIT_SERVICE_HOST_PORT']}"

    def db_url(self, database: str | None = None) -> str:
        """hitflow-db from the host, through the port the compose file publishes on 127.0.0.1."""
        name = database or "hitflow"
        return f"postgresql://hitflow:{self.env['HITFLOW_DB_PASSWORD']}@127.0.0.1:{self.env['HITFLOW_DB_HOST_PORT']}/{name}"

    # ------------------------------------------------------------------ compose and docker
    def compose(self, *args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*self.compose_cmd, *args], cwd=self.root, capture_output=True, text=True, timeout=timeout
        )
        with (self.root / "compose-commands.log").open("a") as log:
            log.write(f"$ {' '.join(self.compose_cmd)} {' '.join(args)}  (exit {result.returncode})\n")
            log.write(result.stdout + result.stderr + "\n")
        if check and result.returncode != 0:
            raise RuntimeError(
                f"compose {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def timed(self, name: str, action: Callable[[], Any]) -> Any:
        start = time.monotonic()
        try:
            return action()
        finally:
            self.timings[name] = round(time.monotonic() - start, 1)

    def containers(self, service: str | None = None, all_states: bool = False) -> list[dict[str, Any]]:
        """``docker inspect`` of this project's containers (of one service), by compose's labels."""
        argv = ["docker", "ps", "-q", "--no-trunc", "--filter", f"label=com.docker.compose.project={self.project}"]
        if service:
            argv += ["--filter", f"label=com.docker.compose.service={service}"]
        if all_states:
            argv.append("-a")
        ids = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()
        if not ids:
            return []
        found = json.loads(
            subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True, check=True).stdout
        )
        return sorted(found, key=lambda c: c["Name"])

    @staticmethod
    def service_of(container: dict[str, Any]) -> str:
        return container["Config"]["Labels"]["com.docker.compose.service"]

    @staticmethod
    def status_of(container: dict[str, Any]) -> str:
        state = container["State"]
        return state.get("Health", {}).get("Status") or state["Status"]

    def docker(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)} exited {result.returncode}: {result.stderr}")
        return result

    def healthy(self, expected: dict[str, int]) -> bool:
        """Every long-running service has ``expected`` containers, all healthy; init exited 0."""
        found: dict[str, list[dict[str, Any]]] = {}
        for container in self.containers(all_states=True):
            found.setdefault(self.service_of(container), []).append(container)
        for name, count in expected.items():
            running = [c for c in found.get(name, []) if c["State"]["Status"] == "running"]
            if len(running) != count or any(self.status_of(c) != "healthy" for c in running):
                return False
        for name in ONE_SHOT:
            done = [c for c in found.get(name, []) if c["State"]["Status"] == "exited"]
            if not done:
                return False
            if done[0]["State"]["ExitCode"] != 0:
                raise RuntimeError(f"{name} exited {done[0]['State']['ExitCode']}:\n{self.logs(name)}")
        return True

    def wait_healthy(self, expected: dict[str, int], timeout: float = 900) -> None:
        wait_for(f"{expected} healthy", lambda: self.healthy(expected), timeout, interval=3)

    def logs(self, service: str, lines: int = 80) -> str:
        return self.compose("logs", "--no-color", "--tail", str(lines), service, check=False).stdout

    def worker_hostnames(self) -> dict[str, str]:
        """Container hostname (what Airflow records as a task's hostname) → container name."""
        return {c["Config"]["Hostname"]: c["Name"].lstrip("/") for c in self.containers("airflow-worker")}

    def diagnostics(self) -> str:
        parts = [f"compose project {self.project} in {self.root}"]
        for container in self.containers(all_states=True):
            parts.append(f"{container['Name']}: {self.status_of(container)}")
        for service in ("airflow-init", "airflow-scheduler", "airflow-worker", "hit-service", "airflow-apiserver"):
            parts.append(f"----- {service} -----\n{self.logs(service, 40)}")
        return "\n".join(parts)

    def down(self) -> None:
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "20", check=False, timeout=300)

    # ------------------------------------------------------------------ Airflow's REST API
    def token(self) -> str:
        if self._token is None:
            response = requests.post(
                f"{self.api_url}/auth/token",
                json={"username": "admin", "password": self.env["AIRFLOW_ADMIN_PASSWORD"]},
                timeout=120,
            )
            if response.status_code != 201:
                raise RuntimeError(f"/auth/token answered {response.status_code}: {response.text}")
            self._token = response.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token()}"} | kwargs.pop("headers", {})
        return requests.request(method, f"{self.api_url}/api/v2{path}", headers=headers, timeout=120, **kwargs)

    def get_json(self, path: str, **params: Any) -> Any:
        response = self.api("GET", path, params=params)
        response.raise_for_status()
        return response.json()

    def unpause(self, dag_id: str) -> None:
        wait_for(f"{dag_id} to be parsed", lambda: self.api("GET", f"/dags/{dag_id}").status_code == 200, 300)
        response = self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        assert response.status_code == 200, response.text

    def set_variable(self, key: str, value: str) -> None:
        """An Airflow Variable through REST, as Admin -> Variables sets it (created or replaced)."""
        response = self.api("PATCH", f"/variables/{key}", json={"key": key, "value": value})
        if response.status_code == 404:
            response = self.api("POST", "/variables", json={"key": key, "value": value})
        assert response.status_code in (200, 201), response.text

    def lift_spending_limits(self) -> None:
        """The per-run ($100) and per-day ($300) limits would refuse the 10,000- and 2,000-row
        batches (about $3,600 and $720 with fees): the engine run showed ``check_balance`` failing
        on them, so the large stages turn both limits off, as README says an operator does."""
        for key in ("hitflow_spend_limit_per_run_usd", "hitflow_spend_limit_per_day_usd"):
            self.set_variable(key, "none")

    def fund_requester(self, at_least: str = "10000.00") -> None:
        """Top the requester's prepaid balance up to ``at_least``, as an operator does between
        large batches (``requester set-balance`` in the hit-service container; the difference is an
        'adjustment' in the ledger). Each 10,000-row batch costs about $4,300 with fees and bonuses:
        without this the third one is refused by ``check_balance``, as the engine run showed."""
        from decimal import Decimal

        key = self.env["HITFLOW_REQUESTER_ACCESS_KEY_ID"]
        balance = Decimal(self.mturk().get_account_balance()["AvailableBalance"])
        if balance < Decimal(at_least):
            self.compose(
                "exec", "-T", "hit-service", "python", "-m", "hit_service", "requester", "set-balance", key, at_least
            )

    def trigger(self, dag_id: str, conf: dict[str, Any], note: str) -> str:
        response = self.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf, "note": note})
        assert response.status_code == 200, response.text
        return str(response.json()["dag_run_id"])

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 900) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            run = self.get_json(f"/dags/{dag_id}/dagRuns/{run_id}")
            return run if run["state"] in ("success", "failed") else None

        return wait_for(f"{dag_id} run {run_id}", done, timeout, interval=3)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.get_json(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=1000)["task_instances"]

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
        return self.get_json(path)["value"]

    def mturk(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "mturk",
            region_name="us-east-1",
            endpoint_url=self.service_url,
            aws_access_key_id=self.env["HITFLOW_REQUESTER_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["HITFLOW_REQUESTER_SECRET_ACCESS_KEY"],
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )

    def all_hits(self) -> list[dict[str, Any]]:
        client, hits, token = self.mturk(), [], None
        while True:
            page = client.list_hits(MaxResults=100, **({"NextToken": token} if token else {}))
            hits += page["HITs"]
            token = page.get("NextToken")
            if not token:
                return hits


def compose_command() -> list[str]:
    """``HITFLOW_COMPOSE`` (set by scripts/ensure_docker.sh through the Makefile), else what answers."""
    chosen = os.environ.get("HITFLOW_COMPOSE_CMD", "").split()
    if chosen:
        return chosen
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"]

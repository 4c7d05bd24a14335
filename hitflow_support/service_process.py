"""Start the HIT service as a subprocess and wait until it answers.

Tests and the demo use a real process (``python -m hit_service`` with this interpreter, cwd the
repo root) rather than an in-process app, so they exercise what is deployed: uvicorn, startup
migration, several processes on one database.

    with start_service(db_url, test_mode=True) as service:
        boto3.client("mturk", endpoint_url=service.url, ...)

``detach=True`` starts the service in its own session and leaves it running when the
``with`` block or the interpreter ends; stop it later with ``stop_pid(pid)``.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from hit_service.settings import REPO_ROOT

HOST = "127.0.0.1"


class ServiceStartError(RuntimeError):
    """The service exited or did not answer /health/ready in time; the message has its log's tail."""


def free_port(host: str = HOST) -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health/ready", timeout=2) as response:  # readiness, not liveness
            return response.status == 200 and json.load(response).get("status") == "ok"
    except (OSError, ValueError, urllib.error.URLError):
        return False


def _gone(pid: int) -> bool:
    """Whether ``pid`` has exited (reaping it if it is our child, else it stays a zombie)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return True
    except ChildProcessError:
        pass  # not our child: its parent reaps it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _wait_gone(pid: int, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``pid`` to exit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.05)
    return False


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    """Stop a (detached) service by PID: SIGTERM, then SIGKILL after ``timeout`` seconds."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if not _wait_gone(pid, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 5)


class ServiceProcess:
    """A running service: ``url``, ``pid``, ``port``, ``log_path``; ``stop()`` ends it."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, port: int, log_path: Path, detach: bool):
        self.process = process
        self.url = url
        self.port = port
        self.log_path = log_path
        self.detach = detach

    @property
    def pid(self) -> int:
        """The service's process ID."""
        return self.process.pid

    def running(self) -> bool:
        """Whether the process is still alive."""
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL if it has not exited after ``timeout`` seconds; the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the service's log (stdout and stderr)."""
        return _tail(self.log_path, lines)

    def __enter__(self) -> ServiceProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.detach:
            self.stop()

    def __repr__(self) -> str:
        return f"ServiceProcess(url={self.url!r}, pid={self.pid}, detach={self.detach})"


def start_service(
    db_url: str,
    *,
    port: int = 0,
    test_mode: bool = False,
    requester_keys: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    log_path: str | Path | None = None,
    detach: bool = False,
    timeout: float = 90.0,
) -> ServiceProcess:
    """Start ``python -m hit_service`` and return once ``/health/ready`` answers ok.

    ``port=0`` picks a free port. ``requester_keys`` (access key ID → secret) become
    ``HITFLOW_HIT_SERVICE_REQUESTER_KEYS``. ``extra_env`` is added last (e.g. ``HITFLOW_LAYOUTS_DIR``).
    Output goes to ``log_path`` (a temporary file when None). Raises ``ServiceStartError``
    with the log's tail if the process dies or does not become healthy within ``timeout``.
    """
    port = port or free_port()
    url = f"http://{HOST}:{port}"
    if log_path is None:
        handle, name = tempfile.mkstemp(prefix=f"hit_service_{port}_", suffix=".log")
        os.close(handle)
        log_path = name
    log = Path(log_path)
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "HITFLOW_HIT_SERVICE_DB_URL": db_url,
            "HITFLOW_HIT_SERVICE_HOST": HOST,
            "HITFLOW_HIT_SERVICE_PORT": str(port),
            "HITFLOW_HIT_SERVICE_TEST_MODE": "1" if test_mode else "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if requester_keys:
        env["HITFLOW_HIT_SERVICE_REQUESTER_KEYS"] = ",".join(
            f"{key}:{secret}" for key, secret in requester_keys.items()
        )
    env.update(extra_env or {})
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "hit_service"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
        )
    service = ServiceProcess(process, url, port, log, detach)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ServiceStartError(
                f"hit_service exited with code {process.returncode} before answering; log {log}:\n{_tail(log)}"
            )
        if _healthy(url):
            break
        if time.monotonic() > deadline:
            service.stop()
            raise ServiceStartError(
                f"hit_service did not answer {url}/health/ready within {timeout} s; log {log}:\n{_tail(log)}"
            )
        time.sleep(0.1)
    if not detach:
        atexit.register(service.stop)
    return service

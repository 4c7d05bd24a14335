"""The operator CLI: ``python -m hit_service requester|worker …`` against the service's database."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from botocore.exceptions import ClientError

from hit_service.settings import REPO_ROOT
from tests.hit_service.helpers import make_client

pytestmark = pytest.mark.integration


def cli(
    db_url: str, *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "HITFLOW_HIT_SERVICE_DB_URL": db_url, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "hit_service", *args],
        cwd=REPO_ROOT,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_requester_add_prints_a_working_key_pair(db_url: str, service: Any) -> None:
    done = cli(db_url, "requester", "add", "Lab of Ages", "--balance", "25.50")
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", created["access_key_id"])
    assert re.fullmatch(r"[A-Za-z0-9+/]{40}", created["secret_access_key"])
    assert re.fullmatch(r"A[A-Z0-9]{13}", created["requester_id"])
    assert created["balance"] == "25.50"
    assert created["secret_access_key"] not in done.stderr  # printed once, on stdout, never logged
    client = make_client(service.url, created["access_key_id"], secret=created["secret_access_key"], register=False)
    assert client.get_account_balance()["AvailableBalance"] == "25.50"
    wrong = make_client(service.url, created["access_key_id"], secret="z" * 40, register=False, retries=False)
    with pytest.raises(ClientError) as info:
        wrong.get_account_balance()
    assert info.value.response["Error"]["Code"] == "InvalidSignatureException"

    again = cli(db_url, "requester", "add", "Lab of Ages")
    assert again.returncode == 2 and "exists already" in again.stderr
    listed = json.loads(cli(db_url, "requester", "list").stdout)
    mine = next(r for r in listed if r["name"] == "Lab of Ages")
    assert mine["access_key_ids"] == [created["access_key_id"]]
    assert created["secret_access_key"] not in json.dumps(listed)
    assert cli(db_url, "requester", "set-balance", "Lab of Ages", "3.00").returncode == 0
    assert client.get_account_balance()["AvailableBalance"] == "3.00"


def test_worker_add_and_list(db_url: str) -> None:
    done = cli(db_url, "worker", "add", "cli-worker", "--locale", "DE", stdin="correct horse\n")
    assert done.returncode == 0, done.stderr
    worker = json.loads(done.stdout)
    assert re.fullmatch(r"A[A-Z0-9]{13}", worker["worker_id"]) and worker["locale"] == "DE"
    assert "correct horse" not in cli(db_url, "worker", "list").stdout
    assert cli(db_url, "worker", "add", "short", stdin="x\n").returncode == 2


def test_bad_configuration_is_refused(db_url: str) -> None:
    done = cli(db_url, "serve", env={"HITFLOW_HIT_SERVICE_MODE": "production", "HITFLOW_HIT_SERVICE_TEST_MODE": "1"})
    assert done.returncode == 2
    assert "cannot be on in production mode" in done.stderr
    done = cli(db_url, env={"HITFLOW_HIT_SERVICE_REQUESTER_KEYS": "AKIAIOSFODNN7EXAMPLE:tooshort"})
    assert done.returncode == 2 and "tooshort" not in done.stderr


def test_the_cli_finds_the_demos_settings_by_itself(db_url: str, tmp_path: Any) -> None:
    """Run where `make demo` left ``.run/hit_service.env``, the CLI needs no environment; elsewhere it asks."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HITFLOW_HIT_SERVICE_")}

    def run(cwd: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hit_service", "worker", "list"],
            cwd=cwd,
            env={**environment, "PYTHONPATH": str(REPO_ROOT)},
            capture_output=True,
            text=True,
            timeout=60,
        )

    refused = run(tmp_path)
    assert refused.returncode == 2 and "HITFLOW_HIT_SERVICE_DB_URL is required" in refused.stderr
    (tmp_path / ".run").mkdir()
    (tmp_path / ".run" / "hit_service.env").write_text(f"HITFLOW_HIT_SERVICE_DB_URL={db_url}\n")
    done = run(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "using the demo's settings in .run/hit_service.env" in done.stderr
    assert isinstance(json.loads(done.stdout), list)

"""The airflow-init service's script, run here with bash, this venv's ``airflow`` and ``python``,
and throwaway PostgreSQL databases standing in for the compose containers.

It must create hitflow's databases and schema, migrate Airflow's, write the admin password, and
store ``hitflow_db`` and ``mturk_default`` exactly as the code reads them; run again with a new
``MTURK_ENDPOINT_URL`` (how an operator points hitflow at another endpoint) it must rewrite the
connection and leave everything else as it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from cryptography.fernet import Fernet

from hitflow_support import pg
from tests.compose import compose

REPO = compose.REPO


@pytest.fixture
def databases() -> Iterator[dict[str, str]]:
    """Names for the metadata, source and HIT service databases; dropped afterwards."""
    tag = uuid.uuid4().hex[:8]
    names = {kind: f"hitflow_test_{tag}_compose_{kind}" for kind in ("airflow", "source", "hitsvc")}
    airflow_url = pg.url_for(names["airflow"])
    with psycopg.connect(pg.ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{names["airflow"]}"')
    try:
        yield names | {"airflow_url": airflow_url}
    finally:
        for kind in ("airflow", "source", "hitsvc"):
            pg.drop_database(pg.url_for(names[kind]))


def run_init(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    service = compose.load(compose.filled_env())["services"]["airflow-init"]
    argv = compose.command_argv(service)
    assert argv[:2] == ["bash", "-c"]
    result = subprocess.run(
        ["/bin/bash", *argv[1:]], env=env, cwd=env["AIRFLOW_HOME"], capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, f"airflow-init failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


def connections(url: str, fernet_key: str) -> dict[str, dict[str, Any]]:
    fernet = Fernet(fernet_key.encode())

    def clear(value: str | None, encrypted: bool) -> str | None:
        return fernet.decrypt(value.encode()).decode() if value and encrypted else value

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT conn_id, conn_type, host, port, login, password, schema, extra, is_encrypted, is_extra_encrypted"
            " FROM connection"
        ).fetchall()
    return {
        r[0]: {
            "conn_type": r[1],
            "host": r[2],
            "port": r[3],
            "login": r[4],
            "password": clear(r[5], r[8]),
            "schema": r[6],
            "extra": json.loads(clear(r[7], r[9]) or "{}"),
        }
        for r in rows
    }


def test_init_creates_databases_connections_and_admin_and_can_run_again(
    databases: dict[str, str], tmp_path: Path
) -> None:
    from hitflow.connections import DB_CONN_ID, MTURK_CONN_ID

    model = compose.load(compose.filled_env())
    env = compose.environment(model["services"]["airflow-init"])
    server = urlsplit(pg.ADMIN_URL)
    home = tmp_path / "airflow_home"
    home.mkdir()
    env.update(
        {
            # Stand-ins for the containers: this machine's PostgreSQL, this repository's files.
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": databases["airflow_url"].replace(
                "postgresql://", "postgresql+psycopg2://", 1
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(tmp_path / "auth" / "passwords.json"),
            "HITFLOW_CONNECTIONS_FILE": str(tmp_path / "connections.json"),
            "HITFLOW_INCLUDE_DIR": str(REPO / "include"),
            "HITFLOW_DB_HOST": server.hostname or "127.0.0.1",
            "HITFLOW_DB_PORT": str(server.port or 5432),
            "HITFLOW_DB_USER": server.username or "postgres",
            "HITFLOW_SOURCE_DB": databases["source"],
            "HITFLOW_HIT_SERVICE_DB": databases["hitsvc"],
        }
    )
    if server.password:
        env["HITFLOW_DB_PASSWORD"] = server.password
    result = run_init(env)
    # It says where the connections went: Airflow's database, so Admin > Connections lists them.
    assert "imported into Airflow's database" in result.stdout and "Admin > Connections" in result.stdout

    for kind in ("source", "hitsvc"):
        with psycopg.connect(pg.url_for(databases[kind])) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    with psycopg.connect(pg.url_for(databases["source"])) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables"
                " WHERE table_schema IN ('public', 'hitflow')"
            )
        }
    assert {"public.person_images", "hitflow.batches", "hitflow.batch_rows", "hitflow.quarantine"} <= tables

    passwords = json.loads(Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).read_text())
    assert passwords == {env["AIRFLOW_ADMIN_USERNAME"]: env["AIRFLOW_ADMIN_PASSWORD"]}
    users = env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"]
    assert users == f"{env['AIRFLOW_ADMIN_USERNAME']}:admin", "the admin user has the admin role"
    assert not Path(env["HITFLOW_CONNECTIONS_FILE"]).exists(), "the file with the secrets must be removed"

    stored = connections(databases["airflow_url"], env["AIRFLOW__CORE__FERNET_KEY"])
    assert set(stored) == {DB_CONN_ID, MTURK_CONN_ID}
    assert stored[DB_CONN_ID] == {
        "conn_type": "postgres",
        "host": env["HITFLOW_DB_HOST"],
        "port": int(env["HITFLOW_DB_PORT"]),
        "login": env["HITFLOW_DB_USER"],
        "password": env["HITFLOW_DB_PASSWORD"],
        "schema": databases["source"],
        "extra": {},
    }
    assert stored[MTURK_CONN_ID] == {
        "conn_type": "aws",
        "host": None,
        "port": None,
        "login": env["HITFLOW_REQUESTER_ACCESS_KEY_ID"],
        "password": env["HITFLOW_REQUESTER_SECRET_ACCESS_KEY"],
        "schema": None,
        "extra": {"endpoint_url": "http://hit-service:8100", "region_name": "us-east-1"},
    }

    # Pointing hitflow at another MTurk-compatible endpoint: change .env, run the init again.
    env["MTURK_ENDPOINT_URL"] = "https://mturk.example.org"
    run_init(env)
    again = connections(databases["airflow_url"], env["AIRFLOW__CORE__FERNET_KEY"])
    assert again[MTURK_CONN_ID]["extra"]["endpoint_url"] == "https://mturk.example.org"
    assert again[DB_CONN_ID] == stored[DB_CONN_ID]

"""A task that fails on configuration or an unreachable service says, in one line before the
traceback, which connection, which endpoint, and what to check (real DAG run, real boto3)."""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.helpers import ACCESS_KEY, good_rows, run, seed, table

pytestmark = pytest.mark.integration


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


def output(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    out = capsys.readouterr()
    return out.out + out.err + caplog.text


def test_an_unreachable_hit_service_is_named_with_its_connection_and_endpoint(
    dag, source_db, clean_state, monkeypatch, capsys, caplog
) -> None:
    seed(source_db, good_rows(1, 2, datetime.now(UTC) - timedelta(hours=1)))
    endpoint = f"http://127.0.0.1:{closed_port()}"
    conn = json.loads(os.environ["AIRFLOW_CONN_MTURK_DEFAULT"])
    conn["extra"]["endpoint_url"] = endpoint
    monkeypatch.setenv("AIRFLOW_CONN_MTURK_DEFAULT", json.dumps(conn))
    state, _ = run(dag, None)
    assert state == "failed"
    text = output(capsys, caplog)
    lines = [line for line in text.splitlines() if "mturk_default: cannot reach the HIT service at" in line]
    assert lines, text[-3000:]
    assert endpoint in lines[0] and "endpoint_url" in lines[0] and "Admin → Connections" in lines[0]
    # before the traceback of the same failure
    assert table(source_db, "SELECT status FROM hitflow.batches") == [("open",)]  # nothing spent, rows kept


def test_refused_credentials_name_the_connection(
    dag, source_db, hit_service, clean_state, monkeypatch, capsys, caplog
) -> None:
    seed(source_db, good_rows(1, 1, datetime.now(UTC) - timedelta(hours=1)))
    conn = json.loads(os.environ["AIRFLOW_CONN_MTURK_DEFAULT"])
    conn["password"] = "not-the-secret-key-of-" + ACCESS_KEY
    monkeypatch.setenv("AIRFLOW_CONN_MTURK_DEFAULT", json.dumps(conn))
    assert run(dag, None)[0] == "failed"
    text = output(capsys, caplog)
    line = next((line for line in text.splitlines() if "refused the requester's credentials" in line), "")
    assert "mturk_default" in line and hit_service.url in line and "key pair" in line, text[-3000:]


def test_other_errors_get_no_such_line() -> None:
    from hitflow.errors import explain

    assert explain(ValueError("a bug")) is None

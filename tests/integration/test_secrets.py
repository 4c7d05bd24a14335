"""Secrets never reach a log: the AWS secret key and the database password are grepped for in
everything a publish run and the HIT service print."""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta

import pytest

from tests.integration.helpers import ACCESS_KEY, SECRET_KEY, good_rows, run, seed
from tests.integration.test_publish_dag import DAY

pytestmark = pytest.mark.integration


def test_no_secret_in_task_or_service_logs(dag, source_db, hit_service, clean_state, monkeypatch, capfd) -> None:
    db_password = "dbpw-" + secrets.token_hex(12)  # trust auth ignores it, but hooks handle it as a secret
    conn = json.loads(os.environ["AIRFLOW_CONN_HITFLOW_DB"]) | {"password": db_password}
    monkeypatch.setenv("AIRFLOW_CONN_HITFLOW_DB", json.dumps(conn))
    seed(source_db, good_rows(1, 3, DAY - timedelta(hours=3)))
    state, summary = run(dag, None)
    assert state == "success" and summary["hits_in_batch"] == 3
    out, err = capfd.readouterr()
    logs = out + err + hit_service.log_tail(100_000)
    assert summary["batch_id"] in logs and "POST / " in logs  # both the task and the service logs were captured
    assert ACCESS_KEY in os.environ["AIRFLOW_CONN_MTURK_DEFAULT"]  # the secrets were really in use
    for secret in (SECRET_KEY, db_password):
        assert secret not in logs

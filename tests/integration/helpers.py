"""Helpers for integration tests: the test requester's keys and the service's test endpoints."""

from __future__ import annotations

import secrets
import string
from pathlib import Path
from typing import Any

import psycopg
import requests

REPO = Path(__file__).resolve().parents[2]
ACCESS_KEY = "AKIA" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))
SECRET_KEY = secrets.token_urlsafe(30)[:40]


def apply_sql(url: str, *files: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for name in files:
            conn.execute((REPO / "include" / "sql" / name).read_text())


def set_faults(service: Any, **faults: Any) -> None:
    requests.post(f"{service.url}/_test/faults", json=faults, timeout=10).raise_for_status()


def set_balance(service: Any, balance: str) -> None:
    requests.post(
        f"{service.url}/_test/balance", json={"requester": ACCESS_KEY, "balance": balance}, timeout=10
    ).raise_for_status()

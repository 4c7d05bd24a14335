"""Throwaway PostgreSQL databases for the test suite.

The suite uses the server on 127.0.0.1:5432 (or ``HITFLOW_TEST_PG_URL``), creates databases
with a ``hitflow_test_`` prefix and drops only those it created.
"""

from __future__ import annotations

import os
import uuid

import psycopg
from psycopg import sql

ADMIN_URL = os.environ.get("HITFLOW_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def url_for(database: str) -> str:
    """The admin URL with its database swapped for ``database``."""
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


def create_database(label: str) -> str:
    """Create a fresh database and return its URL."""
    name = f"hitflow_test_{uuid.uuid4().hex[:8]}_{label}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return url_for(name)


def drop_database(url: str) -> None:
    """Drop a database this suite created (refuses any other name)."""
    name = url.rpartition("/")[2]
    if not name.startswith("hitflow_test_"):
        raise ValueError(f"refusing to drop {name!r}: not created by the test suite")
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

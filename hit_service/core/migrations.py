"""The service's schema history: one SQL file per change in ``hit_service/migrations/``.

A file is named ``NNNN_what_it_does.sql``: ``NNNN`` is its version (applied in that order), its
first line is ``-- <name>``, the name recorded in ``mturk.schema_migrations`` beside the version.
Versions and names are those of the numbered list the service carried before the files, so a
database made by an older service upgrades by applying only what it has not recorded.
A released file never changes: a change to the schema is a new file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"
SCHEMA = "mturk"
# pg_advisory_xact_lock key for migrations: "hitfmig" as a number, fixed forever.
MIGRATION_LOCK_KEY = 0x6869_7466_6D69_67
_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration file, in version order; refuses gaps, duplicates and unnamed files."""
    found = []
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _FILE.match(path.name)
        if not match:
            raise ValueError(f"{path.name}: a migration is named NNNN_what_it_does.sql")
        first, _, sql = path.read_text().partition("\n")
        if not first.startswith("-- ") or not first[3:].strip():
            raise ValueError(f"{path.name}: the first line must be '-- <name>'")
        found.append(Migration(int(match.group(1)), first[3:].strip(), sql))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"migration versions must run 1, 2, 3, … without gaps or repeats; found {versions}")
    return found


def apply(conn: psycopg.Connection[Any], migrations: list[Migration]) -> list[int]:
    """Apply, in ``conn``'s transaction, each migration not yet recorded; the versions applied.

    Under a transaction-level advisory lock, so two processes starting at once do not race.
    """
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_migrations (
                version     integer PRIMARY KEY,
                name        text NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT now())"""
    )
    done = {
        row[0] if isinstance(row, tuple) else row["version"]
        for row in conn.execute(f"SELECT version FROM {SCHEMA}.schema_migrations")
    }
    applied = []
    for migration in migrations:
        if migration.version in done:
            continue
        conn.execute(migration.sql)
        conn.execute(
            f"INSERT INTO {SCHEMA}.schema_migrations (version, name) VALUES (%s, %s)",
            (migration.version, migration.name),
        )
        applied.append(migration.version)
    return applied

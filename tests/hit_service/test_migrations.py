"""The schema's history as files: read in order, recorded, and an old database upgrades cleanly."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from hit_service.core import migrations
from hit_service.core.database import Store
from hitflow_support import pg
from tests.hit_service.migrations_before_files import OLD_MIGRATIONS

pytestmark = pytest.mark.integration

SCHEMA_FINGERPRINT = """
SELECT 'column', table_name || '.' || column_name,
       data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = 'mturk' AND table_name <> 'schema_migrations'
UNION ALL
SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'mturk'::regnamespace
UNION ALL
SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = 'mturk'
ORDER BY 1, 2, 3
"""


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    old, fresh = pg.create_database("mig_old"), pg.create_database("mig_new")
    try:
        yield old, fresh
    finally:
        pg.drop_database(old)
        pg.drop_database(fresh)


def migrate_the_old_way(url: str, upto: int) -> None:
    """What the service did before the files: run the list's DDL and record (version, name)."""
    with psycopg.connect(url) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS mturk")
        conn.execute(
            """CREATE TABLE IF NOT EXISTS mturk.schema_migrations (
                   version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        for version, name, ddl in OLD_MIGRATIONS:
            if version <= upto:
                conn.execute(ddl)
                conn.execute("INSERT INTO mturk.schema_migrations (version, name) VALUES (%s, %s)", (version, name))


def migrate_now(url: str) -> list[int]:
    store = Store(url, max_size=1)
    store.open()
    try:
        return store.migrate()
    finally:
        store.close()


def fingerprint(url: str) -> tuple[list[tuple[str, ...]], list[tuple[int, str]]]:
    with psycopg.connect(url) as conn:
        shape = conn.execute(SCHEMA_FINGERPRINT).fetchall()
        recorded = conn.execute("SELECT version, name FROM mturk.schema_migrations ORDER BY version").fetchall()
    return shape, recorded


def test_the_files_are_the_old_list_one_file_per_change() -> None:
    """Same versions, same names, same statements: nothing was lost moving the list into files."""
    files = migrations.load()[: len(OLD_MIGRATIONS)]  # later files are later changes (0005: issue 22)
    assert [(m.version, m.name) for m in files] == [(v, name) for v, name, _ in OLD_MIGRATIONS]
    for migration, (_, _, ddl) in zip(files, OLD_MIGRATIONS, strict=True):
        assert migration.sql.strip() == textwrap.dedent(ddl).strip()


@pytest.mark.parametrize("made_by_old_code", [len(OLD_MIGRATIONS), 2])
def test_a_database_made_by_the_old_list_upgrades_cleanly(databases: tuple[str, str], made_by_old_code: int) -> None:
    """Fully migrated by the old code: nothing to do. Half way: the rest, once. Either way the
    schema and the record equal those of a database made by the files alone."""
    old, fresh = databases
    migrate_the_old_way(old, made_by_old_code)
    expected = [m.version for m in migrations.load() if m.version > made_by_old_code]
    assert migrate_now(old) == expected
    assert migrate_now(old) == []
    assert migrate_now(fresh) == [m.version for m in migrations.load()]
    assert fingerprint(old) == fingerprint(fresh)
    assert len(fingerprint(old)[0]) > 50  # the fingerprint sees the schema (not an empty match)


def test_load_refuses_a_gap_and_an_unnamed_file(tmp_path: Path) -> None:
    (tmp_path / "0001_first.sql").write_text("-- first\nSELECT 1;\n")
    (tmp_path / "0003_third.sql").write_text("-- third\nSELECT 1;\n")
    with pytest.raises(ValueError, match="without gaps"):
        migrations.load(tmp_path)
    (tmp_path / "0003_third.sql").unlink()
    (tmp_path / "0002_second.sql").write_text("SELECT 1;\n")
    with pytest.raises(ValueError, match="first line"):
        migrations.load(tmp_path)
    (tmp_path / "0002_second.sql").write_text("-- second\nSELECT 2;\n")
    assert [(m.version, m.name) for m in migrations.load(tmp_path)] == [(1, "first"), (2, "second")]

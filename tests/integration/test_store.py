"""hitflow's SQL store against a real PostgreSQL: chunk planning and validation bookkeeping."""

from __future__ import annotations

import uuid
from datetime import timedelta

import psycopg
import pytest

from hitflow.publish import batch_store
from tests.integration.helpers import good_rows, seed
from tests.integration.test_publish_dag import DAY

pytestmark = pytest.mark.integration


def claimed_batch(db: str, rows: list) -> uuid.UUID:
    seed(db, rows)
    batch_id = uuid.uuid4()
    with psycopg.connect(db, autocommit=True) as conn:
        batch_store.open_batch(
            conn, batch_id=batch_id, dag_id="t", run_id=str(batch_id), scope=batch_store.Scope(), params={}
        )
        batch_store.claim_rows(conn, batch_id=batch_id, scope=batch_store.Scope(), max_rows=None)
    return batch_id


def test_chunks_cover_every_row_once(source_db, clean_state) -> None:
    rows = good_rows(1, 5, DAY) + good_rows(100, 5, DAY)  # sparse row IDs
    batch_id = claimed_batch(source_db, rows)
    with psycopg.connect(source_db, autocommit=True) as conn:
        chunks, count, size = batch_store.plan_chunks(conn, batch_id, chunk_size=3, max_chunks=1000)
        assert (count, size, len(chunks)) == (10, 3, 4) and chunks[-1].next_first is None
        per_chunk = [[row[0] for row in batch_store.chunk_rows(conn, batch_id, chunk)] for chunk in chunks]
        assert [len(ids) for ids in per_chunk] == [2, 3, 2, 3]  # even: never 3, 3, 3, 1
        assert [i for ids in per_chunk for i in ids] == [r[0] for r in rows]
        again, _, _ = batch_store.plan_chunks(conn, batch_id, chunk_size=3, max_chunks=1000)
        assert again == chunks  # deterministic: a resumed batch gets the same chunks
        capped, _, size = batch_store.plan_chunks(conn, batch_id, chunk_size=1, max_chunks=4)
        assert size == 3 and len(capped) == 4  # grown to stay under the mapped-task cap


def test_empty_batch_has_no_chunks(source_db, clean_state) -> None:
    batch_id = claimed_batch(source_db, [])
    with psycopg.connect(source_db, autocommit=True) as conn:
        assert batch_store.plan_chunks(conn, batch_id, chunk_size=3, max_chunks=10) == ([], 0, 3)


def test_rows_are_validated_once_per_claim(source_db, clean_state) -> None:
    batch_id = claimed_batch(source_db, good_rows(1, 3, DAY - timedelta(hours=1)))
    with psycopg.connect(source_db, autocommit=True) as conn:
        assert len(list(batch_store.iter_unvalidated_rows(conn, batch_id))) == 3
        batch_store.mark_validated(conn, batch_id)
        assert list(batch_store.iter_unvalidated_rows(conn, batch_id)) == []
        seed(source_db, good_rows(10, 2, DAY))  # the same run claims again, e.g. after a clear
        batch_store.claim_rows(conn, batch_id=batch_id, scope=batch_store.Scope(), max_rows=None)
        assert [row.id for row in batch_store.iter_unvalidated_rows(conn, batch_id)] == [10, 11]

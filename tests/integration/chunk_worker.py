"""Run one publish chunk exactly as the ``publish_chunk`` task does, in its own process.

The fault tests start this as a subprocess so they can SIGKILL it half way, or pull its
database out from under it, and then run it again as Airflow's retry would.

    python -m tests.integration.chunk_worker DB_URL BATCH_ID HIT_TYPE_ID CONCURRENCY   (the batch's one chunk)
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "plugins")]


def main() -> None:
    import psycopg

    from hitflow.connections import mturk_hook
    from hitflow.publish import batch_store
    from hitflow.publish.batch_config import PublishConfig
    from hitflow.publish.publisher import ChunkPublisher

    db_url, batch_id, hit_type_id, concurrency = sys.argv[1:5]
    config = PublishConfig(concurrency=int(concurrency))
    with psycopg.connect(db_url, autocommit=True) as conn:
        publisher = ChunkPublisher(
            mturk=mturk_hook(config.max_in_flight, validate_parameters=False),
            conn=conn,
            config=config,
            batch_id=uuid.UUID(batch_id),
            hit_type_id=hit_type_id,
        )
        (chunk,), _, _ = batch_store.plan_chunks(conn, uuid.UUID(batch_id), chunk_size=1_000_000, max_chunks=1)
        print(json.dumps(publisher.publish(chunk).to_dict()))


if __name__ == "__main__":
    main()

-- hitflow's own state. Idempotent: applied by `make demo`, the tests and the DAG's first task.
CREATE SCHEMA IF NOT EXISTS hitflow;

-- One row per DAG run that publishes: its UUID is derived from (dag_id, run_id), so a
-- retried or cleared run resumes its own batch.
CREATE TABLE IF NOT EXISTS hitflow.batches (
    batch_id        uuid PRIMARY KEY,
    dag_id          text NOT NULL,
    run_id          text NOT NULL,
    scope           text NOT NULL CHECK (scope IN ('interval', 'pending')),
    interval_start  timestamptz,
    interval_end    timestamptz,
    params          jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'published', 'exported', 'refused', 'dry_run')),
    hit_type_id     text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (dag_id, run_id)
);

-- One row per source row that a batch took. The primary key on row_id is what makes claims
-- atomic: two runs at once cannot both insert the same row.
CREATE TABLE IF NOT EXISTS hitflow.batch_rows (
    row_id          bigint PRIMARY KEY,
    batch_id        uuid NOT NULL REFERENCES hitflow.batches (batch_id),
    status          text NOT NULL DEFAULT 'claimed'
                    CHECK (status IN ('claimed', 'ready', 'quarantined', 'published', 'exported')),
    chunk_no        integer,
    person_id       text,
    image_url       text,
    hit_id          text,
    hit_type_id     text,
    outcome         text CHECK (outcome IN ('created', 'already_existed')),
    claimed_at      timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz
);
CREATE INDEX IF NOT EXISTS batch_rows_batch_chunk_idx ON hitflow.batch_rows (batch_id, chunk_no);
CREATE UNIQUE INDEX IF NOT EXISTS batch_rows_hit_id_idx ON hitflow.batch_rows (hit_id);

-- Rejected rows with the reason; the row stays owned by its batch so no later run retries it.
CREATE TABLE IF NOT EXISTS hitflow.quarantine (
    row_id          bigint PRIMARY KEY REFERENCES hitflow.batch_rows (row_id),
    batch_id        uuid NOT NULL REFERENCES hitflow.batches (batch_id),
    reason          text NOT NULL,
    person_id       text,
    image_url       text,
    quarantined_at  timestamptz NOT NULL DEFAULT now()
);

-- Duplicate detection compares (person_id, image_url); md5 keeps the key short for long URLs.
CREATE INDEX IF NOT EXISTS batch_rows_identity_idx ON hitflow.batch_rows (person_id, md5(image_url));

-- hitflow's own state. Idempotent: applied by `make demo`, the tests and the DAGs' first tasks,
-- which skip it when hitflow.schema_version already holds the version the code expects
-- (hitflow.publish.store.SCHEMA_VERSION): bump that when this file changes.
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
CREATE INDEX IF NOT EXISTS batch_rows_batch_row_idx ON hitflow.batch_rows (batch_id, row_id);
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

-- ---------------------------------------------------------------------------------------------
-- Collection (mturk_collect_results): assignments, review decisions, bonuses, results, blocks.
-- ---------------------------------------------------------------------------------------------
ALTER TABLE hitflow.batches ADD COLUMN IF NOT EXISTS completed_at timestamptz;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                    WHERE conrelid = 'hitflow.batches'::regclass AND conname = 'batches_status_check'
                      AND pg_get_constraintdef(oid) LIKE '%complete%') THEN
        ALTER TABLE hitflow.batches DROP CONSTRAINT IF EXISTS batches_status_check;
        ALTER TABLE hitflow.batches ADD CONSTRAINT batches_status_check
            CHECK (status IN ('open', 'published', 'exported', 'refused', 'dry_run', 'complete'));
    END IF;
END $$;
ALTER TABLE hitflow.batch_rows ADD COLUMN IF NOT EXISTS hit_status text;
ALTER TABLE hitflow.batch_rows ADD COLUMN IF NOT EXISTS disposed_at timestamptz;
-- Assignments added by CreateAdditionalAssignmentsForHIT when rejections left a HIT short.
ALTER TABLE hitflow.batch_rows ADD COLUMN IF NOT EXISTS extra_assignments integer NOT NULL DEFAULT 0;

-- One row per assignment, upserted on every collection run (the service's state is the truth;
-- hitflow keeps its review decisions and bonuses so a re-run never approves or pays twice).
CREATE TABLE IF NOT EXISTS hitflow.assignments (
    assignment_id      text PRIMARY KEY,
    hit_id             text NOT NULL,
    row_id             bigint NOT NULL REFERENCES hitflow.batch_rows (row_id),
    batch_id           uuid NOT NULL REFERENCES hitflow.batches (batch_id),
    worker_id          text NOT NULL,
    status             text NOT NULL,
    accept_time        timestamptz,
    submit_time        timestamptz,
    answer_xml         text,
    age                integer CHECK (age BETWEEN 1 AND 120),
    answer_problem     text,
    review_action      text CHECK (review_action IN ('approve', 'reject')),
    requester_feedback text,
    reviewed_at        timestamptz,
    bonus_amount       numeric(10, 2),
    bonus_paid_at      timestamptz,
    first_seen_at      timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((age IS NULL) <> (answer_problem IS NULL))
);
CREATE INDEX IF NOT EXISTS assignments_batch_idx ON hitflow.assignments (batch_id);
CREATE INDEX IF NOT EXISTS assignments_worker_idx ON hitflow.assignments (worker_id);

-- One aggregated age per image (source row).
CREATE TABLE IF NOT EXISTS hitflow.results (
    row_id       bigint PRIMARY KEY REFERENCES hitflow.batch_rows (row_id),
    batch_id     uuid NOT NULL REFERENCES hitflow.batches (batch_id),
    person_id    text NOT NULL,
    image_url    text NOT NULL,
    hit_id       text NOT NULL,
    answers      integer NOT NULL,
    median_age   numeric(5, 1) NOT NULL,
    mad_years    numeric(5, 1) NOT NULL,
    agreement    boolean NOT NULL,
    ages         integer[] NOT NULL,
    computed_at  timestamptz NOT NULL DEFAULT now()
);

-- Workers hitflow blocked, and why (CreateWorkerBlock was called once for each).
CREATE TABLE IF NOT EXISTS hitflow.worker_blocks (
    worker_id       text PRIMARY KEY,
    reason          text NOT NULL,
    rejection_rate  numeric(5, 4) NOT NULL,
    assignments     integer NOT NULL,
    blocked_at      timestamptz NOT NULL DEFAULT now()
);

-- Chunks are row-ID ranges (no per-row chunk number to write); validation runs once per claim,
-- tracked by a watermark on the batch instead of a status flip on every row.
DROP INDEX IF EXISTS hitflow.batch_rows_batch_chunk_idx;
ALTER TABLE hitflow.batches ADD COLUMN IF NOT EXISTS validated_until timestamptz;

-- The version of this file last applied (written by hitflow.publish.store.apply_schema).
CREATE TABLE IF NOT EXISTS hitflow.schema_version (
    version     integer NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- The collection works through a batch in row ranges and closes HITs by their assignments' counts.
CREATE INDEX IF NOT EXISTS assignments_batch_row_idx ON hitflow.assignments (batch_id, row_id);
CREATE INDEX IF NOT EXISTS assignments_hit_idx ON hitflow.assignments (hit_id);

-- A review hitflow found already made on MTurk (auto-approval, a person, or a try that died before
-- writing its own call down) rather than made by its own call: a run's summary counts both kinds
-- from these records, across all the tries of the run.
ALTER TABLE hitflow.assignments ADD COLUMN IF NOT EXISTS review_found boolean NOT NULL DEFAULT false;

-- The latest report of each batch, so the Airflow UI (the hitflow plugin's /hitflow/reports) can
-- show it whichever worker wrote it.
CREATE TABLE IF NOT EXISTS hitflow.reports (
    batch_id    uuid PRIMARY KEY REFERENCES hitflow.batches (batch_id),
    html        text NOT NULL,
    written_at  timestamptz NOT NULL DEFAULT now()
);

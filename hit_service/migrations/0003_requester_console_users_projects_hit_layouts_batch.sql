-- requester console: users, projects (HIT layouts), batches and their rows
CREATE TABLE mturk.requester_users (             -- people who sign in to /requester
    user_id        text PRIMARY KEY,
    requester      text NOT NULL REFERENCES mturk.accounts ON DELETE CASCADE,
    name           text NOT NULL UNIQUE,
    password_hash  text NOT NULL,
    created_at     timestamptz NOT NULL
);
CREATE TABLE mturk.projects (                    -- a project is a HIT layout
    layout_id                    text PRIMARY KEY,
    requester                    text NOT NULL,
    name                         text NOT NULL,
    title                        text NOT NULL,
    description                  text NOT NULL,
    keywords                     text,
    reward                       numeric(12,2) NOT NULL,
    max_assignments              integer NOT NULL,
    assignment_duration_seconds  bigint NOT NULL,
    lifetime_seconds             bigint NOT NULL,
    auto_approval_delay_seconds  bigint NOT NULL,
    qualification_requirements   jsonb NOT NULL DEFAULT '[]',
    template                     text NOT NULL,
    sample_values                jsonb NOT NULL DEFAULT '{}',
    created_at                   timestamptz NOT NULL,
    updated_at                   timestamptz NOT NULL
);
CREATE INDEX projects_requester ON mturk.projects (requester, created_at);
CREATE TABLE mturk.batches (
    batch_id      bigserial PRIMARY KEY,         -- "BatchId:NNN;" in RequesterAnnotation
    requester     text NOT NULL,
    layout_id     text NOT NULL REFERENCES mturk.projects,
    name          text NOT NULL,
    status        text NOT NULL CHECK (status IN ('draft', 'publishing', 'published', 'stopped',
                                                  'cancelled')),
    file_name     text NOT NULL,
    file_sha256   text NOT NULL,
    variables     jsonb NOT NULL,                -- the CSV header, in order
    row_count     integer NOT NULL,
    properties    jsonb NOT NULL,                -- the project's HIT properties when uploaded
    hit_type_id   text,
    created_hits  integer NOT NULL DEFAULT 0,
    error         text,
    heartbeat     timestamptz,                   -- the publisher's last sign of life
    created_at    timestamptz NOT NULL,
    published_at  timestamptz,
    finished_at   timestamptz
);
CREATE INDEX batches_requester ON mturk.batches (requester, created_at);
CREATE INDEX batches_file ON mturk.batches (requester, file_sha256);
CREATE TABLE mturk.batch_rows (
    batch_id    bigint NOT NULL REFERENCES mturk.batches ON DELETE CASCADE,
    row_number  integer NOT NULL,                 -- 1 = the first data row
    "values"    jsonb NOT NULL,
    hit_id      text,
    PRIMARY KEY (batch_id, row_number)
);
CREATE INDEX batch_rows_hit ON mturk.batch_rows (hit_id);

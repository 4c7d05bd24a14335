-- requester keys, workers, assignments, bonuses, blocks, messages, qualifications, settings
ALTER TABLE mturk.accounts ADD COLUMN name text;
CREATE UNIQUE INDEX accounts_name ON mturk.accounts (name);
CREATE TABLE mturk.access_keys (
    access_key_id      text PRIMARY KEY,
    requester          text NOT NULL REFERENCES mturk.accounts ON DELETE CASCADE,
    secret_access_key  text NOT NULL,          -- SigV4 needs the secret itself (HMAC)
    source             text NOT NULL,          -- 'env', 'cli' or 'test'
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX access_keys_requester ON mturk.access_keys (requester);
CREATE TABLE mturk.service_settings (           -- e.g. the worker-session signing key
    name   text PRIMARY KEY,
    value  text NOT NULL
);
CREATE TABLE mturk.workers (
    worker_id            text PRIMARY KEY,
    name                 text NOT NULL UNIQUE,
    password_hash        text NOT NULL,
    locale_country       text NOT NULL DEFAULT 'US',
    locale_subdivision   text,
    created_at           timestamptz NOT NULL
);
ALTER TABLE mturk.hits ADD COLUMN assignments_submitted integer NOT NULL DEFAULT 0;
ALTER TABLE mturk.hits ADD COLUMN reviewing boolean NOT NULL DEFAULT false;
ALTER TABLE mturk.hits ADD COLUMN disposed_at timestamptz;
CREATE TABLE mturk.assignments (
    assignment_id       text PRIMARY KEY,
    hit_id              text NOT NULL REFERENCES mturk.hits,
    requester           text NOT NULL,
    worker_id           text NOT NULL REFERENCES mturk.workers,
    status              text NOT NULL CHECK (status IN
                        ('Accepted', 'Submitted', 'Approved', 'Rejected', 'Returned', 'Abandoned')),
    accept_time         timestamptz NOT NULL,
    deadline            timestamptz NOT NULL,
    submit_time         timestamptz,
    auto_approval_time  timestamptz,
    approval_time       timestamptz,
    rejection_time      timestamptz,
    answer              text,
    requester_feedback  text,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX assignments_hit ON mturk.assignments (hit_id, submit_time, assignment_id);
CREATE INDEX assignments_worker ON mturk.assignments (worker_id, accept_time);
CREATE INDEX assignments_due_abandon ON mturk.assignments (deadline) WHERE status = 'Accepted';
CREATE INDEX assignments_due_approve ON mturk.assignments (auto_approval_time) WHERE status = 'Submitted';
CREATE UNIQUE INDEX assignments_one_per_worker ON mturk.assignments (hit_id, worker_id)
    WHERE status NOT IN ('Returned', 'Abandoned');
CREATE TABLE mturk.op_tokens (                   -- UniqueRequestToken of other operations
    requester   text NOT NULL,
    operation   text NOT NULL,
    token       text NOT NULL,
    reference   text NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (requester, operation, token)
);
CREATE TABLE mturk.bonus_payments (
    bonus_id       bigserial PRIMARY KEY,
    requester      text NOT NULL,
    worker_id      text NOT NULL,
    assignment_id  text NOT NULL REFERENCES mturk.assignments,
    hit_id         text NOT NULL,
    amount         numeric(12,2) NOT NULL,
    fee            numeric(12,2) NOT NULL,
    reason         text NOT NULL,
    grant_time     timestamptz NOT NULL
);
CREATE INDEX bonus_assignment ON mturk.bonus_payments (assignment_id, bonus_id);
CREATE INDEX bonus_hit ON mturk.bonus_payments (hit_id, bonus_id);
CREATE INDEX bonus_worker ON mturk.bonus_payments (worker_id);
CREATE TABLE mturk.worker_blocks (
    requester   text NOT NULL,
    worker_id   text NOT NULL,
    reason      text NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (requester, worker_id)
);
CREATE TABLE mturk.messages (                    -- NotifyWorkers
    message_id  bigserial PRIMARY KEY,
    requester   text NOT NULL,
    worker_id   text NOT NULL REFERENCES mturk.workers,
    subject     text NOT NULL,
    body        text NOT NULL,
    sent_at     timestamptz NOT NULL
);
CREATE INDEX messages_worker ON mturk.messages (worker_id, sent_at);
CREATE TABLE mturk.qualification_types (
    qualification_type_id  text PRIMARY KEY,
    requester              text NOT NULL,
    name                   text NOT NULL,
    description            text NOT NULL,
    keywords               text,
    status                 text NOT NULL,   -- Active / Inactive
    retry_delay_seconds    bigint,
    test                   text,
    answer_key             text,
    test_duration_seconds  bigint,
    auto_granted           boolean NOT NULL DEFAULT false,
    auto_granted_value     integer,
    creation_time          timestamptz NOT NULL,
    deleted                boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX qualification_types_name ON mturk.qualification_types (requester, lower(name))
    WHERE NOT deleted;
CREATE TABLE mturk.qualifications (              -- a worker's score for a type
    qualification_type_id  text NOT NULL REFERENCES mturk.qualification_types,
    worker_id              text NOT NULL,
    integer_value          integer,
    locale_country         text,
    locale_subdivision     text,
    status                 text NOT NULL,   -- Granted / Revoked
    grant_time             timestamptz NOT NULL,
    PRIMARY KEY (qualification_type_id, worker_id)
);
CREATE TABLE mturk.qualification_requests (
    qualification_request_id  text PRIMARY KEY,
    qualification_type_id     text NOT NULL REFERENCES mturk.qualification_types,
    requester                 text NOT NULL,
    worker_id                 text NOT NULL,
    test                      text,
    answer                    text,
    status                    text NOT NULL,  -- Pending / Approved / Rejected
    reason                    text,
    submit_time               timestamptz NOT NULL,
    decided_at                timestamptz
);
CREATE INDEX qualification_requests_type ON mturk.qualification_requests (qualification_type_id, submit_time);
CREATE TABLE mturk.notification_settings (
    hit_type_id   text PRIMARY KEY REFERENCES mturk.hit_types,
    requester     text NOT NULL,
    notification  jsonb,
    active        boolean,
    updated_at    timestamptz NOT NULL
);

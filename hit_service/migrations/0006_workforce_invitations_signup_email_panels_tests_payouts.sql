-- workforce: invitations, sign-ups, e-mail, panel links, qualification tests, payouts
CREATE TABLE mturk.invitations (                -- a link that lets people make a worker account
    invitation_id  text PRIMARY KEY,
    token_hash     text NOT NULL UNIQUE,         -- SHA-256 of the link's secret part
    requester      text REFERENCES mturk.accounts ON DELETE CASCADE,  -- NULL: made by the operator
    label          text NOT NULL DEFAULT '',
    max_uses       integer CHECK (max_uses > 0),
    uses           integer NOT NULL DEFAULT 0,
    expires_at     timestamptz,
    grants         jsonb NOT NULL DEFAULT '[]',  -- [{"type": QualificationTypeId, "value": int}]
    revoked        boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL
);
CREATE TABLE mturk.worker_profiles (             -- what the workforce adds to a worker account
    worker_id       text PRIMARY KEY REFERENCES mturk.workers ON DELETE CASCADE,
    email           text,
    email_verified  boolean NOT NULL DEFAULT false,
    email_opt_out   boolean NOT NULL DEFAULT false,
    joined_by       text NOT NULL DEFAULT 'operator',  -- 'invitation:<id>', 'signup', 'panel'
    panel_pid       text UNIQUE                        -- set for a panel participant's account
);
CREATE UNIQUE INDEX worker_profiles_email ON mturk.worker_profiles (lower(email))
    WHERE email_verified;
CREATE TABLE mturk.signup_requests (             -- open sign-up waiting for the operator
    request_id     text PRIMARY KEY,
    name           text NOT NULL,
    password_hash  text NOT NULL,
    email          text,
    status         text NOT NULL DEFAULT 'Pending',  -- Pending / Approved / Rejected
    created_at     timestamptz NOT NULL,
    decided_at     timestamptz
);
CREATE UNIQUE INDEX signup_requests_pending_name ON mturk.signup_requests (lower(name))
    WHERE status = 'Pending';
CREATE TABLE mturk.email_tokens (                -- e-mail verification and password-reset links
    token_hash  text PRIMARY KEY,
    worker_id   text NOT NULL REFERENCES mturk.workers ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('verify', 'reset')),
    email       text NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE TABLE mturk.email_log (                   -- every message the service tried to send
    email_id    bigserial PRIMARY KEY,
    worker_id   text,
    kind        text NOT NULL,                   -- verify / reset / notify
    status      text NOT NULL,                   -- sent / failed / off
    detail      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL
);
CREATE TABLE mturk.panel_links (                 -- a HIT group published as a panel study URL
    link_id          text PRIMARY KEY,
    requester        text NOT NULL REFERENCES mturk.accounts ON DELETE CASCADE,
    hit_group_id     text NOT NULL,
    completion_url   text NOT NULL,
    completion_code  text NOT NULL,
    created_at       timestamptz NOT NULL
);
CREATE TABLE mturk.panel_visits (                -- one arrival of a participant (a panel session)
    link_id        text NOT NULL REFERENCES mturk.panel_links ON DELETE CASCADE,
    panel_pid      text NOT NULL,
    worker_id      text NOT NULL REFERENCES mturk.workers ON DELETE CASCADE,
    study_id       text NOT NULL DEFAULT '',
    session_id     text NOT NULL DEFAULT '',
    assignment_id  text,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (link_id, panel_pid)
);
CREATE TABLE mturk.qualification_tests (         -- a worker's attempt at a type's Test
    attempt_id             text PRIMARY KEY,
    qualification_type_id  text NOT NULL REFERENCES mturk.qualification_types,
    worker_id              text NOT NULL REFERENCES mturk.workers ON DELETE CASCADE,
    started_at             timestamptz NOT NULL,
    deadline               timestamptz NOT NULL,
    submitted_at           timestamptz,
    score                  integer
);
CREATE INDEX qualification_tests_worker ON mturk.qualification_tests (worker_id, qualification_type_id);
CREATE TABLE mturk.payout_runs (
    payout_id   bigserial PRIMARY KEY,
    created_at  timestamptz NOT NULL,
    total       numeric(14,2) NOT NULL,
    lines       integer NOT NULL
);
CREATE TABLE mturk.payout_items (                -- one approved reward or bonus, paid in one run
    payout_id      bigint NOT NULL REFERENCES mturk.payout_runs,
    item           text NOT NULL UNIQUE,         -- 'a:<AssignmentId>' or 'b:<bonus_id>': paid once
    worker_id      text NOT NULL,
    requester      text NOT NULL,
    amount         numeric(12,2) NOT NULL
);
CREATE INDEX payout_items_worker ON mturk.payout_items (worker_id);

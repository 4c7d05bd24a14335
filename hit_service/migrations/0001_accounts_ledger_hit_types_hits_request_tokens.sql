-- accounts, ledger, hit types, hits, request tokens
CREATE TABLE mturk.accounts (
    requester   text PRIMARY KEY,              -- the SigV4 access key ID, or 'local'
    balance     numeric(12,2) NOT NULL CHECK (balance >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE mturk.ledger (                     -- every change of a balance
    entry_id       bigserial PRIMARY KEY,
    requester      text NOT NULL REFERENCES mturk.accounts,
    amount         numeric(12,2) NOT NULL,     -- negative: money spent
    kind           text NOT NULL,              -- 'hit'; later 'bonus', 'refund', ...
    hit_id         text,
    assignment_id  text,
    created_at     timestamptz NOT NULL
);
CREATE INDEX ledger_requester_created ON mturk.ledger (requester, created_at);
CREATE TABLE mturk.hit_types (
    hit_type_id                  text PRIMARY KEY,
    requester                    text NOT NULL,
    properties_hash              text NOT NULL,
    hit_group_id                 text NOT NULL,
    title                        text NOT NULL,
    description                  text NOT NULL,
    keywords                     text,
    reward                       numeric(12,2) NOT NULL,
    assignment_duration_seconds  bigint NOT NULL,
    auto_approval_delay_seconds  bigint NOT NULL,
    qualification_requirements   jsonb NOT NULL DEFAULT '[]',
    created_at                   timestamptz NOT NULL,
    UNIQUE (requester, properties_hash)
);
CREATE TABLE mturk.hits (
    hit_id                       text PRIMARY KEY,
    hit_type_id                  text NOT NULL REFERENCES mturk.hit_types,
    requester                    text NOT NULL,
    hit_group_id                 text NOT NULL,
    title                        text NOT NULL,
    description                  text NOT NULL,
    keywords                     text,
    reward                       numeric(12,2) NOT NULL,
    assignment_duration_seconds  bigint NOT NULL,
    auto_approval_delay_seconds  bigint NOT NULL,
    qualification_requirements   jsonb NOT NULL DEFAULT '[]',
    max_assignments              integer NOT NULL CHECK (max_assignments >= 1),
    lifetime_seconds             bigint NOT NULL,
    creation_time                timestamptz NOT NULL,
    expiration                   timestamptz NOT NULL,
    status                       text NOT NULL DEFAULT 'Assignable' CHECK (status IN
                                 ('Assignable', 'Unassignable', 'Reviewable', 'Reviewing',
                                  'Disposed')),
    review_status                text NOT NULL DEFAULT 'NotReviewed',
    question_kind                text NOT NULL,  -- HTMLQuestion/ExternalQuestion/QuestionForm/Layout
    question                     text NOT NULL,  -- as sent; for a layout HIT the rendered HTMLQuestion
    layout_id                    text,
    layout_parameters            jsonb,          -- [{"Name": ..., "Value": ...}] as sent
    requester_annotation         text,
    assignment_review_policy     jsonb,
    hit_review_policy            jsonb,
    unique_request_token         text,
    cost                         numeric(12,2) NOT NULL,  -- debited at creation
    assignments_pending          integer NOT NULL DEFAULT 0,
    assignments_completed        integer NOT NULL DEFAULT 0,
    updated_at                   timestamptz NOT NULL
);
CREATE INDEX hits_requester_created ON mturk.hits (requester, creation_time, hit_id);
CREATE INDEX hits_created ON mturk.hits (creation_time, hit_id);
CREATE INDEX hits_hit_type ON mturk.hits (hit_type_id);
CREATE TABLE mturk.request_tokens (             -- UniqueRequestToken, 24-hour window
    requester   text NOT NULL,
    token       text NOT NULL,
    hit_id      text NOT NULL REFERENCES mturk.hits DEFERRABLE INITIALLY DEFERRED,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (requester, token)
);

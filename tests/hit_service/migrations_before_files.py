"""The service's schema as it was shipped before the migration files: a numbered Python list
(copied verbatim from ``hit_service/core/store.py`` at the last commit that had it). Databases made
by that code must upgrade cleanly; ``test_migrations`` checks it against this copy."""

OLD_MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "accounts, ledger, hit types, hits, request tokens",
        """
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
        """,
    ),
    (
        2,
        "requester keys, workers, assignments, bonuses, blocks, messages, qualifications, settings",
        """
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
        """,
    ),
    (
        3,
        "requester console: users, projects (HIT layouts), batches and their rows",
        """
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
        """,
    ),
    (
        4,
        "sessions on the server, sign-in failures",
        """
        CREATE TABLE mturk.sessions (                    -- a signed cookie names one row; sign-out deletes it
            session_hash  text PRIMARY KEY,              -- SHA-256 of the cookie's random part
            subject       text NOT NULL,                 -- a worker ID, or 'requester:' + a console user ID
            created_at    timestamptz NOT NULL,
            expires_at    timestamptz NOT NULL
        );
        CREATE INDEX sessions_subject ON mturk.sessions (subject);
        CREATE TABLE mturk.signin_failures (            -- throttling: 'worker:<name>', 'operator', 'addr:<ip>', …
            key            text PRIMARY KEY,
            failures       integer NOT NULL,
            last_failure   timestamptz NOT NULL,
            blocked_until  timestamptz NOT NULL
        );
        """,
    ),
]

-- sessions on the server, sign-in failures
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

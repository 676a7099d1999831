-- Access control: people, their login sessions, API tokens, and the audit trail.
CREATE TABLE users (
    name                 TEXT PRIMARY KEY,
    -- An argon2id PHC string; never the password.
    password_hash        TEXT NOT NULL,
    role                 TEXT NOT NULL,
    must_change_password BIGINT NOT NULL DEFAULT 0,
    created_at           BIGINT NOT NULL,
    password_changed_at  BIGINT NOT NULL
);
-- Only the SHA-256 of the cookie's value is kept: a copy of the database opens no session.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_name  TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    source     TEXT
);
CREATE INDEX sessions_user ON sessions (user_name);
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    -- The user it acts for (its role is capped by theirs), or NULL for a service.
    owner        TEXT,
    role         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    auth_method TEXT NOT NULL,
    source      TEXT,
    action      TEXT NOT NULL,
    target      TEXT,
    outcome     TEXT NOT NULL,
    detail      TEXT
);
CREATE INDEX audit_log_at ON audit_log (at, id);
-- Append-only: no statement of nightwatch changes or removes an entry, and neither can anyone
-- with a SQL prompt without first dropping these triggers.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
-- What the model cost lately (the spend ceiling): only the model's answers are indexed, so
-- other events cost nothing more to append.
CREATE INDEX incident_events_llm_at ON incident_events (at) WHERE kind = 'llm_response';

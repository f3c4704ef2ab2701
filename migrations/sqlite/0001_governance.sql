-- Governance core: principals and tokens, the alert lifecycle, recommendations, change requests
-- with their approvals, review records, the policies in force, and the hash-chained audit log.
-- Times are epoch microseconds (UTC) in INTEGER columns.

CREATE TABLE principals (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('human', 'ai')),
    roles TEXT NOT NULL DEFAULT '[]',
    component TEXT CHECK (component IS NULL OR component IN ('scorer', 'triage')),
    created_at INTEGER NOT NULL
);

-- A token is looked up by its non-secret id; only the Argon2id PHC hash of its secret is kept.
CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    principal_id INTEGER NOT NULL REFERENCES principals (id),
    phc TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);

CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    uid TEXT,
    src TEXT NOT NULL,
    dst TEXT NOT NULL,
    port INTEGER,
    protocol TEXT,
    service TEXT,
    score REAL NOT NULL,
    reasons TEXT NOT NULL DEFAULT '[]',
    asset_context TEXT NOT NULL DEFAULT '{}',
    attack_technique TEXT,
    detector TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES principals (id),
    created_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX alerts_by_status ON alerts (status, id);

CREATE TABLE triage_annotations (
    id INTEGER PRIMARY KEY,
    alert_id INTEGER NOT NULL REFERENCES alerts (id),
    principal_id INTEGER NOT NULL REFERENCES principals (id),
    recommendation TEXT NOT NULL,
    summary TEXT NOT NULL,
    confidence REAL,
    created_at INTEGER NOT NULL
);
CREATE INDEX triage_by_alert ON triage_annotations (alert_id, id);

CREATE TABLE alert_decisions (
    id INTEGER PRIMARY KEY,
    alert_id INTEGER NOT NULL REFERENCES alerts (id),
    principal_id INTEGER NOT NULL REFERENCES principals (id),
    decision TEXT NOT NULL,
    justification TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX decisions_by_alert ON alert_decisions (alert_id, id);
CREATE INDEX decisions_by_kind ON alert_decisions (decision, created_at);

CREATE TABLE recommendations (
    id INTEGER PRIMARY KEY,
    alert_id INTEGER REFERENCES alerts (id),
    principal_id INTEGER NOT NULL REFERENCES principals (id),
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    proposed_value TEXT NOT NULL,
    rationale TEXT NOT NULL,
    status TEXT NOT NULL,
    decided_by INTEGER REFERENCES principals (id),
    decided_at INTEGER,
    justification TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE change_requests (
    id INTEGER PRIMARY KEY,
    action TEXT NOT NULL,
    proposed_value TEXT NOT NULL,
    reason TEXT NOT NULL,
    requested_by INTEGER NOT NULL REFERENCES principals (id),
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    applied_at INTEGER
);

-- One approval per person and one per role on each request: two distinct people, two roles.
CREATE TABLE approvals (
    id INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES change_requests (id),
    principal_id INTEGER NOT NULL REFERENCES principals (id),
    role TEXT NOT NULL,
    channel TEXT NOT NULL,
    note TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (request_id, principal_id),
    UNIQUE (request_id, role)
);

CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE reviews (
    id INTEGER PRIMARY KEY,
    trigger_event TEXT NOT NULL,
    detail TEXT NOT NULL,
    opened_by TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    dedupe_key TEXT UNIQUE
);

CREATE TABLE policies (
    sha256 TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    system_id TEXT NOT NULL,
    text TEXT NOT NULL,
    first_loaded_at INTEGER NOT NULL
);

CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    entry TEXT NOT NULL,
    hash TEXT NOT NULL
);

-- Defence in depth: the application never updates or deletes audit rows, and SQLite refuses to.
-- Someone with the file can drop these triggers; the hash chain then shows what they changed.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

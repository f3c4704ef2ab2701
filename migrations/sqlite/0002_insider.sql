-- Governance against an insider (issue 14): API tokens are kept as a SHA-256 digest of their
-- 256-bit secret (the Argon2id hashes of issue 5 no longer verify: issue new tokens); people
-- enroll themselves with a one-time code and a passphrase only they know; change requests can be
-- withdrawn or expire, and approvals carry the evidence their channel verified.

ALTER TABLE tokens RENAME COLUMN phc TO digest;

-- The Argon2id PHC string of the passphrase the person chose when redeeming their enrollment.
ALTER TABLE principals ADD COLUMN passphrase_phc TEXT;

-- One-time enrollment codes: looked up by a non-secret id, only the secret's SHA-256 is kept.
CREATE TABLE enrollments (
    id TEXT PRIMARY KEY,
    principal_id INTEGER NOT NULL REFERENCES principals (id),
    digest TEXT NOT NULL,
    issued_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    redeemed_at INTEGER
);

ALTER TABLE change_requests ADD COLUMN expires_at INTEGER;
ALTER TABLE change_requests ADD COLUMN closed_at INTEGER;

-- Out-of-band confirmation codes shown to the requester, one per approval needed; each is read
-- back by one approver and then spent.
CREATE TABLE approval_codes (
    id INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES change_requests (id),
    digest TEXT NOT NULL,
    used_by INTEGER REFERENCES principals (id),
    used_at INTEGER
);

ALTER TABLE approvals ADD COLUMN evidence TEXT;

-- Finding the signing key the log adopted without scanning every entry.
CREATE INDEX audit_by_action ON audit_log (json_extract(entry, '$.action'));

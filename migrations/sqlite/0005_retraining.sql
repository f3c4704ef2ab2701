-- Governed retraining (issue 12): security incidents, which block a retrain while open and
-- taint the data around them until a person reviews it, and the record of every retrain run.
-- Wall-clock times are epoch microseconds (UTC); log times (`started_ts`, `ended_ts`, the
-- training window) are epoch microseconds of Zeek `ts`.

CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    -- The incident's activity in log time: from its first record to its last (set at closure).
    started_ts INTEGER NOT NULL,
    ended_ts INTEGER,
    -- JSON array of the ids of the alerts that belong to the incident.
    alerts TEXT NOT NULL DEFAULT '[]',
    opened_by TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    closed_by TEXT,
    closed_at INTEGER,
    closure_note TEXT,
    -- The manual review of the data around the incident, which lifts post_incident_window.
    data_reviewed_by TEXT,
    data_reviewed_at INTEGER,
    data_review_note TEXT,
    -- JSON: the canary set kept from the incident's records (files with their SHA-256).
    canary TEXT,
    CHECK (status = 'open' OR (ended_ts IS NOT NULL AND closed_by IS NOT NULL AND closed_at IS NOT NULL))
);

-- One row per retrain run: every field the retraining policy's logging lists, and what else the
-- provenance requirements ask for. A change request authorises one run only.
CREATE TABLE retrain_runs (
    id INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL UNIQUE REFERENCES change_requests (id),
    model_version_id INTEGER NOT NULL REFERENCES model_versions (id),
    timestamp TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    approval_ticket_id TEXT NOT NULL,
    training_window_start TEXT NOT NULL,
    training_window_end TEXT NOT NULL,
    training_dataset_sha256 TEXT NOT NULL,
    previous_model_sha256 TEXT NOT NULL,
    new_model_sha256 TEXT NOT NULL,
    adversarial_test_result TEXT NOT NULL,
    -- Hex ed25519 signature over the model's digest manifest (which holds the dataset SHA-256),
    -- and the public key that made it.
    dataset_signature TEXT,
    signing_key TEXT,
    -- JSON: data sources with their digests, anomaly alerts and incidents in the window.
    provenance TEXT NOT NULL
);

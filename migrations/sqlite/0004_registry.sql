-- The model registry (issue 12): every model version with its digest, parent, training
-- provenance, certification result and stage, and the baseline-diff items a person must
-- acknowledge before a candidate may replace production. Times are epoch microseconds (UTC).

CREATE TABLE model_versions (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    parent_id INTEGER REFERENCES model_versions (id),
    path TEXT NOT NULL,
    -- JSON: window, sources and their digests, dataset digest, counts (from the model manifest).
    provenance TEXT NOT NULL,
    stage TEXT NOT NULL CHECK (stage IN ('candidate', 'staging', 'production', 'archived')),
    stage_since INTEGER NOT NULL,
    -- JSON: the certification report of this exact artifact, and whether it passed.
    certification TEXT,
    certified INTEGER CHECK (certified IS NULL OR certified IN (0, 1)),
    registered_by TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    stage_changed_by TEXT NOT NULL
);
-- At most one production model at any time.
CREATE UNIQUE INDEX one_production_model ON model_versions (stage) WHERE stage = 'production';

CREATE TABLE model_diff_items (
    id INTEGER PRIMARY KEY,
    version_id INTEGER NOT NULL REFERENCES model_versions (id),
    against_id INTEGER NOT NULL REFERENCES model_versions (id),
    kind TEXT NOT NULL,
    item TEXT NOT NULL,
    acknowledged_by TEXT,
    justification TEXT,
    acknowledged_at INTEGER,
    UNIQUE (version_id, against_id, kind, item)
);

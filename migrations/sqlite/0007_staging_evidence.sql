-- The staging evidence of a model version (issue 12): how long it scored live traffic beside
-- production in `watch --staging`, how many records, and its would-be alerts counted next to
-- what production alerted on the same records, per log day, detector, rule and severity.
-- Written only while the version is in stage staging; promotion reads it. Wall-clock times are
-- epoch microseconds (UTC); `day` is the UTC date of the alert's first record (log time).

CREATE TABLE model_staging_runs (
    version_id INTEGER PRIMARY KEY REFERENCES model_versions (id),
    first_scored_at INTEGER NOT NULL,
    last_scored_at INTEGER NOT NULL,
    -- Wall-clock time the candidate ran beside production, summed over every watch session.
    scored_micros INTEGER NOT NULL CHECK (scored_micros >= 0),
    records INTEGER NOT NULL CHECK (records >= 0),
    rows_scored INTEGER NOT NULL CHECK (rows_scored >= 0),
    -- The production model it last ran beside.
    production_sha256 TEXT NOT NULL
);

CREATE TABLE model_staging_counts (
    id INTEGER PRIMARY KEY,
    version_id INTEGER NOT NULL REFERENCES model_versions (id),
    day TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('staging', 'production')),
    detector TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    alerts INTEGER NOT NULL CHECK (alerts >= 0),
    UNIQUE (version_id, day, side, detector, rule, severity)
);

"""The scikit-learn pipeline otsentry is compared against, on a Zeek conn.log.

pandas read_csv of the TSV (columns from the #fields header), LabelEncoder on the categorical
columns, IsolationForest(n_estimators=200, contamination=0.001, random_state=42, n_jobs=-1)
fitted on every row, then score_samples on every row. Prints one JSON line with the timings.
"""

import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.preprocessing import LabelEncoder

CATEGORICAL = ["id.orig_h", "id.resp_h", "proto", "service", "conn_state"]
NUMERIC = ["id.resp_p", "duration", "orig_bytes", "resp_bytes", "orig_pkts", "resp_pkts"]


def fields_of(path):
    with open(path) as log:
        for line in log:
            if line.startswith("#fields"):
                return line.rstrip("\n").split("\t")[1:]
            if not line.startswith("#"):
                break
    raise SystemExit(f"{path}: no #fields header")


def main(path):
    started = time.perf_counter()
    frame = pd.read_csv(
        path,
        sep="\t",
        comment="#",
        header=None,
        names=fields_of(path),
        na_values=["-"],
        low_memory=False,
    )
    read_s = time.perf_counter() - started
    columns = []
    for name in CATEGORICAL:
        columns.append(LabelEncoder().fit_transform(frame[name].astype(str)))
    for name in NUMERIC:
        columns.append(pd.to_numeric(frame[name], errors="coerce").fillna(0).to_numpy())
    features = np.column_stack(columns).astype(np.float32)
    encode_s = time.perf_counter() - started - read_s
    forest = IsolationForest(
        n_estimators=200, contamination=0.001, random_state=42, n_jobs=-1
    ).fit(features)
    fit_s = time.perf_counter() - started - read_s - encode_s
    scores = forest.score_samples(features)
    score_s = time.perf_counter() - started - read_s - encode_s - fit_s
    flagged = int((scores - forest.offset_ < 0).sum())
    print(
        json.dumps(
            {
                "rows": len(frame),
                "read_s": read_s,
                "encode_s": encode_s,
                "fit_s": fit_s,
                "score_s": score_s,
                "total_s": time.perf_counter() - started,
                "flagged": flagged,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])

"""Runs scikit-learn's IsolationForest on every NAME.csv.gz in a directory and stores what the
Rust parity tests compare against: per dataset the ROC AUC (seed 42 and the mean over ten seeds),
offset_, timings, and score_samples for all rows (or a fixed subsample of large sets, to keep the
stored file small).

Usage: reference.py DATA_DIR OUT_FILE.json.gz
"""

import gzip
import json
import pathlib
import sys
import time

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

# The same parameters as otsentry's defaults (crates/iforest ForestParams::default()).
PARAMS = dict(
    n_estimators=200,
    max_samples="auto",
    contamination=0.001,
    max_features=1.0,
    bootstrap=False,
)
SEEDS = list(range(42, 52))
# Datasets with more rows than this store scores for a fixed random subsample of rows only.
MAX_STORED_ROWS = 4000


def round_list(values, digits=6):
    return [round(float(v), digits) for v in values]


def run_dataset(path):
    frame = pd.read_csv(path)
    feature_columns = [c for c in frame.columns if c != "label"]
    x = frame[feature_columns].to_numpy(dtype=np.float64)
    y = frame["label"].to_numpy(dtype=np.int64)
    n_rows = x.shape[0]

    if n_rows > MAX_STORED_ROWS:
        rows_index = np.sort(np.random.RandomState(0).choice(n_rows, MAX_STORED_ROWS, replace=False))
    else:
        rows_index = np.arange(n_rows)

    aucs, offsets, fit_ms, score_ms = [], [], [], []
    score_sum = np.zeros(len(rows_index))
    scores_seed42 = None
    for seed in SEEDS:
        model = IsolationForest(random_state=seed, n_jobs=-1, **PARAMS)
        started = time.perf_counter()
        model.fit(x)
        fitted = time.perf_counter()
        scores = model.score_samples(x)
        scored = time.perf_counter()
        fit_ms.append((fitted - started) * 1000.0)
        score_ms.append((scored - fitted) * 1000.0)
        # score_samples is high for normal rows; AUC wants high for the positive (outlier) class.
        aucs.append(roc_auc_score(y, -scores))
        offsets.append(float(model.offset_))
        score_sum += scores[rows_index]
        if seed == 42:
            scores_seed42 = scores[rows_index]

    return {
        "rows": int(n_rows),
        "features": len(feature_columns),
        "outliers": int(y.sum()),
        "auc_seed42": round(aucs[0], 6),
        "auc_mean": round(float(np.mean(aucs)), 6),
        "auc_std": round(float(np.std(aucs)), 6),
        "offset_seed42": round(offsets[0], 6),
        "offset_mean": round(float(np.mean(offsets)), 6),
        "fit_ms_median": round(float(np.median(fit_ms)), 1),
        "score_ms_median": round(float(np.median(score_ms)), 1),
        "rows_index": [int(i) for i in rows_index],
        "score_samples_seed42": round_list(scores_seed42),
        "score_samples_mean": round_list(score_sum / len(SEEDS)),
    }


def main():
    data_dir = pathlib.Path(sys.argv[1])
    out_file = pathlib.Path(sys.argv[2])
    datasets = {}
    for path in sorted(data_dir.glob("*.csv.gz")):
        name = path.name[: -len(".csv.gz")]
        started = time.perf_counter()
        datasets[name] = run_dataset(path)
        summary = datasets[name]
        print(
            f"{name} auc_seed42={summary['auc_seed42']:.4f} auc_mean={summary['auc_mean']:.4f} "
            f"auc_std={summary['auc_std']:.4f} offset={summary['offset_seed42']:.4f} "
            f"rows={summary['rows']} ({time.perf_counter() - started:.1f} s)",
            flush=True,
        )
    document = {
        "generator": "scripts/sklearn_reference/reference.py",
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "pandas_version": pd.__version__,
        "params": PARAMS,
        "seeds": SEEDS,
        "max_stored_rows": MAX_STORED_ROWS,
        "datasets": datasets,
    }
    # mtime=0 keeps the gzip bytes identical between runs with identical results.
    with open(out_file, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(json.dumps(document, indent=None, separators=(",", ":")).encode())


if __name__ == "__main__":
    main()

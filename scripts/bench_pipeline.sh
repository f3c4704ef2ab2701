#!/usr/bin/env bash
# End-to-end benchmark: scikit-learn's pipeline and otsentry's on the same generated conn.log.
#
# Usage: scripts/bench_pipeline.sh [ROWS] [WORK_DIR]
#   ROWS      conn.log rows to generate (default 5000000)
#   WORK_DIR  where the log, model and measurements go (default target/bench_pipeline)
# Environment:
#   LAYOUT=polls|plant2    the generator's layout (scripts/gen_conn_log.py; default polls)
#   OTSENTRY_FOREST_PATH=plain|avx2|avx512|auto, OTSENTRY_FOREST_CACHE=auto|on|off
#                          force otsentry's scoring path (the one that ran is printed)
#   REPEAT=N               otsentry runs per command (default 3, the median is reported)
#   SKIP_SKLEARN=1         otsentry only (to compare its own paths without a 2-minute run)
#
# scikit-learn: pandas read_csv, LabelEncoder on the categoricals, IsolationForest(n_estimators=200,
# contamination=0.001, random_state=42, n_jobs=-1), score_samples, in its own virtualenv.
# otsentry: `otsentry train` then `otsentry score` (release build), each the median of REPEAT runs
# (default 3). Prints wall time and peak memory (/usr/bin/time -v) of both, and the ratios. Not a
# test: run it by hand.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
rows="${1:-5000000}"
work="${2:-$repo/target/bench_pipeline}"
mkdir -p "$work"
layout="${LAYOUT:-polls}"
log="$work/conn-$layout.log"

if [ -z "${SKIP_SKLEARN:-}" ]; then
    if [ ! -d "$here/.bench-venv" ]; then
        python3 -m venv "$here/.bench-venv"
    fi
    "$here/.bench-venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/bench_requirements.txt"
fi

if [ ! -f "$log" ] || [ "$(grep -vc '^#' "$log")" != "$rows" ]; then
    echo "generating $rows conn.log rows ($layout layout) in $log"
    python3 "$here/gen_conn_log.py" "$log" "$rows" "$layout"
fi
(cd "$repo" && cargo build --release --quiet)
bin="$repo/target/release/otsentry"

measure() { # name, command...: runs it under /usr/bin/time -v, prints "seconds peak_kib cpu_seconds"
    local name="$1"
    shift
    /usr/bin/time -v "$@" >"$work/$name.out" 2>"$work/$name.time"
    local wall peak cpu
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/$name.time" |
        awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
    peak=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/$name.time")
    cpu=$(awk -F': ' '/User time|System time/ {sum += $2} END {print sum}' "$work/$name.time")
    echo "$wall $peak $cpu"
}

if [ -n "${SKIP_SKLEARN:-}" ]; then
    echo "scikit-learn pipeline skipped (SKIP_SKLEARN)"
    sk_s=0 sk_kib=1 sk_cpu=0
    echo '{"read_s": 0, "encode_s": 0, "fit_s": 0, "score_s": 0}' >"$work/sklearn.out"
else
    echo "scikit-learn pipeline ..."
    read -r sk_s sk_kib sk_cpu < <(measure sklearn "$here/.bench-venv/bin/python" "$here/bench_pipeline_sklearn.py" "$log")
fi
# otsentry's runs are short, so a neighbour's burst moves them a lot: each command runs
# $REPEAT times (default 3) and the run with the median wall time is reported.
median_run() { # name, command...: prints the "seconds peak_kib cpu_seconds" of the median run
    local name="$1"
    shift
    for _ in $(seq "${REPEAT:-3}"); do
        measure "$name" "$@"
    done | sort -n | awk '{ line[NR] = $0 } END { print line[int((NR + 1) / 2)] }'
}
echo "otsentry train (${REPEAT:-3} runs) ..."
read -r tr_s tr_kib tr_cpu < <(median_run train "$bin" train --log "$log" --out "$work/bench-$layout.model")
echo "otsentry score (${REPEAT:-3} runs) ..."
read -r sc_s sc_kib sc_cpu < <(median_run score "$bin" score --log "$log" --model "$work/bench-$layout.model" --format csv)

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews wall times; CPU times less so)"
# `otsentry train` names the walk that scored (its offset sample); `score` uses the same one.
path=$(awk -F'┆' '/scoring path/ { gsub(/^[ │]+|[ │]+$/, "", $2); print $2 }' "$work/train.out")
echo "layout: $layout, scoring path: ${path:-unknown}, CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(grep -o -w 'avx512f\|avx2' /proc/cpuinfo | sort -u | xargs)"
python3 - "$rows" "$sk_s" "$sk_kib" "$tr_s" "$tr_kib" "$sc_s" "$sc_kib" "$sk_cpu" "$tr_cpu" "$sc_cpu" "$work/sklearn.out" <<'PY'
import json, sys
rows, sk_s, sk_kib, tr_s, tr_kib, sc_s, sc_kib, sk_cpu, tr_cpu, sc_cpu = (float(v) for v in sys.argv[1:11])
detail = json.loads(open(sys.argv[11]).read().strip().splitlines()[-1])
ours_s = tr_s + sc_s
ours_kib = max(tr_kib, sc_kib)
print(f"rows: {int(rows):,}")
if sk_s > 0:
    print(f"scikit-learn: {sk_s:8.1f} s  peak {sk_kib / 1024:8.0f} MiB  "
          f"(read {detail['read_s']:.1f} s, encode {detail['encode_s']:.1f} s, fit {detail['fit_s']:.1f} s, score {detail['score_s']:.1f} s)")
print(f"otsentry:     {ours_s:8.1f} s  peak {ours_kib / 1024:8.0f} MiB  (train {tr_s:.1f} s / {tr_kib / 1024:.0f} MiB, score {sc_s:.1f} s / {sc_kib / 1024:.0f} MiB)")
print(f"CPU time: scikit-learn {sk_cpu:.1f} s, otsentry {tr_cpu + sc_cpu:.1f} s (train {tr_cpu:.1f} s, score {sc_cpu:.1f} s)")
if sk_s > 0:
    print(f"speed-up: {sk_s / max(ours_s, 1e-9):.1f}x wall, {sk_cpu / max(tr_cpu + sc_cpu, 1e-9):.1f}x CPU   memory: {ours_kib / sk_kib:.3f} of scikit-learn's peak")
print(f"otsentry end to end: {rows / max(ours_s, 1e-9) / 1e6:.2f} M rows/s over train + score; score alone {rows / max(sc_s, 1e-9) / 1e6:.2f} M rows/s")
PY

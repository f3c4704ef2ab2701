#!/usr/bin/env bash
# End-to-end benchmark: scikit-learn's pipeline and otsentry's on the same generated conn.log.
#
# Usage: scripts/bench_pipeline.sh [ROWS] [WORK_DIR]
#   ROWS      conn.log rows to generate (default 5000000)
#   WORK_DIR  where the log, model and measurements go (default target/bench_pipeline)
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
log="$work/conn.log"

if [ ! -d "$here/.bench-venv" ]; then
    python3 -m venv "$here/.bench-venv"
fi
"$here/.bench-venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/bench_requirements.txt"

if [ ! -f "$log" ] || [ "$(grep -vc '^#' "$log")" != "$rows" ]; then
    echo "generating $rows conn.log rows in $log"
    python3 "$here/gen_conn_log.py" "$log" "$rows"
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

echo "scikit-learn pipeline ..."
read -r sk_s sk_kib sk_cpu < <(measure sklearn "$here/.bench-venv/bin/python" "$here/bench_pipeline_sklearn.py" "$log")
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
read -r tr_s tr_kib tr_cpu < <(median_run train "$bin" train --log "$log" --out "$work/bench.model")
echo "otsentry score (${REPEAT:-3} runs) ..."
read -r sc_s sc_kib sc_cpu < <(median_run score "$bin" score --log "$log" --model "$work/bench.model" --format csv)

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews wall times; CPU times less so)"
python3 - "$rows" "$sk_s" "$sk_kib" "$tr_s" "$tr_kib" "$sc_s" "$sc_kib" "$sk_cpu" "$tr_cpu" "$sc_cpu" "$work/sklearn.out" <<'PY'
import json, sys
rows, sk_s, sk_kib, tr_s, tr_kib, sc_s, sc_kib, sk_cpu, tr_cpu, sc_cpu = (float(v) for v in sys.argv[1:11])
detail = json.loads(open(sys.argv[11]).read().strip().splitlines()[-1])
ours_s = tr_s + sc_s
ours_kib = max(tr_kib, sc_kib)
print(f"rows: {int(rows):,}")
print(f"scikit-learn: {sk_s:8.1f} s  peak {sk_kib / 1024:8.0f} MiB  "
      f"(read {detail['read_s']:.1f} s, encode {detail['encode_s']:.1f} s, fit {detail['fit_s']:.1f} s, score {detail['score_s']:.1f} s)")
print(f"otsentry:     {ours_s:8.1f} s  peak {ours_kib / 1024:8.0f} MiB  (train {tr_s:.1f} s / {tr_kib / 1024:.0f} MiB, score {sc_s:.1f} s / {sc_kib / 1024:.0f} MiB)")
print(f"CPU time: scikit-learn {sk_cpu:.1f} s, otsentry {tr_cpu + sc_cpu:.1f} s (train {tr_cpu:.1f} s, score {sc_cpu:.1f} s)")
print(f"speed-up: {sk_s / max(ours_s, 1e-9):.1f}x wall, {sk_cpu / max(tr_cpu + sc_cpu, 1e-9):.1f}x CPU   memory: {ours_kib / sk_kib:.3f} of scikit-learn's peak")
print(f"otsentry end to end: {rows / max(ours_s, 1e-9) / 1e6:.2f} M rows/s over train + score")
PY

#!/usr/bin/env bash
# Reads the same conn.log with otsentry's Zeek reader and with pandas, side by side, and prints
# wall time, peak memory and the speed ratio.
#
# Usage: scripts/bench_read.sh [SIZE_MB | FILE]
#   SIZE_MB  generate a conn.log of about that size (default 1024) under out/bench/
#   FILE     use an existing conn.log (TSV with a #fields header)
#
# The reader is timed three times: splitting records only (one thread), through the typed conn
# view (parsing every field of every record, as the feature pipeline does) on one thread, and
# through the typed conn view with zeek::read_files (one decoding thread per core, as `train` and
# `score` read). pandas runs
# pd.read_csv(sep='\t', comment='#', header=None, names=fields) in a venv this script creates
# from scripts/requirements-bench.txt. Peak memory comes from /usr/bin/time -v.
set -euo pipefail
cd "$(dirname "$0")/.."

arg="${1:-1024}"
mkdir -p out/bench
if [[ -f "$arg" ]]; then
    file="$arg"
else
    file="out/bench/conn-${arg}mb.log"
    if [[ ! -f "$file" ]]; then
        echo "== generating $file (about $arg MB)"
        python3 scripts/bench_read_pandas.py generate "$file" "$arg"
    fi
fi

venv=.venv-bench
if [[ ! -x "$venv/bin/python" ]]; then
    echo "== creating $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet -r scripts/requirements-bench.txt
fi

echo "== building the reader (release)"
cargo build --quiet --release -p zeek --example read_conn
reader=target/release/examples/read_conn

# Runs a command under /usr/bin/time -v; prints "wall_s cpu_s peak_kb" and its last output line.
# CPU time (user + system) is reported beside wall time because on a shared machine the wall
# time includes waiting for a core.
measure() {
    local log
    log=$(mktemp)
    /usr/bin/time -v "$@" > "$log.out" 2> "$log"
    local wall cpu peak
    wall=$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}' | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
    cpu=$(awk -F': ' '/User time|System time/ { total += $2 } END { print total }' "$log")
    peak=$(grep 'Maximum resident set size' "$log" | awk '{print $NF}')
    echo "$wall $cpu $peak $(tail -n 1 "$log.out")"
    rm -f "$log" "$log.out"
}

size_mb=$(( $(stat -c %s "$file") / 1024 / 1024 ))
echo "== reading $file ($size_mb MB) on $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
# Warm the page cache so the first run is not charged for the disk.
cat "$file" > /dev/null

read -r records_s records_cpu records_kb records_out < <(measure "$reader" --records "$file")
read -r typed_s typed_cpu typed_kb typed_out < <(measure "$reader" --sequential "$file")
read -r par_s par_cpu par_kb par_out < <(measure "$reader" "$file")
read -r pandas_s pandas_cpu pandas_kb pandas_out < <(measure "$venv/bin/python" scripts/bench_read_pandas.py read "$file")

echo
printf '%-30s %10s %10s %14s\n' "reader" "wall (s)" "CPU (s)" "peak RSS (MB)"
printf '%-30s %10.2f %10.2f %14.1f\n' "otsentry, records only" "$records_s" "$records_cpu" "$(echo "$records_kb / 1024" | bc -l)"
printf '%-30s %10.2f %10.2f %14.1f\n' "otsentry, typed, 1 thread" "$typed_s" "$typed_cpu" "$(echo "$typed_kb / 1024" | bc -l)"
printf '%-30s %10.2f %10.2f %14.1f\n' "otsentry, typed, parallel" "$par_s" "$par_cpu" "$(echo "$par_kb / 1024" | bc -l)"
printf '%-30s %10.2f %10.2f %14.1f\n' "pandas read_csv" "$pandas_s" "$pandas_cpu" "$(echo "$pandas_kb / 1024" | bc -l)"
echo
printf 'speed-up over pandas (wall): records only %.1fx, typed 1 thread %.1fx, typed parallel %.1fx\n' \
    "$(echo "$pandas_s / $records_s" | bc -l)" "$(echo "$pandas_s / $typed_s" | bc -l)" "$(echo "$pandas_s / $par_s" | bc -l)"
printf 'speed-up over pandas (CPU):  records only %.1fx, typed 1 thread %.1fx, typed parallel %.1fx\n' \
    "$(echo "$pandas_cpu / $records_cpu" | bc -l)" "$(echo "$pandas_cpu / $typed_cpu" | bc -l)" "$(echo "$pandas_cpu / $par_cpu" | bc -l)"
echo
echo "otsentry records: $records_out"
echo "otsentry typed:   $typed_out"
echo "otsentry par.:    $par_out"
echo "pandas:           $pandas_out"

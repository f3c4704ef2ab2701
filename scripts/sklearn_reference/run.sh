#!/usr/bin/env bash
# Regenerates the stored scikit-learn reference output that the parity tests compare against.
#
# Usage: scripts/sklearn_reference/run.sh [DATA_DIR] [OUT_FILE]
#   DATA_DIR  directory of NAME.csv.gz files (columns x0..xN, label); default ../shared/data/odds/csv
#   OUT_FILE  where to write the gzipped JSON; default tests/data/sklearn_reference/odds.json.gz
#
# The script makes its own virtualenv beside itself, so it never touches a system Python.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
data_dir="${1:-$repo/../shared/data/odds/csv}"
out_file="${2:-$repo/tests/data/sklearn_reference/odds.json.gz}"

if [ ! -d "$here/.venv" ]; then
    python3 -m venv "$here/.venv"
fi
"$here/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
mkdir -p "$(dirname "$out_file")"
"$here/.venv/bin/python" "$here/reference.py" "$data_dir" "$out_file"

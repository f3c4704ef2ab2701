#!/usr/bin/env bash
# Authenticated reads per second against a real `otsentry serve` on loopback: a fresh database
# with one analyst and a token, the server, and examples/api_load.rs as the load client, for
# GET /v1/whoami (authentication only) and GET /v1/alerts (authentication, the gate and its
# audited decision).
#
# Usage: scripts/bench_api.sh [CLIENTS] [SECONDS]     (defaults 16 and 10)
#   PROFILE=dev scripts/bench_api.sh                  use the dev build instead of release
#   BUILD=0 scripts/bench_api.sh                      use the binaries already built
#
# Server and client share the machine's cores; the client uses one runtime thread.
set -euo pipefail
cd "$(dirname "$0")/.."

clients="${1:-16}"
seconds="${2:-10}"
profile="${PROFILE:-release}"
if [[ "$profile" == release ]]; then
    dir=target/release
    flags=(--release)
else
    dir=target/debug
    flags=()
fi
if [[ "${BUILD:-1}" != 0 ]]; then
    cargo build --quiet "${flags[@]}" --bin otsentry --example api_load
fi
bin="$dir/otsentry"
load="$dir/examples/api_load"

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

export OTSENTRY_DB="$work/gov.db" OTSENTRY_POLICY=policies/ai_governance_policy.yaml
"$bin" principal add alice --role analyst >/dev/null
token="$("$bin" token create alice --days 1 --format json | sed -n 's/.*"token": "\(.*\)".*/\1/p')"

"$bin" serve --listen 127.0.0.1:0 --max-connections 1024 2>"$work/serve.log" &
server_pid=$!
address=""
for _ in $(seq 1 100); do
    address="$(sed -n 's|^listening on http://||p' "$work/serve.log")"
    [[ -n "$address" ]] && break
    sleep 0.1
done
[[ -n "$address" ]] || { cat "$work/serve.log"; exit 1; }

echo "== $profile build, $(nproc) cores, $clients clients, $seconds s each"
"$load" "$address" "$token" /v1/whoami "$clients" "$seconds"
"$load" "$address" "$token" /v1/alerts "$clients" "$seconds"
echo "== server peak RSS: $(grep VmHWM /proc/$server_pid/status | awk '{print $2, $3}')"

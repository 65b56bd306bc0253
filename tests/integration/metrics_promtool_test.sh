#!/usr/bin/env bash
# GET /metrics of a real hotlined passes `promtool check metrics` (the Prometheus text format
# 0.0.4 and its naming conventions), before and after traffic: a counsellor created, and
# simulated calls whose callers hang up while waiting. promtool comes with deploy/setup's
# prometheus package: a missing promtool fails the test rather than skipping it.
#
# Usage: metrics_promtool_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
dir=$(mktemp -d)
daemon_pid=""

cleanup() {
  [ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

# fail, wait_for, start_hotlined, stop_hotlined, add_counsellor.
. "$(dirname "$0")/lib.sh"

command -v promtool > /dev/null ||
  fail "promtool is missing: deploy/setup installs it (Debian package prometheus)"

start_hotlined daemon

# check NAME: fetches /metrics (no token) into $dir/NAME.metrics and runs promtool on it.
check() {
  local name=$1
  curl -fsS -D "$dir/$name.headers" "http://$http/metrics" > "$dir/$name.metrics" ||
    fail "GET /metrics ($name)"
  grep -qi '^content-type: text/plain; version=0.0.4' "$dir/$name.headers" ||
    fail "/metrics ($name) is not served as text/plain; version=0.0.4"
  promtool check metrics < "$dir/$name.metrics" > "$dir/$name.promtool.out" 2>&1 ||
    fail "promtool check metrics ($name): $(cat "$dir/$name.promtool.out")"
}

# value NAME SERIES: the value of one sample in $dir/NAME.metrics.
value() {
  awk -v series="$2" '$1 == series { print $2 }' "$dir/$1.metrics"
}

check idle

export HOTLINE_GATEWAY_TOKEN=dev-gateway-token
add_counsellor lan "Nguyễn Thị Lan" || fail "hotlinectl counsellor add"
# Nobody is signed in: each caller waits, hangs up, and both events are acknowledged.
"$bin/hotline-sim" --server "$grpc" --calls 2 --interval-ms 10 --province 38 \
  --hang-up-after-ms 100 > "$dir/sim.out" 2>&1 || fail "hotline-sim"

check busy
acks=$(value busy hotline_event_ack_seconds_count)
[ "${acks:-0}" -ge 4 ] || fail "hotline_event_ack_seconds_count is '$acks' after 4 events"
commits=$(value busy hotline_journal_commit_seconds_count)
[ "${commits:-0}" -ge 1 ] || fail "hotline_journal_commit_seconds_count is '$commits'"
[ "$(value busy hotline_storage_serving)" = 1 ] || fail "hotline_storage_serving is not 1"

stop_hotlined
echo "PASS: GET /metrics passes promtool check metrics"

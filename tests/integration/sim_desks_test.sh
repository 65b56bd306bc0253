#!/usr/bin/env bash
# A gateway team's set-up, with real processes: hotline-sim --desks-only plays a scenario's
# counsellors (created through AdminService, removed at the end) while another hotline-sim, in
# --calls mode, stands in for the team's gateway. Every call is answered and disposed, as the
# calls rows say, and SIGTERM winds the desks down (exit 130) with a report of what they did.
#
# Usage: sim_desks_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
# begin_test, fail, wait_for, wait_until, start_hotlined, stop_hotlined.
. "$(dirname "$0")/lib.sh"
begin_test "$@"

start_hotlined daemon

# Offers accepted after 0.1 s, dispositions 0.5 s after the call (time scale 60).
HOTLINE_ADMIN_TOKEN=dev-admin-token "$bin/hotline-sim" --server "$grpc" \
  --scenario "$src/tests/integration/sim_desks_only.toml" --desks-only --time-scale 60 \
  > "$dir/desks.out" 2> "$dir/desks.log" &
desks_pid=$!
# Killed on the way out, should the test fail first.
others+=("$desks_pid")
wait_for "desks ready" "$dir/desks.log"

HOTLINE_GATEWAY_TOKEN=dev-gateway-token "$bin/hotline-sim" --server "$grpc" --gateway-id team \
  --calls 6 --interval-ms 200 --province 38 --talk-ms 300 > "$dir/gateway.out" 2>&1 \
  || fail "the gateway's run failed"
grep -q "done: 6 calls: 6 ended" "$dir/gateway.out" || fail "not every call was answered"

# Every call disposed: its row completed, with the desk's disposition.
disposed() {
  [ "$(sqlite3 "$dir/hotline.db" \
    "SELECT count(*) FROM calls WHERE outcome = 'completed' AND category IS NOT NULL")" = 6 ]
}
wait_until disposed

kill -TERM "$desks_pid"
status=0
wait "$desks_pid" || status=$?
[ "$status" = 130 ] || fail "the desks exited $status after SIGTERM, not 130"
grep -q "3 desks: 6 offers, 6 accepted, 6 dispositions, 0 answers refused" "$dir/desks.out" \
  || fail "the desks' report is not what they did"
"$bin/hotlinectl" --server "$grpc" --token dev-admin-token counsellor list > "$dir/list.out" \
  || fail "hotlinectl counsellor list"
grep -q "answer-" "$dir/list.out" && fail "the simulated counsellors were not removed"
rows=$(sqlite3 "$dir/hotline.db" "SELECT count(*), count(DISTINCT counsellor_id) FROM calls")
echo "calls rows: $rows (calls, counsellors who took them)"
stop_hotlined
echo "PASS"

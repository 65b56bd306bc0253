#!/usr/bin/env bash
# The reference gateway across a daemon restart, with real processes: hotline-sim sends three
# calls with long talk times to two desks; hotlined is stopped (SIGTERM) while two calls are
# connected and one waits, the connected calls end while it is down, and it is started again on
# the same database and address. The simulator reconnects, lists its calls in Hello.held_calls,
# resends the unacknowledged ended events with their ids, carries on, and exits 0; every call
# ends exactly once in the database.
#
# Usage: sim_reconnect_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
# begin_test, fail, wait_for, wait_until, start_hotlined, stop_hotlined, add_counsellor,
# start_desk.
. "$(dirname "$0")/lib.sh"
begin_test "$@"

# start_answering ID: counsellor ID and their desk, available, accepting offers and recording
# every call; output in $dir/desk_ID.out.
start_answering() {
  add_counsellor "$1" || fail "hotlinectl counsellor add $1"
  start_desk "desk_$1" "$desk_token" --available --auto-accept --auto-disposition other:counselled
  others+=("$desk_pid")
  wait_for "presence available" "$dir/desk_$1.out"
}

# A calls row is written once the wrap-up is over: 2 s here, for the wrap-ups nobody records.
sed 's/^wrap_up_ms = .*/wrap_up_ms = 2000/' "$src/deploy/hotline.toml" > "$dir/hotline.toml"
grep -q '^wrap_up_ms = 2000$' "$dir/hotline.toml" || fail "no wrap_up_ms in the shipped config"
hotline_config=$dir/hotline.toml
start_hotlined daemon
start_answering an
start_answering binh

HOTLINE_GATEWAY_TOKEN=dev-gateway-token "$bin/hotline-sim" --server "$grpc" --calls 3 \
  --interval-ms 100 --province 38 --talk-ms 4000 > "$dir/sim.out" 2> "$dir/sim.log" &
sim_pid=$!
others+=("$sim_pid")
count_is() { [ "$(grep -c -- "$1" "$dir/sim.out" || true)" -ge "$2" ]; }
wait_until count_is "sent .* connected call" 2
wait_until count_is "sent .* arrived call" 3

# Down while two calls talk and one waits; the talking calls end meanwhile, unacknowledged.
stop_hotlined
wait_until count_is "sent .* ended call" 2
start_hotlined daemon2 "$grpc"
# Line-mode desks end with the daemon (the wrap-ups of an and binh then end at their deadline):
# a new counsellor takes the waiting call.
start_answering cuong

# Bounded, so that a simulator that never finishes fails with its output rather than hang.
sim_exited() { ! kill -0 "$sim_pid" 2>/dev/null; }
wait_until sim_exited
status=0
wait "$sim_pid" || status=$?
[ "$status" = 0 ] || fail "hotline-sim exited $status after the restart, not 0"
grep -q "stream lost" "$dir/sim.log" || fail "the simulator did not see the stream drop"
grep -q "sent hello sim holding 3 call(s)" "$dir/sim.out" || fail "the Hello did not list 3 calls"
count_is "resent .* for call" 2 || fail "the ended events were not resent"
grep -q "done: 3 calls: 3 ended" "$dir/sim.out" || fail "not every call ended"

# One row per call, each ended once, with a terminal outcome.
settled() {
  [ "$(sqlite3 "$dir/hotline.db" "SELECT count(*) FROM calls WHERE outcome IN
    ('completed', 'abandoned', 'timed_out', 'rejected', 'failed', 'callback_requested')")" = 3 ]
}
wait_until settled
rows=$(sqlite3 "$dir/hotline.db" "SELECT count(*), count(DISTINCT call_id) FROM calls")
[ "$rows" = "3|3" ] || fail "calls rows (count, distinct ids): $rows, not 3|3"
echo "outcomes: $(sqlite3 "$dir/hotline.db" "SELECT group_concat(outcome, ' ') FROM calls")"
stop_hotlined
echo "PASS"

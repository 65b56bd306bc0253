#!/usr/bin/env bash
# The reference gateway told of a call Hotline finished while it was away: hotline-sim sends one
# call nobody can answer, hotlined (maximum wait 2 s) is stopped, stays down past the maximum
# wait and is started again on the same database and address, while the simulator is paused
# (SIGSTOP) until the call has timed out (10 s after the start: the grace a restart gives the
# gateways' Hellos). The Welcome reports the call FINISHED (timed_out) with its offer_callback;
# the simulator carries the command out on the new stream, forgets the call and exits 0; the
# calls row says timed_out.
#
# Usage: sim_reconnect_finished_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
# begin_test, fail, wait_for, wait_until, start_hotlined, stop_hotlined.
. "$(dirname "$0")/lib.sh"
begin_test "$@"

sed 's/^max_wait_ms = .*/max_wait_ms = 2000/' "$src/deploy/hotline.toml" > "$dir/hotline.toml"
grep -q '^max_wait_ms = 2000$' "$dir/hotline.toml" || fail "no max_wait_ms in the shipped config"
hotline_config=$dir/hotline.toml
start_hotlined daemon

HOTLINE_GATEWAY_TOKEN=dev-gateway-token "$bin/hotline-sim" --server "$grpc" --calls 1 \
  > "$dir/sim.out" 2> "$dir/sim.log" &
sim_pid=$!
others+=("$sim_pid")
wait_for "ack .* OK" "$dir/sim.out"
stop_hotlined
kill -STOP "$sim_pid"
# Down past the call's maximum wait (not a measurement: the restarted daemon finds it over).
sleep 3
start_hotlined daemon2 "$grpc"
timed_out() { [ "$(sqlite3 "$dir/hotline.db" "SELECT count(*) FROM calls WHERE outcome = 'timed_out'")" = 1 ]; }
wait_until timed_out
kill -CONT "$sim_pid"

# Bounded, so that a simulator that never finishes fails with its output rather than hang.
sim_exited() { ! kill -0 "$sim_pid" 2>/dev/null; }
wait_until sim_exited
status=0
wait "$sim_pid" || status=$?
[ "$status" = 0 ] || fail "hotline-sim exited $status after the restart, not 0"
grep -q "held call .* finished timed_out" "$dir/sim.out" || fail "no FINISHED held call"
grep -q "sent result offer_callback/.* done" "$dir/sim.out" \
  || fail "the Welcome's offer_callback was not carried out"
grep -q "done: 1 calls: 0 ended, 0 hung up, 1 timed out" "$dir/sim.out" \
  || fail "the call did not end timed out"
[ "$(sqlite3 "$dir/hotline.db" "SELECT count(*), min(outcome) FROM calls")" = "1|timed_out" ] \
  || fail "calls rows: $(sqlite3 "$dir/hotline.db" "SELECT call_id, outcome FROM calls")"
stop_hotlined
echo "PASS"

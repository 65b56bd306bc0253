#!/usr/bin/env bash
# The reference gateway across daemon restarts, with real processes: hotline-sim sends calls
# with long talk times; hotlined is stopped (SIGTERM, then in a second run killed with -9) while
# calls are up, and started again on the same database and address. The simulator reconnects,
# lists its calls in Hello.held_calls, resends the unacknowledged events with their ids, carries
# on, and exits 0; every call ends exactly once in the database.
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
# across_restart RUN HOW: three calls with long talk times from a hotline-sim (output in
# $dir/RUN.out and $dir/RUN.log) to two new desks (RUN-a, RUN-b, and any desk a run before left
# available); hotlined goes down once two calls talk ("stop": SIGTERM, "crash": kill -9), they
# end meanwhile, unacknowledged, and it starts again on the same database and address, where a
# third desk (RUN-c) takes a call still waiting (the first two desks reconnect by themselves, and
# record the wrap-ups they come back into). The simulator must reconnect, list its calls, resend the
# ended events and exit 0 with every call ended.
across_restart() {
  local run=$1 how=$2
  start_answering "$run-a"
  start_answering "$run-b"
  HOTLINE_GATEWAY_TOKEN=dev-gateway-token "$bin/hotline-sim" --server "$grpc" --calls 3 \
    --interval-ms 100 --province 38 --talk-ms 4000 > "$dir/$run.out" 2> "$dir/$run.log" &
  sim_pid=$!
  others+=("$sim_pid")
  count_is() { [ "$(grep -c -- "$1" "$dir/$run.out" || true)" -ge "$2" ]; }
  wait_until count_is "sent .* connected call" 2
  wait_until count_is "sent .* arrived call" 3

  if [ "$how" = stop ]; then
    stop_hotlined
  else
    kill -9 "$daemon_pid"
    wait "$daemon_pid" || true
    daemon_pid=""
  fi
  wait_until count_is "sent .* ended call" 2
  start_hotlined "daemon-$run" "$grpc"
  start_answering "$run-c"

  # Bounded, so that a simulator that never finishes fails with its output rather than hang.
  sim_exited() { ! kill -0 "$sim_pid" 2>/dev/null; }
  wait_until sim_exited
  local status=0
  wait "$sim_pid" || status=$?
  [ "$status" = 0 ] || fail "$run: hotline-sim exited $status after the restart, not 0"
  grep -q "stream lost" "$dir/$run.log" || fail "$run: the simulator did not see the stream drop"
  grep -q "sent hello sim holding 3 call(s)" "$dir/$run.out" \
    || fail "$run: the Hello did not list 3 calls"
  count_is "resent .* for call" 2 || fail "$run: the ended events were not resent"
  grep -q "done: 3 calls: 3 ended" "$dir/$run.out" || fail "$run: not every call ended"
}

# settled N: N calls rows, each with a terminal outcome.
settled() {
  [ "$(sqlite3 "$dir/hotline.db" "SELECT count(*) FROM calls WHERE outcome IN
    ('completed', 'abandoned', 'timed_out', 'rejected', 'failed', 'callback_requested')")" = "$1" ]
}

start_hotlined daemon
across_restart term stop
across_restart kill crash

# One row per call, each ended once, none lost.
wait_until settled 6
rows=$(sqlite3 "$dir/hotline.db" "SELECT count(*), count(DISTINCT call_id) FROM calls")
[ "$rows" = "6|6" ] || fail "calls rows (count, distinct ids): $rows, not 6|6"
echo "outcomes: $(sqlite3 "$dir/hotline.db" "SELECT group_concat(outcome, ' ') FROM calls")"
stop_hotlined
echo "PASS"

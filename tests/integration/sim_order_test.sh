#!/usr/bin/env bash
# hotline-sim tells Hotline what it decided in the order it decided it, with real processes. A
# caller hangs up 1 ms after arriving, and the simulator holds that hang-up 1 s before writing it
# (HOTLINE_SIM_TEST_HOLD_HANG_UP_MS, a test hook): meanwhile the one counsellor's desk accepts the
# offer and Hotline sends the connect. The connect finds the call over; its result must go out
# after the hang-up, so Hotline frees the counsellor and the call is abandoned by the caller.
#
# Before (a defect found by an independent check, 2026-12-05): the connect's "error: the call is
# over" was written first, and Hotline, reading a failed connect, put the counsellor on an
# unreachable break; every later call then waited for nobody.
#
# Usage: sim_order_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
begin_test "$@"

start_hotlined daemon
add_counsellor lan || fail "hotlinectl counsellor add: $(cat "$dir/add_lan.out")"
# The desk accepts when told: on its stdin, a pipe the test holds open on fd 4.
mkfifo "$dir/desk.in"
exec 4<>"$dir/desk.in"
HOTLINE_DESK_TOKEN=$desk_token "$bin/hotline-desk" --server "$grpc" --line --available \
  < "$dir/desk.in" > "$dir/desk.out" 2>&1 4<&- &
desk_pid=$!
others+=("$desk_pid")
wait_for "presence available" "$dir/desk.out"

# Each hang-up is counted when decided; the run must not be done before the last one is written.
# A simulator that said "done" during the hold, the last hang-up unsent, hung here (the time-out);
# had it exited instead, that call would have no row (the count of abandoned calls below).
HOTLINE_SIM_TEST_HOLD_HANG_UP_MS=1000 timeout 60 "$bin/hotline-sim" --server "$grpc" \
  --token dev-gateway-token --calls 3 --interval-ms 1500 --province 38 --hang-up-after-ms 1 \
  > "$dir/sim.out" 2>&1 4<&- &
sim_pid=$!
others+=("$sim_pid")
# Each call's offer is accepted once its hang-up is decided and held, never before: the connect
# then comes while the hang-up waits to be written.
for n in 1 2 3; do
  wait_for "holding the hang-up of call [^ ]*-call-$n " "$dir/sim.out"
  call=$(sed -n "s/.*holding the hang-up of call \([^ ]*-call-$n\) .*/\1/p" "$dir/sim.out")
  ! grep -q "presence break" "$dir/desk.out" ||
    fail "the counsellor was put on a break: a connect's result overtook its hang-up"
  wait_for "offer call $call " "$dir/desk.out"
  echo "accept $call" >&4
done
wait "$sim_pid" || fail "hotline-sim"
grep -q "done: 3 calls: 0 ended, 3 hung up" "$dir/sim.out" || fail "not every caller hung up"
[ "$(grep -c "sent .* hung-up call" "$dir/sim.out")" -eq 3 ] || fail "not every hang-up was sent"
# The premise: connects came for calls whose callers had hung up, and were answered "the call is
# over". The order, as the simulator wrote it: each such result after its call's hang-up.
read -r over early < <(awk '
  / sent .* hung-up call / { hung[$NF] = 1 }
  / sent result connect\/.* error: the call is over/ {
    split($4, id, "/"); over++; if (!(id[2] in hung)) early++ }
  END { print over + 0, early + 0 }' "$dir/sim.out")
[ "$over" -ge 1 ] || fail "no connect found a call over: nothing was tested"
[ "$early" -eq 0 ] || fail "$early connect results were written before their call's hang-up"

db=$dir/hotline.db
abandoned=$(sqlite3 -readonly "$db" "SELECT count(*) FROM calls WHERE outcome = 'abandoned'")
[ "$abandoned" -eq 3 ] || fail "$abandoned calls abandoned in the database, not 3"
failed=$(sqlite3 -readonly "$db" "SELECT count(*) FROM calls WHERE reason LIKE 'connect failed%'")
[ "$failed" -eq 0 ] || fail "$failed calls ended by a failed connect: its result overtook the hang-up"
HOTLINE_SUPERVISOR_TOKEN=dev-supervisor-token "$bin/hotlinectl" --server "$grpc" queue > "$dir/queue.out" 2>&1 ||
  fail "hotlinectl queue"
! grep -q "break" "$dir/queue.out" || fail "the counsellor was put on a break: $(cat "$dir/queue.out")"
# Arrivals dated to the millisecond. Before (a second defect of the same check): protobuf's
# TimeUtil::GetCurrentTime keeps whole seconds, so every arrival was dated up to a second early
# and its wait overstated. Three calls all on a whole second by chance: one in a billion.
whole=$(sqlite3 -readonly "$db" "SELECT count(*) FROM calls WHERE arrived_at % 1000 = 0")
[ "$whole" -lt 3 ] || fail "every arrival is dated on a whole second"
stop_hotlined
echo "PASS: $over connects for calls already hung up, each result after its hang-up; nobody on" \
  "break; arrivals dated to the millisecond"

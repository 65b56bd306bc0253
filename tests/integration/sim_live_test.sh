#!/usr/bin/env bash
# hotline-sim's live mode against a real hotlined: the M/M/c pool of sim_live_pool.toml played
# at 100x with simulated desks (the roster created through AdminService and removed at the end),
# then the same scenario and seed in virtual time. Both face the same calls (same seed), so they
# differ only by the real run's timing (gRPC round trips, scaled by 100); the service level must
# agree within three standard errors of a binomial share over the live run's calls (printed).
#
# Usage: sim_live_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
# begin_test (the simulator run in the background is killed on the way out), fail, wait_until,
# start_hotlined, stop_hotlined.
. "$(dirname "$0")/lib.sh"
begin_test "$@"

scenario="$src/tests/integration/sim_live_pool.toml"
start_hotlined daemon

HOTLINE_GATEWAY_TOKEN=dev-gateway-token HOTLINE_ADMIN_TOKEN=dev-admin-token \
  "$bin/hotline-sim" --server "$grpc" --scenario "$scenario" --time-scale 100 --desks \
  --report json > "$dir/live.out" 2> "$dir/live.log" || fail "the live run failed"
"$bin/hotline-sim" --scenario "$scenario" --virtual --report json > "$dir/virtual.out" \
  2> "$dir/virtual.log" || fail "the virtual run failed"

# The simulated counsellors are gone again.
"$bin/hotlinectl" --server "$grpc" --token dev-admin-token counsellor list > "$dir/list.out" \
  || fail "hotlinectl counsellor list"
grep -q "pool-" "$dir/list.out" && fail "the simulated counsellors were not removed"

# Interrupted mid-run (SIGINT, as Ctrl-C), it winds down: callers hang up, calls end, the desks
# record their calls and sign out, and their counsellors are removed; exit status 130.
HOTLINE_GATEWAY_TOKEN=dev-gateway-token HOTLINE_ADMIN_TOKEN=dev-admin-token \
  "$bin/hotline-sim" --server "$grpc" --scenario "$scenario" --time-scale 100 --desks \
  > "$dir/interrupted.out" 2> "$dir/interrupted.log" &
sim_pid=$!
others+=("$sim_pid")
roster_listed() {
  "$bin/hotlinectl" --server "$grpc" --token dev-admin-token counsellor list 2>/dev/null \
    | grep -q "pool-"
}
wait_until roster_listed
# Calls in every phase by now: waiting, talking, in wrap-up.
sleep 3
kill -INT "$sim_pid"
status=0
wait "$sim_pid" || status=$?
[ "$status" = 130 ] || fail "the interrupted run exited $status, not 130"
grep -q "interrupted: stopping the run" "$dir/interrupted.log" || fail "no word of the interrupt"
"$bin/hotlinectl" --server "$grpc" --token dev-admin-token counsellor list > "$dir/list2.out" \
  || fail "hotlinectl counsellor list"
grep -q "pool-" "$dir/list2.out" && fail "the interrupted run left its counsellors"

# Shifts, live: the early team takes every call until its hour is over, then the late team.
HOTLINE_GATEWAY_TOKEN=dev-gateway-token HOTLINE_ADMIN_TOKEN=dev-admin-token \
  "$bin/hotline-sim" --server "$grpc" --scenario "$src/tests/integration/sim_live_shifts.toml" \
  --time-scale 1200 --desks > "$dir/shifts.out" 2> "$dir/shifts.log" || fail "the shifts run failed"
grep "offer call=" "$dir/daemon.out" "$dir/daemon.log" 2>/dev/null \
  | sed -n 's/.*counsellor=sim[0-9]*-\(early\|late\)-.*/\1/p' | uniq > "$dir/teams.out"
[ "$(tr '\n' ' ' < "$dir/teams.out")" = "early late " ] \
  || fail "offers did not go to the early team, then the late one: $(tr '\n' ' ' < "$dir/teams.out")"
stop_hotlined

# calls, service level and mean wait of the "overall" object.
figures() {
  sed -n 's/.*"overall": {"calls": \([0-9]*\)[^}]*"service_level": \([^,]*\), "mean_wait_s": \([^,]*\),.*/\1 \2 \3/p' "$1"
}
occupancy() { sed -n 's/.*"occupancy": \([^,]*\),.*/\1/p' "$1"; }
echo "occupancy: virtual $(occupancy "$dir/virtual.out"), live $(occupancy "$dir/live.out")"
read -r live_calls live_sl live_wait <<< "$(figures "$dir/live.out")"
read -r virtual_calls virtual_sl virtual_wait <<< "$(figures "$dir/virtual.out")"
[ -n "$live_calls" ] && [ -n "$virtual_calls" ] || fail "no figures in the reports"
[ "$live_calls" = "$virtual_calls" ] || fail "live placed $live_calls calls, virtual $virtual_calls"
[ "$live_calls" -ge 300 ] || fail "only $live_calls calls"

awk -v n="$live_calls" -v live="$live_sl" -v virt="$virtual_sl" -v lw="$live_wait" \
  -v vw="$virtual_wait" 'BEGIN {
  tolerance = 3 * sqrt(virt * (1 - virt) / n);
  printf "service level within 20 s: virtual %.4f, live %.4f (%d calls), difference %+.4f, tolerance %.4f (3 binomial standard errors)\n", virt, live, n, live - virt, tolerance;
  printf "mean wait: virtual %.2f s, live %.2f s\n", vw, lw;
  exit (live - virt <= tolerance && virt - live <= tolerance) ? 0 : 1
}' || fail "the live service level is outside the tolerance"
echo "PASS"

#!/bin/bash
# After hotlined is killed and comes back on the same address, a desk and a gateway (hotline-sim)
# sign in again on their first attempt after it is back, not an attempt or two later.
#
# Regression: each client slept between attempts, and the attempt after the sleep failed at once
# with its channel's last error ("Connection refused") though the daemon had been serving for
# seconds: gRPC had not connected the channel again. A black-box check saw a desk back 12 s after
# the daemon and a gateway away for 18 s while calls timed out unoffered. Now the pause between
# attempts ends as soon as the channel connects (clients::AwaitConnection).
#
# The daemon stays down until each client has announced a pause of 4 s or more; it is back within
# that pause, so the attempt after it is the first one made with the daemon serving, and it must
# not fail.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
begin_test "$@"
export HOTLINE_GATEWAY_TOKEN=dev-gateway-token

start_hotlined daemon
add_counsellor lan || fail "hotlinectl counsellor add lan"
start_desk desk "$desk_token" --available --auto-accept
others+=("$desk_pid")
wait_for "presence available" "$dir/desk.out"
"$bin/hotline-sim" --server "$grpc" --gateway-id gw --calls 0 --no-exit-when-done \
  > "$dir/sim.out" 2>&1 &
others+=("$!")
wait_for "welcome gw" "$dir/sim.out"

kill -9 "$daemon_pid"
wait "$daemon_pid" 2> /dev/null || true
wait_for "; reconnecting to $grpc in [4-9]\.[0-9] s" "$dir/desk.out"
wait_for "reconnecting in [4-9][0-9][0-9][0-9] ms" "$dir/sim.out"
desk_tries=$(grep -c "; reconnecting to" "$dir/desk.out")
sim_tries=$(grep -c "stream lost" "$dir/sim.out")
start_hotlined restarted "$grpc"

desk_back() { [ "$(grep -c "presence available" "$dir/desk.out")" -ge 2 ]; }
wait_until desk_back
sim_back() { [ "$(grep -c "welcome gw" "$dir/sim.out")" -ge 2 ]; }
wait_until sim_back
[ "$(grep -c "; reconnecting to" "$dir/desk.out")" -eq "$desk_tries" ] ||
  fail "the desk failed an attempt with hotlined back: $(grep "^error" "$dir/desk.out" | tail -1)"
[ "$(grep -c "stream lost" "$dir/sim.out")" -eq "$sim_tries" ] ||
  fail "hotline-sim failed an attempt with hotlined back: $(grep "stream lost" "$dir/sim.out" | tail -1)"

stop_hotlined
echo "PASS: a desk and a gateway sign in again on their first attempt after a restart"

#!/usr/bin/env bash
# hotline-desk's line mode when its connection breaks, with real processes:
# - a desk with --auto-disposition that opens into a wrap-up (its first desk killed during it)
#   records that call: no wrap_up_started comes to a desk opened after it began;
# - hotlined stops: the desk says it is reconnecting and to where, keeps running, and when
#   hotlined is back on the same address signs in again by itself, leaving alone the
#   supervisor's break it was on (--available ends a break only when the desk starts), and
#   answers and records the next call once the supervisor makes the counsellor available.
#
# Usage: desk_reconnect_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
# begin_test, fail, wait_for, wait_until, start_hotlined, stop_hotlined, add_counsellor,
# start_desk.
. "$(dirname "$0")/lib.sh"
begin_test "$@"
export HOTLINE_GATEWAY_TOKEN=dev-gateway-token

# call NAME: one call from hotline-sim, talking 200 ms once connected; output in $dir/NAME.out.
call() {
  "$bin/hotline-sim" --server "$grpc" --gateway-id "$1" --calls 1 --interval-ms 0 \
    --province 38 --talk-ms 200 > "$dir/$1.out" 2>&1 &
  others+=("$!")
}

start_hotlined daemon
add_counsellor lan || fail "hotlinectl counsellor add lan"

# The first desk answers a call and is killed in its wrap-up (45 s in the shipped config).
start_desk first "$desk_token" --available --auto-accept
first_pid=$desk_pid
others+=("$first_pid")
wait_for "presence available" "$dir/first.out"
call gw-1
wait_for "wrap-up call " "$dir/first.out"
wrapped=$(sed -n 's/.* wrap-up call \([^ ]*\) until .*/\1/p' "$dir/first.out" | head -1)
[ -n "$wrapped" ] || fail "no call id in the first desk's wrap-up line"
kill -9 "$first_pid"
wait "$first_pid" 2> /dev/null || true

# A desk with --auto-disposition opens into that wrap-up and records it.
start_desk second "$desk_token" --available --auto-accept --auto-disposition other:counselled
second_pid=$desk_pid
others+=("$second_pid")
wait_for "presence wrap_up call $wrapped" "$dir/second.out"
wait_for "ok: disposition recorded for call $wrapped" "$dir/second.out"
wait_for "presence available" "$dir/second.out"
if grep -q "^error" "$dir/second.out"; then
  fail "the second desk printed an error: $(grep "^error" "$dir/second.out")"
fi

# A supervisor puts lan on break. hotlined stops: the desk says so and keeps trying.
HOTLINE_SUPERVISOR_TOKEN=dev-supervisor-token "$bin/hotlinectl" --server "$grpc" presence lan \
  break > "$dir/break.out" || fail "hotlinectl presence lan break"
wait_for " presence break (supervisor)" "$dir/second.out"
breaks_before=$(grep -c " presence break (supervisor)" "$dir/second.out" || true)
stop_hotlined
wait_for "; reconnecting to $grpc within [0-9.]* s (by " "$dir/second.out"
kill -0 "$second_pid" 2> /dev/null || fail "the desk exited when hotlined stopped"
start_hotlined restarted "$grpc"
# Back within the grace period: signed in again, still on the supervisor's break, which
# --available leaves alone after a reconnect.
signed_in_again() {
  [ "$(grep -c " presence break (supervisor)" "$dir/second.out" || true)" -gt "$breaks_before" ]
}
wait_until signed_in_again
HOTLINE_SUPERVISOR_TOKEN=dev-supervisor-token "$bin/hotlinectl" --server "$grpc" presence lan \
  available > "$dir/available.out" || fail "hotlinectl presence lan available"

# And takes the next call.
call gw-2
wait_for "ok: accepted call " "$dir/second.out"
recorded_twice() { [ "$(grep -c "ok: disposition recorded for call" "$dir/second.out")" -ge 2 ]; }
wait_until recorded_twice
kill -0 "$second_pid" 2> /dev/null || fail "the desk is not running"
# The desk never set itself available: it opened into a wrap-up, then a supervisor decided.
if grep -q "^ok: presence available" "$dir/second.out"; then
  fail "--available ended the supervisor's break after the reconnect"
fi

stop_hotlined
echo "PASS: a line-mode desk reconnects, and records a wrap-up it opens into"

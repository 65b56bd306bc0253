#!/bin/bash
# After hotlined is killed and comes back on the same address, a desk and a gateway (hotline-sim)
# sign in again as soon as it is back, not at their next scheduled attempt or later; the desk
# also after a SIGTERM.
#
# Regression: each client slept between attempts, and the attempt after the sleep failed at once
# with its channel's last error ("Connection refused") though the daemon had been serving for
# seconds: gRPC had not connected the channel again. A black-box check saw a desk back 12 s after
# the daemon and a gateway away for 18 s while calls timed out unoffered. Now the pause between
# attempts ends as soon as the channel connects (clients::AwaitConnection).
#
# Each client says when it will try next: the desk "reconnecting to ADDR within 4.2 s (by
# HH:MM:SS.mmm)", hotline-sim "HH:MM:SS.mmm stream lost (...): reconnecting in 4200 ms". The daemon
# stays down until the client checked has just announced a pause of 4 s or more, and is restarted
# at once (its start takes well under a second). The client must be back before the time it
# announced, by its own clock: the pause ended when the daemon came back, not at its end. One
# client at a time: their pauses are not in step.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
begin_test "$@"
export HOTLINE_GATEWAY_TOKEN=dev-gateway-token

# HH:MM:SS.mmm as milliseconds into the day.
millis() { awk -F'[:.]' '{ print (($1 * 60 + $2) * 60 + $3) * 1000 + $4 }' <<< "$1"; }

start_hotlined daemon
add_counsellor lan || fail "hotlinectl counsellor add lan"
start_desk desk "$desk_token" --available --auto-accept
others+=("$desk_pid")
signed_in="^[0-9:.]* presence available"  # The daemon's word, not "ok: presence available".
wait_for "$signed_in" "$dir/desk.out"

# The desk.
kill -9 "$daemon_pid"
wait "$daemon_pid" 2> /dev/null || true
long_pause="; reconnecting to $grpc within [4-9]\.[0-9] s (by "
wait_for "$long_pause" "$dir/desk.out"
start_hotlined restarted "$grpc"
desk_by=$(grep "$long_pause" "$dir/desk.out" | tail -1 | sed 's/.*(by \([0-9:.]*\))$/\1/')
desk_back() { [ "$(grep -c "$signed_in" "$dir/desk.out")" -ge 2 ]; }
wait_until desk_back
desk_at=$(grep "$signed_in" "$dir/desk.out" | sed -n 2p | cut -d' ' -f1)
[ "$(millis "$desk_at")" -lt "$(millis "$desk_by")" ] ||
  fail "the desk was back at $desk_at, not before its next try at $desk_by"

# The desk again, after a SIGTERM: the daemon says it is shutting down (UNAVAILABLE) and closes
# the connection (GOAWAY) rather than vanishing.
pauses=$(grep -c "$long_pause" "$dir/desk.out")
kill -TERM "$daemon_pid"
wait "$daemon_pid" 2> /dev/null || true
more_pauses() { [ "$(grep -c "$long_pause" "$dir/desk.out")" -gt "$pauses" ]; }
wait_until more_pauses
start_hotlined after_term "$grpc"
desk_by=$(grep "$long_pause" "$dir/desk.out" | tail -1 | sed 's/.*(by \([0-9:.]*\))$/\1/')
desk_back_after_term() { [ "$(grep -c "$signed_in" "$dir/desk.out")" -ge 3 ]; }
wait_until desk_back_after_term
desk_at=$(grep "$signed_in" "$dir/desk.out" | sed -n 3p | cut -d' ' -f1)
[ "$(millis "$desk_at")" -lt "$(millis "$desk_by")" ] ||
  fail "after a SIGTERM the desk was back at $desk_at, not before its next try at $desk_by"

# The gateway.
"$bin/hotline-sim" --server "$grpc" --gateway-id gw --calls 0 --no-exit-when-done \
  > "$dir/sim.out" 2>&1 &
others+=("$!")
wait_for "welcome gw" "$dir/sim.out"
kill -9 "$daemon_pid"
wait "$daemon_pid" 2> /dev/null || true
wait_for "reconnecting in [4-9][0-9][0-9][0-9] ms" "$dir/sim.out"
start_hotlined again "$grpc"
# The stamp opens the "stream lost" line; the error it quotes may run over more lines before
# ": reconnecting in N ms".
lost=$(awk '/^[0-9:.]+ stream lost/ { at = $1 }
            /reconnecting in [4-9][0-9][0-9][0-9] ms/ { line = at " " $0 } END { print line }' \
         "$dir/sim.out")
sim_by=$(( $(millis "${lost%% *}") + $(sed 's/.*reconnecting in \([0-9]*\) ms.*/\1/' <<< "$lost") ))
sim_back() { [ "$(grep -c "welcome gw" "$dir/sim.out")" -ge 2 ]; }
wait_until sim_back
sim_at=$(grep "welcome gw" "$dir/sim.out" | sed -n 2p | cut -d' ' -f1)
[ "$(millis "$sim_at")" -lt "$sim_by" ] ||
  fail "hotline-sim was back at $sim_at, not before its next try ($lost)"
desk_back_again() { [ "$(grep -c "$signed_in" "$dir/desk.out")" -ge 4 ]; }
wait_until desk_back_again

stop_hotlined
echo "PASS: a desk and a gateway are back as soon as hotlined is, before their next try"

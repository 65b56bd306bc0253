#!/usr/bin/env bash
# hotlinectl's supervisor commands against real processes: hotlined, desks (hotline-desk) and
# gateways (hotline-sim). `queue` lists a waiting call with its masked number and priority;
# `priority` raises it ahead of the queue; `never` and `explain` answer; `end-call` ends a
# connected call whose gateway died, putting its counsellor in wrap-up; `presence X offline`
# signs out a counsellor whose desk is gone, after which `counsellor remove` succeeds; a wrong
# token is told which token is wanted; other errors are words with a non-zero exit; and
# `queue --watch` shows a new call arriving, says "reconnecting…" while hotlined restarts, resumes
# when it is back, and exits 0 on Ctrl-C.
#
# Usage: supervisor_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
dir=$(mktemp -d)
daemon_pid=""
# Desks, gateways and the watch, killed on the way out.
others=()

# fail, wait_for, wait_until, start_hotlined, stop_hotlined, add_counsellor, start_desk,
# kill_started.
. "$(dirname "$0")/lib.sh"
trap kill_started EXIT

export HOTLINE_SUPERVISOR_TOKEN=dev-supervisor-token HOTLINE_GATEWAY_TOKEN=dev-gateway-token
ctl() { "$bin/hotlinectl" --server "$grpc" "$@"; }

# gateway NAME PRIORITY CALLER: one call from hotline-sim that talks for ten minutes once connected;
# output in $dir/NAME.out. Sets call to its call id once hotlined acknowledged its arrival.
gateway() {
  "$bin/hotline-sim" --server "$grpc" --gateway-id "$1" --calls 1 --province 38 \
    --priority "$2" --caller "$3" --talk-ms 600000 --no-exit-when-done > "$dir/$1.out" 2>&1 &
  others+=("$!")
  wait_for "ack .* OK" "$dir/$1.out"
  call=$(sed -n 's/.* arrived call \([^ ]*\) from .*/\1/p' "$dir/$1.out")
  [ -n "$call" ] || fail "no call id in $dir/$1.out"
}

# The line of `file` holding `text` (fails the test when there is none).
line_of() {
  grep -n -- "$2" "$1" | head -1 | cut -d: -f1 | grep . || fail "no '$2' in $1"
}

start_hotlined daemon

# The watch, from the start (the program itself, not a shell function around it, so that $! is
# its pid). To a file it writes one block of lines per update.
"$bin/hotlinectl" --server "$grpc" queue --watch > "$dir/watch.out" 2> "$dir/watch.log" &
watch_pid=$!
others+=("$watch_pid")
wait_for "^hotline queue at" "$dir/watch.out"

# A wrong token is refused, naming the token wanted.
if ctl --supervisor-token dev-admin-token queue > "$dir/wrong_token.out" 2>&1; then
  fail "queue accepted the admin token"
fi
grep -q "needs the supervisor token (HOTLINE_SUPERVISOR_TOKEN), not the admin one" \
  "$dir/wrong_token.out" || fail "the refusal does not name the supervisor token"
if HOTLINE_SUPERVISOR_TOKEN=dev-admin-token ctl presence lan offline \
  > "$dir/wrong_token_presence.out" 2>&1; then
  fail "presence accepted the admin token"
fi
grep -q "needs the supervisor token (HOTLINE_SUPERVISOR_TOKEN)" \
  "$dir/wrong_token_presence.out" || fail "presence's refusal does not name the supervisor token"

# A supervisor signs out a counsellor who left: minh's desk goes available, then dies. While the
# daemon keeps minh's state for the desk to come back, remove is refused; `presence minh offline`
# signs minh out, and remove succeeds.
add_counsellor minh || fail "hotlinectl counsellor add minh"
start_desk desk_minh "$desk_token" --available --auto-accept
others+=("$desk_pid")
wait_for "presence available" "$dir/desk_minh.out"
kill -9 "$desk_pid"
wait "$desk_pid" 2>/dev/null || true
minh_desk_closed() { ctl queue | grep -Eq "^minh .*available .*closed$"; }
wait_until minh_desk_closed
if ctl --token dev-admin-token counsellor remove minh > "$dir/remove_early.out" 2>&1; then
  fail "a counsellor still available was removed"
fi
ctl presence minh offline > "$dir/presence.out" || fail "hotlinectl presence minh offline"
grep -q "^minh: offline since" "$dir/presence.out" || fail "presence does not say minh is offline"
grep -q "an admin can now remove them" "$dir/presence.out" || fail "presence does not say remove works"
ctl --token dev-admin-token counsellor remove minh > "$dir/remove.out" ||
  fail "counsellor remove failed after presence offline"
grep -q "removed: minh" "$dir/remove.out" || fail "remove did not say so"

# One call waits (no counsellor is signed in): listed with its masked number and priority.
add_counsellor lan "Nguyễn Thị Lan" || fail "hotlinectl counsellor add lan"
lan_token=$desk_token
gateway first normal +84912345678
first=$call
first_sim=${others[-1]}
ctl queue > "$dir/queue_waiting.out" || fail "hotlinectl queue"
grep -q "^waiting 1 " "$dir/queue_waiting.out" || fail "the headline does not count 1 waiting"
row=$(grep -- "$first" "$dir/queue_waiting.out") || fail "queue does not list $first"
echo "$row" | grep -qF "**********78" || fail "the row does not show the masked number: $row"
echo "$row" | grep -qw "normal" || fail "the row does not show priority normal: $row"
echo "$row" | grep -qw "waiting" || fail "the row does not say waiting: $row"

# Raised to emergency: marked, and ahead of a high-priority call that arrives after it.
ctl priority "$first" emergency > "$dir/priority.out" || fail "hotlinectl priority"
grep -q "^$first: priority emergency" "$dir/priority.out" || fail "priority did not say so"
gateway second high +84900000011
second=$call
# The watch shows the new call arriving.
wait_for "$second" "$dir/watch.out"
ctl queue > "$dir/queue_two.out" || fail "hotlinectl queue"
grep -- "$first" "$dir/queue_two.out" | grep -q "^!! .*EMERGENCY" ||
  fail "the emergency is not marked"
grep -- "$second" "$dir/queue_two.out" | grep -qw "high" || fail "$second is not high"
[ "$(line_of "$dir/queue_two.out" "$first")" -lt "$(line_of "$dir/queue_two.out" "$second")" ] ||
  fail "the emergency is not listed before the high-priority call"

# never: answered for a known counsellor, refused in words for an unknown one.
ctl never "$second" lan > "$dir/never.out" || fail "hotlinectl never"
grep -q "will never be routed to lan" "$dir/never.out" || fail "never did not say so"
if ctl never "$second" nobody > "$dir/never_unknown.out" 2>&1; then
  fail "never accepted an unknown counsellor"
fi
grep -q "^error: not found: .*nobody" "$dir/never_unknown.out" ||
  fail "never's refusal is not in words"

# Lan signs in and gets the emergency first; then its priority can no longer change.
start_desk desk_lan "$lan_token" --available --auto-accept
others+=("$desk_pid")
wait_for "connected call $first" "$dir/desk_lan.out"
ctl queue > "$dir/queue_on_call.out" || fail "hotlinectl queue"
grep -A3 "^CALLS IN PROGRESS" "$dir/queue_on_call.out" | grep -- "$first" | grep -q "lan" ||
  fail "the connected call is not listed in progress with lan"
ctl explain "$first" > "$dir/explain.out" || fail "hotlinectl explain"
grep -q "to lan .*accepted" "$dir/explain.out" || fail "explain does not show the accepted offer"
if ctl priority "$first" low > "$dir/priority_connected.out" 2>&1; then
  fail "a connected call's priority changed"
fi
grep -q "^error: not possible now: " "$dir/priority_connected.out" ||
  fail "the refusal is not in words"

# The first call's gateway dies for good: nothing ends the call, and lan is held on it until a
# supervisor ends it.
kill -9 "$first_sim"
wait "$first_sim" 2> /dev/null || true
if ctl end-call "$first" > "$dir/end_no_reason.out" 2>&1; then
  fail "end-call ran without a reason"
fi
grep -q -- "--reason is required" "$dir/end_no_reason.out" || fail "end-call did not ask for --reason"
# A reason that is not UTF-8 (typed in another encoding) is refused naming the field, not sent:
# gRPC at the daemon could not parse it and would answer only INTERNAL.
if ctl end-call "$first" --reason $'Latin-1 \xe9' > "$dir/end_latin1.out" 2>&1; then
  fail "end-call sent a reason that is not UTF-8"
fi
grep -q "reason: is not valid UTF-8 at byte 8 (INVALID_ARGUMENT)" "$dir/end_latin1.out" ||
  fail "end-call's refusal of a reason not UTF-8: $(cat "$dir/end_latin1.out")"
# So is an id that is not UTF-8 given to `counsellor update`, which looks the id up itself first:
# refused before anything is sent (nothing listens on port 1).
if "$bin/hotlinectl" --server 127.0.0.1:1 --token dev-admin-token counsellor update $'lan\xff' \
  --name Lan > "$dir/update_latin1.out" 2>&1; then
  fail "counsellor update ran with an id that is not UTF-8"
fi
grep -q "counsellor.counsellor_id: is not valid UTF-8 at byte 3" "$dir/update_latin1.out" ||
  fail "counsellor update's refusal of an id not UTF-8: $(cat "$dir/update_latin1.out")"
ctl end-call "$first" --reason "the gateway died" > "$dir/end.out" || fail "hotlinectl end-call"
grep -q "^$first: ended (failed) by you; lan is in wrap_up since " "$dir/end.out" ||
  fail "end-call did not say so: $(cat "$dir/end.out")"
wait_for "ended call $first: failed" "$dir/desk_lan.out"
ctl queue > "$dir/queue_ended.out" || fail "hotlinectl queue"
grep -E "^ *lan .*wrap_up" "$dir/queue_ended.out" > /dev/null ||
  fail "lan is not in wrap-up: $(cat "$dir/queue_ended.out")"
if ctl end-call "$first" --reason "again" > "$dir/end_again.out" 2>&1; then
  fail "an ended call was ended again"
fi
grep -q "^error: not possible now: .*has already ended" "$dir/end_again.out" ||
  fail "the second end's refusal is not in words: $(cat "$dir/end_again.out")"

# hotlined restarts on the same port: the watch says it is reconnecting, then draws again.
stop_hotlined
wait_for "^reconnecting…" "$dir/watch.out"
start_hotlined restarted "$grpc"
# The last frame drawn has no "reconnecting…" line under its title.
watch_connected() {
  awk '/^hotline queue at/ { title = NR } /^reconnecting/ { down = NR }
       END { exit !(title > down) }' "$dir/watch.out"
}
wait_until watch_connected

# Ctrl-C ends the watch cleanly.
kill -INT "$watch_pid"
status=0
wait "$watch_pid" || status=$?
[ "$status" -eq 0 ] || fail "queue --watch exited $status on SIGINT"

# Every change the daemon sent followed the one before it.
if grep -q "missed an update" "$dir/watch.out"; then
  fail "the watch saw an update out of sequence"
fi

# What hotlinectl printed never held the raw caller number.
if cat "$dir"/queue_*.out "$dir/watch.out" | grep -q "912345678"; then
  fail "hotlinectl showed a raw caller number"
fi

stop_hotlined
echo "PASS: supervisor commands through real processes"

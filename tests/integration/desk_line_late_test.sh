#!/usr/bin/env bash
# hotline-desk's line mode records a disposition late: hotlined's wrap-up lasts 2 s, the
# counsellor types `dispo` only after it ended, and the desk sends it for the call whose wrap-up
# expired; the daemon answers that it was late and the calls row says so. Then a desk started
# afresh is told which call still needs one (DispositionOwedEvent) and records it. A note that is
# not UTF-8 is refused naming the field, and changes nothing.
#
# Usage: desk_line_late_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
begin_test "$@"
export HOTLINE_GATEWAY_TOKEN=dev-gateway-token

sed 's/^wrap_up_ms = .*/wrap_up_ms = 2000/' "$src/deploy/hotline.toml" > "$dir/hotline.toml"
grep -q '^wrap_up_ms = 2000$' "$dir/hotline.toml" || fail "no wrap_up_ms in the shipped config"
hotline_config=$dir/hotline.toml
start_hotlined daemon
add_counsellor lan || fail "hotlinectl counsellor add lan"

# The calls row of call $1: "category|late".
row() {
  sqlite3 "$dir/hotline.db" \
    "SELECT category || '|' || (late_disposition_at IS NOT NULL) FROM calls WHERE call_id = '$1'"
}
# desk NAME [FLAGS]: a line-mode desk reading its commands from the FIFO $dir/NAME.in, which this
# shell holds open on fd 3; output in $dir/NAME.out.
desk() {
  local name=$1
  shift
  mkfifo "$dir/$name.in"
  HOTLINE_DESK_TOKEN=$desk_token "$bin/hotline-desk" --line --server "$grpc" "$@" \
    < "$dir/$name.in" > "$dir/$name.out" 2>&1 &
  others+=("$!")
  exec 3> "$dir/$name.in"
}
# True when FILE shows PATTERN after its last line matching AFTER.
shows_after() {
  local after=$1 pattern=$2 file=$3 line
  line=$(grep -n -- "$after" "$file" | tail -1 | cut -d: -f1)
  [ -n "$line" ] && tail -n "+$line" "$file" | grep -q -- "$pattern"
}
# True when FILE has at least N lines matching PATTERN (checked anew at each call).
at_least() { [ "$(grep -c -- "$2" "$3" || true)" -ge "$1" ]; }

desk first --available
wait_for "presence available" "$dir/first.out"

# Two calls; one counsellor, who accepts each by hand and lets each wrap-up expire.
"$bin/hotline-sim" --server "$grpc" --gateway-id sim --calls 2 --interval-ms 10 --province 38 \
  --topic counselling --talk-ms 1000 --no-exit-when-done > "$dir/sim.out" 2>&1 &
others+=("$!")
for n in 1 2; do
  wait_until at_least "$n" " offer call " "$dir/first.out"
  echo accept >&3
  wait_until at_least "$n" " wrap-up call " "$dir/first.out"
  wait_until shows_after " wrap-up call " "presence available" "$dir/first.out"
done
first=$(sed -n 's/.* offer call \([^ ]*\) from .*/\1/p' "$dir/first.out" | sed -n 1p)
second=$(sed -n 's/.* offer call \([^ ]*\) from .*/\1/p' "$dir/first.out" | sed -n 2p)
[ -n "$first" ] && [ -n "$second" ] && [ "$first" != "$second" ] || fail "two offers expected"

# A note typed in Latin-1 (a terminal not set to UTF-8) is refused naming the field (by the desk,
# before sending; the daemon would say the same): the row stays without a disposition.
printf 'dispo neglect counselled Latin-1 \xe9\n' >&3
wait_for "error: INVALID_ARGUMENT: disposition.note: is not valid UTF-8 at byte 8" "$dir/first.out"
[ -z "$(row "$second")" ] || fail "row of $second after the refusal: '$(row "$second")'"

# Typed after the wrap-up ended: recorded, late, for the newest call.
echo "dispo neglect counselled" >&3
wait_for "ok: disposition recorded for call $second (late" "$dir/first.out"
[ "$(row "$second")" = "neglect|1" ] || fail "row of $second: '$(row "$second")'"
echo quit >&3
exec 3>&-

# A desk started afresh is told the first call still needs its disposition, and records it.
desk again
wait_for "call $first still needs its disposition" "$dir/again.out"
grep -q "call $second still needs" "$dir/again.out" && fail "$second is recorded, not owed"
echo "dispo education information_given" >&3
wait_for "ok: disposition recorded for call $first (late" "$dir/again.out"
[ "$(row "$first")" = "education|1" ] || fail "row of $first: '$(row "$first")'"
echo quit >&3
exec 3>&-

# A desk run with no input at all and --available goes available before it exits (it once
# closed its Watch first, and the daemon refused the presence: "no desk connected").
for n in 1 2 3; do
  add_counsellor "mai$n" || fail "hotlinectl counsellor add mai$n"
  HOTLINE_DESK_TOKEN=$desk_token "$bin/hotline-desk" --line --server "$grpc" --available \
    < /dev/null > "$dir/mai$n.out" 2>&1 || fail "desk with no input exited $? ($dir/mai$n.out)"
  grep -q "ok: presence available" "$dir/mai$n.out" || fail "no presence available: $(cat "$dir/mai$n.out")"
done
echo "PASS: line-mode late dispositions, also from a desk started afresh; --available with no input"

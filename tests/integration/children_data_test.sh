#!/usr/bin/env bash
# Children's data on disk, with real processes (DESIGN.md §6, issue 10 part 5): calls from known
# numbers go through hotlined logging at trace level, with a snapshot every 100 journal records.
# Then the database file, its -wal and -shm, its journal and snapshots read back through SQLite,
# hotlined's logs and the counsellor's screen are searched for the numbers in every form a number
# is written in (+84..., 84..., 0..., the bare subscriber digits): no hit. And every file hotlined
# created is 0600, in directories it created 0700.
# Three more calls time out before anyone is signed in, so their numbers are kept sealed for a
# callback: hotlinectl lists them masked, reveals one (the only place a number may appear: the
# supervisor's own terminal), marks one done, and the audit shows both; the same searches find
# none of those numbers either.
#
# Usage: children_data_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
dir=$(mktemp -d)
# Neither directory exists: hotlined creates both.
data=$dir/data
hotlined_database=$data/var/hotline.db
hotlined_key=$data/keys/caller.key
hotlined_log_level=trace
hotlined_config=$dir/hotline.toml
daemon_pid=""
desk_pid=""

# fail, wait_for, start_hotlined, stop_hotlined, add_counsellor, start_desk, stop_started.
. "$(dirname "$0")/lib.sh"
trap stop_started EXIT

# A maximum wait of 6 s, so the callback calls time out soon; the answered calls wait far less.
sed -e 's/^snapshot_every_records = .*/snapshot_every_records = 100/' \
  -e 's/^max_wait_ms = .*/max_wait_ms = 6000/' \
  "$src/deploy/hotline.toml" > "$hotlined_config"
grep -q "^snapshot_every_records = 100$" "$hotlined_config" || fail "the test config has no snapshot"
grep -q "^max_wait_ms = 6000$" "$hotlined_config" || fail "the test config has the default wait"

# 20 callers, +84912345600 to +84912345619, then one who calls 3 times (a repeat caller, whose
# history the desk is shown).
first=912345600
repeat=987654321
numbers=()
for n in $(seq 0 19); do numbers+=("$((first + n))"); done
numbers+=("$repeat")
calls=23
# Three callers nobody answers: +84923456700 to +84923456702.
callback_first=923456700
for n in 0 1 2; do numbers+=("$((callback_first + n))"); done

start_hotlined daemon
export HOTLINE_ADMIN_TOKEN=dev-admin-token HOTLINE_GATEWAY_TOKEN=dev-gateway-token
add_counsellor lan "Nguyễn Thị Lan" || fail "hotlinectl counsellor add"
# Nobody is signed in yet: these wait their 6 s, time out and are offered a callback.
"$bin/hotline-sim" --server "$grpc" --gateway-id gw-callback --calls 3 --interval-ms 10 \
  --province 38 --caller "+84$callback_first" > "$dir/sim-callback.out" 2>&1 ||
  fail "hotline-sim (callback calls)"
export HOTLINE_SUPERVISOR_TOKEN=dev-supervisor-token
"$bin/hotlinectl" --server "$grpc" callbacks > "$dir/callbacks.out" 2>&1 ||
  fail "hotlinectl callbacks: $(cat "$dir/callbacks.out")"
for n in 0 1 2; do
  grep -F -q -e "**********0$n" "$dir/callbacks.out" || fail "callbacks does not list ...0$n masked"
done
ids=($(awk 'NR > 1 { print $1 }' "$dir/callbacks.out"))
[ "${#ids[@]}" = 3 ] || fail "callbacks lists ${#ids[@]} callbacks, not 3: $(cat "$dir/callbacks.out")"
# The one place a number may be: the supervisor's terminal, never searched below.
"$bin/hotlinectl" --server "$grpc" callback reveal "${ids[0]}" > "$dir/reveal.out" 2>&1 ||
  fail "hotlinectl callback reveal: $(cat "$dir/reveal.out")"
grep -F -q -e "+84$callback_first" "$dir/reveal.out" || fail "reveal does not show the number"
"$bin/hotlinectl" --server "$grpc" callback done "${ids[0]}" > "$dir/done.out" 2>&1 ||
  fail "hotlinectl callback done: $(cat "$dir/done.out")"
"$bin/hotlinectl" --server "$grpc" audit > "$dir/audit.out" 2>&1 ||
  fail "hotlinectl audit: $(cat "$dir/audit.out")"
grep -q "reveal_callback *${ids[0]}$" "$dir/audit.out" || fail "the reveal is not audited"
# An ID too large for 64 bits is refused as typed, not sent as the largest one (and audited so).
if "$bin/hotlinectl" --server "$grpc" callback reveal 99999999999999999999999 \
  > "$dir/reveal-huge.out" 2>&1; then fail "a reveal of an ID past 64 bits"; fi
grep -q "not a callback ID" "$dir/reveal-huge.out" || fail "the huge ID: $(cat "$dir/reveal-huge.out")"
grep -q "callback_done *${ids[0]}$" "$dir/audit.out" || fail "the done is not audited"
[ "$(sqlite3 -readonly "$hotlined_database" "SELECT count(*) FROM callbacks WHERE state = 'pending'")" = 2 ] ||
  fail "the database does not hold exactly the 2 callbacks not done"
start_desk desk "$desk_token" --available --auto-accept \
  --auto-disposition mental_health:counselled --exit-after-calls "$calls"
wait_for "presence available" "$dir/desk.out"

# A quarter of a second apart: the one desk answers them in turn, and none may reach the 6 s
# maximum wait behind the others on a slow machine.
"$bin/hotline-sim" --server "$grpc" --calls 20 --interval-ms 250 --province 38 \
  --caller "+84$first" --talk-ms 20 > "$dir/sim-many.out" 2>&1 || fail "hotline-sim (20 callers)"
"$bin/hotline-sim" --server "$grpc" --gateway-id gw-repeat --calls 3 --interval-ms 10 \
  --province 38 --caller "+84$repeat" --same-caller --talk-ms 20 \
  > "$dir/sim-repeat.out" 2>&1 || fail "hotline-sim (a repeat caller)"
wait "$desk_pid" || fail "hotline-desk did not finish its $calls calls"
desk_pid=""

db=$hotlined_database
[ "$(sqlite3 -readonly "$db" "SELECT count(*) FROM calls")" = "$((calls + 3))" ] ||
  fail "not every call has its row"
[ "$(sqlite3 -readonly "$db" "SELECT count(*) FROM snapshots")" = 1 ] || fail "no snapshot taken"
[ -s "$db-wal" ] || fail "no WAL to search"

# forms DIGITS: the ways the number +84DIGITS is written.
forms() { printf '%s\n' "+84$1" "84$1" "0$1" "$1"; }
# hex TEXT: TEXT's bytes as SQLite's hex() shows a blob.
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n' | tr a-f A-F; }

# search WHAT FILE...: fails the test if any form of any number is in the files.
search() {
  local what=$1 number form
  shift
  for number in "${numbers[@]}"; do
    for form in $(forms "$number"); do
      if grep -a -F -q -e "$form" "$@"; then
        fail "$what holds the caller number $form"
      fi
    done
  done
}

# The tables as text, and the journal's records and the snapshot as hex: the raw files may split a
# number where a value runs over a page boundary.
dump_database() {
  sqlite3 -readonly "$db" .dump > "$dir/dump.sql"
  sqlite3 -readonly "$db" "SELECT hex(record) FROM journal; SELECT hex(state) FROM snapshots" \
    > "$dir/blobs.hex"
  [ -s "$dir/blobs.hex" ] || fail "no journal or snapshot to search"
}
search_blobs() {
  local number form
  for number in "${numbers[@]}"; do
    for form in $(forms "$number"); do
      if grep -F -q -e "$(hex "$form")" "$dir/blobs.hex"; then
        fail "the journal or the snapshot holds the caller number $form"
      fi
    done
  done
}

# private_files: everything hotlined created under $data is 0600, each directory 0700.
private_files() {
  local wide
  wide=$(find "$data" -type f ! -perm 600 -printf '%m %p\n')
  [ -z "$wide" ] || fail "files hotlined created are not 0600: $wide"
  wide=$(find "$data" -type d ! -perm 700 -printf '%m %p\n')
  [ -z "$wide" ] || fail "directories hotlined created are not 0700: $wide"
}

# While it runs: the WAL and shm are there.
for f in "$db" "$db-wal" "$db-shm" "$db.lock" "$hotlined_key" "$(dirname "$hotlined_key")/callback.key"; do
  [ -f "$f" ] || fail "$f does not exist"
done
private_files
search "the database files" "$db" "$db-wal" "$db-shm" "$db.lock"
dump_database
search "the database's tables" "$dir/dump.sql"
search_blobs
# The searches find what is there: each masked form, in the rows and in the records.
masked=0
for number in "${numbers[@]:0:21}"; do
  grep -F -q -e "**********${number: -2}" "$dir/dump.sql" || fail "no masked number in the rows"
  grep -F -q -e "$(hex "**********${number: -2}")" "$dir/blobs.hex" && masked=$((masked + 1))
done
[ "$masked" -gt 0 ] || fail "no masked number in the journal or the snapshot"

# After a clean stop the WAL is checkpointed into the database: the same searches, and the logs.
stop_hotlined
private_files
search "the database" "$db"
dump_database
search "the database's tables" "$dir/dump.sql"
search_blobs
grep -q "hotlined serving gRPC" "$dir/daemon.out" || fail "hotlined's log is not captured"
search "hotlined's log" "$dir/daemon.log" "$dir/daemon.out"
search "the counsellor's screen" "$dir/desk.out"
search "hotlinectl's list and audit" "$dir/callbacks.out" "$dir/audit.out" "$dir/done.out"
echo "PASS: no caller number in the database, its WAL, journal, snapshots or logs (callbacks" \
  "sealed); files 0600"

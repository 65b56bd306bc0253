#!/usr/bin/env bash
# One hotlined per database and per port, with real processes: a second hotlined on the first's
# database, then on its gRPC port, then on its HTTP port, each exits non-zero and says why (the
# holder's pid and the database; the port), and the first goes on serving and writing.
#
# Usage: one_daemon_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
dir=$(mktemp -d)
first_pid=""
second_pid=""

cleanup() {
  [ -n "$second_pid" ] && kill -9 "$second_pid" 2>/dev/null || true
  [ -n "$first_pid" ] && kill -9 "$first_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

# fail, wait_for, add_counsellor.
. "$(dirname "$0")/lib.sh"

# hotlined NAME DATABASE GRPC HTTP: starts hotlined in the background, output in $dir/NAME.*.
hotlined() {
  local name=$1 database=$2 grpc_listen=$3 http_listen=$4
  mkdir -p "$(dirname "$database")"
  "$bin/hotlined" --config "$src/deploy/hotline.toml" --grpc-listen "$grpc_listen" \
    --http-listen "$http_listen" --database "$database" \
    --caller-key-file "$(dirname "$database")/keys/caller.key" \
    > "$dir/$name.out" 2> "$dir/$name.log" &
}

# refused NAME DATABASE GRPC HTTP: a second hotlined that must exit non-zero, without ever
# saying it is ready. Waits up to 20 s for it to exit.
refused() {
  local name=$1
  hotlined "$@"
  second_pid=$!
  for _ in $(seq 200); do
    kill -0 "$second_pid" 2>/dev/null || break
    grep -q "hotlined ready" "$dir/$name.out" && fail "$name started beside the first daemon"
    sleep 0.1
  done
  kill -0 "$second_pid" 2>/dev/null && fail "$name neither exited nor started within 20 s"
  local status=0
  wait "$second_pid" || status=$?
  second_pid=""
  grep -q "hotlined ready" "$dir/$name.out" && fail "$name started beside the first daemon"
  [ "$status" -ne 0 ] || fail "$name exited 0"
}

hotlined first "$dir/a/hotline.db" 127.0.0.1:0 127.0.0.1:0
first_pid=$!
wait_for "hotlined ready" "$dir/first.out"
grpc=$(sed -n 's/.*grpc=\([^ ]*\).*/\1/p' "$dir/first.out")
http=$(sed -n 's/.*http=\([^ ]*\).*/\1/p' "$dir/first.out")

# The lock: beside the database, 0600, holding the first daemon's pid.
[ "$(stat -c %a "$dir/a/hotline.db.lock")" = 600 ] || fail "the lock file is not 0600"
[ "$(tr -d '\n' < "$dir/a/hotline.db.lock")" = "$first_pid" ] ||
  fail "the lock file does not hold pid $first_pid"

# Same database, ports of its own: refused, naming the holder and the database.
refused same_database "$dir/a/hotline.db" 127.0.0.1:0 127.0.0.1:0
grep -q "pid $first_pid" "$dir/same_database.log" ||
  fail "the refusal does not name the first daemon's pid $first_pid"
grep -q "$dir/a/hotline.db" "$dir/same_database.log" || fail "the refusal does not name the database"

# Another database, the first's gRPC port: refused, naming the port. The lock file of its own
# database is released on the way out.
refused same_grpc_port "$dir/b/hotline.db" "$grpc" 127.0.0.1:0
grep -q "$grpc" "$dir/same_grpc_port.log" || fail "the refusal does not name the gRPC port $grpc"

# Another database, the first's HTTP port: refused, naming the port.
refused same_http_port "$dir/c/hotline.db" 127.0.0.1:0 "$http"
grep -q "$http" "$dir/same_http_port.log" || fail "the refusal does not name the HTTP port $http"

# The first goes on serving, and writing its database.
"$bin/hotlinectl" --server "$grpc" status > "$dir/status.out" || fail "hotlinectl status"
grep -q "health: SERVING" "$dir/status.out" || fail "health is not SERVING"
[ "$(curl -fsS "http://$http/healthz")" = "ok" ] || fail "/healthz is not ok"
export HOTLINE_ADMIN_TOKEN=dev-admin-token
add_counsellor lan "Nguyễn Thị Lan" || fail "hotlinectl counsellor add"
"$bin/hotlinectl" --server "$grpc" counsellor list > "$dir/list.out" || fail "hotlinectl list"
grep -q "lan" "$dir/list.out" || fail "the counsellor is not listed"

kill -TERM "$first_pid"
wait "$first_pid" || fail "the first hotlined exited non-zero after SIGTERM"
first_pid=""
[ "$(sqlite3 "$dir/a/hotline.db" "SELECT counsellor_id FROM counsellors")" = "lan" ] ||
  fail "the counsellor is not in the first daemon's database"

# Once the first is gone, the database is free again.
hotlined after "$dir/a/hotline.db" 127.0.0.1:0 127.0.0.1:0
first_pid=$!
wait_for "hotlined ready" "$dir/after.out"
kill -TERM "$first_pid"
wait "$first_pid" || fail "the restarted hotlined exited non-zero after SIGTERM"
first_pid=""
echo "PASS: one hotlined per database and per port"

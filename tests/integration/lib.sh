# Shared by the real-process tests in this directory. Source it after setting $dir (the test's
# temporary directory, whose *.log and *.out files are shown on failure), or source it first and
# call begin_test.

# begin_test BIN_DIR SOURCE_DIR: the usual start of a test given those two arguments: sets bin,
# src, a fresh $dir, no daemon_pid and no `others` yet, and kill_started on exit.
begin_test() {
  bin=$1
  src=$2
  dir=$(mktemp -d)
  daemon_pid=""
  others=()
  trap kill_started EXIT
}

# For a test's EXIT trap: kills (-9) every pid in the array `others` and $daemon_pid, then
# removes $dir.
kill_started() {
  for pid in "${others[@]}"; do
    kill -9 "$pid" 2>/dev/null || true
  done
  [ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2>/dev/null || true
  rm -rf "$dir"
}

fail() {
  echo "FAIL: $*" >&2
  for f in "$dir"/*.log "$dir"/*.out; do
    [ -f "$f" ] && { echo "--- $f"; cat "$f"; } >&2
  done
  exit 1
}

# The end of a test that starts hotlined and a desk (`trap stop_started EXIT`): kills the desk
# ($desk_pid) and hotlined ($daemon_pid) if they still run, and removes $dir.
stop_started() {
  [ -n "${desk_pid:-}" ] && kill "$desk_pid" 2>/dev/null || true
  [ -n "${daemon_pid:-}" ] && kill -9 "$daemon_pid" 2>/dev/null || true
  rm -rf "$dir"
}

# Waits (polling, up to 20 s) until `grep -q PATTERN FILE` succeeds.
wait_for() {
  local pattern=$1 file=$2
  for _ in $(seq 200); do
    grep -q -- "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "waited 20 s for '$pattern' in $file"
}

# Waits (polling, up to 20 s) until the command given succeeds.
wait_until() {
  for _ in $(seq 200); do
    "$@" && return 0
    sleep 0.1
  done
  fail "waited 20 s for: $*"
}

# start_hotlined NAME [GRPC_LISTEN]: hotlined from the shipped config on the test's database
# ($dir/hotline.db) and caller key (apart from it, in $dir/keys), HTTP on a port the OS picks, gRPC
# on GRPC_LISTEN (default: a port the OS picks); output in $dir/NAME.out and $dir/NAME.log. A test
# may set hotlined_config (or hotline_config), hotlined_database, hotlined_key and hotlined_log_level to change
# those. Waits until it is ready, then sets daemon_pid, grpc and http. Needs $bin and $src.
start_hotlined() {
  local name=$1 grpc_listen=${2:-127.0.0.1:0}
  "$bin/hotlined" --config "${hotlined_config:-${hotline_config:-$src/deploy/hotline.toml}}" \
    --grpc-listen "$grpc_listen" --http-listen 127.0.0.1:0 \
    --database "${hotlined_database:-$dir/hotline.db}" \
    --caller-key-file "${hotlined_key:-$dir/keys/caller.key}" \
    --log-level "${hotlined_log_level:-info}" > "$dir/$name.out" 2> "$dir/$name.log" &
  daemon_pid=$!
  hotlined_out=$dir/$name.out
  wait_for "hotlined ready" "$dir/$name.out"
  grpc=$(sed -n 's/.*grpc=\([^ ]*\).*/\1/p' "$dir/$name.out")
  http=$(sed -n 's/.*http=\([^ ]*\).*/\1/p' "$dir/$name.out")
}

# add_counsellor ID [NAME]: `hotlinectl counsellor add` with the shipped admin token, a counsellor
# of province 38 taking counselling calls in Vietnamese; output in $dir/add_ID.out. Sets
# desk_token; returns hotlinectl's status.
add_counsellor() {
  local id=$1 name=${2:-Counsellor $1}
  desk_token=""
  "$bin/hotlinectl" --server "$grpc" --token dev-admin-token counsellor add "$id" \
    --name "$name" --home-province 38 --skill counselling:4 --language vi \
    --endpoint "sip:$id@pbx" > "$dir/add_$id.out" 2>&1 || return
  desk_token=$(sed -n 's/^token: //p' "$dir/add_$id.out")
}

# start_desk NAME TOKEN [FLAGS...]: hotline-desk signed in with TOKEN, in the background with no
# input, output in $dir/NAME.out; sets desk_pid.
start_desk() {
  local name=$1 token=$2
  shift 2
  HOTLINE_DESK_TOKEN=$token "$bin/hotline-desk" --server "$grpc" "$@" \
    > "$dir/$name.out" 2>&1 < /dev/null &
  desk_pid=$!
}

# Stops hotlined with SIGTERM, as an operator does; fails the test unless it exits 0 with its
# whole log written (no line dropped from its queue: a test that searches the log must search all
# of it).
stop_hotlined() {
  kill -TERM "$daemon_pid"
  wait "$daemon_pid" || fail "hotlined exited non-zero after SIGTERM"
  daemon_pid=""
  local out=${hotlined_out:-/dev/null}  # start_hotlined's output (of the last it started).
  ! grep -q "log lines were dropped" "$out" ||
    fail "hotlined's log is incomplete: $(grep "log lines were dropped" "$out")"
}

# Another process holding the database, as a careless script or a hand-run repair would:
# lock NAME: sqlite3 takes BEGIN EXCLUSIVE on the database, reading its statements from the FIFO
# $dir/NAME.in, which this shell holds open on fd 4; returns once the lock is held.
lock() {
  mkfifo "$dir/$1.in"
  sqlite3 "$dir/hotline.db" < "$dir/$1.in" > "$dir/$1.out" 2>&1 &
  others+=("$!")
  exec 4> "$dir/$1.in"
  echo "BEGIN EXCLUSIVE; SELECT 'locked';" >&4
  wait_for "^locked$" "$dir/$1.out"
}
# unlock NAME: commits lock NAME's transaction and closes fd 4 (sqlite3 then exits).
unlock() {
  echo "COMMIT; SELECT 'released';" >&4
  wait_for "^released$" "$dir/$1.out"
  exec 4>&-
}

# Shared by the real-process tests in this directory. Source it after setting $dir (the test's
# temporary directory, whose *.log and *.out files are shown on failure).

fail() {
  echo "FAIL: $*" >&2
  for f in "$dir"/*.log "$dir"/*.out; do
    [ -f "$f" ] && { echo "--- $f"; cat "$f"; } >&2
  done
  exit 1
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

# start_hotlined NAME: hotlined from the shipped config on the test's database ($dir/hotline.db,
# caller key beside it), on ports the OS picks, output in $dir/NAME.out and $dir/NAME.log. Sets
# daemon_pid, grpc and http (host:port). Needs $bin and $src.
start_hotlined() {
  "$bin/hotlined" --config "$src/deploy/hotline.toml" --grpc-listen 127.0.0.1:0 \
    --http-listen 127.0.0.1:0 --database "$dir/hotline.db" --caller-key-file "$dir/caller.key" \
    > "$dir/$1.out" 2> "$dir/$1.log" &
  daemon_pid=$!
  wait_for "hotlined ready" "$dir/$1.out"
  grpc=$(sed -n 's/.*grpc=\([^ ]*\).*/\1/p' "$dir/$1.out")
  http=$(sed -n 's/.*http=\([^ ]*\).*/\1/p' "$dir/$1.out")
}

# Stops hotlined with SIGTERM, as an operator does; fails the test unless it exits 0.
stop_hotlined() {
  kill -TERM "$daemon_pid"
  wait "$daemon_pid" || fail "hotlined exited non-zero after SIGTERM"
  daemon_pid=""
}

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

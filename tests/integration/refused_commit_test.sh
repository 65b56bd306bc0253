#!/usr/bin/env bash
# A commit the database refuses for good, with real processes: another writer puts a journal
# entry ahead of hotlined's, so hotlined's next commit is refused (FAILED_PRECONDITION, "journal
# entry N is not after the last stored seq"). hotlined must not retry it forever: it logs why,
# acknowledges nothing after it, and exits 3 so a supervisor restarts it; the restart recovers
# what was acknowledged from the journal.
#
# Usage: refused_commit_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
dir=$(mktemp -d)
daemon_pid=""

cleanup() {
  [ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

# fail, wait_for, start_hotlined, stop_hotlined, add_counsellor.
. "$(dirname "$0")/lib.sh"

export HOTLINE_ADMIN_TOKEN=dev-admin-token
start_hotlined first
add_counsellor an || fail "hotlinectl counsellor add an"

sqlite3 "$dir/hotline.db" "INSERT INTO journal (seq, at, record) VALUES (1000000000, 0, x'')"
if add_counsellor binh; then
  fail "a counsellor was acknowledged after the refused commit"
fi

# hotlined stops by itself, non-zero, and says why.
status=0
for _ in $(seq 200); do
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$daemon_pid" 2>/dev/null && fail "hotlined still runs 20 s after a refused commit"
wait "$daemon_pid" || status=$?
daemon_pid=""
[ "$status" -eq 3 ] || fail "hotlined exited $status after a refused commit, not 3"
cat "$dir/first.out" "$dir/first.log" | grep -q "journal commit refused" || fail "the refusal is not logged"
cat "$dir/first.out" "$dir/first.log" | grep -q "not after the last stored seq" || fail "the reason is not logged"

# The other writer's entry removed, a restart recovers what was acknowledged: an, not binh.
sqlite3 "$dir/hotline.db" "DELETE FROM journal WHERE seq = 1000000000"
start_hotlined second
"$bin/hotlinectl" --server "$grpc" counsellor list > "$dir/list.out" || fail "hotlinectl list"
grep -qw "an" "$dir/list.out" || fail "the acknowledged counsellor is gone"
if grep -qw "binh" "$dir/list.out"; then
  fail "the unacknowledged counsellor was recovered"
fi
[ "$(sqlite3 "$dir/hotline.db" "SELECT counsellor_id FROM counsellors")" = "an" ] ||
  fail "the database holds other counsellors than the acknowledged one"
add_counsellor binh || fail "hotlinectl counsellor add binh after the restart"
stop_hotlined
echo "PASS: a refused commit stops hotlined with status 3 and a restart recovers"

#!/usr/bin/env bash
# End to end with real processes, as an operator runs them: hotlined started from the shipped
# config, then hotlinectl, hotline-desk and hotline-sim over loopback, the calls row read with
# sqlite3, and a clean SIGTERM. Also checks health, reflection, /healthz, and that the raw caller
# number reached neither the database nor the logs.
#
# Usage: processes_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
dir=$(mktemp -d)
daemon_pid=""
desk_pid=""

# fail, wait_for, start_hotlined, stop_hotlined, add_counsellor, start_desk, stop_started.
. "$(dirname "$0")/lib.sh"
trap stop_started EXIT

start_hotlined daemon

# Health, reflection and /healthz.
"$bin/hotlinectl" --server "$grpc" status > "$dir/status.out" || fail "hotlinectl status"
grep -q "health: SERVING" "$dir/status.out" || fail "health is not SERVING"
for service in GatewayService DeskService SupervisorService AdminService; do
  grep -q "hotline.v1.$service" "$dir/status.out" || fail "reflection does not list $service"
done
[ "$(curl -fsS "http://$http/healthz")" = "ok" ] || fail "/healthz is not ok"

# A counsellor, their desk, one simulated call.
export HOTLINE_ADMIN_TOKEN=dev-admin-token HOTLINE_GATEWAY_TOKEN=dev-gateway-token
add_counsellor lan "Nguyễn Thị Lan" || fail "hotlinectl counsellor add"
[ -n "$desk_token" ] || fail "no token printed"

start_desk desk "$desk_token" --available --auto-accept \
  --auto-disposition mental_health:counselled --exit-after-calls 1
wait_for "presence available" "$dir/desk.out"

"$bin/hotline-sim" --server "$grpc" --calls 1 --province 38 --caller +84912345678 \
  --talk-ms 300 > "$dir/sim.out" 2>&1 || fail "hotline-sim"
wait "$desk_pid" || fail "hotline-desk did not finish its call"
desk_pid=""

row=$(sqlite3 "$dir/hotline.db" \
  "SELECT outcome, counsellor_id, category, action FROM calls")
[ "$row" = "completed|lan|mental_health|counselled" ] || fail "unexpected calls row: '$row'"

# Clean shutdown on SIGTERM.
stop_hotlined

# The raw number never reached disk or a log (the masked "**********78" is fine).
if grep -a -r -q "912345678" "$dir"; then
  fail "the raw caller number reached disk or a log"
fi
echo "PASS: one call routed end to end through real processes"

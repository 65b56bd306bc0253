#!/usr/bin/env bash
# resource_test: a real hotlined under misbehaving peers (resource_probe.cc says which), its
# memory bounded, /healthz answering and a well-behaved gateway's acks all arriving; then its log
# says the paused gateway and desk were cut off, in one line each, and no line per command.
#
#   resource_test.sh BIN_DIR SOURCE_DIR
#
# The fd limit is raised to the hard limit for hotlined and the probe (10,000 idle connections
# need 10,000 fds on each side); with a lower hard limit the probe opens fewer and says so.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
begin_test "$@"

# The documented bound (docs/limits.md) on hotlined's resident memory under this abuse.
rss_bound_mb=${HOTLINE_RSS_BOUND_MB:-600}

ulimit -n "$(ulimit -Hn)"
hotlined_config="$src/tests/integration/resource_test.toml"
start_hotlined hotlined
"$bin/resource_probe" "$grpc" "$http" "$daemon_pid" "$rss_bound_mb" > "$dir/probe.out" 2>&1 ||
  fail "resource_probe failed"
cat "$dir/probe.out"
kill -0 "$daemon_pid" || fail "hotlined is gone"
stop_hotlined  # Its log (standard output) is complete once it exits.
grep -q "a gateway stopped reading ('paused-gateway'" "$dir/hotlined.out" ||
  fail "no sign that the paused gateway was cut off at its outbox cap"
grep -q "a desk stopped reading" "$dir/hotlined.out" ||
  fail "no sign that the paused desk was cut off at its outbox cap"
lines=$(wc -l < "$dir/hotlined.out")
echo "hotlined's log: $lines lines"
# About 3,000 lines are the well-behaved gateways' 2,000 calls and the 1,000 reconciled ones (a
# line per call finished); a line per refused arrival or per command would be tens of thousands.
[ "$lines" -lt 10000 ] || fail "hotlined logged $lines lines: a line per message somewhere"
echo "resource_test: ok"

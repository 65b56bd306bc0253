#!/usr/bin/env bash
# The clients' errors say what to do (issue 9, the newcomer's path), with real processes:
# a daemon that is down is named by its address with ./deploy/run; a token of the wrong role
# says which role's token is wanted; a bad count or port reads as a sentence; a token file that
# cannot be read is named.
#
# Usage: client_errors_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
begin_test "$@"

# expect_failure NAME PATTERN COMMAND...: COMMAND fails and its output ($dir/NAME.out) has PATTERN.
expect_failure() {
  local name=$1 pattern=$2
  shift 2
  if "$@" > "$dir/$name.out" 2>&1 < /dev/null; then
    fail "$name: succeeded"
  fi
  grep -q -- "$pattern" "$dir/$name.out" || fail "$name: no '$pattern' in its output"
}

# Nothing listens on the discard port: the daemon is down.
expect_failure down "hotlined is not answering at 127.0.0.1:9: is it running? Start it with ./deploy/run" \
  "$bin/hotlinectl" --server 127.0.0.1:9 --token x counsellor list
# A port past 65535: gRPC would wrap it (99999 is 34463) and try another daemon's port.
expect_failure port "--server: port '99999' is not a number from 0 to 65535" \
  "$bin/hotlinectl" --server 127.0.0.1:99999 --token x status
expect_failure count "--calls: must be a whole number, 0 or more, not '-3'" \
  "$bin/hotline-sim" --token x --calls -3
expect_failure file "--token-file: cannot read '$dir/nowhere'" \
  "$bin/hotline-desk" --line --token-file "$dir/nowhere"
expect_failure no_token "no token: set HOTLINE_DESK_TOKEN or pass --token-file FILE" \
  env -u HOTLINE_DESK_TOKEN "$bin/hotline-desk" --line

start_hotlined daemon
# The gateway's token where the administrator's is wanted, and a desk with a token nobody has
# (unattended, so that the end of its input does not end it first).
expect_failure admin "this needs the administrator token: set HOTLINE_ADMIN_TOKEN" \
  "$bin/hotlinectl" --server "$grpc" --token dev-gateway-token counsellor list
expect_failure desk "this needs the counsellor's desk token: set HOTLINE_DESK_TOKEN" \
  "$bin/hotline-desk" --line --server "$grpc" --token not-a-desk-token --auto-accept
# Attended, with no input: it waits to hear whether the token was taken, then says it and exits
# 1, rather than 0 at once. (It exited 0 and said nothing.)
expect_failure desk_no_input "this needs the counsellor's desk token: set HOTLINE_DESK_TOKEN" \
  "$bin/hotline-desk" --line --server "$grpc" --token not-a-desk-token
echo "PASS: client errors say what to do"

#!/usr/bin/env bash
# hotlinectl's account and token commands (docs/security.md) with real processes: an admin issues
# a supervisor account and a gateway account; the supervisor's token watches the queue; rotating
# it ends the running `queue --watch` at once and the old token is refused; revoking the gateway
# account ends hotline-sim's stream; a desk token is rotated; `counsellor remove --sign-out` signs
# a counsellor out and removes them in one step. And hotlined refuses the shipped dev tokens on a
# bind that is not loopback, naming the key.
#
# Usage: accounts_cli_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
begin_test "$@"

admin() { "$bin/hotlinectl" --server "$grpc" --token dev-admin-token "$@"; }

# The shipped config on a reachable bind: refused before anything is created (no bind happens).
# Plaintext is allowed there, so that the tokens are what is refused (tls_processes shows the
# plaintext refusal).
sed 's/^allow_plaintext_public = false$/allow_plaintext_public = true/' "$src/deploy/hotline.toml" \
  > "$dir/plaintext.toml"
grep -q '^allow_plaintext_public = true$' "$dir/plaintext.toml" || fail "no allow_plaintext_public key"
if "$bin/hotlined" --config "$dir/plaintext.toml" --grpc-listen 0.0.0.0:0 \
  --http-listen 127.0.0.1:0 --database "$dir/refused.db" \
  --caller-key-file "$dir/keys/refused.key" > "$dir/refused.out" 2>&1; then
  fail "hotlined started with dev tokens on 0.0.0.0"
fi
grep -q "security.gateway_token" "$dir/refused.out" || fail "the refusal does not name the key"
[ ! -e "$dir/refused.db" ] || fail "the refused start created a database"

start_hotlined daemon

admin account issue lan --role supervisor > "$dir/issue_lan.out" || fail "issue lan"
lan_token=$(sed -n 's/^token: //p' "$dir/issue_lan.out")
[ ${#lan_token} -eq 64 ] || fail "no 64-character token for lan"
admin account issue gw-north --role gateway --gateway-id gw-north > "$dir/issue_gw.out" ||
  fail "issue gw-north"
gw_token=$(sed -n 's/^token: //p' "$dir/issue_gw.out")
admin account list > "$dir/list.out"
grep -q "^gw-north *gateway *gw-north *active" "$dir/list.out" || fail "list lacks gw-north"
grep -q "^lan *supervisor *- *active" "$dir/list.out" || fail "list lacks lan"
! grep -q "$lan_token" "$dir/list.out" || fail "list shows a token"

# The supervisor account watches the queue; a rotation ends the watch at once.
HOTLINE_SUPERVISOR_TOKEN=$lan_token "$bin/hotlinectl" --server "$grpc" queue --watch \
  > "$dir/watch.out" 2> "$dir/watch.log" &
watch_pid=$!
others+=("$watch_pid")
wait_for "^hotline queue at" "$dir/watch.out"
admin account rotate lan > "$dir/rotate_lan.out" || fail "rotate lan"
new_lan=$(sed -n 's/^token: //p' "$dir/rotate_lan.out")
watch_ended() { ! kill -0 "$watch_pid" 2>/dev/null; }
wait_until watch_ended
# The watch says its token is no longer valid, not that it is the wrong kind of token.
grep -q "hotlined no longer takes this token (UNAUTHENTICATED: authorization: this token was rotated out)" \
  "$dir/watch.log" || fail "the ended watch does not say its token was rotated out: $(cat "$dir/watch.log")"
HOTLINE_SUPERVISOR_TOKEN=$lan_token "$bin/hotlinectl" --server "$grpc" queue \
  > "$dir/old_lan.out" 2>&1 && fail "the rotated-out token still reads the queue"
grep -q "UNAUTHENTICATED" "$dir/old_lan.out" || fail "the old token's refusal is not UNAUTHENTICATED"
HOTLINE_SUPERVISOR_TOKEN=$new_lan "$bin/hotlinectl" --server "$grpc" queue > "$dir/new_lan.out" ||
  fail "the new token cannot read the queue"

# A counsellor's desk token rotated, then sign-out-and-remove in one step (before any call
# arrives: a counsellor holding a call is refused).
add_counsellor minh || fail "add minh"
admin counsellor rotate-token minh > "$dir/rotate_minh.out" || fail "rotate minh"
minh_token=$(sed -n 's/^token: //p' "$dir/rotate_minh.out")
[ "$minh_token" != "$desk_token" ] || fail "the desk token did not change"
start_desk desk_minh "$minh_token" --available --auto-accept
wait_for "presence available" "$dir/desk_minh.out"
admin counsellor remove minh > "$dir/remove_plain.out" 2>&1 && fail "removed a signed-in counsellor"
grep -q "FAILED_PRECONDITION" "$dir/remove_plain.out" || fail "plain remove not FAILED_PRECONDITION"
admin counsellor remove minh --sign-out > "$dir/remove.out" || fail "remove --sign-out"
admin counsellor list > "$dir/counsellors.out"
! grep -q "^minh" "$dir/counsellors.out" || fail "minh is still listed"

# The gateway account's stream; revoking it ends the stream.
"$bin/hotline-sim" --server "$grpc" --token "$gw_token" --gateway-id gw-north --calls 1 \
  --province 38 --no-exit-when-done > "$dir/sim.out" 2>&1 &
sim_pid=$!
others+=("$sim_pid")
wait_for "ack .* OK" "$dir/sim.out"
admin account revoke gw-north > "$dir/revoke.out" || fail "revoke gw-north"
wait_for "UNAUTHENTICATED" "$dir/sim.out"
admin account list > "$dir/list2.out"
grep -q "^gw-north .*revoked" "$dir/list2.out" || fail "gw-north is not listed revoked"
admin account issue gw-north --role gateway --gateway-id gw-north > "$dir/again.out" 2>&1 &&
  fail "a revoked name was issued again"
grep -q "ALREADY_EXISTS" "$dir/again.out" || fail "reissuing a revoked name is not ALREADY_EXISTS"

echo "PASS"

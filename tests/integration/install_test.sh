#!/usr/bin/env bash
# deploy/install lays out a systemd installation (docs/operations.md) under --root: programs,
# docs, a config with production paths and fresh random tokens, the unit. Checks the layout and
# modes, that no development token survives, that a second install keeps an edited config,
# that systemd accepts the unit, and that the installed hotlined starts on the installed config
# (its absolute paths moved under the test's directory) and answers /healthz.
#
# Usage: install_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
source "$(dirname "$0")/lib.sh"
begin_test "$@"
root=$dir/root

"$src/deploy/install" --root "$root" --bin "$bin" > "$dir/install.out" 2>&1 \
  || fail "deploy/install failed"

mode() { stat -c %a "$1"; }
for p in hotlined hotlinectl hotline-desk hotline-sim; do
  [ -x "$root/opt/hotline/bin/$p" ] || fail "$p not installed"
done
[ -f "$root/opt/hotline/docs/operations.md" ] || fail "docs/operations.md not installed"
[ "$(mode "$root/etc/hotline")" = 750 ] || fail "/etc/hotline is $(mode "$root/etc/hotline"), not 750"
for f in hotline.toml policy.toml regions.toml taxonomy.toml; do
  [ "$(mode "$root/etc/hotline/$f")" = 640 ] || fail "$f is $(mode "$root/etc/hotline/$f"), not 640"
done
config=$root/etc/hotline/hotline.toml
if grep -q 'dev-' "$config"; then fail "a development token in the installed config"; fi
tokens=$(grep -cE '^(supervisor|admin)_token = "[0-9a-f]{64}"$' "$config" || true)
[ "$tokens" = 2 ] || fail "expected 2 random 64-hex tokens, found $tokens"
[ "$(grep -E '^(supervisor|admin)_token = ' "$config" | sort -u | wc -l)" = 2 ] \
  || fail "the tokens are not distinct"
grep -q '^gateway_token = ""$' "$config" || fail "a shared gateway token in the installed config"
grep -q '^database = "/var/lib/hotline/hotline.db"$' "$config" || fail "database path"
grep -q '^caller_key_file = "/var/lib/hotline-keys/caller.key"$' "$config" || fail "key path"

# A second install keeps the edited config and puts the shipped one beside it.
echo "# edited by the helpline" >> "$config"
"$src/deploy/install" --root "$root" --bin "$bin" > "$dir/install2.out" 2>&1 \
  || fail "the second deploy/install failed"
grep -q "edited by the helpline" "$config" || fail "the second install overwrote the config"
[ -f "$config.dist" ] || fail "no hotline.toml.dist beside the kept config"

# systemd reads the unit without a warning (ExecStart pointed at the installed program, which
# systemd-analyze checks exists).
unit=$dir/hotlined.service
sed "s|/opt/hotline/bin/hotlined|$root/opt/hotline/bin/hotlined|" \
  "$root/etc/systemd/system/hotlined.service" > "$unit"
if command -v systemd-analyze > /dev/null; then
  systemd-analyze verify "$unit" > "$dir/verify.log" 2>&1 || fail "systemd-analyze verify failed"
  if [ -s "$dir/verify.log" ]; then fail "systemd-analyze verify warned"; fi
fi
for key in "User=hotline" "ProtectSystem=strict" "NoNewPrivileges=yes" "StateDirectory=" \
           "LimitNOFILE=" "UMask=0077"; do
  grep -q "^$key" "$unit" || fail "the unit lacks $key"
done

# The installed program on the installed config, its /etc and /var paths moved under $root.
sed -e "s|\"/etc/hotline/|\"$root/etc/hotline/|" -e "s|\"/var/lib/|\"$root/var/lib/|" \
  "$config" > "$dir/hotline.toml"
bin=$root/opt/hotline/bin
hotlined_config=$dir/hotline.toml
hotlined_database=$root/var/lib/hotline/hotline.db
hotlined_key=$root/var/lib/hotline-keys/caller.key
start_hotlined installed
curl -fsS "http://$http/healthz" > "$dir/health.out" || fail "/healthz did not answer"
admin=$(sed -n 's/^admin_token = "\(.*\)"$/\1/p' "$config")
"$bin/hotlinectl" --server "$grpc" --token "$admin" status > "$dir/status.out" 2>&1 \
  || fail "hotlinectl status with the installed admin token failed"
# A gateway's own account, as docs/operations.md says to make one.
"$bin/hotlinectl" --server "$grpc" --token "$admin" account issue pbx-hanoi --role gateway \
  --gateway-id gw-hanoi > "$dir/account.out" 2>&1 || fail "hotlinectl account issue failed"
grep -qE '^token: [0-9a-f]{64}$' "$dir/account.out" || fail "no gateway token issued"
stop_hotlined
echo "PASS: deploy/install lays out a working systemd installation"

#!/usr/bin/env bash
# TLS with real processes, as docs/tls.md sets it up: certificates made with the openssl command
# in the test's temporary directory, hotlined from the shipped config with [tls] filled in (mutual
# TLS required of gateways), then hotlinectl, hotline-desk and hotline-sim with the --tls-* flags
# (or HOTLINE_TLS_CA). Also: a plaintext listener off loopback stops the start with status 2.
#
# Usage: tls_processes_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
# begin_test, fail, wait_for, start_hotlined, stop_hotlined, add_counsellor, start_desk.
. "$(dirname "$0")/lib.sh"
begin_test "$@"

# Without TLS, a non-loopback listener is refused before anything is opened.
status=0
"$bin/hotlined" --config "$src/deploy/hotline.toml" --grpc-listen 0.0.0.0:0 \
  --http-listen 127.0.0.1:0 --database "$dir/refused.db" \
  --caller-key-file "$dir/refused-keys/caller.key" > "$dir/refused.out" 2> "$dir/refused.log" ||
  status=$?
[ "$status" = 2 ] || fail "a plaintext 0.0.0.0 listener exited $status, not 2"
grep -q "server.grpc_listen '0.0.0.0:0' is not a loopback address and TLS is off" \
  "$dir/refused.log" || fail "the refusal does not say why"
grep -q "allow_plaintext_public" "$dir/refused.log" || fail "the refusal does not say the way out"
[ ! -e "$dir/refused.db" ] || fail "the refused daemon created its database"

# A CA, the daemon's certificate (127.0.0.1), and the client certificates of gw-a and gw-b.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=hotline test CA" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2> "$dir/openssl.txt"
certificate() {
  local name=$1 cn=$2 ext=$3
  printf '%s\n' "$ext" > "$dir/$name.ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$cn" \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>> "$dir/openssl.txt"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -CAserial "$dir/ca.srl" -days 2 -extfile "$dir/$name.ext" \
    -out "$dir/$name.crt" 2>> "$dir/openssl.txt"
  chmod 600 "$dir/$name.key"
}
certificate server hotlined "subjectAltName=IP:127.0.0.1,DNS:localhost"
certificate gw-a gw-a "extendedKeyUsage=clientAuth"
certificate gw-b gw-b "extendedKeyUsage=clientAuth"

# The shipped config with its [tls] lines filled in.
sed -e "s|^# cert_file = .*|cert_file = \"$dir/server.crt\"|" \
  -e "s|^# key_file = .*|key_file = \"$dir/server.key\"|" \
  -e "s|^# client_ca_file = .*|client_ca_file = \"$dir/ca.crt\"|" \
  -e "s|^require_client_certificate = false|require_client_certificate = true|" \
  "$src/deploy/hotline.toml" > "$dir/tls.toml"
grep -q "^cert_file = " "$dir/tls.toml" || fail "the shipped config has no '# cert_file' line"
hotlined_config=$dir/tls.toml start_hotlined daemon
grep -q "tls=on" "$dir/daemon.out" || fail "the ready line does not say tls=on"
grep -q "gRPC on 127.0.0.1:0: TLS (certificate '$dir/server.crt', client certificates" \
  "$dir/daemon.out" || fail "the log does not say gRPC is TLS"
grep -q "HTTP on 127.0.0.1:0: TLS" "$dir/daemon.out" || fail "the log does not say HTTP is TLS"

# Plaintext clients are refused; with the CA they are served.
if "$bin/hotlinectl" --server "$grpc" status > "$dir/plain.out" 2>&1; then
  fail "a plaintext hotlinectl was served"
fi
grep -q "pass --tls-ca" "$dir/plain.out" || fail "the plaintext refusal does not hint --tls-ca"
"$bin/hotlinectl" --server "$grpc" --tls-ca "$dir/ca.crt" status > "$dir/status.out" 2>&1 ||
  fail "hotlinectl status over TLS"
grep -q "health: SERVING" "$dir/status.out" || fail "health over TLS is not SERVING"
# --tls-server-name replaces the name checked against the certificate (127.0.0.1 here).
if "$bin/hotlinectl" --server "$grpc" --tls-ca "$dir/ca.crt" --tls-server-name other.example \
  status > "$dir/other-name.out" 2>&1; then
  fail "a certificate without other.example was accepted for it"
fi
"$bin/hotlinectl" --server "$grpc" --tls-ca "$dir/ca.crt" --tls-server-name localhost status \
  > "$dir/localhost.out" 2>&1 || fail "hotlinectl status with --tls-server-name localhost"
[ "$(curl -fsS --cacert "$dir/ca.crt" "https://$http/healthz")" = "ok" ] ||
  fail "/healthz over TLS is not ok"
if curl -fsS -m 5 "http://$http/healthz" > /dev/null 2>&1; then
  fail "/healthz answered plaintext HTTP"
fi

# A counsellor and their desk over TLS (HOTLINE_TLS_CA), no client certificate needed.
export HOTLINE_TLS_CA=$dir/ca.crt HOTLINE_ADMIN_TOKEN=dev-admin-token
export HOTLINE_GATEWAY_TOKEN=dev-gateway-token
add_counsellor lan || fail "hotlinectl counsellor add over TLS"
start_desk desk "$desk_token" --available --auto-accept \
  --auto-disposition mental_health:counselled --exit-after-calls 1
others+=("$desk_pid")
wait_for "presence available" "$dir/desk.out"

sim() {
  timeout 60 "$bin/hotline-sim" --server "$grpc" --calls 1 --province 38 --talk-ms 300 "$@"
}
# A gateway without a certificate, then with another gateway's, is refused at its Hello.
if sim --gateway-id gw-a > "$dir/sim-none.out" 2>&1; then
  fail "a gateway without a client certificate was served"
fi
grep -q "UNAUTHENTICATED" "$dir/sim-none.out" || fail "no certificate: not UNAUTHENTICATED"
if sim --gateway-id gw-a --tls-cert "$dir/gw-b.crt" --tls-key "$dir/gw-b.key" \
  > "$dir/sim-other.out" 2>&1; then
  fail "gw-b's certificate said Hello as gw-a"
fi
grep -q "PERMISSION_DENIED" "$dir/sim-other.out" || fail "another's certificate: not PERMISSION_DENIED"
# With its own, the call goes to the desk and is recorded.
sim --gateway-id gw-a --tls-cert "$dir/gw-a.crt" --tls-key "$dir/gw-a.key" \
  > "$dir/sim.out" 2>&1 || fail "hotline-sim with gw-a's certificate"
wait "$desk_pid" || fail "hotline-desk did not finish its call"
row=$(sqlite3 "$dir/hotline.db" "SELECT outcome, counsellor_id, category FROM calls")
[ "$row" = "completed|lan|mental_health" ] || fail "unexpected calls row: '$row'"
stop_hotlined
echo "PASS: TLS and mutual TLS with real processes"

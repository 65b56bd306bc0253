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
authority() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=hotline test $1" -keyout "$dir/$1.key" -out "$dir/$1.crt" 2>> "$dir/openssl.txt"
}
certificate() {
  local name=$1 cn=$2 ext=$3 ca=${4:-ca}
  printf '%s\n' "$ext" > "$dir/$name.ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$cn" \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>> "$dir/openssl.txt"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" \
    -CAcreateserial -CAserial "$dir/$ca.srl" -days 2 -extfile "$dir/$name.ext" \
    -out "$dir/$name.crt" 2>> "$dir/openssl.txt"
  chmod 600 "$dir/$name.key"
}
authority ca
authority ca2
certificate server hotlined "subjectAltName=IP:127.0.0.1,DNS:localhost"
certificate server2 hotlined "subjectAltName=IP:127.0.0.1,DNS:localhost" ca2
certificate gw-a gw-a "extendedKeyUsage=clientAuth"
certificate gw-b gw-b "extendedKeyUsage=clientAuth"
# The daemon serves copies, which the end of the test replaces.
cp "$dir/server.crt" "$dir/live.crt"
cp "$dir/server.key" "$dir/live.key"

# The shipped config with its [tls] lines filled in.
sed -e "s|^# cert_file = .*|cert_file = \"$dir/live.crt\"|" \
  -e "s|^# key_file = .*|key_file = \"$dir/live.key\"|" \
  -e "s|^reload_interval_s = 60|reload_interval_s = 1|" \
  -e "s|^# client_ca_file = .*|client_ca_file = \"$dir/ca.crt\"|" \
  -e "s|^require_client_certificate = false|require_client_certificate = true|" \
  "$src/deploy/hotline.toml" > "$dir/tls.toml"
grep -q "^cert_file = " "$dir/tls.toml" || fail "the shipped config has no '# cert_file' line"
hotlined_config=$dir/tls.toml start_hotlined daemon
grep -q "tls=on" "$dir/daemon.out" || fail "the ready line does not say tls=on"
# The log lines come from hotlined's log thread, which may write them after the ready line.
wait_for "gRPC on 127.0.0.1:0: TLS (certificate '$dir/live.crt', client certificates" \
  "$dir/daemon.out"
wait_for "HTTP on 127.0.0.1:0: TLS" "$dir/daemon.out"

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

# Replacing the certificate. A half-done replacement (the new certificate with the old key) is
# refused and the previous pair stays on HTTP; the whole new pair is then served without a
# restart, on HTTP and gRPC. Each curl is a new handshake, which is when HTTP looks at the files.
https_ok() { curl -fsS -m 5 --cacert "$1" "https://$http/healthz" > /dev/null 2>&1; }
https_ok "$dir/ca.crt" || fail "/healthz with the first CA"
https_ok "$dir/ca2.crt" && fail "the second CA was trusted before the replacement"
cp "$dir/server2.crt" "$dir/live.crt.new" && mv "$dir/live.crt.new" "$dir/live.crt"
refused_pair() {
  https_ok "$dir/ca.crt" || true
  grep -q "HTTP TLS: the changed certificate files are not used" "$dir/daemon.out"
}
wait_until refused_pair
wait_for "is not the key of the certificate" "$dir/daemon.out"  # The refusal says why.
https_ok "$dir/ca.crt" || fail "after a mismatched pair the previous certificate is not served"
cp "$dir/server2.key" "$dir/live.key.new" && mv "$dir/live.key.new" "$dir/live.key"
wait_until https_ok "$dir/ca2.crt"
wait_for "HTTP TLS: reloaded the certificate" "$dir/daemon.out"
https_ok "$dir/ca.crt" && fail "the first certificate is still served on HTTP"
grpc_ok() { "$bin/hotlinectl" --server "$grpc" --tls-ca "$1" status > /dev/null 2>&1; }
wait_until grpc_ok "$dir/ca2.crt"
grpc_ok "$dir/ca.crt" && fail "the first certificate is still served on gRPC"
stop_hotlined
echo "PASS: TLS and mutual TLS with real processes"

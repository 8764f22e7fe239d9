#!/usr/bin/env bash
# cdni-keyserver against real peers: openssl (s_client, dgst, pkeyutl),
# python's ssl and cryptography (OpenSSL 4.0: implicit rejection), curl, and
# a raw-frame test peer (ksframe.py). Signatures of every kind verified with
# openssl; malformed frames and their error codes, with other connections
# unaffected; TLS refusals; per-client policy; RSA decryption; SIGHUP reload
# under an open connection; idle timeout; /metrics; the audit log; proxy
# mode end to end (edge -> proxy key server -> upstream key server).
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh"

KSF="python3 $CDNI_TOP/keyless/t/ksframe.py"
KS=$CDNI_BIN/cdni-keyserver
KL=$CDNI_BIN/cdni-keyless
CA=$(pki ks-ca.pem)
mkdir -p "$T/keys" "$T/later"
cp "$(pki csp-rsa.key)" "$(pki csp-ec.key)" "$T/keys/"
openssl genpkey -algorithm ED25519 -out "$T/keys/ed.key" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$T/keys/p384.key" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$T/later/new.key" 2>/dev/null
printf 'not a key\n' >"$T/keys/README.pem"
for k in ed p384; do openssl pkey -in "$T/keys/$k.key" -pubout -out "$T/$k.pub" 2>/dev/null; done
openssl pkey -in "$T/later/new.key" -pubout -out "$T/new.pub" 2>/dev/null
openssl x509 -in "$(pki csp-rsa.pem)" -pubkey -noout >"$T/rsa.pub"
openssl x509 -in "$(pki csp-ec.pem)" -pubkey -noout >"$T/ec.pub"

# SKI (hex) of a certificate or key file, computed by python's cryptography
ski() {
	python3 - "$1" <<'PY'
import sys, hashlib
from cryptography import x509
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import rsa, ec
data = open(sys.argv[1], 'rb').read()
if b'CERTIFICATE' in data: k = x509.load_pem_x509_certificate(data).public_key()
elif b'PRIVATE' in data: k = s.load_pem_private_key(data, None).public_key()
else: k = s.load_pem_public_key(data)
if isinstance(k, rsa.RSAPublicKey): b = k.public_bytes(s.Encoding.DER, s.PublicFormat.PKCS1)
elif isinstance(k, ec.EllipticCurvePublicKey): b = k.public_bytes(s.Encoding.X962, s.PublicFormat.UncompressedPoint)
else: b = k.public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
print(hashlib.sha1(b).hexdigest())
PY
}
SKI_RSA=$(ski "$(pki csp-rsa.pem)")
SKI_EC=$(ski "$(pki csp-ec.pem)")
SKI_NEW=$(ski "$T/new.pub")
is "$SKI_RSA" "$(openssl x509 -in "$(pki csp-rsa.pem)" -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' :' | tr A-F a-f)" \
	"test SKI helper agrees with the certificate's subjectKeyIdentifier"

ks_conf() { # NAME EXTRA-JSON -> config file with the test policy
	cat >"$T/$1.json" <<JSON
{"listen":{"address":"127.0.0.1","port":0},
 "metrics":{"address":"127.0.0.1","port":0},
 "tls":{"cert":"$(pki ks-server.pem)","key":"$(pki ks-server.key)","client_ca":"$CA"},
 "keys_dir":"$T/keys","access_log":"$T/$1.audit","idle_timeout":4,"max_pending":16,
 "policy":[
  {"client_cn":"dcdn-edge","keys":["*"],"ops":["sign"]},
  {"client_cn":"dcdn-edge","keys":["csp-rsa.key"],"ops":["rsa-decrypt"]},
  {"client_cn":"dcdn2-edge","keys":["ski:$SKI_EC","csp-rsa.key"],"ops":["ecdsa-sign"]}
 ]$2}
JSON
}

# ---- config check and help ----
ks_conf ks ''
out=$("$KS" -n -c "$T/ks.json" 2>&1); rc=$?
is "$rc" 0 "-n accepts a good config"
like "$out" "config OK, 4 keys" "-n loads the keys (4: README.pem is not a key)"
write_file "$T/bad1.json" "{\"tls\":{\"cert\":\"a\",\"key\":\"b\",\"client_ca\":\"c\"},\"keys_dir\":\"$T/keys\",\"policy\":[{\"client_cn\":\"x\",\"keys\":[\"*\"],\"ops\":[\"decrypt\"]}]}"
out=$("$KS" -n -c "$T/bad1.json" 2>&1); rc=$?
is "$rc" 1 "-n refuses an unknown operation"
like "$out" "policy\[0\]\.ops\[0\]: unknown operation 'decrypt'" "and names the key path"
write_file "$T/bad2.json" "{\"tls\":{\"cert\":\"a\",\"key\":\"b\",\"client_ca\":\"c\"},\"keys_dir\":\"$T/keys\",\"workerz\":2}"
like "$("$KS" -n -c "$T/bad2.json" 2>&1)" "workerz" "-n names an unknown key"
write_file "$T/bad3.json" "{\"tls\":{\"cert\":\"$T/nope.pem\",\"key\":\"b\",\"client_ca\":\"c\"},\"keys_dir\":\"$T/keys\"}"
out=$("$KS" -n -c "$T/bad3.json" 2>&1); rc=$?
is "$rc" 1 "-n fails on a missing certificate file"
like "$out" "nope.pem" "naming the file"
write_file "$T/bad4.json" "{\"tls\":{\"cert\":\"a\",\"key\":\"b\",\"client_ca\":\"c\"}}"
like "$("$KS" -n -c "$T/bad4.json" 2>&1)" "keys_dir: required" "keys_dir is required without upstream"
help=$("$KS" --help); rc=$?
is "$rc" 0 "--help exits 0"
like "$help" "max_pending" "--help lists the config keys"

start_daemon ks cdni-keyserver "$T/ks.json" || { done_testing; }
KA=$(addr ks keyless)
MA=$(addr ks metrics)
E1="--server $KA --ca $CA --client-cert $(pki ks-client.pem) --client-key $(pki ks-client.key)"
E2="--server $KA --ca $CA --client-cert $(pki ks-client2.pem) --client-key $(pki ks-client2.key)"
F1="--server $KA --ca $CA --cert $(pki ks-client.pem) --key $(pki ks-client.key)"
F2="--server $KA --ca $CA --cert $(pki ks-client2.pem) --key $(pki ks-client2.key)"

# a long-running client on its own connection, through everything below
"$KL" bench $E1 --key "$(pki csp-ec.pem)" --alg p256 --conns 1 --inflight 4 --seconds 8 >"$T/bg.out" 2>&1 &
BG=$!

# ---- ping and every kind of signature, verified by openssl ----
like "$("$KL" ping $E1 --count 2)" "2/2 answered" "ping/pong"
printf 'the handshake transcript stands in here\n' >"$T/msg"
sign() { "$KL" sign $E1 "$@" --in "$T/msg" --out "$T/sig"; }
ok "RSA PKCS#1 v1.5 SHA-256 signature" sign --key "$(pki csp-rsa.pem)" --alg rsa-sha256
ok "  verifies (openssl dgst)" openssl dgst -sha256 -verify "$T/rsa.pub" -signature "$T/sig" "$T/msg"
ok "RSA PKCS#1 v1.5 SHA-512 signature" sign --key "$(pki csp-rsa.pem)" --alg rsa-sha512
ok "  verifies" openssl dgst -sha512 -verify "$T/rsa.pub" -signature "$T/sig" "$T/msg"
ok "RSA-PSS SHA-384 signature" sign --key "$(pki csp-rsa.pem)" --alg rsa-pss-sha384
ok "  verifies with salt length = digest length" openssl dgst -sha384 -sigopt rsa_padding_mode:pss \
	-sigopt rsa_pss_saltlen:digest -verify "$T/rsa.pub" -signature "$T/sig" "$T/msg"
ok "RSA MD5SHA1 (TLS 1.0/1.1) signature" sign --key "$(pki csp-rsa.pem)" --alg rsa-md5sha1
{ openssl dgst -md5 -binary "$T/msg"; openssl dgst -sha1 -binary "$T/msg"; } >"$T/md5sha1"
ok "  verifies as a bare 36-byte PKCS#1 block (openssl pkeyutl)" openssl pkeyutl -verify -pubin \
	-inkey "$T/rsa.pub" -in "$T/md5sha1" -sigfile "$T/sig"
ok "ECDSA P-256 SHA-256 signature" sign --key "$(pki csp-ec.pem)" --alg ecdsa-sha256
ok "  verifies" openssl dgst -sha256 -verify "$T/ec.pub" -signature "$T/sig" "$T/msg"
ok "ECDSA P-384 SHA-384 signature (key by its public key file)" sign --key "$T/p384.pub" --alg ecdsa-sha384
ok "  verifies" openssl dgst -sha384 -verify "$T/p384.pub" -signature "$T/sig" "$T/msg"
ok "Ed25519 signature of the message" sign --key "$T/ed.pub" --alg ed25519
ok "  verifies (openssl pkeyutl -rawin)" openssl pkeyutl -verify -pubin -inkey "$T/ed.pub" -rawin \
	-in "$T/msg" -sigfile "$T/sig"
ok "the SKI may be given as hex" "$KL" sign $E1 --key "$SKI_RSA" --alg rsa-sha256 --in "$T/msg" --out "$T/sig"
ok "  verifies" openssl dgst -sha256 -verify "$T/rsa.pub" -signature "$T/sig" "$T/msg"
ok "over TLS 1.2 too" "$KL" sign $E1 --tls 1.2 --key "$(pki csp-ec.pem)" --alg ecdsa-sha256 --in "$T/msg" --out "$T/sig"
ok "  verifies" openssl dgst -sha256 -verify "$T/ec.pub" -signature "$T/sig" "$T/msg"
like "$($KSF $F1 --tls 1.2 frame:1:f1:payload=00 recv)" "tls=TLSv1.2" "a TLS 1.2 peer is served"
like "$($KSF $F1 frame:1:f1:payload=00 recv)" "tls=TLSv1.3" "a TLS 1.3 peer is served"

# ---- malformed and refused frames on one connection, which stays up ----
hex() { od -An -v -tx1 | tr -d ' \n'; }
unhex() { python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read().strip()))'; }
D32=$(printf x | openssl dgst -sha256 -binary | hex)
out=$($KSF $F1 \
	frame:1:99 recv \
	frame:2:f0 recv \
	frame:3:ff:payload=01 recv \
	frame:4:05:ski=$SKI_RSA,payload=${D32:0:40} recv \
	frame:5:05:ski=0000000000000000000000000000000000000000,payload=$D32 recv \
	frame:6:05:ski=$SKI_RSA,payload=$D32,tag=11/05 recv \
	raw:010000070000000711000105120009 recv \
	frame:8:12 recv \
	frame:9:05:ski=$SKI_RSA,payload=$D32,tag=99/0102 recv \
	frame:10:05:ski=$SKI_RSA,payload=$D32,nopad recv \
	frame:11:f1:payload=616c697665 recv)
like "$out" "id=1 op=ff len=1024 payload=05 err=05" "unknown opcode 0x99: bad opcode (0x05)"
like "$out" "id=2 op=ff .* err=06" "response opcode 0xf0 as a request: unexpected opcode (0x06)"
like "$out" "id=3 op=ff .* err=06" "error opcode 0xff as a request: unexpected opcode"
like "$out" "id=4 op=ff .* err=07" "wrong digest length (20 for SHA-256): format error (0x07)"
like "$out" "id=5 op=ff .* err=02" "unknown SKI: key not found (0x02)"
like "$out" "id=6 op=ff .* err=07" "duplicate opcode tag: format error"
like "$out" "id=7 op=ff .* err=07" "item running past the body: format error"
like "$out" "id=8 op=ff .* err=02" "a signing opcode with no key selector: key not found"
like "$out" "id=9 op=f0 len=1024 payload=[0-9a-f]{512}" "an unknown tag (0x99) is skipped"
like "$out" "id=10 op=f0 len=[0-9]+ payload=[0-9a-f]{512}" "an unpadded request is accepted"
like "$out" "id=11 op=f2 len=1024 payload=616c697665" "the connection is still up after all that"
out=$($KSF $F1 frame:1:f1:nopad,lenfix=0 recv raw:0100000400000002 raw:20000100 recv)
like "$out" "id=2 op=ff .* err=07" "a request with no opcode item: format error"
out=$($KSF $F1 frame:7:f1:major=2 recv eof 2>&1)
like "$out" "id=7 op=ff len=1024 payload=04 err=04" "major version 2: version mismatch (0x04)"
like "$out" "eof" "and the server closes that connection"
out=$($KSF $F1 raw:0100000a halfclose eof 2>&1)
like "$out" "eof" "a short header then end of stream: the server closes"
wait_for 5 grep -q "closed in the middle of a frame (4 bytes)" "$T/ks.err"
ok "  and logs the truncated frame" grep -q "closed in the middle of a frame" "$T/ks.err"
out=$($KSF $F1 $(for i in $(seq 1 200); do printf 'frame:%d:f1:payload=%04x ' "$i" "$i"; done) recv:200)
is "$(printf '%s\n' "$out" | grep -c 'op=f2')" 200 "200 pipelined requests over max_pending=16: all answered"
ids=$(printf '%s\n' "$out" | sed -n 's/^id=\([0-9]*\) op=f2.*/\1/p' | sort -n | uniq | wc -l)
is "$ids" 200 "  each id exactly once"

head -c 60000 /dev/zero | tr '\0' 'k' >"$T/big"
$KSF $F1 frame:1:f1:payload=$(hex <"$T/big") recv frame:2:f1:payload=00 recv >"$T/big.out"
sed -n 's/^id=1 op=f2 len=60015 payload=//p' "$T/big.out" | unhex >"$T/big.back"
ok "a 60000-byte ping is echoed whole (frames past 1024 bytes, long writes)" cmp "$T/big" "$T/big.back"
like "$(grep '^id=2' "$T/big.out")" "id=2 op=f2 len=1024" "  and the connection goes on"
out=$("$KL" bench $E1 --key "$(pki csp-ec.pem)" --alg p256 --conns 64 --inflight 4 --seconds 2 2>&1); rc=$?
is "$rc" 0 "64 connections at once, 4 requests in flight on each"
like "$out" "errors=0" "  no errors"

# ---- TLS refusals ----
out=$($KSF --server "$KA" --ca "$CA" frame:1:f1 recv 2>&1); rc=$?
is "$rc" 1 "a client without a certificate is refused"
like "$out" "handshake-failed|closed" "  at the TLS layer"
out=$(openssl s_client -connect "$KA" -CAfile "$CA" -tls1_2 </dev/null 2>&1); rc=$?
is "$rc" 1 "openssl s_client without a client certificate fails the handshake (TLS 1.2)"
like "$out" "alert|handshake failure" "  with an alert"
out=$(openssl s_client -connect "$KA" -CAfile "$CA" -cert "$(pki rogue-csp.pem)" -key "$(pki rogue-csp.key)" \
	-tls1_2 </dev/null 2>&1); rc=$?
is "$rc" 1 "a client certificate from another CA is refused"
like "$out" "alert unknown ca|unknown ca" "  (unknown ca)"

# ---- per-client policy ----
out=$("$KL" sign $E2 --key "$(pki csp-ec.pem)" --alg ecdsa-sha256 --in "$T/msg" --out "$T/sig" 2>&1); rc=$?
is "$rc" 0 "dcdn2-edge may sign with csp-ec (by SKI)"
ok "  verifies" openssl dgst -sha256 -verify "$T/ec.pub" -signature "$T/sig" "$T/msg"
out=$("$KL" sign $E2 --key "$(pki csp-rsa.pem)" --alg rsa-sha256 --in "$T/msg" 2>&1); rc=$?
is "$rc" 1 "dcdn2-edge may not RSA-sign with csp-rsa (only ecdsa-sign is granted)"
like "$out" "not found" "  the answer is key not found (0x02): refusals do not reveal keys"
out=$("$KL" sign $E2 --key "$T/ed.pub" --alg ed25519 --in "$T/msg" 2>&1); rc=$?
is "$rc" 1 "dcdn2-edge does not see the Ed25519 key at all"
wait_for 5 grep -q '"client":"dcdn2-edge".*"result":"key-not-found","reason":"denied by policy"' "$T/ks.audit"
like "$(cat "$T/ks.audit")" '"client":"dcdn2-edge","id":[0-9]+,"op":"rsa-sign-sha256","ski":"'"$SKI_RSA"'","key":"csp-rsa.key","result":"key-not-found","reason":"denied by policy"' \
	"the audit log tells the refusal apart (denied by policy)"
like "$(cat "$T/ks.audit")" '"client":"dcdn2-edge","id":[0-9]+,"op":"ed25519-sign","ski":"[0-9a-f]{40}","key":"ed.key","result":"key-not-found","reason":"not found"' \
	"  from a key it has no rule for (not found)"

# ---- RSA decryption: off unless granted; implicit rejection ----
head -c 48 /dev/urandom >"$T/pms"
openssl pkeyutl -encrypt -pubin -inkey "$T/rsa.pub" -in "$T/pms" -out "$T/ct"
ok "dcdn-edge may decrypt with csp-rsa (rsa-decrypt granted)" "$KL" decrypt $E1 --key "$(pki csp-rsa.pem)" --in "$T/ct" --out "$T/pt"
ok "  the premaster secret comes back" cmp "$T/pms" "$T/pt"
fails "dcdn-edge may not raw-decrypt (no rsa-raw-decrypt)" "$KL" decrypt $E1 --raw --key "$(pki csp-rsa.pem)" --in "$T/ct"
fails "dcdn2-edge may not decrypt" "$KL" decrypt $E2 --key "$(pki csp-rsa.pem)" --in "$T/ct"
python3 - "$(pki csp-rsa.key)" "$T" <<'PY'
import os, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
k = serialization.load_pem_private_key(open(sys.argv[1], 'rb').read(), None)
n = k.public_key().public_numbers().n
for i in range(4):
    while True:
        c = os.urandom(256)
        if int.from_bytes(c, 'big') < n: break
    open('%s/bad%d.ct' % (sys.argv[2], i), 'wb').write(c)
    try:  # OpenSSL >= 3.2 under python's cryptography: implicit rejection
        want = k.decrypt(c, padding.PKCS1v15())
    except ValueError:
        continue  # an older OpenSSL rejects explicitly: no reference answer
    open('%s/bad%d.want' % (sys.argv[2], i), 'wb').write(want)
PY
same=0 stable=0
for i in 0 1 2 3; do
	"$KL" decrypt $E1 --key "$(pki csp-rsa.pem)" --in "$T/bad$i.ct" --out "$T/bad$i.got" || continue
	"$KL" decrypt $E1 --key "$(pki csp-rsa.pem)" --in "$T/bad$i.ct" --out "$T/bad$i.again" &&
		cmp -s "$T/bad$i.got" "$T/bad$i.again" && stable=$((stable + 1))
	[ -f "$T/bad$i.want" ] && cmp -s "$T/bad$i.got" "$T/bad$i.want" && same=$((same + 1))
done
is "$stable" 4 "ciphertexts with bad padding are answered without error, the same synthetic message each time"
ok "  and a different one per ciphertext" sh -c "! cmp -s '$T/bad0.got' '$T/bad1.got'"
if [ -f "$T/bad0.want" ]; then
	is "$same" 4 "  equal to OpenSSL's implicit rejection (python cryptography, OpenSSL >= 3.2)"
else
	diag "python's cryptography uses an OpenSSL without implicit rejection: the byte-for-byte" \
		"comparison is left to the unit test's known answers (keyless/t/test_core.c)"
fi

# ---- SIGHUP reload under an open connection ----
out=$($KSF $F1 frame:1:18:ski=$SKI_NEW,payload=00 recv)
like "$out" "id=1 op=ff .* err=02" "a key not yet in keys_dir: key not found"
$KSF $F1 frame:1:f1:payload=01 recv sleep:2 frame:2:18:ski=$SKI_NEW,payload=$(hex <"$T/msg") recv >"$T/hup.out" 2>&1 &
HUP=$!
sleep 0.5
cp "$T/later/new.key" "$T/keys/new.key"
kill -HUP "$(pid_of ks)"
wait_for 5 grep -q "keys reloaded from .*: 5 keys" "$T/ks.err"
ok "SIGHUP reloads keys_dir (5 keys)" grep -q "keys reloaded from .*: 5 keys" "$T/ks.err"
wait "$HUP"
like "$(cat "$T/hup.out")" "id=1 op=f2" "a connection opened before the reload"
like "$(cat "$T/hup.out")" "id=2 op=f0 len=1024 payload=[0-9a-f]{128}" "  uses the new key after it, on the same connection"
sed -n 's/^id=2 op=f0 len=1024 payload=\([0-9a-f]*\).*/\1/p' "$T/hup.out" | unhex >"$T/sig"
ok "  and the Ed25519 signature verifies" openssl pkeyutl -verify -pubin -inkey "$T/new.pub" -rawin -in "$T/msg" -sigfile "$T/sig"

# ---- idle timeout ----
out=$($KSF $F1 frame:1:f1 recv sleep:5.5 eof 2>&1)
like "$out" "eof" "an idle connection is closed after idle_timeout (4 s)"

wait "$BG"; rc=$?
is "$rc" 0 "the long-running client saw no error during all of the above"
like "$(cat "$T/bg.out")" "errors=0" "  (errors=0)"

# ---- /metrics ----
m=$(curl -fsS "http://$MA/metrics"); rc=$?
is "$rc" 0 "/metrics answers over plain HTTP"
like "$m" 'cdni_keyserver_ops_total\{op="ecdsa-sign-sha256",result="ok"\} [1-9]' "ops by opcode and result"
like "$m" 'cdni_keyserver_ops_total\{op="rsa-sign-sha256",result="key-not-found"\} [1-9]' "errors by name"
like "$m" 'cdni_keyserver_ops_total\{op="unknown",result="bad-opcode"\} 1' "unknown opcodes counted"
like "$m" 'cdni_keyserver_op_duration_seconds_bucket\{le="\+Inf"\} [1-9]' "latency histogram"
like "$m" 'cdni_keyserver_handshake_failures_total [3-9]' "handshake failures"
like "$m" 'cdni_keyserver_reloads_total 1' "reloads"
like "$m" 'cdni_keyserver_keys 5' "keys loaded"
like "$m" 'cdni_keyserver_idle_closed_total [1-9]' "idle closes"
like "$m" 'cdni_keyserver_connections_total [1-9]' "connections"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://$MA/other")" 404 "other paths: 404"

# ---- audit log ----
ok "every audit line is JSON with client, op, result, dur_us" python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    o = json.loads(line); n += 1
    assert {"ts", "prog", "peer", "client", "id", "op", "result", "dur_us"} <= o.keys(), o
assert n > 100, n' "$T/ks.audit"
like "$(grep '"op":"rsa-sign-sha256"' "$T/ks.audit" | head -1)" '"client":"dcdn-edge".*"ski":"'"$SKI_RSA"'","key":"csp-rsa.key","result":"ok"' \
	"an audit line names the client, the SKI, the key file and the result"

# ---- proxy mode: edge of a further dCDN -> proxy KS -> upstream KS ----
mkdir -p "$T/ca2"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca2/ca.key" -out "$T/ca2/ca.pem" \
	-subj "/CN=cascade edge CA" -days 2 -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca2/edge.key" -out "$T/ca2/edge.csr" \
	-subj "/CN=cascade-edge" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' >"$T/ca2/ext"
openssl x509 -req -in "$T/ca2/edge.csr" -CA "$T/ca2/ca.pem" -CAkey "$T/ca2/ca.key" -CAcreateserial -days 2 \
	-extfile "$T/ca2/ext" -out "$T/ca2/edge.pem" 2>/dev/null
cat >"$T/proxy.json" <<JSON
{"listen":{"address":"127.0.0.1","port":0},"metrics":{"port":0},
 "tls":{"cert":"$(pki ks-server.pem)","key":"$(pki ks-server.key)","client_ca":"$T/ca2/ca.pem"},
 "access_log":"$T/proxy.audit",
 "policy":[{"client_cn":"cascade-edge","keys":["ski:$SKI_EC","ski:$SKI_RSA"],"ops":["ecdsa-sign","rsa-sign"]}],
 "upstream":{"servers":["$KA"],"ca":"$CA","cert":"$(pki ks-client2.pem)","key":"$(pki ks-client2.key)",
             "server_name":"keyserver.test","timeout_ms":2000}}
JSON
start_daemon proxy cdni-keyserver "$T/proxy.json" || { done_testing; }
PA=$(addr proxy keyless)
P3="--server $PA --ca $CA --client-cert $T/ca2/edge.pem --client-key $T/ca2/edge.key"
ok "cascade edge -> proxy -> upstream: ECDSA signature" "$KL" sign $P3 --key "$(pki csp-ec.pem)" --alg ecdsa-sha256 --in "$T/msg" --out "$T/sig"
ok "  verifies" openssl dgst -sha256 -verify "$T/ec.pub" -signature "$T/sig" "$T/msg"
like "$(tail -1 "$T/proxy.audit")" '"client":"cascade-edge".*"op":"ecdsa-sign-sha256","ski":"'"$SKI_EC"'","result":"ok","via":"upstream"' \
	"the proxy's audit line says it went upstream"
wait_for 5 grep -q '"client":"dcdn2-edge".*"op":"ecdsa-sign-sha256".*"result":"ok"' "$T/ks.audit"
ok "the upstream sees the proxy's own identity (dcdn2-edge)" grep -q '"client":"dcdn2-edge".*"op":"ecdsa-sign-sha256".*"result":"ok"' "$T/ks.audit"
out=$("$KL" sign $P3 --key "$(pki csp-rsa.pem)" --alg rsa-sha256 --in "$T/msg" 2>&1); rc=$?
is "$rc" 1 "allowed by the proxy, refused upstream (dcdn2-edge may not RSA-sign): refused"
like "$(tail -1 "$T/proxy.audit")" '"op":"rsa-sign-sha256".*"result":"key-not-found".*"via":"upstream"' "  the upstream's answer is relayed"
fails "the proxy's own policy refuses Ed25519 before asking upstream" "$KL" sign $P3 --key "$T/ed.pub" --alg ed25519 --in "$T/msg"
like "$(tail -1 "$T/proxy.audit")" '"op":"ed25519-sign".*"result":"key-not-found","reason":"not found"' "  (no via: answered by the proxy)"
out=$("$KL" ping --server "$PA" --ca "$CA" --client-cert "$(pki ks-client.pem)" --client-key "$(pki ks-client.key)" --count 1 2>&1); rc=$?
is "$rc" 1 "an edge of the first dCDN (other CA) is refused by the proxy"
like "$("$KL" ping $P3 --count 1)" "1/1 answered" "the proxy answers pings itself"
stop_daemon ks
out=$("$KL" sign $P3 --timeout 4000 --key "$(pki csp-ec.pem)" --alg ecdsa-sha256 --in "$T/msg" 2>&1); rc=$?
is "$rc" 1 "upstream down: the edge gets an error"
like "$out" "upstream error" "  a clean one (internal error from the proxy), not a hang"
done_testing

#!/usr/bin/env bash
# The keyless edge: cdni-dcdn presents the CSP's certificates without their
# keys; every private-key operation goes to cdni-keyserver. Real peers:
# openssl s_client (TLS 1.3 and 1.2, RSA and ECDSA certificates, SNI, RSA
# key transport, -sess_out/-sess_in resumption) and curl. The key server's
# audit log counts its operations, so "no key-server call" is checked, not
# assumed. Outages: a key server killed and restarted (prompt TLS alerts,
# resumed sessions still served, recovery by itself), failover to a second
# key server, and a key server killed under a curl load.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh"

CA=$(pki ca.pem)
mkdir -p "$T/keys" "$T/www"
cp "$(pki csp-rsa.key)" "$(pki csp-ec.key)" "$(pki dcdn-ec.key)" "$T/keys/"
head -c 5000 /dev/urandom >"$T/www/obj.bin"
openssl rand -out "$T/tk1" 64
openssl rand -out "$T/tk2" 64

# NAME PORT: a key server; dcdn-edge may sign with every key and decrypt
# with the RSA one; dcdn2-edge may only sign.
ks_conf() {
	cat >"$T/$1.json" <<JSON
{"listen":{"address":"127.0.0.1","port":$2},
 "tls":{"cert":"$(pki ks-server.pem)","key":"$(pki ks-server.key)","client_ca":"$(pki ks-ca.pem)"},
 "keys_dir":"$T/keys","access_log":"$T/$1.audit",
 "policy":[{"client_cn":"dcdn-edge","keys":["*"],"ops":["sign"]},
           {"client_cn":"dcdn-edge","keys":["csp-rsa.key"],"ops":["rsa-decrypt"]},
           {"client_cn":"dcdn2-edge","keys":["*"],"ops":["sign"]}]}
JSON
}
ks_conf ks1 0
ks_conf ks2 0
start_daemon ks1 cdni-keyserver "$T/ks1.json" || exit 1
start_daemon ks2 cdni-keyserver "$T/ks2.json" || exit 1
KS1=$(addr ks1 keyless) KS2=$(addr ks2 keyless)
write_file "$T/origin.json" "{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"root\":\"$T/www\",\"access_log\":\"-\"}"
start_daemon origin cdni-origin "$T/origin.json" || exit 1

# NAME CLIENT SERVERS TICKET: a keyless edge (no key anywhere in its config)
edge_conf() {
	cat >"$T/$1.json" <<JSON
{"listen":[{"name":"https","address":"127.0.0.1","port":0,"tls":true,"cert":"$(pki csp-ec.chain.pem)"}],
 "upstream":"http://$(addr origin http)","access_log":"$T/$1.access","ticket_key":"$4",
 "keyless":{"certs":["$(pki csp-ec.chain.pem)","$(pki csp-rsa.chain.pem)","$(pki dcdn-ec.chain.pem)"],
  "key_server":{"servers":$3,"ca":"$(pki ks-ca.pem)","cert":"$(pki $2.chain.pem)",
                "key":"$(pki $2.key)","timeout_ms":1500,"backoff_max_ms":300}}}
JSON
}
edge_conf edge ks-client "[\"$KS1\",\"$KS2\"]" "$T/tk1"

# ---- configuration ----
out=$("$CDNI_BIN/cdni-dcdn" -n -c "$T/edge.json" 2>&1)
is "$?" 0 "-n accepts a keyless edge"
unlike "$(grep -o '"[^"]*csp-[a-z]*\.key"' "$T/edge.json")" . "the edge's config names no CSP key"
sed 's/"keyless":{/"keyles":{/' "$T/edge.json" >"$T/bad1.json"
like "$("$CDNI_BIN/cdni-dcdn" -n -c "$T/bad1.json" 2>&1)" "keyles" "an unknown key is named"
jq 'del(.keyless)' "$T/edge.json" >"$T/bad2.json"
like "$("$CDNI_BIN/cdni-dcdn" -n -c "$T/bad2.json" 2>&1)" "listen\[0\]: tls needs both cert and key" \
	"a tls listener without a key needs keyless"
jq '.keyless.key_server.servers = []' "$T/edge.json" >"$T/bad3.json"
like "$("$CDNI_BIN/cdni-dcdn" -n -c "$T/bad3.json" 2>&1)" "keyless.key_server.servers: at least one" \
	"keyless needs a key server"
head -c 10 /dev/urandom >"$T/short.key"
jq --arg f "$T/short.key" '.ticket_key = $f' "$T/edge.json" >"$T/bad4.json"
out=$("$CDNI_BIN/cdni-dcdn" -c "$T/bad4.json" 2>&1); rc=$?
is "$rc" 1 "a 10-byte ticket key is refused at start"
like "$out" "ticket_key: .* exactly 64 bytes" "with a message saying why"
help=$("$CDNI_BIN/cdni-dcdn" --help 2>&1)
like "$help" "^  keyless +object" "--help lists keyless"
like "$help" "^    certs +array" "and keyless.certs"
like "$help" "^  ticket_key +string" "and ticket_key"

start_daemon edge cdni-dcdn "$T/edge.json" || exit 1
EP=$(port edge https)

sclient() { # ARGS... -> s_client's report; with -sess_out it waits for the session
	case " $* " in
	*" -sess_out "*) # TLS 1.3 tickets come after the handshake: read a whole answer first
		printf 'GET /obj.bin HTTP/1.1\r\nHost: www.csp.test\r\nConnection: close\r\n\r\n' |
			timeout 10 openssl s_client -ign_eof -connect "127.0.0.1:$EP" -CAfile "$CA" \
				-verify_return_error "$@" 2>&1 ;;
	*) echo Q | timeout 10 openssl s_client -connect "127.0.0.1:$EP" -CAfile "$CA" -verify_return_error "$@" 2>&1 ;;
	esac
}
ops() { grep -vc '"op":"ping"' "$1" 2>/dev/null || true; } # key-server operations so far
last_op() { grep -v '"op":"ping"' "$1" | tail -n 1 | jq -r .op; }

# ---- handshakes through the key server ----
hs() { # NAME WANT-PROTOCOL WANT-OP S_CLIENT-ARGS...
	local name=$1 proto=$2 op=$3 o; shift 3
	o=$(sclient -servername www.csp.test "$@")
	like "$o" "Verify return code: 0 \(ok\)" "$name: the CSP's chain verifies"
	like "$o" "New, $proto" "$name: handshake completes"
	is "$(last_op "$T/ks1.audit")" "$op" "$name: the key server did $op"
}
hs "TLS 1.3 ECDSA" "TLSv1.3" ecdsa-sign-sha256 -tls1_3
hs "TLS 1.3 RSA-PSS" "TLSv1.3" rsa-pss-sign-sha256 -tls1_3 -sigalgs rsa_pss_rsae_sha256
hs "TLS 1.2 ECDHE-ECDSA" "TLSv1.2, Cipher is ECDHE-ECDSA" ecdsa-sign-sha256 -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256
hs "TLS 1.2 ECDHE-RSA PKCS#1" "TLSv1.2, Cipher is ECDHE-RSA" rsa-sign-sha256 -tls1_2 -sigalgs RSA+SHA256 -cipher ECDHE-RSA-AES128-GCM-SHA256
hs "TLS 1.2 ECDHE-RSA PSS" "TLSv1.2, Cipher is ECDHE-RSA" rsa-pss-sign-sha256 -tls1_2 -sigalgs rsa_pss_rsae_sha256 -cipher ECDHE-RSA-AES128-GCM-SHA256
hs "TLS 1.2 RSA key transport" "TLSv1.2, Cipher is AES128-GCM-SHA256" rsa-decrypt -tls1_2 -cipher AES128-GCM-SHA256
o=$(sclient -servername edge.dcdn.test -tls1_3)
like "$o" "subject=.*CN ?= ?dcdn.test" "SNI edge.dcdn.test picks the *.dcdn.test certificate"
is "$(last_op "$T/ks1.audit")" ecdsa-sign-sha256 "signed by the dcdn.test key"
like "$(tail -n 1 "$T/ks1.audit")" '"key":"dcdn-ec.key"' "the key server used dcdn-ec.key"
o=$(sclient -servername www.csp.test -tls1_3)
like "$o" "subject=.*CN ?= ?csp.test" "SNI www.csp.test picks a csp.test certificate"
body=$(curl -sS --max-time 10 --cacert "$CA" --resolve "www.csp.test:$EP:127.0.0.1" "https://www.csp.test:$EP/obj.bin" | sha256sum)
is "$body" "$(sha256sum <"$T/www/obj.bin")" "curl fetches the origin's bytes through the keyless edge"

# ---- resumption without the key server ----
for v in tls1_3 tls1_2; do
	sclient -servername www.csp.test -$v -sess_out "$T/$v.sess" >/dev/null
	ok "$v: s_client saved the session" test -s "$T/$v.sess"
	n=$(ops "$T/ks1.audit")
	o=$(sclient -servername www.csp.test -$v -sess_in "$T/$v.sess")
	like "$o" "Reused, TLSv1\.[23]" "$v: the session resumes"
	is "$(ops "$T/ks1.audit")" "$n" "$v: resuming made no key-server operation"
done

# curl turns TLS 1.2 tickets off and resumes by session id (the edge keeps a table)
n=$(ops "$T/ks1.audit")
curl -sv -o /dev/null -o /dev/null --max-time 10 --tlsv1.2 --tls-max 1.2 -H 'Connection: close' --cacert "$CA" \
	--resolve "www.csp.test:$EP:127.0.0.1" "https://www.csp.test:$EP/obj.bin" "https://www.csp.test:$EP/obj.bin" 2>"$T/c12.err"
is "$(grep -c 'TLS handshake, Certificate (11)' "$T/c12.err")" 1 "curl TLS 1.2, two connections: the second resumes by session id"
is "$(( $(ops "$T/ks1.audit") - n ))" 1 "one key-server operation for the two"

# ---- tickets shared by another edge instance, and rotation ----
edge_conf edge2 ks-client "[\"$KS1\"]" "$T/tk1"
start_daemon edge2 cdni-dcdn "$T/edge2.json" || exit 1
o=$(EP=$(port edge2 https); sclient -servername www.csp.test -tls1_3 -sess_in "$T/tls1_3.sess")
like "$o" "Reused, TLSv1\.3" "a second edge with the same ticket_key resumes the first edge's session"
cp "$T/tk2" "$T/tk1"
kill -HUP "$(pid_of edge2)"
wait_for 5 grep -q "ticket key rotated" "$T/edge2.err"
ok "SIGHUP re-reads the ticket key" grep -q "ticket key rotated" "$T/edge2.err"
o=$(EP=$(port edge2 https); sclient -servername www.csp.test -tls1_3 -sess_in "$T/tls1_3.sess")
like "$o" "New, TLSv1\.3" "after rotation an old ticket gets a full handshake"
stop_daemon edge2

# ---- RSA key transport refused by policy ----
edge_conf edge3 ks-client2 "[\"$KS1\"]" "$T/tk2"
start_daemon edge3 cdni-dcdn "$T/edge3.json" || exit 1
o=$(EP=$(port edge3 https); sclient -servername www.csp.test -tls1_2 -cipher AES128-GCM-SHA256)
like "$o" "alert internal error" "RSA key transport fails with an alert when the policy refuses decrypt"
like "$(tail -n 3 "$T/ks1.audit")" '"client":"dcdn2-edge","id":[0-9]*,"op":"rsa-decrypt".*"result":"(not-allowed|denied|forbidden|[a-z-]*)"' \
	"the key server logged the refused decrypt"
o=$(EP=$(port edge3 https); sclient -servername www.csp.test -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256)
like "$o" "New, TLSv1\.2, Cipher is ECDHE-RSA" "the same edge still does ECDHE (signatures only)"
stop_daemon edge3

# ---- a cascade: a second-level dCDN's edge through dCDN1's proxy key server ----
# dCDN2's edge (client dcdn2-edge) never talks to the CSP's key server: dCDN1's
# proxy accepts it under its own policy and signs upstream as dcdn-edge.
SKI_EC=$(openssl x509 -in "$(pki csp-ec.pem)" -noout -ext subjectKeyIdentifier | tail -n 1 | tr -d ' :' | tr A-F a-f)
cat >"$T/proxy.json" <<JSON
{"listen":{"address":"127.0.0.1","port":0},
 "tls":{"cert":"$(pki ks-server.pem)","key":"$(pki ks-server.key)","client_ca":"$(pki ks-ca.pem)"},
 "access_log":"$T/proxy.audit",
 "policy":[{"client_cn":"dcdn2-edge","keys":["ski:$SKI_EC"],"ops":["ecdsa-sign"]}],
 "upstream":{"servers":["$KS1"],"ca":"$(pki ks-ca.pem)","cert":"$(pki ks-client.chain.pem)",
             "key":"$(pki ks-client.key)","timeout_ms":1500}}
JSON
start_daemon proxy cdni-keyserver "$T/proxy.json" || exit 1
edge_conf edge4 ks-client2 "[\"$(addr proxy keyless)\"]" "$T/tk2"
start_daemon edge4 cdni-dcdn "$T/edge4.json" || exit 1
o=$(EP=$(port edge4 https); sclient -servername www.csp.test -tls1_3)
like "$o" "New, TLSv1\.3" "cascade: dCDN2's keyless edge completes a TLS 1.3 handshake through the proxy"
like "$(grep -v '"op":"ping"' "$T/proxy.audit" | tail -n 1)" '"client":"dcdn2-edge".*"op":"ecdsa-sign-sha256".*"result":"ok"' \
	"the proxy served dCDN2's edge"
like "$(grep -v '"op":"ping"' "$T/ks1.audit" | tail -n 1)" '"client":"dcdn-edge".*"op":"ecdsa-sign-sha256".*"result":"ok"' \
	"and the CSP's key server saw only dCDN1's identity"
o=$(EP=$(port edge4 https); sclient -servername www.csp.test -tls1_3 -sigalgs rsa_pss_rsae_sha256)
like "$o" "alert internal error" "cascade: the RSA key, not granted to dCDN2 by the proxy's policy, is refused"
stop_daemon edge4
stop_daemon proxy

# ---- failover and outage ----
n2=$(ops "$T/ks2.audit")
KS1_PORT=${KS1##*:}
kill_daemon ks1
o=$(sclient -servername www.csp.test -tls1_3)
like "$o" "New, TLSv1\.3" "with the first key server down the edge fails over"
ok "and the second key server signed" test "$(ops "$T/ks2.audit")" -gt "$n2"
kill_daemon ks2
t0=$(date +%s%N)
o=$(sclient -servername www.csp.test -tls1_3)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
like "$o" "alert internal error" "with every key server down a full handshake ends with an alert"
ok "promptly (${ms} ms including s_client itself; deadline 1500 ms)" test "$ms" -lt 3500
like "$(grep 'failed after' "$T/edge.err" | tail -n 1)" "failed after (0|[0-9]|[0-9][0-9]|[0-9][0-9][0-9]|1[0-5][0-9][0-9]) ms" \
	"the edge gave up on the key server within the deadline"
o=$(sclient -servername www.csp.test -tls1_3 -sess_in "$T/tls1_3.sess")
like "$o" "Reused, TLSv1\.3" "resumed sessions are still served"
o=$(EP=$(port edge https); sclient -servername www.csp.test -tls1_3 -sess_in "$T/tls1_3.sess")
like "$o" "Reused, TLSv1\.3" "and again: other clients keep being served"
ks_conf ks1 "$KS1_PORT"
start_daemon ks1 cdni-keyserver "$T/ks1.json" || exit 1
recovered() { sclient -servername www.csp.test -tls1_3 | grep -q "New, TLSv1.3"; }
ok "the edge recovers by itself when the key server returns" wait_for 10 recovered

# ---- a key server killed under load, then restarted ----
load() { # 5 s of sequential curls, one line per request: exit code and seconds
	local end=$(( $(date +%s) + 5 ))
	while [ "$(date +%s)" -lt "$end" ]; do
		curl -s -o /dev/null --max-time 5 -w '%{exitcode} %{time_total}\n' --cacert "$CA" \
			--resolve "www.csp.test:$EP:127.0.0.1" "https://www.csp.test:$EP/obj.bin"
	done
}
load >"$T/load.txt" &
lp=$!
sleep 1
kill_daemon ks1
sleep 1
start_daemon ks1 cdni-keyserver "$T/ks1.json" || exit 1
wait "$lp"
total=$(wc -l <"$T/load.txt")
good=$(awk '$1 == 0' "$T/load.txt" | wc -l)
bad=$(awk '$1 != 0' "$T/load.txt" | wc -l)
slow=$(awk '$2 > 3.5' "$T/load.txt" | wc -l) # the 1.5 s deadline, a handshake, a slow build
diag "load: $total requests, $good ok, $bad failed while the key server was down"
ok "requests succeed before and after the outage" test "$good" -gt 0
ok "requests fail while it is down (not served from nowhere)" test "$bad" -gt 0
is "$slow" 0 "no request waited beyond the deadline"
ok "requests succeed again after the restart" \
	awk 'BEGIN { down = 0; back = 0 } $1 != 0 { down = 1 } down && $1 == 0 { back = 1 } END { exit !back }' "$T/load.txt"
like "$(cat "$T/edge.err")" "key server sign op 0x15 failed" "the edge logged the failed operations"

stop_daemon edge
like "$(cat "$T/edge.err")" "key-server operations, [0-9]+ failed" "the edge reports its operation count at exit"
done_testing

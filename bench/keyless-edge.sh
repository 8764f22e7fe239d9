#!/usr/bin/env bash
# Keyless edge handshakes: full TLS handshakes per second answered by
# cdni-dcdn presenting the CSP's certificate through cdni-keyserver, against
# the same edge holding the key itself, same certificate, same run.
#
#   TLS 1.3, ECDSA P-256 certificate       keyless / local key   goal >= 0.85
#   TLS 1.3, RSA-2048 certificate (PSS)    keyless / local key   goal >= 0.85
#
# Load: BENCH_CLIENTS parallel `openssl s_time -new` (every connection a full
# handshake, no resumption), the edges, the key server and the clients all on
# this machine's CPUs. Each figure is the best of BENCH_ROUNDS alternating
# runs (local, keyless, local, ...). The load average is recorded with each
# run. Results: printed, and written to build/bench/keyless-edge.md/.json.
# Knobs: BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_CLIENTS (4).
. "$(dirname "$0")/lib.sh"

ROUNDS=${BENCH_ROUNDS:-3}
CLIENTS=${BENCH_CLIENTS:-4}
mkdir -p "$T/keys" "$T/www"
cp "$(pki csp-ec.key)" "$(pki csp-rsa.key)" "$T/keys/"
echo ok >"$T/www/index.html"

cat >"$T/ks.json" <<JSON
{"listen":{"address":"127.0.0.1","port":0},
 "tls":{"cert":"$(pki ks-server.pem)","key":"$(pki ks-server.key)","client_ca":"$(pki ks-ca.pem)"},
 "keys_dir":"$T/keys","access_log":"/dev/null",
 "policy":[{"client_cn":"dcdn-edge","keys":["*"],"ops":["sign"]}]}
JSON
start_daemon ks cdni-keyserver "$T/ks.json"
write_file "$T/origin.json" "{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"root\":\"$T/www\",\"access_log\":\"off\"}"
start_daemon origin cdni-origin "$T/origin.json"

edge() { # NAME CERT-BASE keyless|local
	local cert key="" kl=""
	cert=$(pki "$2.chain.pem")
	if [ "$3" = local ]; then key=",\"key\":\"$(pki "$2.key")\""; else
		kl=",\"keyless\":{\"certs\":[\"$cert\"],\"key_server\":{\"servers\":[\"$(addr ks keyless)\"],
		 \"ca\":\"$(pki ks-ca.pem)\",\"cert\":\"$(pki ks-client.chain.pem)\",\"key\":\"$(pki ks-client.key)\",
		 \"connections\":2}}"
	fi
	cat >"$T/$1.json" <<JSON
{"listen":[{"name":"https","address":"127.0.0.1","port":0,"tls":true,"cert":"$cert"$key}],
 "upstream":"http://$(addr origin http)","access_log":"off","threads":2$kl}
JSON
	start_daemon "$1" cdni-dcdn "$T/$1.json"
}
for c in csp-ec csp-rsa; do edge "local-$c" "$c" local; edge "kl-$c" "$c" keyless; done

handshakes() { # EDGE -> full handshakes per second, CLIENTS s_time processes
	local p i total=0
	p=$(port "$1" https)
	for ((i = 0; i < CLIENTS; i++)); do
		openssl s_time -connect "127.0.0.1:$p" -new -time "$SECS" >"$T/st.$i" 2>&1 &
	done
	wait
	for ((i = 0; i < CLIENTS; i++)); do
		n=$(awk '/connections in [0-9]+ real seconds/ { print $1; exit }' "$T/st.$i")
		total=$((total + ${n:-0}))
	done
	awk -v n="$total" -v s="$SECS" 'BEGIN { printf "%.0f", n / s }'
}
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
meets() { awk -v r="$1" 'BEGIN { print (r >= 0.85 ? "yes" : "NO") }'; }

declare -A L K
loads=""
for c in csp-ec csp-rsa; do
	L[$c]=0 K[$c]=0
	for ((r = 0; r < ROUNDS; r++)); do
		l=$(handshakes "local-$c") k=$(handshakes "kl-$c")
		load=$(cut -d' ' -f1 /proc/loadavg)
		loads="$loads $load"
		echo "round $r $c: local key $l/s, keyless $k/s (load $load)"
		L[$c]=$(best "${L[$c]}" "$l") K[$c]=$(best "${K[$c]}" "$k")
	done
done
r_ec=$(ratio "${K[csp-ec]}" "${L[csp-ec]}")
r_rsa=$(ratio "${K[csp-rsa]}" "${L[csp-rsa]}")

cat >"$OUT/keyless-edge.md" <<MD
# Keyless edge handshakes

$(date -u +%FT%TZ), $(nproc) CPUs; $CLIENTS parallel \`openssl s_time -new\` for ${SECS}s, best
of $ROUNDS rounds; edges (cdni-dcdn, 2 threads), key server and clients on the same CPUs;
load averages seen:$loads.

| certificate (TLS 1.3) | edge with the key (handshakes/s) | keyless edge (handshakes/s) | ratio | goal | met |
|---|---:|---:|---:|---|---|
| ECDSA P-256 | ${L[csp-ec]} | ${K[csp-ec]} | $r_ec | >= 0.85 | $(meets "$r_ec") |
| RSA-2048 | ${L[csp-rsa]} | ${K[csp-rsa]} | $r_rsa | >= 0.85 | $(meets "$r_rsa") |
MD
cat >"$OUT/keyless-edge.json" <<JS
{"p256_local":${L[csp-ec]},"p256_keyless":${K[csp-ec]},"p256_ratio":$r_ec,
 "rsa2048_local":${L[csp-rsa]},"rsa2048_keyless":${K[csp-rsa]},"rsa2048_ratio":$r_rsa,
 "loads":"${loads# }"}
JS
cat "$OUT/keyless-edge.md"
echo "bench: results in $OUT/keyless-edge.md and keyless-edge.json"

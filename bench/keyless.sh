#!/usr/bin/env bash
# cdni keyless figures, measured as ratios against the machine's crypto ceiling
# in the same run (openssl speed with as many processes as CPUs):
#
#   cdni-keyserver RSA-2048 signatures/s over mutual TLS on loopback, pipelined
#     clients (cdni-keyless bench)        vs  openssl speed -multi N rsa2048     goal >= 0.9
#   the same for ECDSA P-256              vs  openssl speed -multi N ecdsap256   goal >= 0.6
#   cdni-keyserver peak RSS with 10,000 keys loaded (half RSA-2048, half P-256),
#     after serving and one SIGHUP reload                                        goal < 100 MB
#
# The load generator runs on the same machine and takes its share of the same
# CPUs; the key server has no CPU of its own. Each throughput figure is the
# best of BENCH_ROUNDS alternating runs (speed, key server, speed, ...), so a
# burst of unrelated load on a shared machine does not decide the ratio.
#
# Results: printed, and written to build/bench/keyless.md and keyless.json.
# Knobs: BENCH_SECONDS (10), BENCH_ROUNDS (3), BENCH_KS_CONNS (2),
# BENCH_RSA_INFLIGHT (32), BENCH_EC_INFLIGHT (64), BENCH_KEYS (10000),
# BENCH_RSA_KEYS (half of BENCH_KEYS). The generated keys are kept in
# build/bench/keys-N-R (the RSA ones take a few minutes to make the first time).
BENCH_DEFAULT_SECONDS=10
. "$(dirname "$0")/lib.sh"

ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_KS_CONNS:-2}
RSA_INFLIGHT=${BENCH_RSA_INFLIGHT:-32}
EC_INFLIGHT=${BENCH_EC_INFLIGHT:-64}
NKEYS=${BENCH_KEYS:-10000}
NRSA=${BENCH_RSA_KEYS:-$((NKEYS / 2))}
NPROC=$(nproc)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
meets() { awk -v r="$1" -v g="$2" -v dir="$3" 'BEGIN { print ((dir == "ge" ? r >= g : r < g) ? "yes" : "NO") }'; }
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }

speed() { # ALG -> sign/s with one openssl process per CPU
	openssl speed -seconds "$SECS" -multi "$NPROC" "$1" 2>/dev/null |
		awk '/^rsa 2048 bits/ || /ecdsa \(nistp256\)/ { v = $(NF - 1) } END { print v + 0 }'
}

ks_conf() { # FILE KEYS_DIR AUDIT
	cat >"$1" <<JSON
{"listen":{"address":"127.0.0.1","port":0},"metrics":{"address":"127.0.0.1","port":0},
 "tls":{"cert":"$(pki ks-server.pem)","key":"$(pki ks-server.key)","client_ca":"$(pki ks-ca.pem)"},
 "keys_dir":"$2","access_log":"$3"}
JSON
}

ours() { # ALG KEY INFLIGHT -> ops/s of cdni-keyless bench against the key server
	"$CDNI_BIN/cdni-keyless" bench --server "$(addr ks keyless)" --ca "$(pki ks-ca.pem)" \
		--client-cert "$(pki ks-client.pem)" --client-key "$(pki ks-client.key)" \
		--key "$2" --alg "$1" --conns "$CONNS" --inflight "$3" --seconds "$SECS" >"$T/bench.out" 2>&1 || true
	grep -q 'errors=0' "$T/bench.out" || diag "$(cat "$T/bench.out")" >&2
	sed -n 's/.*ops_per_s=\([0-9.]*\).*/\1/p' "$T/bench.out" | head -1
	sed -n 's/.* \(p50_ms=[0-9.]* p90_ms=[0-9.]* p99_ms=[0-9.]*\).*/\1/p' "$T/bench.out" >"$T/lat.$1"
}

measure() { # OPENSSL_ALG OUR_ALG KEY INFLIGHT -> "speed ours"
	local s=0 o=0 x
	for _ in $(seq 1 "$ROUNDS"); do
		x=$(speed "$1"); s=$(best "$s" "$x")
		x=$(ours "$2" "$3" "$4"); o=$(best "$o" "${x:-0}")
	done
	echo "$s $o"
}

make_keys() { # DIR: NKEYS PEM keys, NRSA of them RSA-2048, the rest P-256
	[ -f "$1/.done" ] && return 0
	echo "bench: generating $NKEYS keys ($NRSA RSA-2048) into $1 (once)"
	rm -rf "$1.tmp"; mkdir -p "$1.tmp"
	python3 - "$1.tmp" "$NKEYS" "$NRSA" "$NPROC" <<'PY'
import sys
from multiprocessing import Pool
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import ec, rsa
d, n, nrsa, procs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def one(i):
    k = rsa.generate_private_key(65537, 2048) if i < nrsa else ec.generate_private_key(ec.SECP256R1())
    with open('%s/k%05d.key' % (d, i), 'wb') as f:
        f.write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
with Pool(procs) as p:
    p.map(one, range(n), chunksize=64)
PY
	touch "$1.tmp/.done"
	rm -rf "$1"; mv "$1.tmp" "$1"
}

echo "bench: keyless, $NPROC CPUs, ${SECS}s x $ROUNDS rounds, $CONNS connections, $(date -u +%FT%TZ)"
mkdir -p "$T/keys"
cp "$(pki csp-rsa.key)" "$(pki csp-ec.key)" "$T/keys/"
ks_conf "$T/ks.json" "$T/keys" "$T/ks.audit"
start_daemon ks cdni-keyserver "$T/ks.json"

read -r rsa_speed rsa_ks < <(measure rsa2048 rsa2048 "$(pki csp-rsa.pem)" "$RSA_INFLIGHT")
read -r ec_speed ec_ks < <(measure ecdsap256 p256 "$(pki csp-ec.pem)" "$EC_INFLIGHT")
r_rsa=$(ratio "$rsa_ks" "$rsa_speed")
r_ec=$(ratio "$ec_ks" "$ec_speed")
stop_daemon ks

# peak RSS with many keys: load, serve a little, reload once (two stores alive for a moment)
KD="$OUT/keys-$NKEYS-$NRSA"
make_keys "$KD"
ks_conf "$T/mem.json" "$KD" "$T/mem.audit"
start_daemon mem cdni-keyserver "$T/mem.json"
loaded=$(sed -n 's/.*serving \([0-9]*\) keys.*/\1/p' "$T/mem.err" | head -1)
for k in "$KD/k00000.key" "$KD/k$(printf %05d $((NKEYS - 1))).key"; do
	"$CDNI_BIN/cdni-keyless" bench --server "$(addr mem keyless)" --ca "$(pki ks-ca.pem)" \
		--client-cert "$(pki ks-client.pem)" --client-key "$(pki ks-client.key)" \
		--key "$k" --alg "$([ "$k" = "$KD/k00000.key" ] && echo rsa2048 || echo p256)" \
		--conns 2 --inflight 16 --seconds 1 >/dev/null 2>&1 || true
done
kill -HUP "$(pid_of mem)"
wait_for 120 grep -q "keys reloaded" "$T/mem.err" || diag "reload did not finish"
hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$(pid_of mem)/status")
hwm_mb=$(awk -v k="$hwm_kb" 'BEGIN { printf "%.1f", k / 1024 }')
stop_daemon mem

cat >"$OUT/keyless.md" <<MD
# cdni keyless benchmark results

$(date -u +%FT%TZ), $NPROC CPUs; key server and load generator (\`cdni-keyless bench\`, $CONNS
mutual-TLS connections, pipelined) on the same machine; best of $ROUNDS x ${SECS}s.

| figure | cdni-keyserver | reference (same run) | ratio | goal | met |
|---|---:|---:|---:|---|---|
| RSA-2048 signatures/s (inflight $RSA_INFLIGHT per connection; $(cat "$T/lat.rsa2048")) | $rsa_ks | $rsa_speed (openssl speed -multi $NPROC rsa2048) | $r_rsa | >= 0.9 | $(meets "$r_rsa" 0.9 ge) |
| ECDSA P-256 signatures/s (inflight $EC_INFLIGHT; $(cat "$T/lat.p256")) | $ec_ks | $ec_speed (openssl speed -multi $NPROC ecdsap256) | $r_ec | >= 0.6 | $(meets "$r_ec" 0.6 ge) |
| peak RSS, $loaded keys ($NRSA RSA-2048) loaded, served, reloaded once (MB) | $hwm_mb | — | — | < 100 | $(meets "$hwm_mb" 100 lt) |
MD
cat >"$OUT/keyless.json" <<JS
{"rsa2048_ks_ops":$rsa_ks,"rsa2048_openssl_speed":$rsa_speed,"rsa2048_ratio":$r_rsa,
 "p256_ks_ops":$ec_ks,"p256_openssl_speed":$ec_speed,"p256_ratio":$r_ec,
 "keys_loaded":${loaded:-0},"peak_rss_mb":$hwm_mb}
JS
cat "$OUT/keyless.md"
echo "bench: results in $OUT/keyless.md and keyless.json"

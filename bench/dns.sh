#!/usr/bin/env bash
# cdni-dns benchmark: figures measured against nsd on the same machine in
# the same run (never in a timed unit test).
#
#   dnsperf qps, "www.csp.test A" with DO: cdni-dns answering the signed CNAME
#   redirection by policy (signature cached)  vs  nsd serving the same zone,
#   pre-signed (our AXFR; nsd's response rate limiting off)        goal >= 0.5
#   cdni-dns peak RSS with a signed zone of 100,000 names (NSEC3)      reported
#
# Results: printed, and written to build/bench/dns.md and dns.json.
# Knobs: BENCH_SECONDS (default 10), BENCH_CLIENTS (dnsperf -c, default 8),
# BENCH_NAMES (default 100000).
set -euo pipefail
: "${CDNI_TOP:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$CDNI_TOP/t/lib.sh"
trap - EXIT
trap 'for n in "${!_pid[@]}"; do kill_daemon "$n"; done; rm -rf "$T"' EXIT

SECS=${BENCH_SECONDS:-10}
CLIENTS=${BENCH_CLIENTS:-8}
NAMES=${BENCH_NAMES:-100000}
OUT="$CDNI_BUILD/bench"
mkdir -p "$OUT"
for c in dnsperf nsd dig; do command -v "$c" >/dev/null || { echo "bench: $c is missing (make deps)"; exit 1; }; done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
kb() { awk "/^$1:/ {print \$2}" "/proc/$2/status"; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
qps() { # port -> queries per second from dnsperf
	dnsperf -s 127.0.0.1 -p "$1" -d "$T/queries" -l "$SECS" -c "$CLIENTS" -D -q 500 >"$T/dnsperf.out" 2>&1
	awk '/Queries per second:/ {print $4}' "$T/dnsperf.out"
}

# ---- the zone: a few names by hand, then NAMES hosts ---------------------------------
{
	printf '$ORIGIN csp.test.\n$TTL 300\n'
	printf '@ IN SOA ns.csp.test. admin.csp.test. 1 3600 600 86400 300\n@ IN NS ns.csp.test.\nns IN A 127.0.0.1\n'
	printf 'www IN CNAME edge.dcdn.test.\n' # nsd's static copy of what the policy answers
	awk -v n="$NAMES" 'BEGIN { for (i = 0; i < n; i++) printf "h%d IN A 10.%d.%d.%d\n", i, int(i / 65536) % 256, int(i / 256) % 256, i % 256 }'
} >"$T/csp.zone"
echo "www.csp.test A" >"$T/queries"

write_file "$T/dns.json" "{ \"address\": \"127.0.0.1\", \"port\": 0, \"access_log\": \"off\",
  \"zones\": [ { \"name\": \"csp.test\", \"file\": \"$T/csp.zone\", \"key_dir\": \"$T/keys\", \"allow_axfr\": [\"127.0.0.1/32\"] } ],
  \"dcdns\": [ { \"name\": \"dcdn\", \"target\": \"edge.dcdn.test\" } ],
  \"redirects\": [ { \"name\": \"www.csp.test\", \"ttl\": 300, \"rules\": [ { \"dcdns\": [ { \"dcdn\": \"dcdn\" } ] } ] } ] }"
t0=$(date +%s.%N)
# signing 100,000 names takes longer than start_daemon's deadline: wait here
"$CDNI_BIN/cdni-dns" -c "$T/dns.json" >"$T/dns.out" 2>"$T/dns.err" &
_pid[dns]=$!
wait_for 300 grep -q ' ready ' "$T/dns.err" || { echo "bench: cdni-dns did not start"; tail "$T/dns.err"; exit 1; }
_ready[dns]=$(grep -m1 ' ready ' "$T/dns.err" | sed 's/.* ready //')
t1=$(date +%s.%N)
DP=$(port dns udp)
hwm=$(kb VmHWM "$(pid_of dns)"); rss=$(kb VmRSS "$(pid_of dns)")
load_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
echo "bench: cdni-dns loaded and signed $NAMES names in ${load_s} s; peak RSS $(mb "$hwm") MB, now $(mb "$rss") MB"

dig +norec @127.0.0.1 -p "$DP" csp.test AXFR +nocmd +nostats | grep -v '^;' | awk '$4 == "SOA" && seen++ { next } NF' >"$T/csp.signed"
NP=$(free_port)
mkdir -p "$T/nsd"
cat >"$T/nsd.conf" <<N
server:
  ip-address: 127.0.0.1@$NP
  port: $NP
  server-count: $(nproc)
  reuseport: yes
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
  database: ""
  username: ""
  chroot: ""
  zonesdir: "$T"
  pidfile: "$T/nsd/nsd.pid"
  xfrdfile: "$T/nsd/xfrd.state"
  xfrdir: "$T/nsd"
  zonelistfile: "$T/nsd/zone.list"
  logfile: "$T/nsd.log"
remote-control:
  control-enable: no
zone:
  name: csp.test
  zonefile: "$T/csp.signed"
N
nsd -d -c "$T/nsd.conf" >"$T/nsd.out" 2>&1 &
_pid[nsd]=$!
wait_for 60 dig +time=1 +tries=1 @127.0.0.1 -p "$NP" www.csp.test A +short
nsd_hwm=0
for p in $(pgrep -f "nsd -d -c $T/nsd.conf"); do h=$(kb VmHWM "$p"); [ "${h:-0}" -gt "$nsd_hwm" ] && nsd_hwm=$h; done # the largest of its processes

echo "bench: answers compared:"
dig +norec +dnssec @127.0.0.1 -p "$DP" www.csp.test A | grep -E '^www' | sed 's/^/  cdni-dns: /' | cut -c1-110
dig +norec +dnssec @127.0.0.1 -p "$NP" www.csp.test A | grep -E '^www' | sed 's/^/  nsd:      /' | cut -c1-110

nsd_q=$(qps "$NP")
cp "$T/dnsperf.out" "$OUT/dnsperf-nsd.txt"
dns_q=$(qps "$DP")
cp "$T/dnsperf.out" "$OUT/dnsperf-cdni-dns.txt"
r=$(ratio "$dns_q" "$nsd_q")
met=$(awk -v r="$r" 'BEGIN { print (r >= 0.5 ? "yes" : "NO") }')

cat >"$OUT/dns.md" <<MD
# cdni-dns benchmark results

$(date -u +%FT%TZ), $(nproc) cores, \`dnsperf -c $CLIENTS -l $SECS -D\` ("www.csp.test A" with DO) over UDP on loopback,
both servers with $(nproc) workers, zone of $NAMES names signed with ECDSAP256SHA256 and NSEC3.

| figure | cdni-dns | nsd (same run) | ratio | goal | met |
|---|---:|---:|---:|---|---|
| qps, signed CNAME redirection (cdni-dns: policy, online signature cached; nsd: pre-signed static CNAME) | $dns_q | $nsd_q | $r | >= 0.5 | $met |
| peak RSS after loading and signing $NAMES names (MB) | $(mb "$hwm") | $(mb "$nsd_hwm") | — | reported | — |
| RSS serving (MB) | $(mb "$rss") | — | — | reported | — |
| load + sign time (s) | $load_s | — | — | reported | — |
MD
cat >"$OUT/dns.json" <<JS
{"cdni_dns_qps":$dns_q,"nsd_qps":$nsd_q,"ratio":$r,"names":$NAMES,
 "cdni_dns_peak_rss_mb":$(mb "$hwm"),"cdni_dns_rss_mb":$(mb "$rss"),"nsd_peak_rss_mb":$(mb "$nsd_hwm"),"load_sign_s":$load_s}
JS
cat "$OUT/dns.md"
echo "bench: results in $OUT/dns.md and dns.json"

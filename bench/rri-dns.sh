#!/usr/bin/env bash
# What cdni-dns pays per A query for asking a dCDN over the RFC 7975
# redirection interface (a dCDN with "rri"), against a static policy CNAME to
# the same dCDN, same server, same run:
#
#   static   static.csp.test: the policy's CNAME (signed online, kept per worker)
#   cached   cached.csp.test: the dCDN's answer reused (its max-age 60) for every query
#   uncached uncached.csp.test: a dCDN answering with max-age 0, so every query
#            waits for one redirection request (a POST over a kept-alive connection)
#
# Latency: dnsperf -c 1 -q 1 (one query at a time, UDP), average per query,
# best of 3 runs (one-at-a-time latency on a shared machine moves with every
# wake-up); added latency = the mode's average minus the static one. Throughput: dnsperf
# -c 8 -q 100. The load average is recorded.
# Results: printed, and written to build/bench/rri-dns.md and rri-dns.json.
# Knobs: BENCH_SECONDS (default 5).
. "$(dirname "$0")/lib.sh"
command -v dnsperf >/dev/null || { echo "bench: dnsperf is missing (make deps)"; exit 1; }

dcdn() { # NAME MAX-AGE
	cat >"$T/$1.json" <<JSON
{"listen":[{"address":"127.0.0.1","port":0}],"upstream":"http://127.0.0.1:9","access_log":"off",
 "rri":{"listen":[{"name":"rri","address":"127.0.0.1","port":0}],"cdn_id":"AS64501:d",
        "edge_base":"https://edge.dcdn.test","dns_cname":["edge.dcdn.test"],"max_age":$2,
        "threads":2}}
JSON
	start_daemon "$1" cdni-dcdn "$T/$1.json"
}
dcdn dcached 60
dcdn duncached 0

cat >"$T/csp.zone" <<'Z'
$ORIGIN csp.test.
$TTL 300
@        IN SOA ns.csp.test. admin.csp.test. 1 3600 600 86400 300
@        IN NS  ns.csp.test.
ns       IN A   127.0.0.1
Z
cat >"$T/dns.json" <<JSON
{ "address": "127.0.0.1", "port": 0, "threads": 2, "access_log": "off",
  "zones": [ { "name": "csp.test", "file": "$T/csp.zone", "key_dir": "$T/keys" } ],
  "rri": { "cdn_id": "AS64500:u", "threads": 4 },
  "dcdns": [ { "name": "static", "target": "edge.dcdn.test" },
             { "name": "cached", "target": "edge.dcdn.test",
               "rri": { "url": "http://$(addr dcached rri)/cdni/rri" } },
             { "name": "uncached", "target": "edge.dcdn.test",
               "rri": { "url": "http://$(addr duncached rri)/cdni/rri" } } ],
  "redirects": [
    { "name": "static.csp.test", "rules": [ { "dcdns": [ { "dcdn": "static" } ] } ] },
    { "name": "cached.csp.test", "rules": [ { "dcdns": [ { "dcdn": "cached" } ] } ] },
    { "name": "uncached.csp.test", "rules": [ { "dcdns": [ { "dcdn": "uncached" } ] } ] } ] }
JSON
start_daemon dns cdni-dns "$T/dns.json"
PORT=$(port dns udp)

perf() { # NAME CLIENTS OUTSTANDING -> "avg_latency_us qps"
	echo "$1.csp.test A" >"$T/q"
	dnsperf -s 127.0.0.1 -p "$PORT" -d "$T/q" -l "$SECS" -c "$2" -q "$3" >"$T/perf" 2>&1
	grep -q 'NOERROR' "$T/perf" || echo "bench: $1 had no NOERROR answers" >&2
	awk '/Average Latency/ { lat = $4 } /Queries per second:/ { q = $4 }
	     END { printf "%.0f %.0f\n", lat * 1000000, q }' "$T/perf"
}

declare -A L Q
for mode in static cached uncached; do
	L[$mode]=
	for _try in 1 2 3; do
		read -r l _ < <(perf "$mode" 1 1)
		[ -z "${L[$mode]}" ] || [ "$l" -lt "${L[$mode]}" ] && L[$mode]=$l
	done
	read -r _ Q[$mode] < <(perf "$mode" 8 100)
	echo "$mode: ${L[$mode]} us per query one at a time, ${Q[$mode]} qps (load $(cut -d' ' -f1 /proc/loadavg))"
done
add_c=$((L[cached] - L[static])) add_u=$((L[uncached] - L[static]))
load=$(cut -d' ' -f1-3 /proc/loadavg)

cat >"$OUT/rri-dns.md" <<MD
# cdni-dns answers through the redirection interface

$(date -u +%FT%TZ), $(nproc) CPUs; cdni-dns (2 workers) and cdni-dcdn on this machine;
dnsperf over UDP on loopback, ${SECS}s each: -c 1 -q 1 for latency (best of 3), -c 8 -q 100
for throughput (queries waiting at once for the same name and client share one call, so the
last row's throughput is not one call per query); load $load.

| name | average latency (us) | added to a static CNAME (us) | queries/s |
|---|---:|---:|---:|
| static policy CNAME | ${L[static]} | — | ${Q[static]} |
| dCDN asked, answer cached | ${L[cached]} | $add_c | ${Q[cached]} |
| dCDN asked for every query | ${L[uncached]} | $add_u | ${Q[uncached]} |
MD
cat >"$OUT/rri-dns.json" <<JS
{"static_us":${L[static]},"cached_us":${L[cached]},"uncached_us":${L[uncached]},
 "added_cached_us":$add_c,"added_uncached_us":$add_u,
 "static_qps":${Q[static]},"cached_qps":${Q[cached]},"uncached_qps":${Q[uncached]},"load":"$load"}
JS
cat "$OUT/rri-dns.md"
echo "bench: results in $OUT/rri-dns.md and rri-dns.json"

#!/usr/bin/env bash
# What a uCDN pays per redirect for asking a dCDN over the RFC 7975
# redirection interface (cdni-ucdn rules with "ask"), against the same rule
# with a static target, same run:
#
#   static   302 with the rule's own target (no interface)
#   cached   "ask": the dCDN's answer reused (max-age 60) for every request
#   uncached "ask": the dCDN answers with max-age 0, so every redirect is one
#            redirection request (a POST over a kept-alive connection)
#
# Latency: wrk -t1 -c1 (one request at a time, keep-alive), mean and p99 per
# redirect; added latency = the mode's mean minus the static mean. Also the
# throughput with -t2 -c16. The load average is recorded.
# Results: printed, and written to build/bench/rri-ucdn.md and rri-ucdn.json.
# Knobs: BENCH_SECONDS (default 5).
. "$(dirname "$0")/lib.sh"
command -v wrk >/dev/null || { echo "bench: wrk is missing (make deps)"; exit 1; }

dcdn() { # NAME MAX-AGE
	cat >"$T/$1.json" <<JSON
{"listen":[{"address":"127.0.0.1","port":0}],"upstream":"http://127.0.0.1:9","access_log":"off",
 "rri":{"listen":[{"name":"rri","address":"127.0.0.1","port":0}],"cdn_id":"AS64501:d",
        "edge_base":"https://edge.dcdn.test","max_age":$2,"scope_v4":24}}
JSON
	start_daemon "$1" cdni-dcdn "$T/$1.json"
}
dcdn dcached 60
dcdn duncached 0
ucdn() { # NAME ASK DCDN
	cat >"$T/$1.json" <<JSON
{"listen":[{"address":"127.0.0.1","port":0}],"access_log":"off","default_action":"refuse",
 "rules":[{"prefix":"/v/","action":"redirect","ask":$2,"target":"https://static.dcdn.test"}],
 "rri":{"cdn_id":"AS64500:u","dcdns":[{"name":"d","url":"http://$(addr "$3" rri)/cdni/rri"}]}}
JSON
	start_daemon "$1" cdni-ucdn "$T/$1.json"
}
ucdn ustatic false dcached
ucdn ucached true dcached
ucdn uuncached true duncached

lat() { # NAME -> "mean_us p99_us rps" from wrk -t1 -c1, plus rps at -t2 -c16
	local u m p r
	u="http://$(addr "$1" http)/v/seg-1.ts"
	wrk -t1 -c1 -d"${SECS}s" --latency "$u" >"$T/w1" 2>&1
	m=$(awk '$1 == "Latency" { print $2; exit }' "$T/w1")
	p=$(awk '$1 == "99%" { print $2; exit }' "$T/w1")
	wrk -t2 -c16 -d"${SECS}s" "$u" >"$T/w2" 2>&1
	r=$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' "$T/w2")
	grep -q "Non-2xx or 3xx" "$T/w2" && echo "bench: $1 had non-3xx answers" >&2
	echo "$(us "$m") $(us "$p") $r"
}
us() { # wrk's "123.45us" / "1.23ms" -> microseconds
	awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /ms$/) n *= 1000; else if (v ~ /[0-9]s$/ && v !~ /us$/) n *= 1000000; printf "%.0f", n }'
}

declare -A M P R
for mode in static cached uncached; do
	read -r M[$mode] P[$mode] R[$mode] < <(lat "u$mode")
	echo "$mode: mean ${M[$mode]} us, p99 ${P[$mode]} us, ${R[$mode]} redirects/s (load $(cut -d' ' -f1 /proc/loadavg))"
done
add_c=$((M[cached] - M[static])) add_u=$((M[uncached] - M[static]))
load=$(cut -d' ' -f1-3 /proc/loadavg)

cat >"$OUT/rri-ucdn.md" <<MD
# uCDN redirects through the redirection interface

$(date -u +%FT%TZ), $(nproc) CPUs; cdni-ucdn and cdni-dcdn on this machine; wrk -t1 -c1 for
latency, -t2 -c16 for throughput, ${SECS}s each; load $load.

| rule | mean latency (us) | p99 (us) | added to a static redirect (us) | redirects/s |
|---|---:|---:|---:|---:|
| static target | ${M[static]} | ${P[static]} | — | ${R[static]} |
| ask, answer cached | ${M[cached]} | ${P[cached]} | $add_c | ${R[cached]} |
| ask, every redirect asked | ${M[uncached]} | ${P[uncached]} | $add_u | ${R[uncached]} |
MD
cat >"$OUT/rri-ucdn.json" <<JS
{"static_mean_us":${M[static]},"cached_mean_us":${M[cached]},"uncached_mean_us":${M[uncached]},
 "added_cached_us":$add_c,"added_uncached_us":$add_u,
 "static_rps":${R[static]},"cached_rps":${R[cached]},"uncached_rps":${R[uncached]},"load":"$load"}
JS
cat "$OUT/rri-ucdn.md"
echo "bench: results in $OUT/rri-ucdn.md and rri-ucdn.json"

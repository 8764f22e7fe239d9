#!/usr/bin/env bash
# cdni-dcdn redirection interface (RFC 7975) benchmark.
#
#   RI requests/s answered by one dCDN with its own surrogate (HTTP form,
#   wrk keep-alive, a Lua script posting the body)
#                              vs  nginx answering the same POST with a fixed 200 body
#   RI requests/s through a cascade dCDN1 -> dCDN2 (dCDN1 asks dCDN2 for each one)
#   instructions per RI request inside cdni-dcdn (callgrind, toggled on the
#   request handler: decode, decide, encode), when valgrind is there
#
# Wall-clock figures depend on what else runs: the load (uptime) before and
# after is written next to them.
# Results: printed, and written to build/bench/rri.md and rri.json.
# Knobs: BENCH_SECONDS (default 10), BENCH_CONNS (default 8), BENCH_THREADS (default 2).
set -euo pipefail
[ -n "${BENCH_DEBUG:-}" ] && set -x
: "${CDNI_TOP:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$CDNI_TOP/t/lib.sh"
trap - EXIT
trap '[ -n "${_pid[nginx]:-}" ] && kill "${_pid[nginx]}" && wait "${_pid[nginx]}"; unset "_pid[nginx]"
	for n in "${!_pid[@]}"; do kill_daemon "$n"; done; rm -rf "$T"' EXIT

SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNS:-8}
THREADS=${BENCH_THREADS:-2}
OUT="$CDNI_BUILD/bench"
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "bench: wrk is missing (make deps)"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
load() { awk '{print $1}' /proc/loadavg; }

CT='application/cdni; ptype=redirection-request'
body() { # client ip
	printf '{"http":{"c-ip":"%s","cs-uri":"http://www.example.com/v/seg-1.ts?t=1","cs-version":"HTTP/1.1","cs-method":"GET"},"cdn-path":["AS64496:0"],"max-hops":3}' "$1"
}
lua() { # client ip -> a wrk script posting the request
	cat <<LUA
wrk.method = "POST"
wrk.body = '$(body "$1")'
wrk.headers["Content-Type"] = "$CT"
LUA
}
body "198.51.100.1" >"$T/self.json"
lua "198.51.100.1" >"$T/self.lua"
lua "203.0.113.1" >"$T/cascade.lua"

ERRORS=""
rps() { # url script -> requests/sec; non-2xx answers are noted, more than 1% fail the bench
	local n bad
	wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" -s "$2" "$1" >"$T/wrk.out" 2>&1
	n=$(awk '/requests in/ {print $1}' "$T/wrk.out")
	bad=$(awk '/Non-2xx/ {print $NF}' "$T/wrk.out")
	if [ -n "$bad" ]; then
		echo "bench: $bad of $n answers not 2xx for $1" >&2
		ERRORS="$ERRORS $bad/$n non-2xx at $1;"
		[ $((bad * 100)) -le "$n" ] || exit 1
	fi
	awk '/^Requests\/sec:/ {print $2}' "$T/wrk.out"
}

CAPS1='{"capabilities":[{"capability-type":"FCI.DeliveryProtocol","capability-value":{"delivery-protocols":["http/1.1","https/1.1"]},"footprints":[{"footprint-type":"ipv4cidr","footprint-value":["198.51.100.0/24"]}]},{"capability-type":"FCI.RedirectionMode","capability-value":{"redirection-modes":["DNS-R","HTTP-R"]}}]}'
dcdn_conf() { # RI_PORT THREADS RRI_KEYS
	printf '{"listen":[{"address":"127.0.0.1","port":0}],"upstream":"http://127.0.0.1:9","access_log":"off","rri":{"listen":[{"address":"127.0.0.1","port":%s,"name":"rri"}],"threads":%s,%s}}\n' "$1" "$2" "$3"
}
P2=$(free_port)
write_file "$T/d1.json" "$(dcdn_conf 0 2 "\"cdn_id\":\"AS64500:1\",\"edge_base\":\"https://edge.dcdn.test\",\"capabilities\":$CAPS1,\"downstream\":{\"url\":\"http://127.0.0.1:$P2/cdni/rri\"}")"
write_file "$T/d2.json" "$(dcdn_conf "$P2" 2 "\"cdn_id\":\"AS64501:2\",\"edge_base\":\"https://edge.dcdn2.test\"")"
# the cascading dCDN waits on its downstream: a thread per connection
write_file "$T/d1c.json" "$(dcdn_conf 0 0 "\"cdn_id\":\"AS64500:1\",\"edge_base\":\"https://edge.dcdn.test\",\"capabilities\":$CAPS1,\"downstream\":{\"url\":\"http://127.0.0.1:$P2/cdni/rri\"}")"
start_daemon d1 cdni-dcdn "$T/d1.json"
start_daemon d2 cdni-dcdn "$T/d2.json"
start_daemon d1c cdni-dcdn "$T/d1c.json"
U1="http://$(addr d1 rri)/cdni/rri"
U1C="http://$(addr d1c rri)/cdni/rri"

# the answer nginx gives: what dCDN1 answers, fixed
ANSWER=$(curl -fsS -X POST -H "Content-Type: $CT" --data-binary @"$T/self.json" "$U1")
echo "bench: dCDN1 answers $ANSWER"
CASCADE=$(curl -fsS -X POST -H "Content-Type: $CT" --data-binary "$(body 203.0.113.1)" "$U1C")
echo "bench: through the cascade: $CASCADE"
case "$CASCADE" in *AS64501:2*) ;; *) echo "bench: the cascade does not reach dCDN2"; exit 1;; esac
ngx_servers() {
	cat <<-NGX
	  keepalive_requests 1000000;
	  server {
	    listen 127.0.0.1:$NGINX_PORT;
	    location = /cdni/rri { default_type "application/cdni; ptype=redirection-response"; return 200 '$ANSWER'; }
	  }
	NGX
}
NGINX_WORKERS=auto start_nginx nginx ngx_servers || { echo "bench: nginx does not start"; exit 1; }

load0=$(load)
echo "bench: $(nproc) cores, load $load0, wrk -t$THREADS -c$CONNS -d${SECS}s, $(date -u +%FT%TZ)"
ngx=$(rps "http://127.0.0.1:$NGINX_PORT/cdni/rri" "$T/self.lua")
self=$(rps "$U1" "$T/self.lua")
cascade=$(rps "$U1C" "$T/cascade.lua")
load1=$(load)
r_self=$(ratio "$self" "$ngx")
r_cascade=$(ratio "$cascade" "$self")

# instructions per request in the handler (decode + decide + encode), callgrind
ir="null"
if command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
	PV=$(free_port)
	write_file "$T/dv.json" "$(dcdn_conf "$PV" 0 "\"cdn_id\":\"AS64500:1\",\"edge_base\":\"https://edge.dcdn.test\",\"capabilities\":$CAPS1")"
	valgrind --tool=callgrind --callgrind-out-file="$T/cg.out" --toggle-collect=dcdn_ri_handle \
		"$CDNI_BIN/cdni-dcdn" -c "$T/dv.json" >"$T/dv.out" 2>"$T/dv.err" &
	_pid[dv]=$!
	wait_for 60 curl -fsS -o /dev/null "http://127.0.0.1:$PV/cdni/fci" || { echo "bench: callgrind dCDN does not start"; exit 1; }
	N=200
	args=()
	for i in $(seq 1 $N); do args+=(-o /dev/null "http://127.0.0.1:$PV/cdni/rri"); done
	curl -fsS -X POST -H "Content-Type: $CT" --data-binary @"$T/self.json" "${args[@]}"
	kill -TERM "${_pid[dv]}"; wait "${_pid[dv]}" || true; unset "_pid[dv]"
	total=$(callgrind_annotate "$T/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ && !t {gsub(",", "", $1); t = $1} END {print t}')
	ir=$(awk -v t="$total" -v n="$N" 'BEGIN { printf "%d", t / n }')
	echo "bench: callgrind: $total instructions in dcdn_ri_handle for $N requests"
fi

cat >"$OUT/rri.md" <<MD
# cdni redirection interface (RFC 7975) benchmark

$(date -u +%FT%TZ), $(nproc) cores, \`wrk -t$THREADS -c$CONNS -d${SECS}s\` keep-alive over HTTP on
loopback, POSTing an HTTP-form RI request (a Lua script). Load average (1 min) before: $load0,
after: $load1 — the machine is shared; read the ratios, not the absolute rates.

| figure | cdni | reference (same run) | ratio |
|---|---:|---:|---:|
| RI answers/s, dCDN's own surrogate (threads 2) | $self | $ngx (nginx \`return 200\` of the same answer) | $r_self |
| RI answers/s through a cascade dCDN1 -> dCDN2 (one RI POST downstream per request) | $cascade | $self (one dCDN) | $r_cascade |
| instructions per RI request in dcdn_ri_handle (decode, decide, encode; callgrind) | $ir | — | — |

Answers that were not 2xx:${ERRORS:- none}
MD
cat >"$OUT/rri.json" <<JS
{"rri_self_rps":$self,"nginx_return_rps":$ngx,"rri_self_ratio":$r_self,
 "rri_cascade_rps":$cascade,"rri_cascade_to_self":$r_cascade,
 "rri_handle_instructions":$ir,"load_before":$load0,"load_after":$load1,"cores":$(nproc)}
JS
cat "$OUT/rri.md"
echo "bench: results in $OUT/rri.md and rri.json"

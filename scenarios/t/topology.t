#!/usr/bin/env bash
# cdni-scenario topology as root: hosts in network namespaces, links emulated
# by cdni-linkemu. Fidelity: UDP round trips over a 20 ms one-way link are
# 40 ms within 1 ms (median of 50); 2 links through a forwarding host add up;
# 10% loss each way loses about 19% of round trips; a 2000 kbit/s link moves
# bytes at about that rate. Then: nothing left behind (processes, namespaces),
# also after SIGINT mid-run; and --no-netns (what a non-root run does).
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh" || exit 1

need_root "network namespaces and TUN devices"
command -v jq >/dev/null || skip_all "jq not installed (make deps)"
command -v python3 >/dev/null || skip_all "python3 not installed (make deps)"
SC=$CDNI_BIN/cdni-scenario
PROBE=$CDNI_TOP/scenarios/t/netprobe.py

# a -20ms- b -5ms- c ; a -1ms 10% loss- d ; a -2ms 2000 kbit/s- e
# The UA's one connect a-e takes at least the emulated RTT (4 ms); its upper
# bound is loose (one sample: a CI run once took 14.6 ms), the RTT medians
# below are the tight checks.
write_file "$T/topo.json" '{
  "name": "topology-fidelity", "title": "link emulation fidelity",
  "hosts": [ { "name": "a" }, { "name": "b" }, { "name": "c" }, { "name": "d" }, { "name": "e" } ],
  "links": [ { "a": "a", "b": "b", "delay_ms": 20 },
             { "a": "b", "b": "c", "delay_ms": 5 },
             { "a": "a", "b": "d", "delay_ms": 1, "loss": 10 },
             { "a": "a", "b": "e", "delay_ms": 2, "rate_kbit": 2000 } ],
  "ua_host": "a",
  "content": { "big.bin": { "size": 300000 } },
  "nodes": [
    { "name": "echo_b", "program": "'"$PROBE"'", "host": "b", "check": false, "args": [ "echo", "{{b.addr}}" ], "config": {} },
    { "name": "echo_c", "program": "'"$PROBE"'", "host": "c", "check": false, "args": [ "echo", "{{c.addr}}" ], "config": {} },
    { "name": "echo_d", "program": "'"$PROBE"'", "host": "d", "check": false, "args": [ "echo", "{{d.addr}}" ], "config": {} },
    { "name": "origin", "program": "cdni-origin", "host": "e",
      "config": { "listen": [ { "address": "{{e.addr}}", "port": 0 } ], "root": "{{content}}", "access_log": "-" } } ],
  "steps": [
    { "name": "rtt a-b", "run": [ "python3", "'"$PROBE"'", "rtt", "{{echo_b.udp}}", "50" ] },
    { "name": "rtt a-c", "run": [ "python3", "'"$PROBE"'", "rtt", "{{echo_c.udp}}", "50" ] },
    { "name": "loss a-d", "run": [ "python3", "'"$PROBE"'", "loss", "{{echo_d.udp}}", "1000" ], "timeout_ms": 60000 },
    { "name": "rate a-e", "run": [ "curl", "-sS", "-o", "/dev/null", "-w", "%{json}", "http://{{origin.http}}/big.bin" ] },
    { "name": "ua a-e", "ua": { "url": "http://{{origin.http}}/big.bin" },
      "expect": { "final_status": 200, "hops": [ { "node": "origin" } ],
                  "log_lines": [ { "node": "origin", "contains": "error", "absent": true } ],
                  "timings": [ { "phase": "connect", "min_ms": 4, "max_ms": 30 } ] } } ] }'

"$SC" -o "$T/run" "$T/topo.json" >"$T/run.out" 2>"$T/run.err"
rc=$?
is "$rc" 0 "the fidelity scenario passes its own checks"
[ "$rc" = 0 ] || diag "$(tail -n 30 "$T/run.out")" "$(cat "$T/run.err")"
out() { cat "$T/run/step-$1.out"; }
res() { jq -r "$1" "$T/run/result.json"; }
within() { python3 -c "import sys; v=$1; sys.exit(0 if $2 <= v <= $3 else 1)"; }

is "$(res .topology.mode)" netns "mode: network namespaces"
m=$(out 1 | jq .median); diag "a-b: $(out 1)"
ok "a-b (20 ms one way): median RTT $m ms within 1 ms of 40" within "$m" 40 41
p=$(out 1 | jq .p90)
ok "a-b: 90th percentile $p ms within 5 ms of 40 (the probe's own scheduling under load)" within "$p" 40 45
m=$(out 2 | jq .median); diag "a-c: $(out 2)"
ok "a-c through b (20 + 5 ms, forwarded): median RTT $m ms within 2 ms of 50" within "$m" 50 52
is "$(res '.topology.paths[] | select(.a == "a" and .b == "c") | "\(.rtt_ms) \(.links)"')" "50 2" "the report's predicted a-c RTT: 50 ms over 2 links"
r=$(out 3 | jq .received); diag "a-d: $(out 3)"
ok "a-d (10% loss each way): $r of 1000 round trips (expect about 810)" within "$r" 740 880
s=$(out 4 | jq '.speed_download * 8 / 1000'); diag "a-e: $(out 4 | jq -c '{speed_download, time_total, time_starttransfer}')"
ok "a-e (2000 kbit/s): $s kbit/s within 15%" within "$s" 1700 2100
like "$(res '.topology.counters | join("\n")')" 'l3-a -> l3-e: [0-9]+ packets in' "the emulator's counters are in the report"
like "$(cat "$T/run.out")" '# step 5/5 "ua a-e": done' "progress: a line per step"
no_ns() { ! ip netns list | grep -q '^cdni-'; }
ok "no namespace left" wait_for 5 no_ns
no_ns || diag "left: $(ip netns list | grep '^cdni-')"
none_left() { ! pgrep -f "$1" >/dev/null; }
ok "no process left" none_left "$T/run/"
ok "no emulator left" none_left "cdni-linkemu -c $T/run/"

# ---- SIGINT mid-run -----------------------------------------------------------
write_file "$T/long.json" '{
  "name": "long", "hosts": [ { "name": "a" }, { "name": "b" } ],
  "links": [ { "a": "a", "b": "b", "delay_ms": 3 } ], "ua_host": "a",
  "nodes": [ { "name": "origin", "program": "cdni-origin", "host": "b",
      "config": { "listen": [ { "address": "{{b.addr}}", "port": 0 } ], "root": "{{run}}" } } ],
  "steps": [ { "ua": { "url": "http://{{origin.http}}/" }, "expect": { "exit": -1 } },
             { "wait_ms": 60000 }, { "wait_ms": 1 } ] }'
"$SC" -o "$T/long" "$T/long.json" >"$T/long.out" 2>&1 &
scpid=$!
wait_for 20 grep -q 'step 1/3' "$T/long.out"
ok "mid-run: the namespaces exist" sh -c "ip netns list | grep -q '^cdni-$scpid-a'"
kill -INT "$scpid"
wait "$scpid"; rc=$?
is "$rc" 1 "SIGINT: exit 1"
like "$(cat "$T/long.out")" 'FAIL - run: interrupted' "the interruption is a failed check"
like "$(cat "$T/long.out")" 'ok - links: cdni-linkemu stopped' "the emulator was stopped"
ok "SIGINT: no namespace of ours left" sh -c "! ip netns list | grep -q '^cdni-$scpid-'"
ok "SIGINT: no process left" none_left "$T/long/"
ok "SIGINT: report written" test -s "$T/long/result.json"

# ---- SIGTERM during setup of the next file: same ---------------------------------
"$SC" -o "$T/term" "$T/long.json" "$T/long.json" >"$T/term.out" 2>&1 &
scpid=$!
wait_for 20 grep -q 'step 1/3' "$T/term.out"
kill -TERM "$scpid"; wait "$scpid"; rc=$?
is "$rc" 1 "SIGTERM: exit 1"
ok "SIGTERM: no namespace of ours left" sh -c "! ip netns list | grep -q '^cdni-$scpid-'"

# ---- a runner killed outright leaves namespaces; the next run removes them --------
ip netns add cdni-999999-x 2>/dev/null
"$SC" -o "$T/again" "$T/long.json" >/dev/null 2>&1 &
p=$!; wait_for 20 grep -q 'step 1/3' "$T/again/../again.out" 2>/dev/null; kill -INT $p; wait $p
ok "a dead runner's namespace (cdni-999999-x) is removed by the next run" sh -c "! ip netns list | grep -q '^cdni-999999-x'"

# ---- --no-netns: loopback addresses, links not emulated ---------------------------
sed 's/"wait_ms": 60000/"wait_ms": 1/' "$T/long.json" >"$T/short.json"
"$SC" --no-netns -o "$T/lo" "$T/short.json" >"$T/lo.out" 2>&1
is "$?" 0 "--no-netns: passes"
is "$(jq -r .topology.mode "$T/lo/result.json")" loopback "--no-netns: loopback mode"
like "$(jq -r .topology.note "$T/lo/result.json")" 'links not emulated' "and the report says the links are not emulated"
like "$(cat "$T/lo.out")" 'ready \(http=127\.0\.10\.2:' "host b is 127.0.10.2"
like "$(cat "$T/lo/report.md")" 'links not emulated' "report.md says so too"

# ---- which links: netem where the kernel has it, else cdni-linkemu -----------------
if tc qdisc add dev lo root netem delay 1ms 2>/dev/null; then
	tc qdisc del dev lo root 2>/dev/null
	like "$(res .topology.note)" 'veth pairs shaped by the kernel.s netem' "this kernel has netem: links use it"
else
	like "$(res .topology.note)" 'emulated by cdni-linkemu.*this kernel has no netem' \
		"this kernel has no netem: links are emulated by cdni-linkemu"
	CDNI_SCENARIO_LINKS=netem "$SC" -o "$T/ne" "$T/short.json" >"$T/ne.out" 2>&1
	like "$(jq -r .topology.note "$T/ne/result.json")" 'CDNI_SCENARIO_LINKS=netem, but this kernel has no netem' \
		"CDNI_SCENARIO_LINKS=netem without netem: the report says why links are not emulated"
fi
CDNI_SCENARIO_LINKS=bogus "$SC" -o "$T/bo" "$T/short.json" >"$T/bo.out" 2>&1
like "$(jq -r .topology.note "$T/bo/result.json")" "CDNI_SCENARIO_LINKS: 'bogus' is not auto, netem or linkemu" \
	"a bad CDNI_SCENARIO_LINKS is named"

done_testing

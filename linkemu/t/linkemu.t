#!/usr/bin/env bash
# cdni-linkemu: usage, config checks (-n) with messages naming the key path,
# and, as root, a link between two namespaces that delays pings by its
# configured one-way delay twice (UDP echo), stopped cleanly by SIGTERM with
# its counters logged.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh" || exit 1
LE=$CDNI_BIN/cdni-linkemu

out=$("$LE" -h 2>&1); rc=$?
is "$rc" 0 "-h exits 0"
like "$out" 'delay_us' "-h lists the config keys"
write_file "$T/good.json" '{"links":[{"name":"x","a":{"dev":"lx-a"},"b":{"dev":"lx-b"},"delay_us":1000}]}'
"$LE" -n -c "$T/good.json" >"$T/n.out" 2>&1
is "$?" 0 "-n accepts a good config"
bad() { # json, message regex, name
	write_file "$T/bad.json" "$1"
	"$LE" -n -c "$T/bad.json" >"$T/bad.out" 2>&1; local rc=$?
	is "$rc" 1 "$3: exit 1"
	like "$(cat "$T/bad.out")" "$2" "$3: the message names the key"
}
bad '{"links":[]}' 'links: at least one link' "no links"
bad '{"links":[{"name":"x","a":{"dev":"a-very-long-device-name"},"b":{"dev":"b"}}]}' 'links\[0\]\.a\.dev: 1 to 15 bytes' "device name too long"
bad '{"links":[{"name":"x","a":{"dev":"a"},"b":{"dev":"b"},"loss_ppm":2000000}]}' 'links\[0\]\.loss_ppm' "loss above 100%"
bad '{"links":[{"name":"x","a":{"dev":"a"},"b":{"dev":"b"},"delay":5}]}' 'links\[0\]\.delay' "unknown key"
bad '{"links":[{"name":"x","a":{"dev":"a/b"},"b":{"dev":"b"}}]}' "no '/'" "a slash in a device name"

if [ "$(id -u)" -ne 0 ] || [ ! -w /dev/net/tun ]; then
	diag "not root (or no /dev/net/tun): the live link is tested by scenarios/t/topology.t as root"
	done_testing
fi
command -v python3 >/dev/null || { diag "no python3: live link not tested"; done_testing; }
a=cdni-le-$$-a b=cdni-le-$$-b
ip netns add "$a" && ip netns add "$b"
trap 'ip netns del "$a" 2>/dev/null; ip netns del "$b" 2>/dev/null; _cleanup' EXIT
write_file "$T/live.json" "{\"links\":[{\"name\":\"ab\",\"a\":{\"netns\":\"/var/run/netns/$a\",\"dev\":\"l0-b\"},
  \"b\":{\"netns\":\"/var/run/netns/$b\",\"dev\":\"l0-a\"},\"delay_us\":15000}]}"
start_daemon emu cdni-linkemu "$T/live.json"
like "$(cat "$T/emu.err")" 'ready links=1' "readiness line"
ip -n "$a" link set lo up; ip -n "$a" addr add 10.99.0.1/32 dev lo; ip -n "$a" link set l0-b up
ip -n "$a" route add 10.99.0.2/32 dev l0-b src 10.99.0.1
ip -n "$b" link set lo up; ip -n "$b" addr add 10.99.0.2/32 dev lo; ip -n "$b" link set l0-a up
ip -n "$b" route add 10.99.0.1/32 dev l0-a src 10.99.0.2
ip netns exec "$b" python3 "$CDNI_TOP/scenarios/t/netprobe.py" echo 10.99.0.2 2>"$T/echo.err" &
echo_pid=$!
wait_for 10 grep -q 'ready udp=' "$T/echo.err"
addr=$(sed -n 's/.*ready udp=//p' "$T/echo.err")
m=$(ip netns exec "$a" python3 "$CDNI_TOP/scenarios/t/netprobe.py" rtt "$addr" 20 | jq .median)
ok "15 ms each way: median RTT $m ms within 1 ms of 30" python3 -c "import sys; sys.exit(0 if 30 <= $m <= 31 else 1)"
kill "$echo_pid"; wait "$echo_pid" 2>/dev/null
stop_daemon emu
like "$(cat "$T/emu.err")" '\[ab\] l0-b -> l0-a: [0-9]+ packets in, [0-9]+ out' "counters logged at the stop"
ip netns del "$a"; ip netns del "$b"
ok "namespaces removed" sh -c "! ip netns list | grep -q '^cdni-le-$$-'"
done_testing

#!/usr/bin/env bash
# cdni-dns as an authoritative server, asked by dig (BIND) and raw sockets:
# answers, NXDOMAIN/NODATA with the SOA, REFUSED, EDNS0, TC and TCP, FORMERR
# and drops for malformed queries (the server keeps answering), AXFR checked
# by ldns-verify-zone, CNAME redirection by policy (subnet, ECS with scope,
# weights, availability from the config and from health checks), SIGHUP
# reloads, the re-signing timer, the access log.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh" || exit 1
. "$CDNI_TOP/dns/t/lib-dns.sh"

P=$CDNI_PKI
write_zones
HPORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

conf() { # $1: "down" flag of dcdn2; $2: zone validity; $3: extra dcdn2 tlsa
	cat <<EOF
{ "address": "127.0.0.1", "port": 0, "threads": 2, "access_log": "$T/access.log",
  "zones": [
    { "name": "csp.test", "file": "$T/csp.zone", "key_dir": "$T/keys", "ds_file": "$T/csp.ds",
      "allow_axfr": ["127.0.0.0/8"], "validity": ${2:-1209600}, "refresh": ${3:-259200} },
    { "name": "dcdn.test", "file": "$T/dcdn.zone", "key_dir": "$T/keys", "denial": "nsec" } ],
  "dcdns": [
    { "name": "dcdn", "target": "edge.dcdn.test", "tlsa": [ { "cert": "$P/dcdn-ec.pem" } ] },
    { "name": "dcdn2", "target": "edge2.dcdn.test", "down": ${1:-false},
      "tlsa": [ { "cert": "$P/ca.pem", "usage": 2, "selector": 0, "mtype": 1 } ] },
    { "name": "probed", "target": "probed.dcdn.test",
      "health": { "address": "127.0.0.1", "port": $HPORT, "interval_ms": 100, "timeout_ms": 100 } } ],
  "redirects": [
    { "name": "www.csp.test", "ttl": 30, "tlsa_ports": [443, 8443],
      "tlsa": [ { "cert": "$P/csp-ec.pem" } ],
      "rules": [ { "subnets": ["10.0.0.0/8", "2001:db8::/32"], "dcdns": [ { "dcdn": "dcdn2" } ] },
                 { "dcdns": [ { "dcdn": "dcdn" } ] } ] },
    { "name": "cdn.csp.test",
      "rules": [ { "dcdns": [ { "dcdn": "dcdn", "weight": 3 }, { "dcdn": "dcdn2", "weight": 1 } ] } ] },
    { "name": "video.csp.test", "rules": [ { "dcdns": [ { "dcdn": "dcdn2" } ] } ] },
    { "name": "probe.csp.test", "rules": [ { "dcdns": [ { "dcdn": "probed" } ] } ] } ] }
EOF
}

# ---- config checks -------------------------------------------------------------

conf >"$T/dns.json"
ok "-n accepts the config" "$CDNI_BIN/cdni-dns" -n -c "$T/dns.json"
ok "-n wrote no key files" test ! -e "$T/keys"
bad_conf() { # name jq-filter expected-message
	jq "$2" "$T/dns.json" >"$T/bad.json"
	"$CDNI_BIN/cdni-dns" -n -c "$T/bad.json" >/dev/null 2>"$T/bad.err"; local rc=$?
	is "$rc" 1 "-n refuses $1"
	like "$(cat "$T/bad.err")" "$3" "  and names it: $1"
}
bad_conf "an unknown key" '.zones[0].sgin = true' 'zones\[0\]\.sgin: unknown key'
bad_conf "a bad subnet" '.redirects[0].rules[0].subnets[0] = "10.0.0.1/8"' 'bad subnet "10.0.0.1/8"'
bad_conf "an unknown dCDN" '.redirects[1].rules[0].dcdns[0].dcdn = "nope"' 'unknown dCDN "nope"'
bad_conf "a name outside the zones" '.redirects[1].name = "www.other.test"' 'www.other.test is in no zone'
bad_conf "a missing zone file" '.zones[1].file = "/nonexistent.zone"' '/nonexistent.zone: No such file'
bad_conf "a missing certificate" '.dcdns[0].tlsa[0].cert = "/nonexistent.pem"' '/nonexistent.pem'
bad_conf "refresh >= validity" '.zones[0].refresh = 2000000' 'refresh: must be less than validity'
bad_conf "tlsa_ports out of range" '.redirects[0].tlsa_ports = [0]' 'tlsa_ports: must be'
cp "$T/dcdn.zone" "$T/dcdn.zone.ok"
echo '*.w IN A 127.0.0.1' >>"$T/dcdn.zone"
bad_conf "a wildcard" '.' 'wildcards are not supported'
cp "$T/dcdn.zone.ok" "$T/dcdn.zone"
echo 'sub IN NS ns.elsewhere.test.' >>"$T/dcdn.zone"
bad_conf "a delegation" '.' 'delegations are not supported'
cp "$T/dcdn.zone.ok" "$T/dcdn.zone"

# ---- start ---------------------------------------------------------------------

start_daemon dns cdni-dns "$T/dns.json" || { done_testing; exit 1; }
is "$(port dns udp)" "$(port dns tcp)" "UDP and TCP share the port (port 0 picked one)"
ok "the DS for the parent is written" grep -q 'csp.test.*IN.*DS.*13 2 ' "$T/csp.ds"
like "$(cat "$T/dns.err")" 'DS for the parent: csp\.test\.' "the DS is logged"
ok "the keys are kept in key_dir" test -s "$T/keys/Kcsp.test.ksk.private"

# ---- answers -------------------------------------------------------------------

is "$(dq +short origin.csp.test A)" "127.0.0.1" "a zone record"
like "$(dflags origin.csp.test A)" '\baa\b' "  authoritative (aa)"
is "$(dstatus nope.csp.test A)" NXDOMAIN "NXDOMAIN for a name that is not there"
like "$(dq nope.csp.test A)" 'AUTHORITY: 1,' "  with the SOA in authority"
like "$(dq nope.csp.test A | grep -A1 'AUTHORITY SECTION')" 'IN	SOA	ns.csp.test.' "  (it is the SOA)"
is "$(dstatus origin.csp.test AAAA)" NOERROR "NODATA is NOERROR"
like "$(dq origin.csp.test AAAA)" 'ANSWER: 0, AUTHORITY: 1,' "  with no answer and the SOA"
is "$(dstatus deep.csp.test A)" NOERROR "an empty non-terminal is NODATA, not NXDOMAIN"
is "$(dstatus www.example.com A)" REFUSED "REFUSED outside the zones served"
unlike "$(dflags www.example.com A)" '\baa\b' "  not authoritative"
is "$(dq +short alias.csp.test A | tr '\n' ' ')" "www.csp.test. edge.dcdn.test. 127.0.0.1 " "a static CNAME is followed inside our zones (and into the policy)"
is "$(dq +short csp.test SOA | cut -d' ' -f1)" "ns.csp.test." "SOA at the apex"

# ---- DNSSEC on the wire ----------------------------------------------------------

like "$(dq +dnssec origin.csp.test A)" 'RRSIG	A 13 3 300 ' "RRSIG (ECDSAP256SHA256) with DO"
unlike "$(dq origin.csp.test A)" 'RRSIG' "  none without DO"
like "$(dq +dnssec nope.csp.test A)" 'NSEC3	1 0 0 - ' "NSEC3 (SHA-1, 0 iterations, no salt) proves NXDOMAIN"
is "$(dq +dnssec nope.csp.test A | grep -cE 'IN[[:space:]]+NSEC3[[:space:]]')" 3 "  closest encloser, next closer, wildcard: 3 NSEC3"
like "$(dq +dnssec nope.dcdn.test A)" 'IN	NSEC	' "NSEC in the NSEC zone"
is "$(dq +short csp.test DNSKEY | awk '{print $1}' | sort | tr '\n' ' ')" "256 257 " "a ZSK and a KSK at the apex"
is "$(dq +short _443._tcp.www.csp.test TLSA | wc -l)" 3 "TLSA at _443._tcp.www: the CSP's cert and both dCDNs'"
like "$(dq +short _8443._tcp.www.csp.test TLSA)" '^2 0 1 ' "TLSA at the second port, the dCDN CA as DANE-TA (2 0 1)"
is "$(dq +short _443._tcp.cdn.csp.test TLSA | wc -l)" 2 "cdn.csp.test: one record per delegated dCDN"

# ---- policy ----------------------------------------------------------------------

is "$(dq +short www.csp.test A | head -1)" "edge.dcdn.test." "www: CNAME to the default dCDN"
like "$(dq +dnssec www.csp.test A)" 'RRSIG	CNAME 13 3 30 ' "  signed online with the ZSK (TTL 30)"
is "$(dq +short +subnet=10.1.2.0/24 www.csp.test A | head -1)" "edge2.dcdn.test." "ECS 10.1.2.0/24 picks the 10/8 rule"
like "$(dq +subnet=10.1.2.0/24 www.csp.test A)" 'CLIENT-SUBNET: 10.1.2.0/24/8' "  and the ECS option comes back with scope /8"
is "$(dq +short +subnet=192.0.2.0/24 www.csp.test A | head -1)" "edge.dcdn.test." "ECS outside the subnets: the default rule"
like "$(dq +subnet=192.0.2.0/24 www.csp.test A)" 'CLIENT-SUBNET: 192.0.2.0/24/8' "  scope: the longest subnet of the family"
is "$(dq +short +subnet=2001:db8:1::/48 www.csp.test AAAA | head -1)" "edge2.dcdn.test." "ECS IPv6 2001:db8:1::/48 picks the 2001:db8::/32 rule"
is "$(dq +short +subnet=0.0.0.0/0 www.csp.test A | head -1)" "edge.dcdn.test." "ECS source /0: the client is not located"
like "$(dq +subnet=0.0.0.0/0 www.csp.test A)" 'CLIENT-SUBNET: 0.0.0.0/0/0' "  scope 0"
is "$(dq www.csp.test CNAME +short)" "edge.dcdn.test." "qtype CNAME: the CNAME alone"
is "$(dq www.csp.test DS +short)" "" "qtype DS at a policy name is not redirected"

weights=$("$PY" - "$(port dns udp)" <<'PY'
import socket, struct, sys, random
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
q = lambda i: struct.pack(">HHHHHH", i, 0, 1, 0, 0, 0) + b"\x03cdn\x03csp\x04test\x00" + struct.pack(">HH", 1, 1)
c = {"edge": 0, "edge2": 0}
for i in range(800):
    s.sendto(q(i), ("127.0.0.1", int(sys.argv[1])))
    r = s.recv(4096)
    c["edge2" if b"\x05edge2" in r else "edge"] += 1
print(c["edge"], c["edge2"])
PY
)
read -r w1 w2 <<<"$weights"
ok "weights 3:1 give about 3:1 over 800 answers ($w1:$w2)" test "$w1" -gt 480 -a "$w1" -lt 720 -a $((w1 + w2)) -eq 800

# ---- EDNS0, truncation, TCP ---------------------------------------------------------

like "$(dq +dnssec origin.csp.test A)" 'EDNS: version: 0, flags: do; udp: 1232' "EDNS: our payload size, DO echoed"
is "$(dstatus +edns=1 +noednsneg origin.csp.test A)" BADVERS "EDNS version 1: BADVERS"
like "$(dq +noedns +ignore big.csp.test TXT)" 'flags: qr aa tc;' "768 bytes of TXT without EDNS: TC over UDP"
like "$(dq +noedns +ignore big.csp.test TXT)" 'ANSWER: 0,' "  and no partial answer"
is "$(dq +noedns big.csp.test TXT +short | wc -l)" 3 "dig retries over TCP and gets it all"
is "$(dq +tcp +short origin.csp.test A)" "127.0.0.1" "TCP answers"
is "$(dq +bufsize=1232 +short big.csp.test TXT | wc -l)" 3 "with EDNS 1232 it fits in UDP"

# ---- malformed queries ---------------------------------------------------------------
# header: id 1234, flags 0000 (QUERY), counts qd an ns ar
Q=03777777036373700474657374 # www.csp.test
HDR1=123401000001000000000000
rc_of() { local r; r=$(raw_udp "$1"); [ -n "$r" ] && echo "rcode=$(( 0x${r:7:1} )) id=${r:0:4}" || echo "no answer"; }
is "$(rc_of "${HDR1}${Q}000001")" "rcode=1 id=1234" "a question cut short: FORMERR"
is "$(rc_of "123401000002000000000000${Q}0000010001${Q}0000010001")" "rcode=1 id=1234" "two questions: FORMERR"
is "$(rc_of "${HDR1}4177770363737004746573740000010001")" "rcode=1 id=1234" "a label length with the 0x40 bits: FORMERR"
is "$(rc_of "${HDR1}c00c00010001")" "rcode=1 id=1234" "a compression pointer in the question: FORMERR"
is "$(rc_of "${HDR1}3f61${Q}00010001")" "rcode=1 id=1234" "a label longer than the message: FORMERR"
is "$(rc_of "123401000001000000000001${Q}0000010001c01c0029100000000000000000")" "rcode=1 id=1234" "an OPT owned by a compression pointer (a loop): FORMERR"
is "$(rc_of "123401000001000000000002${Q}000001000100002904d0000000000000""00002904d0000000000000")" "rcode=1 id=1234" "two OPT records: FORMERR"
is "$(rc_of "123401000001000000000001${Q}00000100010000291000000000000b00080007000117000a0101")" "rcode=1 id=1234" "ECS with bits beyond its prefix: FORMERR"
is "$(rc_of "123401000001000000000001${Q}00000100010000291000000000000a000800060001180a0101")" "rcode=1 id=1234" "ECS with fewer address bytes than its prefix: FORMERR"
is "$(rc_of "${HDR1}${Q}00000100010000")" "rcode=1 id=1234" "trailing garbage: FORMERR"
is "$(rc_of "1234")" "no answer" "2 bytes: dropped"
is "$(rc_of "123481000001000000000000${Q}0000010001")" "no answer" "a response (QR set): dropped"
is "$(rc_of "123429000001000000000000${Q}0000010001")" "rcode=4 id=1234" "opcode 5 (UPDATE): NOTIMP"
is "$(rc_of "${HDR1}$(head -c 1800 /dev/zero | od -An -v -tx1 | tr -d ' \n')")" "rcode=1 id=1234" "1800 bytes of zeros: FORMERR"
long=""; for i in $(seq 1 5); do long="${long}3f$(printf 'a%.0s' $(seq 1 63) | od -An -v -tx1 | tr -d ' \n')"; done
is "$(rc_of "${HDR1}${long}0000010001")" "rcode=1 id=1234" "a name longer than 255 bytes: FORMERR"
"$PY" - "$(port dns udp)" <<'PY' >"$T/fuzz.out" 2>&1
import socket, sys, random
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.01)
random.seed(7)
base = bytes.fromhex("1234000000010000000000010377777703637370047465737400000100010000291000000080000000")
for i in range(3000):
    b = bytearray(base)
    for _ in range(random.randint(1, 6)):
        b[random.randrange(len(b))] = random.randrange(256)
    if random.random() < 0.3: b = b[:random.randrange(len(b))]
    s.sendto(bytes(b), ("127.0.0.1", int(sys.argv[1])))
    try: s.recv(65535)
    except socket.timeout: pass
print("sent")
PY
ok "3000 mutated queries sent" grep -q sent "$T/fuzz.out"
is "$(dq +short origin.csp.test A)" "127.0.0.1" "the server still answers after all that"
timeout 5 "$PY" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.settimeout(1)
s.sendall(b"\x00\x05\x12\x34\x00\x00\x00")
try: print(s.recv(100).hex() or "closed")
except socket.timeout: print("no answer")' "$(port dns tcp)" >"$T/tcp.out" 2>&1
is "$(cat "$T/tcp.out")" "no answer" "a 5-byte message over TCP: no answer"

# ---- AXFR -------------------------------------------------------------------------------

dq csp.test AXFR +nocmd +nostats | grep -v '^;' >"$T/csp.axfr"
ok "AXFR of csp.test for an allowed client" grep -q 'IN	SOA' "$T/csp.axfr"
ok "ldns-verify-zone accepts the transferred zone (NSEC3)" ldns-verify-zone "$T/csp.axfr"
like "$(dq dcdn.test AXFR)" 'Transfer failed' "AXFR of a zone that allows nobody: refused"
is "$(rc_of "${HDR1}0363737004746573740000fc0001" | cut -d' ' -f1)" "rcode=5" "AXFR over UDP: REFUSED"

# ---- availability: health checks -------------------------------------------------------------

wait_for 5 sh -c "dig +norec +short @127.0.0.1 -p $(port dns udp) probe.csp.test A | grep -qv probed" || true
unlike "$(dq +short probe.csp.test A)" 'probed' "a dCDN failing its health check is skipped (served directly: no record)"
like "$(cat "$T/dns.err")" 'probed.dcdn.test is now down' "  and the change is logged"
"$PY" -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); s.settimeout(0.2)
end = time.time() + 4
while time.time() < end:
    try: c, _ = s.accept(); c.close()
    except socket.timeout: pass' "$HPORT" &
hp=$!
ok "once it accepts connections it is chosen again" wait_for 3 sh -c "dig +norec +short @127.0.0.1 -p $(port dns udp) probe.csp.test A | grep -q probed"
wait "$hp"

# ---- reload (SIGHUP): a dCDN marked down, TLSA updated and re-signed ------------------------------

conf true >"$T/dns.json"
sig_before=$(dq +dnssec +short _443._tcp.www.csp.test TLSA | grep -c '^TLSA')
kill -HUP "$(pid_of dns)"
ok "SIGHUP reloads" wait_for 10 grep -q 'reload done (generation 2)' "$T/dns.err"
is "$(dq +short video.csp.test A)" "127.0.0.1" "video: its only dCDN is down: served from the zone (A)"
is "$(dq +short +subnet=10.1.2.0/24 www.csp.test A | head -1)" "edge.dcdn.test." "www from 10/8: dcdn2 down, the next rule's dCDN"
is "$(dq +short _443._tcp.www.csp.test TLSA | wc -l)" 3 "a dCDN down keeps its TLSA records (it is still delegated)"
jq '.dcdns[1].tlsa = [] | .redirects[0].rules = [ .redirects[0].rules[1] ]' "$T/dns.json" >"$T/dns2.json" && mv "$T/dns2.json" "$T/dns.json"
kill -HUP "$(pid_of dns)"
ok "second reload" wait_for 10 grep -q 'reload done (generation 3)' "$T/dns.err"
is "$(dq +short _443._tcp.www.csp.test TLSA | wc -l)" 2 "dcdn2 no longer delegated by www: its TLSA record is gone"
dq csp.test AXFR +nocmd +nostats | grep -v '^;' >"$T/csp2.axfr"
ok "  and the zone is re-signed (ldns-verify-zone)" ldns-verify-zone "$T/csp2.axfr"
echo '{ "zones": "broken" ' >"$T/dns.json"
kill -HUP "$(pid_of dns)"
ok "a broken config on reload is refused" wait_for 10 grep -q 'reload failed, still serving' "$T/dns.err"
is "$(dq +short origin.csp.test A)" "127.0.0.1" "  and the previous zones are still served"

# ---- access log --------------------------------------------------------------------------------

like "$(grep -m1 '"host":"www.csp.test."' "$T/access.log")" '"method":"DNS/UDP".*"status":0.*"location":"edge' "the access log has one JSON line per query"
stop_daemon dns

# ---- re-signing before expiry (timer) --------------------------------------------------------------

conf false 40 34 >"$T/short.json"
start_daemon dns cdni-dns "$T/short.json" || { done_testing; exit 1; }
inc1=$(dq +dnssec origin.csp.test A | awk '$4 == "RRSIG" {print $10}')
cn1=$(dq +dnssec www.csp.test A | awk '$4 == "RRSIG" && $5 == "CNAME" {print $10}')
ok "the zone is re-signed before its signatures expire" wait_for 12 grep -q 're-signing done' "$T/dns.err"
inc2=$(dq +dnssec origin.csp.test A | awk '$4 == "RRSIG" {print $10}')
cn2=$(dq +dnssec www.csp.test A | awk '$4 == "RRSIG" && $5 == "CNAME" {print $10}')
ok "  new signatures ($inc1 -> $inc2)" test "$inc1" != "$inc2"
ok "  the online CNAME signature too ($cn1 -> $cn2)" test "$cn1" != "$cn2"
stop_daemon dns

done_testing

#!/usr/bin/env bash
# cdni-dns asking dCDNs over the RFC 7975 redirection interface (DNS form),
# with dig and unbound as the clients: the uCDN's server asks dCDN1 for each
# new client; dCDN1 answers with its own edge for its footprint and asks
# dCDN2 for the others (a DNS cascade: uCDN -> dCDN1 -> dCDN2, cdn-path
# growing at each hop); answers are cached for their lifetime and scope
# (EDNS Client Subnet sent as c-subnet, the answer's scope echoed), signed
# online and validated by unbound; TCP queries wait too; a dCDN that declines
# is skipped for the next dCDN of the rule; a loop is refused by the dCDN and
# the name served from the zone; a dCDN that is down, silent (a server that
# never answers) or answering garbage (nginx: HTML, or an RI body missing a
# key) costs no more than its deadline, is named in the log and then skipped
# without calls, while other queries are answered meanwhile; a reload keeps
# the cache; config errors are named.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh" || exit 1
. "$CDNI_TOP/dns/t/lib-dns.sh"
command -v jq >/dev/null || skip_all "jq is not installed"
command -v nginx >/dev/null || PATH=$PATH:/usr/sbin
command -v nginx >/dev/null || skip_all "nginx is not installed (make deps)"

{ zone_head csp.test; printf '%s IN A 127.0.0.1%s\n' www 0 loop 1 garbage 2 slow 3 bad 4; } >"$T/csp.zone"
{ zone_head dcdn.test; printf 'edge%s IN A 127.0.0.2%s\n' 1 1 2 2 3 3; } >"$T/dcdn.zone"

# ---- the dCDNs' redirection interfaces ----------------------------------------------------
caps() { # footprint CIDRs as a JSON array
	printf '{"capabilities":[
 {"capability-type":"FCI.DeliveryProtocol","capability-value":{"delivery-protocols":["https/1.1"]},
  "footprints":[{"footprint-type":"ipv4cidr","footprint-value":%s}]},
 {"capability-type":"FCI.RedirectionMode","capability-value":{"redirection-modes":["DNS-R","HTTP-R"]}}]}' "$1"
}
dcdn_conf() { # RI_PORT ACCESS_LOG RRI_BODY
	printf '{"listen":[{"address":"127.0.0.1","port":0}],"upstream":"http://127.0.0.1:9",
"access_log":"%s","rri":{"listen":[{"address":"127.0.0.1","port":%s,"name":"rri"}],%s}}\n' \
		"$2" "$1" "$3"
}
P2=$(free_port)
P4=$(free_port)
write_file "$T/d1.json" "$(dcdn_conf 0 "$T/d1.access" "\"cdn_id\":\"AS64501:1\",
 \"edge_base\":\"https://edge1.dcdn.test\",\"dns_cname\":[\"edge1.dcdn.test\"],\"dns_ttl\":30,
 \"capabilities\":$(caps '["198.51.100.0/24"]'),\"scope_v4\":24,\"max_age\":60,
 \"downstream\":{\"url\":\"http://127.0.0.1:$P2/cdni/rri\",\"timeout_ms\":2000}")"
write_file "$T/d2.json" "$(dcdn_conf "$P2" "$T/d2.access" "\"cdn_id\":\"AS64502:2\",
 \"edge_base\":\"https://edge2.dcdn.test\",\"dns_cname\":[\"edge2.dcdn.test\"],\"dns_ttl\":20,
 \"capabilities\":$(caps '["203.0.112.0/20","127.0.0.0/8"]'),\"scope_v4\":24,\"max_age\":60,
 \"delegate\":\"never\"")"
# dCDN4 delegates everything to itself: its own ID comes back in cdn-path
write_file "$T/d4.json" "$(dcdn_conf "$P4" "$T/d4.access" "\"cdn_id\":\"AS64504:4\",
 \"edge_base\":\"https://edge4.dcdn.test\",\"dns_cname\":[\"edge4.dcdn.test\"],\"delegate\":\"always\",
 \"downstream\":{\"url\":\"http://127.0.0.1:$P4/cdni/rri\",\"timeout_ms\":1000}")"
start_daemon d1 cdni-dcdn "$T/d1.json" || done_testing
start_daemon d2 cdni-dcdn "$T/d2.json" || done_testing
start_daemon d4 cdni-dcdn "$T/d4.json" || done_testing
# Bad interfaces: nginx answering HTML, or the right media type with a body
# missing a mandatory key; and a server that accepts and never answers.
bad_servers() {
	cat <<-EOF
	  server {
	    listen 127.0.0.1:$NGINX_PORT;
	    location = / { return 200 "up"; }
	    location = /cdni/rri { default_type text/html; return 200 "<html>not an interface</html>"; }
	    location = /cdni/bad { default_type "application/cdni; ptype=redirection-response";
	                           return 200 '{"dns":{"rcode":0,"ttl":20}}'; }
	  }
	EOF
}
start_nginx nginx bad_servers || done_testing
PS=$(free_port)
start_process silent python3 -c "import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $PS)); s.listen(16); held = []
while True:
    c, _ = s.accept(); held.append(c)"

# ---- the uCDN's authoritative server ----------------------------------------------------
dns_conf() { # DCDN1_RI_URL
	cat <<J
{ "address": "127.0.0.1", "port": 0, "threads": 2, "access_log": "$T/dns.access",
  "zones": [ { "name": "csp.test", "file": "$T/csp.zone", "key_dir": "$T/keys", "denial": "nsec3",
               "ds_file": "$T/csp.ds" },
             { "name": "dcdn.test", "file": "$T/dcdn.zone", "key_dir": "$T/keys", "denial": "nsec",
               "ds_file": "$T/dcdn.ds" } ],
  "rri": { "cdn_id": "AS64500:0", "max_hops": 3, "hold_failed_s": 3, "threads": 2 },
  "dcdns": [ { "name": "dcdn1", "target": "edge1.dcdn.test",
               "rri": { "url": "$1", "timeout_ms": 1500 } },
             { "name": "dcdn3", "target": "edge3.dcdn.test" },
             { "name": "dcdn4", "target": "edge4.dcdn.test",
               "rri": { "url": "http://127.0.0.1:$P4/cdni/rri" } },
             { "name": "html", "target": "edge3.dcdn.test",
               "rri": { "url": "http://127.0.0.1:$NGINX_PORT/cdni/rri" } },
             { "name": "bad", "target": "edge3.dcdn.test",
               "rri": { "url": "http://127.0.0.1:$NGINX_PORT/cdni/bad" } },
             { "name": "silent", "target": "edge3.dcdn.test",
               "rri": { "url": "http://127.0.0.1:$PS/cdni/rri", "timeout_ms": 400 } } ],
  "redirects": [ { "name": "www.csp.test", "ttl": 30, "rules": [
                     { "subnets": ["192.0.2.0/24"], "dcdns": [ { "dcdn": "dcdn1" } ] },
                     { "subnets": ["192.0.2.0/24"], "dcdns": [ { "dcdn": "dcdn3" } ] },
                     { "dcdns": [ { "dcdn": "dcdn1" } ] } ] },
                 { "name": "loop.csp.test", "rules": [ { "dcdns": [ { "dcdn": "dcdn4" } ] } ] },
                 { "name": "garbage.csp.test", "rules": [ { "dcdns": [ { "dcdn": "html" } ] } ] },
                 { "name": "bad.csp.test", "rules": [ { "dcdns": [ { "dcdn": "bad" } ] } ] },
                 { "name": "slow.csp.test", "rules": [ { "dcdns": [ { "dcdn": "silent" } ] } ] } ] }
J
}
write_file "$T/dns.json" "$(dns_conf "http://$(addr d1 rri)/cdni/rri")"
ok "config check passes" "$CDNI_BIN/cdni-dns" -n -c "$T/dns.json"
start_daemon dns cdni-dns "$T/dns.json" || done_testing

calls() { grep -c '"uri":"/cdni/rri"' "$T/$1.access" 2>/dev/null || echo 0; }
short() { dq +short "$@" | tr '\n' ' ' | sed 's/ $//'; }
lastnote() { tail -n 1 "$T/dns.access" | jq -r .note; }

# ---- the cascade: not in dCDN1's footprint, so dCDN2's edge ------------------------------
is "$(short www.csp.test A)" "edge2.dcdn.test. 127.0.0.22" \
	"a client outside dCDN1's footprint: dCDN2's edge (asked by dCDN1), its address chased"
is "$(calls d1)/$(calls d2)" "1/1" "  one call to dCDN1, one from dCDN1 to dCDN2"
like "$(tail -n 1 "$T/d1.access")" '"note":"rri dns via downstream"' "  dCDN1 logged the delegation"
like "$(tail -n 1 "$T/d2.access")" '"note":"rri dns self"' "  dCDN2 answered with its own edge"
like "$(lastnote)" '^RI dcdn1: CNAME 20 edge2\.dcdn\.test$' "  our log names the dCDN and its answer"
a=$(dq +dnssec www.csp.test A)
like "$a" 'www\.csp\.test\.[[:space:]]+20[[:space:]]+IN[[:space:]]+CNAME[[:space:]]+edge2\.dcdn\.test\.' \
	"  the CNAME with the dCDN's TTL (20 s)"
like "$a" 'www\.csp\.test\.[[:space:]]+20[[:space:]]+IN[[:space:]]+RRSIG[[:space:]]+CNAME 13 ' "  signed online (ECDSA P-256)"
like "$(dflags www.csp.test A)" '\baa\b' "  authoritative"
is "$(calls d1)" 1 "the second and third queries came from the cache (no call)"

# ---- a client in dCDN1's footprint (EDNS Client Subnet): dCDN1's own edge ----------------
a=$(dq +subnet=198.51.100.0/24 www.csp.test A)
like "$a" 'CNAME[[:space:]]+edge1\.dcdn\.test\.' "ECS 198.51.100.0/24: dCDN1's own edge"
like "$a" 'CLIENT-SUBNET: 198\.51\.100\.0/24/24' "  the answer's scope (/24) echoed"
is "$(calls d1)/$(calls d2)" "2/1" "  dCDN1 asked once more, dCDN2 not"
like "$(grep '"uri":"/cdni/rri"' "$T/d1.access" | tail -n 1)" '"note":"rri dns self"' "  dCDN1 answered itself"
like "$(dq +subnet=198.51.100.128/25 www.csp.test A)" 'CNAME[[:space:]]+edge1\.dcdn\.test\.' \
	"ECS 198.51.100.128/25, inside that scope: the same answer"
is "$(calls d1)" 2 "  from the cache"
like "$(dq +subnet=198.51.100.0/24 www.csp.test AAAA)" 'CNAME[[:space:]]+edge1\.dcdn\.test\.' \
	"AAAA is asked for separately"
is "$(calls d1)" 3 "  one more call"

# ---- over TCP, and many queries at once for a new client -----------------------------------
like "$(dq +tcp +subnet=203.0.113.0/24 www.csp.test A)" 'CNAME[[:space:]]+edge2\.dcdn\.test\.' \
	"a TCP query waits for the answer too (ECS 203.0.113.0/24: dCDN2)"
is "$(calls d1)" 4 "  one call"
before=$(calls d1)
pids=()
for i in $(seq 1 20); do dq +short +subnet=203.0.114.0/24 www.csp.test A >"$T/par.$i" & pids+=($!); done
wait "${pids[@]}"
is "$(cat "$T"/par.* | sort | uniq -c | awk '{print $1, $2}' | tr '\n' ' ')" "20 127.0.0.22 20 edge2.dcdn.test. " \
	"20 queries at once for a new client all get dCDN2's edge"
is "$(( $(calls d1) - before ))" 1 "  with one call"

# ---- DNSSEC: unbound validates the answers the dCDNs chose -----------------------------------
cat "$T/csp.ds" "$T/dcdn.ds" >"$T/anchors.ds"
D=127.0.0.1@$(port dns udp)
start_unbound ub "$T/anchors.ds" "csp.test=$D" "dcdn.test=$D"
uq() { dig +time=3 +tries=1 @127.0.0.1 -p "$UB_PORT_ub" "$@"; }
a=$(uq +dnssec www.csp.test A)
like "$(sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p' <<<"$a")" '\bad\b' "unbound validates the cascade's answer (AD)"
like "$a" 'CNAME[[:space:]]+edge2\.dcdn\.test\.' "  dCDN2's edge, through dCDN1"

# ---- a dCDN that declines: the next dCDN of the rule ---------------------------------------
before=$(calls d1)
is "$(short +subnet=192.0.2.0/24 www.csp.test A)" "edge3.dcdn.test. 127.0.0.23" \
	"ECS 192.0.2.0/24 is in no dCDN's footprint: dCDN1 declines, the next rule's dCDN answers"
is "$(( $(calls d1) - before ))" 1 "  after one call"
like "$(grep '"status":500' "$T/d1.access" | tail -n 1)" 'downstream' "  dCDN1 passed on dCDN2's refusal"
like "$(grep 'dcdn1 for www.csp.test A (client 192.0.2.0/24)' "$T/dns.err")" 'error 500' \
	"  our log says why"
short +subnet=192.0.2.0/24 www.csp.test A >/dev/null
is "$(( $(calls d1) - before ))" 1 "  the refusal is remembered for that client (hold_failed_s)"

# ---- a reload (SIGHUP): new generation, the interface asked again ----------------------
kill -HUP "$(pid_of dns)"
ok "SIGHUP: reloaded" wait_for 10 grep -q 'reload done' "$T/dns.err"
before=$(calls d1)
like "$(dq +subnet=203.0.118.0/24 www.csp.test A)" 'CNAME[[:space:]]+edge2\.dcdn\.test\.' \
	"after the reload a new client gets dCDN2's edge through dCDN1"
is "$(( $(calls d1) - before ))" 1 "  with one call"

# ---- a loop: dCDN4 delegates to itself ------------------------------------------------------
is "$(short loop.csp.test A)" "127.0.0.11" "a dCDN in a loop: the name is served from the zone"
like "$(grep '"status":500' "$T/d4.access" | head -n 1)" 'rri 502' "  dCDN4 answered the loop error (502)"
like "$(grep 'dcdn4 for loop.csp.test' "$T/dns.err")" 'error 502' "  our log names the loop"

# ---- interfaces that answer badly or not at all ---------------------------------------
is "$(short garbage.csp.test A)" "127.0.0.12" "an interface answering HTML: the name served from the zone"
like "$(grep 'dCDN html for garbage.csp.test' "$T/dns.err")" 'HTTP 200 without Content-Type application/cdni; ptype=redirection-response' \
	"  our log names what was wrong"
is "$(short bad.csp.test A)" "127.0.0.14" "an RI response missing a mandatory key: the zone's answer"
like "$(grep 'dCDN bad for bad.csp.test' "$T/dns.err")" 'not an RI response: dns\.name: missing' "  our log names the key"
t0=$(date +%s%N)
short slow.csp.test A >"$T/slow.out" &
spid=$!
sleep 0.1
t1=$(date +%s%N)
like "$(short www.csp.test A)" "edge2.dcdn.test" "while a query waits on a silent dCDN, others are answered"
ms1=$(( ($(date +%s%N) - t1) / 1000000 ))
ok "  at once (${ms1} ms)" test "$ms1" -lt 300
wait "$spid"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$(cat "$T/slow.out")" "127.0.0.13" "a silent dCDN: the zone's answer"
ok "  after its 400 ms deadline, not much later (${ms} ms)" test "$ms" -ge 350 -a "$ms" -lt 1500
like "$(grep 'dCDN silent for slow.csp.test' "$T/dns.err")" 'skipped for a while' "  logged and skipped"

# ---- dCDN1 down: the deadline, then skipped without calls ---------------------------------
kill_daemon d1
t0=$(date +%s%N)
is "$(short +subnet=203.0.115.0/24 www.csp.test A)" "127.0.0.10" "dCDN1 down: the name is served from the zone"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok "  within the deadline (${ms} ms)" test "$ms" -lt 1500
like "$(grep 'dcdn1 for www.csp.test A (client 203.0.115.0/24)' "$T/dns.err")" 'skipped for a while' \
	"  our log says it is skipped"
t0=$(date +%s%N)
is "$(short +subnet=203.0.116.0/24 www.csp.test A)" "127.0.0.10" "  another new client: the same"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok "  at once (${ms} ms)" test "$ms" -lt 500
is "$(grep -c 'client 203.0.116.0/24' "$T/dns.err")" 0 "  without a call"
like "$(tail -n 1 "$T/dns.access" | jq -r .note)" 'RI dcdn1 skipped' "  the access log says so"
like "$(short www.csp.test A)" "edge2.dcdn.test" "a client whose answer is cached still gets it"
sleep 3.2
t0=$(date +%s%N)
short +subnet=203.0.117.0/24 www.csp.test A >/dev/null
like "$(grep 'client 203.0.117.0/24' "$T/dns.err")" 'skipped for a while' \
	"after hold_failed_s (3 s) dCDN1 is asked again"

# ---- config errors ---------------------------------------------------------------------------
write_file "$T/bad1.json" "$(dns_conf "ftp://127.0.0.1/cdni/rri")"
like "$("$CDNI_BIN/cdni-dns" -n -c "$T/bad1.json" 2>&1)" 'dcdns\[0\]\.rri\.url: "ftp://127\.0\.0\.1/cdni/rri" is not an http\(s\) URL' \
	"a bad RI URL is named"
dns_conf "http://127.0.0.1:9/cdni/rri" | jq 'del(.rri.cdn_id)' >"$T/bad2.json"
like "$("$CDNI_BIN/cdni-dns" -n -c "$T/bad2.json" 2>&1)" 'rri\.cdn_id: a dCDN is asked' \
	"asking without our Provider ID is refused"
dns_conf "http://127.0.0.1:9/cdni/rri" | jq '.rri.cdn_id = "AS12"' >"$T/bad3.json"
like "$("$CDNI_BIN/cdni-dns" -n -c "$T/bad3.json" 2>&1)" 'rri\.cdn_id' "a malformed Provider ID too"
done_testing

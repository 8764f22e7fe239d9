#!/usr/bin/env bash
# cdni-dns's DNSSEC against validators and servers nobody here wrote:
# unbound (stub zones, trust anchors from our DS files) sets AD for our
# positive answers, online-signed CNAMEs, NXDOMAIN/NODATA (NSEC and NSEC3)
# and TLSA; delv reports "fully validated"; ldns-verify-zone accepts the
# transferred zones; nsd serves our signed zone as it is and unbound still
# validates it. Negative cases: a tampered record and expired signatures are
# bogus (unbound SERVFAIL with EDE, cdni-ua and cdni-dane refuse).
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh" || exit 1
. "$CDNI_TOP/dns/t/lib-dns.sh"
command -v delv >/dev/null || skip_all "delv not installed (make deps)"
command -v nsd >/dev/null || skip_all "nsd not installed (make deps)"

write_zones
dns_conf() { # name file sign denial port
	cat <<J
{ "address": "127.0.0.1", "port": ${5:-0}, "threads": 2,
  "zones": [ { "name": "csp.test", "file": "$2", "sign": $3, "denial": "$4", "key_dir": "$T/keys",
               "ds_file": "$T/csp.ds", "allow_axfr": ["127.0.0.1/32"] },
             { "name": "dcdn.test", "file": "$T/dcdn.zone", "key_dir": "$T/keys", "denial": "nsec",
               "ds_file": "$T/dcdn.ds", "allow_axfr": ["127.0.0.1/32"] } ],
  "dcdns": [ { "name": "dcdn", "target": "edge.dcdn.test", "tlsa": [ { "cert": "$CDNI_PKI/dcdn-ec.pem" } ] } ],
  "redirects": [ { "name": "www.csp.test", "rules": [ { "dcdns": [ { "dcdn": "dcdn" } ] } ],
                   "tlsa": [ { "cert": "$CDNI_PKI/csp-ec.pem" } ] } ] }
J
}
dns_conf dns "$T/csp.zone" true nsec3 >"$T/dns.json"
start_daemon dns cdni-dns "$T/dns.json" || { done_testing; exit 1; }
cat "$T/csp.ds" "$T/dcdn.ds" >"$T/anchors.ds"
D=127.0.0.1@$(port dns udp)
start_unbound ub "$T/anchors.ds" "csp.test=$D" "dcdn.test=$D"

ad() { uq ub +dnssec "$@" | sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p'; }
st() { uq ub "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }
like "$(ad origin.csp.test A)" '\bad\b' "unbound validates a signed A record (AD)"
like "$(ad www.csp.test A)" '\bad\b' "unbound validates the online-signed CNAME and the target (AD)"
is "$(uq ub +short www.csp.test A | tr '\n' ' ')" "edge.dcdn.test. 127.0.0.1 " "  through the CNAME to the dCDN's address"
like "$(ad nope.csp.test A)" '\bad\b' "NXDOMAIN proven with NSEC3 (AD)"
is "$(st nope.csp.test A)" NXDOMAIN "  status NXDOMAIN"
like "$(ad origin.csp.test TXT)" '\bad\b' "NODATA proven with NSEC3 (AD)"
like "$(ad deep.csp.test A)" '\bad\b' "an empty non-terminal proven with NSEC3 (AD)"
like "$(ad nope.dcdn.test A)" '\bad\b' "NXDOMAIN proven with NSEC (AD)"
like "$(ad edge.dcdn.test TXT)" '\bad\b' "NODATA proven with NSEC (AD)"
like "$(ad _443._tcp.www.csp.test TLSA)" '\bad\b' "the TLSA records validate (AD)"

awk '{printf "trust-anchors { %s static-ds %s %s %s \"%s\"; };\n", $1, $5, $6, $7, $8}' "$T/anchors.ds" >"$T/anchors.bind"
dv() { delv @127.0.0.1 -p "$UB_PORT_ub" -a "$T/anchors.bind" "$@" 2>&1; }
like "$(dv +root=csp.test www.csp.test CNAME)" '; fully validated' "delv: the CNAME redirection is fully validated"
like "$(dv +root=csp.test _443._tcp.www.csp.test TLSA)" '; fully validated' "delv: the TLSA records are fully validated"
like "$(dv +root=dcdn.test edge.dcdn.test A)" '; fully validated' "delv: the dCDN's address (NSEC zone) is fully validated"
like "$(dv +root=csp.test nope.csp.test A)" 'ncache nxdomain|NXDOMAIN' "delv: NXDOMAIN"
like "$(dv +root=csp.test nope.csp.test A)" 'negative response, fully validated' "  the negative response is fully validated"

dig +norec @127.0.0.1 -p "$(port dns udp)" csp.test AXFR +nocmd +nostats | grep -v '^;' >"$T/csp.signed"
dig +norec @127.0.0.1 -p "$(port dns udp)" dcdn.test AXFR +nocmd +nostats | grep -v '^;' >"$T/dcdn.signed"
ok "ldns-verify-zone accepts csp.test (NSEC3)" ldns-verify-zone "$T/csp.signed"
ok "ldns-verify-zone accepts dcdn.test (NSEC)" ldns-verify-zone "$T/dcdn.signed"

# ---- nsd serves our signed zone as it is --------------------------------------------------
NP=$(free_port)
mkdir -p "$T/nsd"
cat >"$T/nsd.conf" <<N
server:
  ip-address: 127.0.0.1@$NP
  port: $NP
  database: ""
  username: ""
  chroot: ""
  zonesdir: "$T"
  pidfile: "$T/nsd/nsd.pid"
  xfrdfile: "$T/nsd/xfrd.state"
  xfrdir: "$T/nsd"
  zonelistfile: "$T/nsd/zone.list"
  verbosity: 1
  logfile: "$T/nsd.log"
remote-control:
  control-enable: no
zone:
  name: csp.test
  zonefile: "$T/csp.nsd"
N
awk '$4 == "SOA" && seen++ { next } NF' "$T/csp.signed" >"$T/csp.nsd" # an AXFR ends with the SOA again
start_bg nsd nsd -d -c "$T/nsd.conf"
ok "nsd loads our signed zone" wait_for 10 dig +time=1 +tries=1 @127.0.0.1 -p "$NP" csp.test SOA +short
start_unbound ubn "$T/anchors.ds" "csp.test=127.0.0.1@$NP" "dcdn.test=$D"
like "$(uq ubn +dnssec origin.csp.test A | grep flags:)" '\bad\b' "unbound validates our zone served by nsd (AD)"
like "$(uq ubn +dnssec nope.csp.test A | grep flags:)" '\bad\b' "  and its NSEC3 denial as nsd serves it (AD)"

# ---- our own validation (cdni-ua, cdni-dane) through unbound and directly -------------------
UA=$CDNI_BIN/cdni-ua
uadns() { # trace resolver URL
	"$UA" -q --cacert "$CDNI_PKI/ca.pem" --timeout 3 --resolver "$2" --anchor "$T/anchors.ds" "$3" >"$T/$1.json" 2>/dev/null
	echo $?
}
jv() { jq -r "$2" "$T/$1.json"; }
uadns ua1 "127.0.0.1@$UB_PORT_ub" "http://origin.csp.test:9/" >/dev/null
is "$(jv ua1 '.hops[0].dns.validated')" secure "cdni-ua validates through unbound (CD set): secure"
uadns ua2 "$D" "http://www.csp.test:9/" >/dev/null
is "$(jv ua2 '.hops[0].dns.validated')" secure "cdni-ua validates against cdni-dns directly: secure"
is "$(jv ua2 '.hops[0].dns.chain | join(" ")')" "www.csp.test edge.dcdn.test" "  and records the CNAME chain"
is "$(jv ua2 '.checks[0].name + " " + (.checks[0].ok|tostring)')" "dnssec hop 1 true" "  check 'dnssec hop 1' passes"

# ---- tampered: a record changed after signing -------------------------------------------------
sed 's/^\(origin\.csp\.test\.[[:space:]].*IN[[:space:]]*A[[:space:]]*\)127\.0\.0\.1/\1127.0.0.9/' "$T/csp.signed" >"$T/csp.tampered"
ok "the tampered copy differs" sh -c "! cmp -s '$T/csp.signed' '$T/csp.tampered'"
dns_conf bad "$T/csp.tampered" false nsec3 >"$T/bad.json"
sed -i 's|"ds_file": "[^"]*", ||g' "$T/bad.json"
start_daemon bad cdni-dns "$T/bad.json" || { done_testing; exit 1; }
B=127.0.0.1@$(port bad udp)
start_unbound ubb "$T/anchors.ds" "csp.test=$B" "dcdn.test=$D"
is "$(uq ubb origin.csp.test A | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')" SERVFAIL "unbound: tampered record is bogus (SERVFAIL)"
like "$(uq ubb origin.csp.test A)" 'EDE: 6|EDE: .*DNSSEC Bogus|signature' "  with an extended error naming DNSSEC"
is "$(uq ubb +cd +short origin.csp.test A)" "127.0.0.9" "  (with CD the tampered data is there)"
rc=$(uadns ua3 "$B" "http://origin.csp.test:9/")
is "$rc" 1 "cdni-ua refuses the tampered answer (exit 1)"
is "$(jv ua3 '.hops[0].dns.validated')" bogus "  validated: bogus"
like "$(jv ua3 '.error')" '^hop 1: DNS answer for origin.csp.test is bogus' "  and says why"
is "$(jv ua3 '.hops[0].address')" null "  without connecting"
rc=$(uadns ua4 "127.0.0.1@$UB_PORT_ubb" "http://origin.csp.test:9/")
is "$(jv ua4 '.hops[0].dns.validated')" bogus "cdni-ua through unbound with CD: bogus too"
"$UA" -q --timeout 3 --resolver "127.0.0.1@$UB_PORT_ubb" --trust-ad http://origin.csp.test:9/ >"$T/ua5.json" 2>/dev/null
is "$(jv ua5 '.hops[0].dns.validated')" bogus "cdni-ua --trust-ad: unbound's SERVFAIL is bogus"

# ---- expired signatures (ldns-signzone with a past validity, our keys) --------------------------
( cd "$T/keys" && ldns-signzone -n -e 20200101000000 -i 20190101000000 -f "$T/csp.expired" "$T/csp.zone" Kcsp.test.ksk Kcsp.test.zsk ) >"$T/signzone.out" 2>&1
ok "ldns-signzone signs with our key files" test -s "$T/csp.expired"
dns_conf old "$T/csp.expired" false nsec3 >"$T/old.json"
sed -i 's|"ds_file": "[^"]*", ||g' "$T/old.json"
start_daemon old cdni-dns "$T/old.json" || { done_testing; exit 1; }
O=127.0.0.1@$(port old udp)
start_unbound ubo "$T/anchors.ds" "csp.test=$O" "dcdn.test=$D"
is "$(uq ubo origin.csp.test A | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')" SERVFAIL "unbound: expired signatures are bogus (SERVFAIL)"
rc=$(uadns ua6 "$O" "http://origin.csp.test:9/")
is "$rc" 1 "cdni-ua refuses expired signatures"
like "$(jv ua6 '.hops[0].dns.why')" '[Ee]xpired' "  and says they expired"

done_testing

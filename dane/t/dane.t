#!/usr/bin/env bash
# DANE for DNS redirection (draft section 4.1, Figure 1): cdni-dns publishes
# TLSA records at the CSP's name for the dCDN it delegates to. Checked by
# peers nobody here wrote: ldns-dane create and openssl compute the same
# TLSA data as cdni-dane tlsa; openssl s_client -dane_tlsa_* accepts the
# delegated surrogate (cdni-dcdn with the dCDN's certificate) and rejects
# one we did not delegate; ldns-dane verify (in a private network namespace,
# where it can have port 53) accepts it too. cdni-dane verify and cdni-ua
# --dane follow the CNAME and accept; without DANE the UA fails the way a
# browser does (name mismatch: the draft's section 4 problem).
# (s_client needs -dane_ee_no_namechecks: OpenSSL checks names even for
# DANE-EE otherwise, which RFC 7671 section 5.1 says not to do.)
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh" || exit 1
. "$CDNI_TOP/dns/t/lib-dns.sh"
command -v ldns-dane >/dev/null || skip_all "ldns-dane not installed (make deps: ldnsutils)"

P=$CDNI_PKI
DANE=$CDNI_BIN/cdni-dane
UA=$CDNI_BIN/cdni-ua

# ---- TLSA records: cdni-dane tlsa = ldns-dane create = openssl --------------------
rdata() { awk '{print $5, $6, $7, $8}' | tr 'A-F' 'a-f'; }
spki_sha256() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1; }
cert_sha512() { openssl x509 -in "$1" -outform DER | openssl dgst -sha512 -r | cut -d' ' -f1; }
cert_sha256() { openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1; }
for usm in "3 1 1" "3 0 1" "3 1 2" "3 0 2" "1 1 1" "3 0 0"; do
	set -- $usm
	ours=$("$DANE" tlsa --usage "$1" --selector "$2" --mtype "$3" "$P/dcdn-ec.pem" www.csp.test 443 | rdata)
	theirs=$(ldns-dane -n -f "$P/ca.pem" -c "$P/dcdn-ec.pem" create www.csp.test 443 "$1" "$2" "$3" 2>/dev/null | rdata)
	is "$ours" "$theirs" "TLSA $usm for the dCDN certificate: as ldns-dane create makes it"
done
is "$("$DANE" tlsa --usage 3 --selector 1 --mtype 1 "$P/dcdn-ec.pem" www.csp.test 443 | awk '{print $8}')" "$(spki_sha256 "$P/dcdn-ec.pem")" "3 1 1 is the SHA-256 of the SPKI (openssl)"
is "$("$DANE" tlsa --usage 3 --selector 0 --mtype 2 "$P/dcdn-rsa.pem" www.csp.test 443 | awk '{print $8}')" "$(cert_sha512 "$P/dcdn-rsa.pem")" "3 0 2 is the SHA-512 of the certificate (openssl, RSA)"
is "$("$DANE" tlsa --usage 2 --selector 0 --mtype 1 "$P/ca.pem" www.csp.test 8443 | awk '{print $1, $5, $6, $7, $8}')" "_8443._tcp.www.csp.test. 2 0 1 $(cert_sha256 "$P/ca.pem")" "2 0 1 for the CA, at _8443._tcp"
"$DANE" tlsa --usage 4 "$P/ca.pem" a.test 443 >/dev/null 2>&1; is "$?" 2 "usage 4: usage error (2)"
"$DANE" tlsa "$P/nope.pem" a.test 443 >/dev/null 2>&1; is "$?" 1 "a missing certificate: 1"
"$DANE" tlsa "$P/ca.pem" a.test 0 >/dev/null 2>&1; is "$?" 2 "port 0: usage error (2)"
"$DANE" verify www.csp.test 443 >/dev/null 2>&1; is "$?" 2 "verify without --anchor or --trust-ad: usage error (2)"

# ---- the cast: origin, the dCDN surrogate, a rogue surrogate, cdni-dns ------------------
mkdir -p "$T/www/v"
head -c 100000 /dev/urandom >"$T/www/v/a.bin"
write_file "$T/origin.json" "{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"root\":\"$T/www\",\"access_log\":\"off\"}"
start_daemon origin cdni-origin "$T/origin.json" || { done_testing; exit 1; }
surrogate() { # name cert key
	write_file "$T/$1.json" "{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0,\"tls\":true,\"cert\":\"$P/$2.chain.pem\",\"key\":\"$P/$2.key\"}],\"upstream\":\"http://$(addr origin http)\",\"access_log\":\"off\"}"
	start_daemon "$1" cdni-dcdn "$T/$1.json"
}
surrogate dcdn dcdn-ec || { done_testing; exit 1; }
surrogate dcdn2 dcdn2-ec || { done_testing; exit 1; }
surrogate rogue rogue-csp || { done_testing; exit 1; }
DP=$(port dcdn https); D2P=$(port dcdn2 https); RP=$(port rogue https)

write_zones
cat >>"$T/dcdn.zone" <<'Z'
rogue IN A 127.0.0.1
Z
cat >"$T/dns.json" <<J
{ "address": "127.0.0.1", "port": 0, "threads": 1,
  "zones": [ { "name": "csp.test", "file": "$T/csp.zone", "key_dir": "$T/keys", "ds_file": "$T/csp.ds" },
             { "name": "dcdn.test", "file": "$T/dcdn.zone", "key_dir": "$T/keys", "ds_file": "$T/dcdn.ds", "denial": "nsec" } ],
  "dcdns": [ { "name": "dcdn", "target": "edge.dcdn.test", "tlsa": [ { "cert": "$P/dcdn-ec.pem" } ] },
             { "name": "dcdnca", "target": "edge.dcdn.test", "tlsa": [ { "cert": "$P/ca.pem", "usage": 2, "selector": 0, "mtype": 1 } ] },
             { "name": "undelegated", "target": "edge2.dcdn.test" },
             { "name": "rogue", "target": "rogue.dcdn.test" } ],
  "redirects": [
    { "name": "www.csp.test", "tlsa_ports": [$DP, $RP], "tlsa": [ { "cert": "$P/csp-ec.pem" } ],
      "rules": [ { "dcdns": [ { "dcdn": "dcdn" } ] } ] },
    { "name": "ta.csp.test", "tlsa_ports": [$DP], "rules": [ { "dcdns": [ { "dcdn": "dcdnca" } ] } ] },
    { "name": "other.csp.test", "tlsa_ports": [$D2P], "tlsa": [ { "cert": "$P/csp-ec.pem" } ],
      "rules": [ { "dcdns": [ { "dcdn": "undelegated" } ] } ] },
    { "name": "evil.csp.test", "tlsa_ports": [$RP], "tlsa": [ { "cert": "$P/dcdn-ec.pem" } ],
      "rules": [ { "dcdns": [ { "dcdn": "rogue" } ] } ] } ] }
J
start_daemon dns cdni-dns "$T/dns.json" || { done_testing; exit 1; }
cat "$T/csp.ds" "$T/dcdn.ds" >"$T/anchors.ds"
D=127.0.0.1@$(port dns udp)
start_unbound ub "$T/anchors.ds" "csp.test=$D" "dcdn.test=$D"
R=127.0.0.1@$UB_PORT_ub

# ---- openssl s_client with the TLSA records from DNS ------------------------------------
tlsa_of() { uq ub +short "_$2._tcp.$1" TLSA | grep -v '^TLSA' | while read -r u s m h1 h2 h3; do echo "$u $s $m $h1$h2$h3"; done; }
sclient() { # port name rrdata...
	local p=$1 n=$2; shift 2
	local args=()
	for r in "$@"; do args+=(-dane_tlsa_rrdata "$r"); done
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$p" -servername "$n" -dane_tlsa_domain "$n" -dane_ee_no_namechecks "${args[@]}" -verify_return_error 2>&1
}
mapfile -t recs < <(tlsa_of www.csp.test "$DP")
is "${#recs[@]}" 2 "TLSA at _$DP._tcp.www.csp.test: the CSP's record and the dCDN's"
out=$(sclient "$DP" www.csp.test "${recs[@]}")
like "$out" 'Verification: OK' "openssl s_client accepts the delegated surrogate with the CSP name's TLSA records"
like "$out" 'DANE TLSA 3 1 1 .* matched EE certificate' "  by the dCDN's DANE-EE record"
out=$(sclient "$RP" www.csp.test "${recs[@]}")
unlike "$out" 'Verification: OK' "openssl s_client rejects a surrogate we did not delegate (rogue certificate)"
like "$out" 'verify error|alert|Verification error' "  with a verification error"

# ---- cdni-dane verify ----------------------------------------------------------------------
dv() { "$DANE" verify --resolver "$R" --anchor "$T/anchors.ds" --timeout 5 "$@"; }
out=$(dv www.csp.test "$DP"); rc=$?
is "$rc" 0 "cdni-dane verify: the delegated dCDN is verified (exit 0)"
like "$out" 'chain: www.csp.test edge.dcdn.test' "  following the CNAME"
like "$out" "tlsa asked: _$DP._tcp.edge.dcdn.test.*" "  asking the expanded name first (RFC 7671 section 7)"
like "$out" "verified by TLSA 3 1 1 $(spki_sha256 "$P/dcdn-ec.pem")" "  and says which record matched"
out=$(dv ta.csp.test "$DP"); rc=$?
is "$rc" 0 "DANE-TA (2 0 1, the dCDN's CA): verified, the expanded name matching the certificate"
like "$out" 'verified by TLSA 2 0 1 .*depth 1' "  matched at depth 1"
out=$(dv other.csp.test "$D2P"); rc=$?
is "$rc" 1 "a CNAME to an undelegated dCDN (no TLSA names its certificate): not verified (exit 1)"
like "$out" 'DANE verification failed' "  DANE verification failed"
out=$(dv evil.csp.test "$RP"); rc=$?
is "$rc" 1 "TLSA mismatch (the record names the dCDN, a rogue answers): exit 1"
out=$(dv www.csp.test "$RP"); rc=$?
is "$rc" 1 "the rogue surrogate behind the right name: exit 1"
out=$("$DANE" verify --resolver "$R" --trust-ad --timeout 5 www.csp.test "$DP"); rc=$?; echo "$out" >"$T/trustad.out"
is "$rc" 0 "cdni-dane verify --trust-ad (unbound's AD bit): verified" || diag "$out"

# ---- cdni-ua: the draft's section 4 problem, and DANE -------------------------------------------
ua() { # name args... (exit status in $rc)
	local n=$1; shift
	"$UA" -q --cacert "$P/ca.pem" --timeout 5 --resolver "$R" --anchor "$T/anchors.ds" "$@" >"$T/$n.json" 2>/dev/null
	rc=$?
}
jv() { jq -r "$2" "$T/$1.json"; }
ua nodane "https://www.csp.test:$DP/v/a.bin"
is "$rc" 1 "without DANE, a CNAME to the dCDN fails like a browser (exit 1)"
like "$(jv nodane .error)" "no alternative certificate subject name matches target host name 'www.csp.test'" "  name mismatch: the draft's section 4 problem"
is "$(jv nodane '.hops[0].dns.validated')" secure "  although the DNS answer was secure"
ua dane --dane -o "$T/a.out" "https://www.csp.test:$DP/v/a.bin"
is "$rc" 0 "with --dane and a TLSA record naming the dCDN's certificate: success"
ok "  the body arrived intact" cmp "$T/a.out" "$T/www/v/a.bin"
is "$(jv dane '[.checks[] | .name + "=" + (.ok|tostring)] | join(" ")')" "dnssec hop 1=true tls-verified hop 1=true dane hop 1=true" "  checks: dnssec, tls-verified, dane"
like "$(jv dane '.hops[0].dns.tlsa.matched')" "^3 1 1 $(spki_sha256 "$P/dcdn-ec.pem")" "  the trace names the record that matched"
is "$(jv dane '.hops[0].dns.tlsa.asked | length')" 2 "  the expanded name was asked first, then the original"
ua rogue --dane "https://www.csp.test:$RP/v/a.bin"
is "$rc" 1 "--dane: the rogue surrogate is refused"
like "$(jv rogue '[.checks[] | select(.name == "dane hop 1")][0].detail')" 'TLSA|DANE|match' "  the dane check says why"
ua undel --dane "https://other.csp.test:$D2P/v/a.bin"
is "$rc" 1 "--dane: a CNAME to an undelegated dCDN is refused"
start_unbound ubc "$T/csp.ds" "csp.test=$D" "dcdn.test=$D"
"$UA" -q --cacert "$P/ca.pem" --timeout 5 --resolver "127.0.0.1@$UB_PORT_ubc" --anchor "$T/csp.ds" --dane \
	"https://www.csp.test:$DP/v/a.bin" >"$T/csponly.json" 2>/dev/null
is "$?" 0 "--dane with an anchor for the CSP's zone only (the dCDN's zone insecure): the CSP's TLSA still vouches"
is "$(jv csponly '.hops[0].dns.validated + " " + (.hops[0].dns.tlsa.asked | join(","))')" "insecure _$DP._tcp.www.csp.test." \
	"  the expanded name is not asked (its chain is not secure), the original is"
ua direct --dane "https://www.csp.test:$DP/v/a.bin" --resolve "www.csp.test:$DP:127.0.0.1"
is "$rc" 0 "--resolve pins the address; DANE still applies"

# ---- ldns-dane verify (port 53 and resolv.conf: a private network namespace) ----------------------
if unshare -rnm true 2>/dev/null; then
	cat >"$T/ns.sh" <<NS
set -e
ip link set lo up
echo "nameserver 127.0.0.1" >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf
sed -e 's/"port": 0/"port": 53/' "$T/dns.json" >"$T/dns53.json"
"$CDNI_BIN/cdni-dns" -c "$T/dns53.json" 2>"$T/dns53.err" & d=\$!
"$CDNI_BIN/cdni-dcdn" -c "$T/dcdn.json" >/dev/null 2>"$T/dcdnns.err" & c=\$!
trap 'kill \$d \$c 2>/dev/null; wait' EXIT # whatever fails below, no daemon outlives the test
for i in \$(seq 50); do grep -q ' ready ' "$T/dns53.err" && grep -q ' ready ' "$T/dcdnns.err" && break; sleep 0.1; done
p=\$(grep -o 'https=127.0.0.1:[0-9]*' "$T/dcdnns.err" | cut -d: -f2)
sed -i "s/\"tlsa_ports\": \[$DP,/\"tlsa_ports\": [\$p,/" "$T/dns53.json"
kill -HUP \$d; for i in \$(seq 50); do grep -q 'generation 2' "$T/dns53.err" && break; sleep 0.1; done
rc=0; ldns-dane -n -k "$T/csp.ds" -S -a 127.0.0.1 verify www.csp.test \$p >"$T/ldnsdane.ok" 2>&1 || rc=\$?
echo "ok=\$rc" >>"$T/ldnsdane.ok"
rc=0; ldns-dane -n -k "$T/csp.ds" -S -a 127.0.0.1 verify other.csp.test $D2P >"$T/ldnsdane.bad" 2>&1 || rc=\$?
echo "bad=\$rc" >>"$T/ldnsdane.bad"
NS
	timeout 60 unshare -rnm bash "$T/ns.sh" >"$T/ns.out" 2>&1
	like "$(cat "$T/ldnsdane.ok" 2>/dev/null)" 'dane-validated successfully' "ldns-dane verify accepts the delegated surrogate (TLSA at the CSP name, signatures chased to our DS)"
	like "$(cat "$T/ldnsdane.ok" 2>/dev/null)" 'ok=0' "  exit 0"
	like "$(cat "$T/ldnsdane.bad" 2>/dev/null)" 'bad=[1-9]' "ldns-dane verify rejects the undelegated one (exits non-zero)"
else
	diag "unshare -rnm is not allowed here: ldns-dane checks skipped"
fi

done_testing

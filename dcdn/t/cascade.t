#!/usr/bin/env bash
# A cascade over HTTP redirection: the UA (cdni-ua, and curl -L) asks the
# uCDN (cdni-ucdn, 302 with a token it signs for dCDN1), dCDN1 (cdni-dcdn,
# verifies it and delegates onwards: 302 with a token it re-signs for dCDN2
# per RFC 9246 §4), dCDN2 (cdni-dcdn, trusts only dCDN1's key) serves the
# origin's bytes over TLS with the CSP's certificate and no key: its
# signatures go through dCDN1's proxy key server to the CSP's key server.
# The trace shows every hop; each access log its own step. Also: the new
# token's claims (cdni-urisign inspect and verify), the uCDN's token replayed
# at dCDN2, an expired and a tampered token at dCDN1 (403, no redirect), a
# client dCDN1 does not delegate (served by dCDN1), a config error.
# The same cascade over DNS: cdni-dns asks dCDN1's redirection interface,
# dCDN1 asks dCDN2's, dig gets dCDN2's edge address, and curl fetches from
# that keyless edge with the CSP's name.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh"
. "$CDNI_TOP/dns/t/lib-dns.sh"

command -v jq >/dev/null || skip_all "jq is not installed (make deps)"

U="$CDNI_BIN/cdni-urisign"
CA=$(pki ca.pem)
mkdir -p "$T/keys" "$T/www/v"
cp "$(pki csp-ec.key)" "$T/keys/"
head -c 30000 /dev/urandom >"$T/www/v/a.bin"
head -c 30000 /dev/urandom >"$T/www/v/b.bin"

# ---- URI signing keys: the uCDN's, dCDN1's ----------------------------------
"$U" keygen --alg ES256 --kid ucdn-1 --private "$T/ucdn.jwk" --public "$T/ucdn.jwks" 2>/dev/null
"$U" keygen --alg ES256 --kid dcdn1-1 --private "$T/d1.jwk" --public "$T/d1.jwks" 2>/dev/null
jq -n --slurpfile k "$T/ucdn.jwks" '{ucdn: $k[0]}' >"$T/d1-trusts.json"
jq -n --slurpfile k "$T/d1.jwks" '{dcdn1: $k[0]}' >"$T/d2-trusts.json"

# ---- the origin, the CSP's key server, dCDN1's proxy key server --------------
write_file "$T/origin.json" "{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"root\":\"$T/www\",\"access_log\":\"$T/origin.access\"}"
start_daemon origin cdni-origin "$T/origin.json" || done_testing
ORIGIN=$(addr origin http)
cat >"$T/ks.json" <<JSON
{"listen":{"address":"127.0.0.1","port":0},
 "tls":{"cert":"$(pki ks-server.pem)","key":"$(pki ks-server.key)","client_ca":"$(pki ks-ca.pem)"},
 "keys_dir":"$T/keys","access_log":"$T/ks.audit",
 "policy":[{"client_cn":"dcdn-edge","keys":["*"],"ops":["sign"]}]}
JSON
start_daemon ks cdni-keyserver "$T/ks.json" || done_testing
cat >"$T/proxy.json" <<JSON
{"listen":{"address":"127.0.0.1","port":0},
 "tls":{"cert":"$(pki ks-server.pem)","key":"$(pki ks-server.key)","client_ca":"$(pki ks-ca.pem)"},
 "access_log":"$T/proxy.audit",
 "policy":[{"client_cn":"dcdn2-edge","keys":["*"],"ops":["ecdsa-sign"]}],
 "upstream":{"servers":["$(addr ks keyless)"],"ca":"$(pki ks-ca.pem)","cert":"$(pki ks-client.chain.pem)",
             "key":"$(pki ks-client.key)","timeout_ms":1500}}
JSON
start_daemon proxy cdni-keyserver "$T/proxy.json" || done_testing

# ---- dCDN2: a keyless edge for d2.csp.test, tokens from dCDN1 only ------------
cat >"$T/d2.json" <<JSON
{"listen":[{"name":"https","address":"127.0.0.1","port":0,"tls":true,"cert":"$(pki csp-ec.chain.pem)"}],
 "upstream":"http://$ORIGIN","access_log":"$T/d2.access","default_ttl":60,
 "uri_signing":{"keys":"$T/d2-trusts.json","issuers":["dcdn1"],"audience":["dcdn2"]},
 "keyless":{"certs":["$(pki csp-ec.chain.pem)"],
  "key_server":{"servers":["$(addr proxy keyless)"],"ca":"$(pki ks-ca.pem)",
                "cert":"$(pki ks-client2.chain.pem)","key":"$(pki ks-client2.key)","timeout_ms":1500}}}
JSON
start_daemon d2 cdni-dcdn "$T/d2.json" || done_testing
D2="https://d2.csp.test:$(port d2 https)"
# dCDN2's edge for DNS redirection (www.csp.test itself, no tokens), and its
# redirection interface answering with its address
jq --arg a "$T/d2dns.access" 'del(.uri_signing) | .access_log = $a |
    .rri = {listen: [{name: "rri", address: "127.0.0.1", port: 0}], cdn_id: "AS64502:2",
            edge_base: "https://www.csp.test", dns_a: ["127.0.0.1"], dns_ttl: 20, max_age: 30,
            delegate: "never"}' "$T/d2.json" >"$T/d2dns.json"
start_daemon d2dns cdni-dcdn "$T/d2dns.json" || done_testing

# ---- dCDN1: verifies the uCDN's tokens, delegates 127.0.0.1 onwards ------------
d1_conf() { # FILE DELEGATE_EXTRA
	cat >"$1" <<JSON
{"listen":[{"name":"https","address":"127.0.0.1","port":0,"tls":true,
            "cert":"$(pki dcdn-ec.chain.pem)","key":"$(pki dcdn-ec.key)"}],
 "upstream":"http://$ORIGIN","access_log":"$T/d1.access","default_ttl":60,
 "uri_signing":{"keys":"$T/d1-trusts.json","issuers":["ucdn"],"audience":["dcdn1"]},
 "onward":{"to":"$D2","clients":["127.0.0.1/32"],"key":"$T/d1.jwk","issuer":"dcdn1",
             "audience":"dcdn2"$2},
 "rri":{"listen":[{"name":"rri","address":"127.0.0.1","port":0}],"cdn_id":"AS64501:1",
        "edge_base":"https://edge1.dcdn.test","dns_cname":["edge1.dcdn.test"],"delegate":"always",
        "downstream":{"url":"http://$(addr d2dns rri)/cdni/rri"}}}
JSON
}
d1_conf "$T/d1.json" ""
start_daemon d1 cdni-dcdn "$T/d1.json" || done_testing
D1="https://edge1.dcdn.test:$(port d1 https)"

# ---- the uCDN ---------------------------------------------------------------------
cat >"$T/ucdn.json" <<JSON
{"listen":[{"name":"https","address":"127.0.0.1","port":0,"tls":true,
            "cert":"$(pki csp-ec.chain.pem)","key":"$(pki csp-ec.key)"}],
 "rules":[{"prefix":"/v/","action":"redirect","target":"$D1"}],"default_action":"refuse",
 "uri_signing":{"key":"$T/ucdn.jwk","issuer":"ucdn","audience":"dcdn1","lifetime":120,"jti":true},
 "access_log":"$T/ucdn.access"}
JSON
start_daemon ucdn cdni-ucdn "$T/ucdn.json" || done_testing
UP=$(port ucdn https)
RES=(--resolve "www.csp.test:$UP:127.0.0.1" --resolve "edge1.dcdn.test:$(port d1 https):127.0.0.1"
     --resolve "d2.csp.test:$(port d2 https):127.0.0.1")

hop() { jq -r ".hops[$1].$2 // empty" "$T/tr.json"; }
last() { tail -n 1 "$T/$1.access" | jq -r ".$2 // empty"; }
token_of() { printf '%s' "$1" | sed -n 's/.*URISigningPackage=\([^&;]*\).*/\1/p'; }
claims() { "$U" inspect "$1" | jq -c .claims; }
c() { curl -s --cacert "$CA" "${RES[@]}" "$@"; }

# ---- 1. the whole cascade, hop by hop ------------------------------------------
"$CDNI_BIN/cdni-ua" -q --cacert "$CA" "${RES[@]}" --trace "$T/tr.json" -o "$T/body" "https://www.csp.test:$UP/v/a.bin"
is "$?" 0 "UA: uCDN -> dCDN1 -> dCDN2 succeeds"
is "$(jq '.hops | length' "$T/tr.json")" 3 "the trace has three hops"
is "$(hop 0 status) $(hop 1 status) $(hop 2 status)" "302 302 200" "302 from the uCDN, 302 from dCDN1, 200 from dCDN2"
like "$(hop 0 location)" "^$D1/v/a\\.bin\\?URISigningPackage=" "hop 1: the uCDN sends the UA to dCDN1 with a token"
like "$(hop 1 location)" "^$D2/v/a\\.bin\\?URISigningPackage=" "hop 2: dCDN1 sends it to dCDN2 with a token"
ok "the UA got the origin's bytes from dCDN2" cmp -s "$T/body" "$T/www/v/a.bin"
is "$(last ucdn status)" 302 "uCDN log: 302"
is "$(last d1 status)/$(last d1 uri_signing)/$(last d1 note)" "302/200/delegated to $D2" \
	"dCDN1 log: the token accepted (200), delegated"
is "$(last d2 status)/$(last d2 uri_signing)/$(last d2 cache)" "200/200/MISS" "dCDN2 log: its token accepted, a miss, 200"
like "$(last d2 tls)" "TLSv1" "  over TLS"
is "$(grep -c '"uri":"/v/a.bin"' "$T/origin.access")" 1 "the origin was asked by dCDN2 only, once"
is "$(grep -c URISigningPackage "$T/origin.access")" 0 "  without a token"

# ---- 2. the token dCDN1 made (RFC 9246 §4) ------------------------------------------
t0=$(token_of "$(hop 0 location)") t1=$(token_of "$(hop 1 location)")
c0=$(claims "$t0") c1=$(claims "$t1")
is "$(jq -r '.iss + " " + .aud' <<<"$c0")" "ucdn dcdn1" "the uCDN's token: iss ucdn, aud dcdn1"
is "$(jq -r '.iss + " " + .aud' <<<"$c1")" "dcdn1 dcdn2" "dCDN1's token: iss dcdn1, aud dcdn2"
is "$(jq -r .exp <<<"$c1")" "$(jq -r .exp <<<"$c0")" "  exp copied as received"
is "$(jq -r .jti <<<"$c1")" "$(jq -r .jti <<<"$c0")" "  jti copied as received"
ok "  iat set when re-signed" test "$(jq -r .iat <<<"$c1")" -ge "$(jq -r '.exp - 120' <<<"$c0")"
ok "  cdniuc recomputed for dCDN2's URI" test "$(jq -r .cdniuc <<<"$c1")" != "$(jq -r .cdniuc <<<"$c0")"
"$U" verify --jwks "$T/d1.jwks" --aud dcdn2 "$(hop 1 location)" >"$T/v1.json"
is "$?/$(jq -r .result "$T/v1.json")" "0/accept" "cdni-urisign verify: dCDN1's key accepts the Location"
"$U" verify --jwks "$T/ucdn.jwks" --aud dcdn2 "$(hop 1 location)" >"$T/v2.json"
is "$?" 1 "  the uCDN's key does not"

# ---- 3. keyless: dCDN2 signed through dCDN1's proxy key server ----------------------
like "$(grep -v '"op":"ping"' "$T/proxy.audit" | tail -n 1)" '"client":"dcdn2-edge".*"op":"ecdsa-sign-sha256".*"result":"ok"' \
	"dCDN1's proxy key server signed for dCDN2's edge"
like "$(grep -v '"op":"ping"' "$T/ks.audit" | tail -n 1)" '"client":"dcdn-edge".*"result":"ok"' \
	"the CSP's key server saw only dCDN1's identity"
unlike "$(cat "$T/d2.json")" 'csp-ec\.key' "dCDN2's config names no CSP key"

# ---- 4. refusals -------------------------------------------------------------------------
loc0=$(c -o /dev/null -w '%{redirect_url}' "https://www.csp.test:$UP/v/b.bin")
replay="$D2/v/b.bin?URISigningPackage=$(token_of "$loc0")"
is "$(c -o /dev/null -w '%{http_code}' "$replay")" 403 "the uCDN's token replayed straight at dCDN2: 403"
like "$(last d2 uri_signing_reason)" "iss|issuer|audience|aud|signature|key" "  its log says why"
exp=$("$U" sign --jwk "$T/ucdn.jwk" --claims '{"iss":"ucdn","aud":"dcdn1","exp":1000}' --uri "$D1/v/b.bin" --print-token)
is "$(c -o /dev/null -w '%{http_code}' "$D1/v/b.bin?URISigningPackage=$exp")" 403 "an expired token at dCDN1: 403"
like "$(last d1 uri_signing)/$(last d1 note)" "^404/uri signing 404: expired: exp 1000 <= now [0-9]+" "  log code 404 (expiry), not delegated"
tampered=$(printf '%s' "$loc0" | sed 's/\(.\)$/\1\1/')
is "$(c -o /dev/null -w '%{http_code}' "$tampered")" 403 "a tampered token at dCDN1: 403"
like "$(c -o /dev/null -w '%{http_code} %{redirect_url}' --interface 127.0.0.2 "$loc0")" '^200 $' \
	"a client dCDN1 does not delegate (127.0.0.2): served by dCDN1 itself"
is "$(last d1 status)/$(last d1 cache)" "200/MISS" "  dCDN1 log: 200 from its cache's fill"

# ---- 5. curl -L, and a config error ------------------------------------------------------
is "$(c -L -o "$T/body2" -w '%{http_code} %{num_redirects}' "https://www.csp.test:$UP/v/b.bin")" "200 2" \
	"curl -L follows both redirects to dCDN2's 200"
ok "  the origin's bytes" cmp -s "$T/body2" "$T/www/v/b.bin"
# ---- 6. the cascade over DNS ----------------------------------------------------------
{ zone_head csp.test; echo 'www IN A 127.0.0.9'; } >"$T/csp.zone"
cat >"$T/dns.json" <<JSON
{ "address": "127.0.0.1", "port": 0, "threads": 2, "access_log": "$T/dns.access",
  "zones": [ { "name": "csp.test", "file": "$T/csp.zone", "key_dir": "$T/dnskeys" } ],
  "rri": { "cdn_id": "AS64500:0", "max_hops": 3 },
  "dcdns": [ { "name": "dcdn1", "target": "edge1.dcdn.test",
               "rri": { "url": "http://$(addr d1 rri)/cdni/rri" } } ],
  "redirects": [ { "name": "www.csp.test", "rules": [ { "dcdns": [ { "dcdn": "dcdn1" } ] } ] } ] }
JSON
start_daemon dns cdni-dns "$T/dns.json" || done_testing
a=$(dq +short www.csp.test A)
is "$a" "127.0.0.1" "dig: www.csp.test is dCDN2's edge address (asked through dCDN1)"
like "$(tail -n 1 "$T/dns.access" | jq -r .note)" '^RI dcdn1: A 20 127\.0\.0\.1$' "  cdni-dns logged dCDN1's answer"
like "$(grep '/cdni/rri' "$T/d1.access" | tail -n 1)" '"note":"rri dns via downstream"' "  dCDN1 asked dCDN2"
like "$(grep '/cdni/rri' "$T/d2dns.access" | tail -n 1)" '"note":"rri dns self"' "  dCDN2 answered with its edge"
before=$(grep -vc '"op":"ping"' "$T/proxy.audit")
is "$(curl -s --cacert "$CA" --resolve "www.csp.test:$(port d2dns https):$a" -o "$T/body3" -w '%{http_code}' \
	"https://www.csp.test:$(port d2dns https)/v/b.bin")" 200 "curl to that address with the CSP's name: 200 from dCDN2"
ok "  the origin's bytes" cmp -s "$T/body3" "$T/www/v/b.bin"
is "$(( $(grep -vc '"op":"ping"' "$T/proxy.audit") - before ))" 1 "  its TLS handshake signed once through dCDN1's proxy key server"

d1_conf "$T/bad.json" ""
jq 'del(.onward.issuer)' "$T/bad.json" >"$T/bad2.json"
like "$("$CDNI_BIN/cdni-dcdn" -n -c "$T/bad2.json" 2>&1)" 'onward\.issuer: required' "an onward key without issuer is named"
done_testing

#!/usr/bin/env bash
# RFC 9246 end to end: the UA (cdni-ua) and curl ask cdni-ucdn, which answers
# 302 with a signed Location on cdni-dcdn, which verifies the token, keeps it
# out of its cache key and away from the origin (nginx), and answers 200; or
# 403 with the §6.4 log code in its access log for an expired, a tampered, a
# wrong-path and a missing token. Also: a token bound to the dCDN's
# certificate (cdnicb) against the listener that presents it, another one,
# and plain HTTP; Signed Token Renewal by cookie (cdnistt 1, curl's cookie
# jar) and by query string (cdnistt 2, through a redirect the origin makes);
# config errors naming key paths; and scenarios/cases/urisign-redirect.json.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh"

command -v nginx >/dev/null || PATH=$PATH:/usr/sbin
command -v nginx >/dev/null || skip_all "nginx is not installed (make deps)"
command -v jq >/dev/null || skip_all "jq is not installed (make deps)"

U="$CDNI_BIN/cdni-urisign"
CA=$(pki ca.pem)

# ---- keys: the uCDN signs, the dCDN trusts it and renews with its own -------
"$U" keygen --alg ES256 --kid ucdn-1 --private "$T/ucdn.jwk" --public "$T/ucdn.jwks" 2>/dev/null
"$U" keygen --alg ES256 --kid dcdn-renew --private "$T/renew.jwk" --public "$T/renew.jwks" 2>/dev/null
jq -n --slurpfile k "$T/ucdn.jwks" '{ucdn: $k[0]}' >"$T/dkeys.json"

# ---- origin: nginx (its access log shows what reached it) ----------------
mkdir -p "$T/www/v" "$T/www/bound"
for f in a b c d; do head -c 20000 /dev/urandom >"$T/www/v/$f.bin"; done
echo bound >"$T/www/bound/x.bin"
echo up >"$T/www/probe.txt"
origin_servers() {
	cat <<-EOF
	  absolute_redirect off;
	  server {
	    listen 127.0.0.1:$NGINX_PORT; root $T/www;
	    location = /v/old.bin { return 302 /v/b.bin; }
	  }
	EOF
}
start_nginx nginx origin_servers || done_testing
ORIGIN="127.0.0.1:$NGINX_PORT"
origin_saw() { grep -c "\"GET $1 HTTP" "$T/nginx/access.log"; }

# ---- dCDN: https (its own certificate), https2 (another one), http --------
write_file "$T/dcdn.json" "{
  \"listen\": [
    {\"name\": \"https\", \"port\": 0, \"tls\": true, \"cert\": \"$(pki dcdn-ec.chain.pem)\", \"key\": \"$(pki dcdn-ec.key)\"},
    {\"name\": \"https2\", \"port\": 0, \"tls\": true, \"cert\": \"$(pki dcdn2-ec.chain.pem)\", \"key\": \"$(pki dcdn2-ec.key)\"},
    {\"name\": \"http\", \"port\": 0}],
  \"upstream\": \"http://$ORIGIN\", \"default_ttl\": 60,
  \"uri_signing\": {\"keys\": \"$T/dkeys.json\", \"issuers\": [\"ucdn\", \"dcdn\"], \"audience\": [\"dcdn.test\"],
                    \"renew_key\": \"$T/renew.jwk\", \"renew_issuer\": \"dcdn\"},
  \"access_log\": \"$T/dcdn.access\"}"
start_daemon dcdn cdni-dcdn "$T/dcdn.json" || done_testing
DP=$(port dcdn https) DP2=$(port dcdn https2) DH=$(port dcdn http)
EDGE="https://edge.dcdn.test:$DP"

# ---- uCDNs: one per claim set (lifetime, renewal) ---------------------------
ucdn_conf() { # FILE EXTRA_URI_SIGNING_JSON
	write_file "$1" "{
  \"listen\": [{\"port\": 0, \"tls\": true, \"cert\": \"$(pki csp-ec.chain.pem)\", \"key\": \"$(pki csp-ec.key)\"}],
  \"rules\": [
    {\"prefix\": \"/v/\", \"action\": \"redirect\", \"target\": \"$EDGE\"},
    {\"prefix\": \"/bound/\", \"action\": \"redirect\", \"target\": \"$EDGE\", \"target_cert\": \"$(pki dcdn-ec.pem)\"}],
  \"default_action\": \"refuse\",
  \"uri_signing\": {\"key\": \"$T/ucdn.jwk\", \"issuer\": \"ucdn\", \"audience\": \"dcdn.test\" $2},
  \"access_log\": \"$1.access\"}"
}
ucdn_conf "$T/ucdn.json" ', "lifetime": 120'
ucdn_conf "$T/ucdn-short.json" ', "lifetime": 1'
ucdn_conf "$T/ucdn-cookie.json" ', "container": "regex", "claims": {"cdnistt": 1, "cdniets": 60, "cdnistd": 1}'
ucdn_conf "$T/ucdn-query.json" ', "container": "regex", "claims": {"cdnistt": 2, "cdniets": 60}'
for n in ucdn ucdn-short ucdn-cookie ucdn-query; do
	start_daemon "$n" cdni-ucdn "$T/$n.json" || done_testing
done
UP=$(port ucdn https)

RES=()
for n in ucdn ucdn-short ucdn-cookie ucdn-query; do RES+=(--resolve "www.csp.test:$(port $n https):127.0.0.1"); done
RES+=(--resolve "edge.dcdn.test:$DP:127.0.0.1" --resolve "edge.dcdn2.test:$DP2:127.0.0.1")
# ua URL -> runs cdni-ua, trace in $T/tr.json, body in $T/body; prints its exit status
ua() {
	rm -f "$T/body"
	"$CDNI_BIN/cdni-ua" -q --cacert "$CA" "${RES[@]}" --trace "$T/tr.json" -o "$T/body" "$1"
	echo $?
}
hop() { jq -r ".hops[$1].$2 // empty" "$T/tr.json"; }
c() { curl -s --cacert "$CA" "${RES[@]}" "$@"; }
# location NAME PATH: the Location a uCDN answers for PATH
location() { c -o /dev/null -w '%{redirect_url}' "https://www.csp.test:$(port "$1" https)$2"; }
last_log() { tail -n 1 "$T/dcdn.access"; }
log_field() { last_log | jq -r ".$1 // empty"; }
claims() { "$U" inspect "$1" | jq -c ".claims"; }
token_of() { printf '%s' "$1" | sed -n 's/.*URISigningPackage=\([^&;]*\).*/\1/p'; }
# tamper N URI: flip the Nth character from the end (in the signature)
tamper() {
	local i=$((${#2} - $1)) ch=${2:$((${#2} - $1)):1}
	[ "$ch" = A ] && ch=B || ch=A
	printf '%s%s%s' "${2:0:$i}" "$ch" "${2:$((i + 1))}"
}

# ---- 1. UA: uCDN 302 with a signed Location, dCDN 200 ----------------------
is "$(ua "https://www.csp.test:$UP/v/a.bin")" 0 "UA: uCDN -> dCDN succeeds"
is "$(hop 0 status) $(hop 1 status)" "302 200" "UA: 302 from the uCDN, 200 from the dCDN"
loc1=$(hop 0 location)
like "$loc1" "^$EDGE/v/a\\.bin\\?URISigningPackage=[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\$" \
	"the Location carries a token in its query"
is "$(claims "$(token_of "$loc1")" | jq -r '[.iss, .aud] | join(" ")')" "ucdn dcdn.test" \
	"signed by the uCDN for the dCDN"
ok "the UA got the origin's bytes" cmp -s "$T/body" "$T/www/v/a.bin"
is "$(log_field uri_signing)/$(log_field cache)/$(log_field status)" "200/MISS/200" \
	"dCDN log: uri_signing 200, a miss"
is "$(log_field upstream)" "http://$ORIGIN/v/a.bin" "the dCDN fetched the path without the token"
is "$(tail -n 1 "$T/ucdn.json.access" | jq -r '.status, (.location | startswith("'"$EDGE"'/v/a.bin?URISigningPackage="))' | tr '\n' ' ')" \
	"302 true " "uCDN log: the signed Location"
# sig URI: the signature of URI's token; redacted URI: the URI as a log holds it
sig() { token_of "$1" | cut -d. -f3; }
redacted() { printf '%s' "$1" | sed 's/\(URISigningPackage=[^.&;]*\.[^.&;]*\.\)[^&;]*/\1REDACTED/'; }
is "$(tail -n 1 "$T/ucdn.json.access" | jq -r .location)" "$(redacted "$loc1")" \
	"uCDN log: the Location's token without its signature"
is "$(log_field uri)" "$(redacted "${loc1#"$EDGE"}")" "dCDN log: the request's token without its signature"
is "$(cat "$T/ucdn.json.access" "$T/dcdn.access" | grep -c -F -e "$(sig "$loc1")")" 0 \
	"neither log holds the signature (a reader cannot replay the token)"
is "$("$U" inspect "$(token_of "$(log_field uri)")" | jq -r .claims.iss)" ucdn \
	"the logged token's claims still read with cdni-urisign inspect"

# ---- 2. cache key: another valid token for the same object is a hit --------
is "$(ua "https://www.csp.test:$UP/v/a.bin")" 0 "UA: the same object again"
loc2=$(hop 0 location)
ok "with another token" test "$(token_of "$loc1")" != "$(token_of "$loc2")"
is "$(hop 1 headers.\"x-cache\")" HIT "the second token finds the first's object (X-Cache: HIT)"
is "$(log_field uri_signing)/$(log_field cache)" "200/HIT" "dCDN log: 200, HIT"
is "$(origin_saw /v/a.bin)" 1 "the origin saw /v/a.bin once"
is "$(grep -c URISigningPackage "$T/nginx/access.log")" 0 "the origin never saw a token"
ok "UA got the same bytes from the cache" cmp -s "$T/body" "$T/www/v/a.bin"

# ---- 3. rejected tokens: 403 and the log code --------------------------------
loc=$(location ucdn /v/b.bin)
is "$(ua "$(tamper 5 "$loc")")" 1 "UA: a tampered signature fails"
is "$(hop 0 status)" 403 "tampered: 403"
is "$(log_field status)/$(log_field uri_signing)" "403/400" "tampered: dCDN log code 400"
like "$(log_field uri_signing_reason)" "signature" "tampered: the deny reason names the signature"
is "$(ua "${loc/\/v\/b.bin/\/v\/c.bin}")" 1 "UA: a token for b.bin used for c.bin fails"
is "$(hop 0 status)/$(log_field uri_signing)" "403/411" "wrong path: 403, log code 411 (URI container)"
loc=$(location ucdn-short /v/b.bin)
exp=$(claims "$(token_of "$loc")" | jq -r .exp)
wait_for 5 sh -c "[ \$(date +%s) -gt $exp ]"
is "$(ua "$loc")" 1 "UA: a token past its exp (lifetime 1 s) fails"
is "$(hop 0 status)/$(log_field uri_signing)" "403/404" "expired: 403, log code 404"
is "$(ua "$EDGE/v/b.bin")" 1 "UA: no token at all fails"
is "$(hop 0 status)/$(log_field uri_signing)" "403/000" "no token: 403, log code 000"
is "$(origin_saw /v/b.bin)/$(origin_saw /v/c.bin)" "0/0" "no rejected request reached the origin"
is "$(jq -r 'select(.status == 403) | .cache // "none"' "$T/dcdn.access" | sort -u)" none \
	"refusals carry no cache verdict"

# ---- 4. curl ------------------------------------------------------------------
is "$(c -L -o "$T/cbody" -w '%{http_code} %{num_redirects}' "https://www.csp.test:$UP/v/c.bin")" "200 1" \
	"curl -L: uCDN -> dCDN, 200 after one redirect"
ok "curl got the bytes" cmp -s "$T/cbody" "$T/www/v/c.bin"
loc=$(location ucdn /v/d.bin)
is "$(c -o "$T/cbody" -w '%{http_code}' "$(tamper 3 "$loc")")" 403 "curl: tampered token, 403"
like "$(cat "$T/cbody")" "^403 Forbidden: uri signing 400: " "the 403 body names the log code and the reason"
unlike "$(cat "$T/cbody")" "eyJ" "and holds no token"
is "$(c -o /dev/null -w '%{http_code}' "$loc")" 200 "curl: the untampered Location works"
is "$(c -o /dev/null -w '%{http_code}' "$loc&x=1")" 403 "a parameter added after signing: 403"
is "$(log_field uri_signing)" 411 "log code 411"
two="${loc%%\?*}?URISigningPackage=x&URISigningPackage=${loc#*URISigningPackage=}"
is "$(c -o /dev/null -w '%{http_code}' "$two")" 403 "two package attributes: 403"
is "$(log_field uri_signing)" 500 "log code 500 (ambiguous carriage)"
is "$(c -I -o /dev/null -w '%{http_code}' "$(tamper 3 "$loc")")" 403 "HEAD with a tampered token: 403"

# ---- 5. cdnicb: the token bound to the dCDN's certificate ---------------------
loc=$(location ucdn /bound/x.bin)
is "$(claims "$(token_of "$loc")" | jq -r .cdnicrit)" cdnicb "a rule with target_cert binds its tokens (cdnicrit cdnicb)"
is "$(ua "https://www.csp.test:$UP/bound/x.bin")" 0 "UA: the bound token over the listener with that certificate"
is "$(log_field uri_signing)" 200 "cdnicb matches: 200"
is "$(c -o /dev/null -w '%{http_code}' -H "Host: edge.dcdn.test:$DP" \
	"${loc/edge.dcdn.test:$DP/edge.dcdn2.test:$DP2}")" 403 "the same token on a listener with another certificate: 403"
is "$(log_field uri_signing)" 409 "log code 409"
is "$(c -o /dev/null -w '%{http_code}' -H "Host: edge.dcdn.test:$DP" \
	"${loc/https:\/\/edge.dcdn.test:$DP/http://127.0.0.1:$DH}")" 403 "over plain HTTP (no certificate): 403"
is "$(log_field uri_signing)" 409 "log code 409"

# a thread per connection finds its listener too
jq '.threads = 0 | .listen = [.listen[0]] | .access_log = "'"$T/dcdn-t0.access"'"' "$T/dcdn.json" >"$T/dcdn-t0.json"
start_daemon dcdn-t0 cdni-dcdn "$T/dcdn-t0.json" || done_testing
is "$(c -o /dev/null -w '%{http_code}' -H "Host: edge.dcdn.test:$DP" --resolve "edge.dcdn.test:$(port dcdn-t0 https):127.0.0.1" \
	"${loc/$DP/$(port dcdn-t0 https)}")" 200 "threads 0: the bound token over the listener with that certificate"
is "$(tail -n 1 "$T/dcdn-t0.access" | jq -r .uri_signing)" 200 "threads 0: log code 200"
stop_daemon dcdn-t0

# ---- 6. Signed Token Renewal by cookie (cdnistt 1) ---------------------------
CJ="$T/jar"
is "$(c -L -c "$CJ" -b "$CJ" -o /dev/null -w '%{http_code}' "https://www.csp.test:$(port ucdn-cookie https)/v/a.bin")" 200 \
	"cdnistt 1: the first segment with the uCDN's token"
renewed=$(awk '$6 == "URISigningPackage" {print $7}' "$CJ")
ok "the dCDN set a URISigningPackage cookie" test -n "$renewed"
is "$(awk '$6 == "URISigningPackage" {print $3, $4}' "$CJ")" "/v TRUE" "cookie Path /v (cdnistd 1), Secure"
is "$(claims "$renewed" | jq -r '[.iss, .cdnistt, .cdniets] | map(tostring) | join(" ")')" "dcdn 1 60" \
	"the renewed token: signed by the dCDN, renewal claims kept"
is "$(c -c "$CJ" -b "$CJ" -o "$T/cbody" -w '%{http_code}' "$EDGE/v/d.bin")" 200 \
	"the next segment with the cookie only: 200"
ok "its bytes" cmp -s "$T/cbody" "$T/www/v/d.bin"
is "$(log_field uri_signing)/$(log_field uri)" "200//v/d.bin" "dCDN log: 200 for a URI without a token"
is "$(c -b "$CJ" -o /dev/null -w '%{http_code}' "$EDGE/bound/x.bin")" 403 "outside the cookie's Path: no cookie, 403"
is "$(c -o /dev/null -w '%{http_code}' "$EDGE/v/d.bin")" 403 "without the cookie: 403"
is "$(log_field uri_signing)" 000 "log code 000"

# ---- 7. Signed Token Renewal by query string (cdnistt 2) ---------------------
is "$(ua "https://www.csp.test:$(port ucdn-query https)/v/old.bin")" 0 \
	"cdnistt 2: UA follows uCDN -> dCDN -> the origin's redirect"
is "$(hop 0 status) $(hop 1 status) $(hop 2 status)" "302 302 200" "three hops"
loc=$(jq -r '.hops[1].headers.location' "$T/tr.json")
like "$loc" '^/v/b\.bin\?URISigningPackage=' "the dCDN put a renewed token into the origin's Location"
is "$(claims "$(token_of "$loc")" | jq -r '[.iss, .cdnistt] | map(tostring) | join(" ")')" "dcdn 2" \
	"signed by the dCDN, cdnistt 2 kept"
ok "the UA got b.bin" cmp -s "$T/body" "$T/www/v/b.bin"
is "$(tail -n 2 "$T/dcdn.access" | jq -r .uri_signing | tr '\n' ' ')" "200 200 " "both dCDN hops verified"
is "$(origin_saw /v/old.bin)" 1 "the origin saw the redirecting path without a token"

# ---- 8. every dCDN request was logged with its code ----------------------------
is "$(jq -r 'has("uri_signing")' "$T/dcdn.access" | sort -u)" true "every dCDN access-log entry has uri_signing"
is "$(jq -r 'select(.status == 403 and (.uri_signing_reason // "") == "") | .uri' "$T/dcdn.access")" "" \
	"every refusal has a deny reason"

# ---- 9. config errors name the key path ------------------------------------
bad() { # NAME URI_SIGNING_JSON EXPECTED
	write_file "$T/bad.json" "{\"listen\": [{\"port\": 0}], \"upstream\": \"http://$ORIGIN\", \"uri_signing\": $2}"
	"$CDNI_BIN/cdni-dcdn" -n -c "$T/bad.json" >"$T/bad.out" 2>&1
	local rc=$?
	is "$rc" 1 "-n: $1 is refused"
	like "$(cat "$T/bad.out")" "$3" "-n: $1: the message names it"
}
bad "a missing keys file" "{\"keys\": \"$T/nope.json\"}" "bad.json: uri_signing.keys: $T/nope.json: cannot read"
printf '{"ucdn": {"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]}}' >"$T/badjwk.json"
bad "a bad JWK" "{\"keys\": \"$T/badjwk.json\"}" "uri_signing.keys: $T/badjwk.json: ucdn: keys\\[0\\]"
printf '{"keys": [{"kty": "EC", "crv": "P-256", "alg": "XS256"}]}' >"$T/badalg.json"
bad "an unknown alg in a JWK" "{\"keys\": \"$T/badalg.json\"}" "uri_signing.keys: $T/badalg.json: .*XS256"
bad "a missing renewal key" "{\"keys\": \"$T/dkeys.json\", \"renew_key\": \"$T/nope.jwk\"}" \
	"uri_signing.renew_key: $T/nope.jwk: cannot read"
jq '.keys[0]' "$T/renew.jwks" >"$T/renew-pub.jwk"
bad "a public renewal key" "{\"keys\": \"$T/dkeys.json\", \"renew_key\": \"$T/renew-pub.jwk\"}" \
	"uri_signing.renew_key: $T/renew-pub.jwk: the key has no private part"
bad "renew_issuer outside issuers" \
	"{\"keys\": \"$T/dkeys.json\", \"issuers\": [\"ucdn\"], \"renew_key\": \"$T/renew.jwk\", \"renew_issuer\": \"x\"}" \
	"uri_signing.renew_issuer: \"x\" is not in issuers"
bad "a misspelt key" "{\"keys\": \"$T/dkeys.json\", \"enforced\": true}" "uri_signing.enforced: unknown key"

for n in ucdn ucdn-short ucdn-cookie ucdn-query dcdn; do stop_daemon "$n"; done
stop_daemon nginx

# ---- 10. the scenario file of this flow passes --------------------------------
"$CDNI_BIN/cdni-scenario" -o "$T/scenario" "$CDNI_TOP/scenarios/cases/urisign-redirect.json" >"$T/scenario.out" 2>&1
is "$?" 0 "scenarios/cases/urisign-redirect.json passes"
like "$(tail -n 1 "$T/scenario.out")" '^[0-9]+ passed, 0 failed$' "every check of it"
done_testing

#!/usr/bin/env bash
# cdni-ucdn and RFC 9246 (Figure 3, steps 7-9) with curl: tokens the CSP
# signed (cdni-urisign) are verified; an accepted request is redirected with a
# token the uCDN re-signed with us_resign, whose claims follow §2.1 and §4
# (checked with cdni-urisign inspect and verify); a refused one gets 403 with
# its §6.4 log code in the body and the access log. Also: a token in a cookie
# or a path parameter, jti replay, the token kept from the origin on the
# proxy path, https never redirected to http, header injection stays escaped
# in signed Locations, path-style carriage, and -n config errors.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh"

command -v jq >/dev/null || skip_all "jq is not installed (make deps)"
U="$CDNI_BIN/cdni-urisign"
CA=$(pki ca.pem)

"$U" keygen --alg ES256 --kid csp-1 --private "$T/csp.jwk" --public "$T/csp.jwks" 2>/dev/null
"$U" keygen --alg ES256 --kid ucdn-1 --private "$T/ucdn.jwk" --public "$T/ucdn.jwks" 2>/dev/null
"$U" keygen --alg ES256 --kid rogue --private "$T/rogue.jwk" --public "$T/rogue.jwks" 2>/dev/null
jq -n --slurpfile k "$T/csp.jwks" '{csp: $k[0]}' >"$T/cspkeys.json"

mkdir -p "$T/www/p"
echo "from the origin" >"$T/www/p/x.txt"
write_file "$T/origin.json" "{\"listen\":[{\"port\":0}],\"root\":\"$T/www\",\"access_log\":\"$T/origin.access\"}"
start_daemon origin cdni-origin "$T/origin.json" || done_testing

write_file "$T/ucdn.json" "{
  \"listen\": [{\"port\": 0},
             {\"port\": 0, \"tls\": true, \"cert\": \"$(pki csp-ec.chain.pem)\", \"key\": \"$(pki csp-ec.key)\"}],
  \"origin\": \"http://$(addr origin http)\",
  \"rules\": [
    {\"prefix\": \"/v/\", \"action\": \"redirect\", \"target\": \"https://edge.dcdn.test:9443\"},
    {\"prefix\": \"/h/\", \"action\": \"redirect\", \"target\": \"http://edge.dcdn.test:9080\"},
    {\"prefix\": \"/p/\", \"action\": \"proxy\"}],
  \"default_action\": \"refuse\",
  \"uri_signing\": {\"key\": \"$T/ucdn.jwk\", \"issuer\": \"ucdn\", \"audience\": \"dcdn.test\", \"iat\": true,
                    \"lifetime\": 600, \"claims\": {\"cdniv\": 1},
                    \"verify\": {\"keys\": \"$T/cspkeys.json\", \"issuers\": [\"csp\"], \"audience\": [\"ucdn.test\"]}},
  \"access_log\": \"$T/ucdn.access\"}"
start_daemon ucdn cdni-ucdn "$T/ucdn.json" || done_testing
H="http://www.csp.test:$(port ucdn http)"
HS="https://www.csp.test:$(port ucdn https)"
RES=(--resolve "www.csp.test:$(port ucdn http):127.0.0.1" --resolve "www.csp.test:$(port ucdn https):127.0.0.1")
NOW=$(date +%s)

c() { curl -s --cacert "$CA" "${RES[@]}" "$@"; }
# csp URI [sign options...]: the CSP's signed URI
csp() { local u=$1; shift; "$U" sign --jwk "$T/csp.jwk" --iss csp --aud ucdn.test --uri "$u" --print-uri "$@"; }
status() { c -o "$T/body" -D "$T/hdrs" -w '%{http_code}' "$@"; }
loc() { tr -d '\r' <"$T/hdrs" | sed -n 's/^[Ll]ocation: //p'; }
token_of() { printf '%s' "$1" | sed -n 's/.*URISigningPackage=\([^&;?]*\).*/\1/p'; }
claims() { "$U" inspect "$1" | jq -c .claims; }
claim() { claims "$1" | jq -r ".$2 // \"(absent)\""; }
log_field() { tail -n 1 "$T/ucdn.access" | jq -r ".$1 // empty"; }
tamper() {
	local i=$((${#2} - $1)) ch=${2:$((${#2} - $1)):1}
	[ "$ch" = A ] && ch=B || ch=A
	printf '%s%s%s' "${2:0:$i}" "$ch" "${2:$((i + 1))}"
}
# dverify URI: the dCDN's verdict on a Location (cdni-urisign verify)
dverify() { "$U" verify --jwks "$T/ucdn.jwks" --aud dcdn.test "$1" | jq -r .log_code; }

# ---- accepted: re-signed per RFC 9246 §4 ------------------------------------
u=$(csp "$H/v/a.ts" --nbf $((NOW - 30)) --iat --jti j-1 --lifetime 100 --renew-cookie 30 --depth 1)
is "$(status "$u")" 302 "a CSP-signed request is redirected"
L=$(loc)
like "$L" '^https://edge\.dcdn\.test:9443/v/a\.ts\?URISigningPackage=[^&]+$' "to the dCDN with one token"
is "$(log_field uri_signing)" 200 "access log: uri_signing 200"
in_tok=$(token_of "$u") out_tok=$(token_of "$L")
ok "the token is a new one" test "$in_tok" != "$out_tok"
is "$(dverify "$L")" 200 "the dCDN's check accepts it (uCDN's key, aud dcdn.test)"
is "$(claim "$out_tok" iss)" ucdn "iss: the uCDN's (§2.1.1: updated when re-signing)"
is "$(claim "$out_tok" aud)" dcdn.test "aud: the next hop"
is "$(claim "$out_tok" exp)" "$(claim "$in_tok" exp)" "exp: copied from the CSP's token (§2.1.4), not the uCDN's lifetime"
is "$(claim "$out_tok" nbf)" "$(claim "$in_tok" nbf)" "nbf: copied (§2.1.5)"
ok "iat: updated to the re-signing time (§2.1.6)" test "$(claim "$out_tok" iat)" -ge "$(claim "$in_tok" iat)"
is "$(claim "$out_tok" jti)" j-1 "jti: copied (§2.1.7)"
is "$(claims "$out_tok" | jq -c '[.cdnistt, .cdniets, .cdnistd]')" "[1,30,1]" "cdnistt, cdniets, cdnistd: copied (§2.1.12-14)"
is "$(claim "$out_tok" cdniv)" "(absent)" "the fresh-token template is not added"
want=$("$U" sign --jwk "$T/ucdn.jwk" --uri "https://edge.dcdn.test:9443/v/a.ts" --print-token | xargs "$U" inspect | jq -r .claims.cdniuc)
is "$(claim "$out_tok" cdniuc)" "$want" "cdniuc: the hash of the Redirection URI (§2.1.11)"
is "$(status "$u")" 403 "the same jti again: 403"
is "$(log_field uri_signing)" 407 "log code 407 (JWT ID)"

# a fresh token (no incoming token verified) only when not verifying: see below
# ---- refused: 403 with the log code ----------------------------------------
refused() { # NAME URI CODE [curl options]
	local name=$1 u=$2 code=$3; shift 3
	is "$(status "$@" "$u")" 403 "$name: 403"
	like "$(cat "$T/body")" "^403 Forbidden: uri signing $code: " "$name: the body names log code $code"
	is "$(log_field uri_signing)" "$code" "$name: access log uri_signing $code"
	ok "$name: access log has the deny reason" test -n "$(log_field uri_signing_reason)"
	ok "$name: no Location" test -z "$(loc)"
}
refused "no token" "$H/v/a.ts" 000
refused "expired" "$(csp "$H/v/a.ts" --now $((NOW - 600)) --lifetime 60)" 404
refused "not yet valid" "$(csp "$H/v/a.ts" --nbf $((NOW + 600)))" 405
refused "tampered" "$(tamper 6 "$(csp "$H/v/a.ts")")" 400
u=$(csp "$H/v/b.ts"); refused "wrong path" "${u/\/v\/b.ts/\/v\/a.ts}" 411
refused "unknown issuer" "$("$U" sign --jwk "$T/rogue.jwk" --iss rogue --aud ucdn.test --uri "$H/v/a.ts" --print-uri)" 401
refused "the CSP's issuer, another key" "$("$U" sign --jwk "$T/rogue.jwk" --iss csp --aud ucdn.test --uri "$H/v/a.ts" --print-uri)" 400
refused "another audience" "$("$U" sign --jwk "$T/csp.jwk" --iss csp --aud other.test --uri "$H/v/a.ts" --print-uri)" 403
refused "a token for http over https" "$(csp "$H/v/a.ts" | sed "s#^$H#$HS#")" 411
is "$(status -I "$H/v/a.ts")" 403 "HEAD without a token: 403"
is "$(log_field uri_signing)" 000 "HEAD without a token: log code 000"

# ---- other carriage --------------------------------------------------------
tok=$("$U" sign --jwk "$T/csp.jwk" --iss csp --aud ucdn.test --uri "$H/v/c.ts" --print-token)
is "$(status -H "Cookie: a=1; URISigningPackage=$tok" "$H/v/c.ts")" 302 "a CSP token in a cookie is accepted"
like "$(loc)" '^https://edge\.dcdn\.test:9443/v/c\.ts\?URISigningPackage=' "and re-signed into the Location"
is "$(dverify "$(loc)")" 200 "which verifies"
u=$(csp "$H/v/d.ts?q=1" --path-style)
like "$u" ';URISigningPackage=' "a path-style CSP token"
is "$(status "$u")" 302 "is accepted"
like "$(loc)" '^https://edge\.dcdn\.test:9443/v/d\.ts\?q=1&URISigningPackage=[^;]+$' "and leaves nothing behind in the Location"
is "$(dverify "$(loc)")" 200 "which verifies"
is "$(status -I "$(csp "$H/v/a.ts")")" 302 "HEAD with a valid token: 302"

# ---- the origin path: verified, the token kept from the origin ---------------
is "$(status "$(csp "$H/p/x.txt")")" 200 "a proxied path with a valid token: 200"
is "$(cat "$T/body")" "from the origin" "the origin's bytes"
wait_for 2 sh -c "grep -q '/p/x.txt' '$T/origin.access'"
is "$(jq -r .uri "$T/origin.access" | sort -u)" "/p/x.txt" "the origin saw the path without the token"
is "$(status "$H/p/x.txt")" 403 "a proxied path without a token: 403"

# ---- https is never redirected to http (§1.3) ------------------------------
is "$(status "$(csp "$HS/h/a.ts")")" 500 "https request, http target, verified token: refused"
like "$(cat "$T/body")" "not redirected to an http Location" "the body says why"

# ---- header injection stays escaped in a signed Location --------------------
u=$(csp "$H/v/a%0D%0ASet-Cookie:x=1")
is "$(status "$u")" 302 "an escaped CR LF in the path, with a valid token: 302"
like "$(loc)" '^https://edge\.dcdn\.test:9443/v/a%0D%0ASet-Cookie:x=1\?URISigningPackage=' "stays escaped in the Location"
is "$(tr -d '\r' <"$T/hdrs" | grep -ci '^set-cookie')" 0 "no header was injected"
is "$(dverify "$(loc)")" 200 "and the token covers the escaped URI"
stop_daemon ucdn

# ---- signing only (no verify), path carriage, regex container ---------------
write_file "$T/ucdn2.json" "{
  \"listen\": [{\"port\": 0}],
  \"rules\": [{\"prefix\": \"/v/\", \"action\": \"redirect\", \"target\": \"http://edge.dcdn.test/cdn\"}],
  \"default_action\": \"refuse\",
  \"uri_signing\": {\"key\": \"$T/ucdn.jwk\", \"issuer\": \"ucdn\", \"carriage\": \"path\", \"container\": \"regex\",
                    \"jti\": true, \"lifetime\": 30},
  \"access_log\": \"$T/ucdn2.access\"}"
start_daemon ucdn2 cdni-ucdn "$T/ucdn2.json" || done_testing
t0=$(date +%s)
is "$(c -o /dev/null -D "$T/hdrs" -w '%{http_code}' "http://$(addr ucdn2 http)/v/hd/a.ts?x=1")" 302 \
	"no verify: a request without a token is redirected"
t1=$(date +%s)
L=$(loc)
like "$L" '^http://edge\.dcdn\.test/cdn/v/hd/a\.ts;URISigningPackage=[^?]+\?x=1$' "the token is a path parameter"
tok=$(printf '%s' "$L" | sed 's/.*;URISigningPackage=//; s/?.*//')
is "$(claim "$tok" cdniuc)" 'regex:http://edge\.dcdn\.test/cdn/v/hd/.*' "a regex container for the Location's directory"
ok "exp = now + lifetime" test "$(claim "$tok" exp)" -ge $((t0 + 30)) -a "$(claim "$tok" exp)" -le $((t1 + 30))
ok "a jti" test "$(claim "$tok" jti)" != "(absent)"
"$U" verify --jwks "$T/ucdn.jwks" "$L" "$L" "http://edge.dcdn.test/cdn/v/hd/b.ts;URISigningPackage=$tok" \
	"http://edge.dcdn.test/cdn/v/b.ts;URISigningPackage=$tok" >"$T/v.json"
is "$(jq -r .log_code "$T/v.json" | tr '\n' ' ')" "200 407 200 411 " \
	"verifies for that URI, once (jti); for another in its directory; not outside it (411)"
is "$(jq -r '.uri_signing // empty' "$T/ucdn2.access")" "" "no incoming token verified: no uri_signing field"
stop_daemon ucdn2

# ---- -n: config errors name the key path ----------------------------------
RULE='[{"prefix": "/v/", "action": "redirect", "target": "https://e.test"}]'
bad() { # NAME URI_SIGNING_JSON EXPECTED [RULES]
	write_file "$T/bad.json" "{\"listen\": [{\"port\": 0}], \"default_action\": \"refuse\",
	  \"rules\": ${4:-$RULE}, \"uri_signing\": $2}"
	"$CDNI_BIN/cdni-ucdn" -n -c "$T/bad.json" >"$T/bad.out" 2>&1
	is "$?" 1 "-n: $1 is refused"
	like "$(cat "$T/bad.out")" "$3" "-n: $1: the message names it"
}
bad "a missing key file" "{\"key\": \"$T/nope.jwk\"}" "bad.json: uri_signing.key: $T/nope.jwk: cannot read"
printf '{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}' >"$T/bad.jwk"
bad "a bad JWK" "{\"key\": \"$T/bad.jwk\"}" "uri_signing.key: $T/bad.jwk: EC key"
bad "an unknown alg" "{\"key\": \"$T/ucdn.jwk\", \"alg\": \"ES257\"}" 'uri_signing.alg: unknown algorithm "ES257"'
bad "alg none" "{\"key\": \"$T/ucdn.jwk\", \"alg\": \"none\"}" 'uri_signing.alg: unknown algorithm "none"'
bad "an alg that does not fit the key" "{\"key\": \"$T/ucdn.jwk\", \"alg\": \"HS256\"}" 'uri_signing.alg: HS256 does not fit the key'
bad "a public key" "{\"key\": \"$T/ucdn.jwks\"}" "uri_signing.key: $T/ucdn.jwks: no fitting key in the set"
bad "a missing verify keys file" "{\"verify\": {\"keys\": \"$T/nope.json\"}}" "uri_signing.verify.keys: $T/nope.json: cannot read"
bad "re-signing without an issuer" "{\"key\": \"$T/ucdn.jwk\", \"verify\": {\"keys\": \"$T/cspkeys.json\"}}" \
	"uri_signing.issuer: is required to re-sign"
bad "a claims template holding exp" "{\"key\": \"$T/ucdn.jwk\", \"claims\": {\"exp\": 1}}" \
	"uri_signing.claims.exp: is set by uri_signing.lifetime"
bad "a target_cert without a key" "{}" "rules\\[0\\].target_cert: needs uri_signing.key" \
	"[{\"prefix\": \"/v/\", \"action\": \"redirect\", \"target\": \"https://e.test\", \"target_cert\": \"$(pki dcdn-ec.pem)\"}]"
bad "a missing target_cert" "{\"key\": \"$T/ucdn.jwk\"}" "rules\\[0\\].target_cert: .*nope.pem" \
	"[{\"prefix\": \"/v/\", \"action\": \"redirect\", \"target\": \"https://e.test\", \"target_cert\": \"$T/nope.pem\"}]"
bad "a misspelt key" "{\"key\": \"$T/ucdn.jwk\", \"lifetme\": 5}" "uri_signing.lifetme: unknown key"

stop_daemon origin
done_testing

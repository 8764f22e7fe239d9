#!/usr/bin/env bash
# A real peer for RFC 9246: Apache Traffic Server 9.2 with its uri_signing
# plugin validates tokens that cdni-urisign makes, in front of an nginx
# origin; the same requests get the same accept/reject from
# cdni-urisign verify. Traffic Server implements a subset of RFC 9246 (an
# older draft): the common subset must agree, and the observed differences
# (docs/urisign-ats-differences.md) are asserted too, so that the document
# stays true.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh"

. "$CDNI_TOP/t/ats.sh"

U="$CDNI_BIN/cdni-urisign"
ats_need
command -v nginx >/dev/null || skip_all "nginx is not installed (make deps)"
command -v jq >/dev/null || skip_all "jq is not installed (make deps)"

HOST=cdn.example

# ---- keys: one issuer per algorithm; csp's ES256 key also renews ----------
for alg in ES256 ES384 ES512 RS256 PS256 HS256 HS512; do
	"$U" keygen --alg $alg --private "$T/$alg.jwk" --public "$T/$alg.jwks" 2>/dev/null
done
"$U" keygen --alg A128GCM --private "$T/enc.jwk" --public "$T/enc.jwks" 2>/dev/null
# The plugin's config: issuer -> JWK set (private keys: one renews). The same
# file is cdni-urisign verify's --jwks (an issuer map; renewal_kid, id and
# strip_token are Traffic Server's and ignored by cdni-urisign).
jq -n --slurpfile es "$T/ES256.jwk" --slurpfile e384 "$T/ES384.jwk" --slurpfile e512 "$T/ES512.jwk" \
	--slurpfile rs "$T/RS256.jwk" --slurpfile ps "$T/PS256.jwk" --slurpfile hs "$T/HS256.jwk" \
	--slurpfile h5 "$T/HS512.jwk" '{
	csp: {renewal_kid: $es[0].kid, id: "dcdn1", strip_token: true, keys: [$es[0]]},
	"csp-es384": {keys: [$e384[0]]}, "csp-es512": {keys: [$e512[0]]},
	"csp-rs256": {keys: [$rs[0]]}, "csp-ps256": {keys: [$ps[0]]},
	"csp-hs256": {keys: [$hs[0]]}, "csp-hs512": {keys: [$h5[0]]}}' >"$T/keys.json"
# cdni-urisign also needs the encryption key (cdniip is not for Traffic Server)
jq --slurpfile enc "$T/enc.jwk" '.enc = {keys: [$enc[0]]}' "$T/keys.json" >"$T/ours.json"

# ---- origin: nginx ---------------------------------------------------------
mkdir -p "$T/www/video/hd" "$T/www/other"
echo "segment a" >"$T/www/video/a.ts"
echo "segment b" >"$T/www/video/b.ts"
echo "hd" >"$T/www/video/hd/c.ts"
echo "other" >"$T/www/other/x.ts"
origin_servers() { echo "  server { listen 127.0.0.1:$NGINX_PORT; root $T/www; }"; }
start_nginx nginx origin_servers || done_testing
ORIGIN="127.0.0.1:$NGINX_PORT"

# ---- Traffic Server in a private runroot (t/ats.sh) -------------------------
PROBE_PATH=/video/a.ts PROBE_STATUS=403 ats_start \
	"map http://$HOST/ http://$ORIGIN/ @plugin=uri_signing.so @pparam=$T/keys.json" ||
	{ echo "not ok - traffic_server starts"; done_testing; }
ok "Traffic Server loaded the uri_signing config" grep -q "Stored keys for csp-hs512" "$T/ats.err"

# ---- helpers ---------------------------------------------------------------
# ats URI [COOKIE]: Traffic Server's status for the signed URI (sent with Host)
ats() {
	local path=${1#http://$HOST}
	curl -s -o "$T/body" -D "$T/hdrs" -w '%{http_code}' -H "Host: $HOST" \
		${2:+-H "Cookie: $2"} "http://$ATS$path"
}
# ours URI [COOKIE]: cdni-urisign's verdict, "200" or the log code of a reject
ours() {
	"$U" verify --jwks "$T/ours.json" --aud dcdn1 --client-ip 127.0.0.1 \
		--cert "$(pki dcdn-ec.pem)" ${2:+--cookie "$2"} "$1" >"$T/v.json" 2>"$T/v.err"
	jq -r .log_code "$T/v.json"
}
verdict_of() { [ "$1" = 200 ] && echo accept || echo reject; }
# agree NAME URI [COOKIE]: both accept or both reject; sets $got_ats/$got_ours
agree() {
	local name=$1
	got_ats=$(ats "$2" "${3:-}") got_ours=$(ours "$2" "${3:-}")
	is "$(verdict_of "$got_ats")" "$(verdict_of "$got_ours")" \
		"$name: Traffic Server $got_ats, cdni-urisign $got_ours agree"
}
sign() { "$U" sign --jwk "$T/ES256.jwk" --iss csp --print-uri "$@"; }
stok() { "$U" sign --jwk "$T/ES256.jwk" --iss csp --print-token "$@"; }
RE='http://cdn\.example/video/.*'
NOW=$(date +%s)

# ---- the common subset: both accept --------------------------------------
for alg in ES256 ES384 ES512 RS256 PS256 HS256 HS512; do
	iss=csp; [ $alg = ES256 ] || iss="csp-$(echo $alg | tr A-Z a-z)"
	u=$("$U" sign --jwk "$T/$alg.jwk" --iss $iss --regex "$RE" --uri http://$HOST/video/a.ts --print-uri)
	agree "$alg token" "$u"
	is "$got_ats/$got_ours" "200/200" "$alg: both accept"
done
is "$(cat "$T/body")" "segment a" "Traffic Server served the origin's bytes"

u=$(sign --regex "$RE" --aud dcdn1 --uri http://$HOST/video/b.ts)
agree "aud naming this CDN" "$u"; is "$got_ats/$got_ours" "200/200" "aud: both accept"
u=$(sign --regex "$RE" --nbf $((NOW - 60)) --iat --lifetime 120 --uri http://$HOST/video/a.ts)
agree "nbf, iat and exp in range" "$u"; is "$got_ats/$got_ours" "200/200" "times: both accept"
u=$(sign --regex "$RE" --claims '{"cdniv":1}' --uri http://$HOST/video/a.ts)
agree "cdniv 1" "$u"; is "$got_ats/$got_ours" "200/200" "cdniv 1: both accept"
u=$(sign --regex "$RE" --path-style --uri http://$HOST/video/a.ts)
agree "path-style parameter" "$u"; is "$got_ats/$got_ours" "200/200" "path style: both accept"
tok=$(stok --regex "$RE" --uri http://$HOST/video/a.ts)
agree "token in a cookie" "http://$HOST/video/a.ts" "URISigningPackage=$tok"
is "$got_ats/$got_ours" "200/200" "cookie: both accept"

# ---- the common subset: both reject ---------------------------------------
# tamper CHARS_FROM_END URI: flip one base64url character of the signature
tamper() {
	local i=$((${#2} - $1)) c=${2:$((${#2} - $1)):1}
	[ "$c" = A ] && c=B || c=A
	printf '%s%s%s' "${2:0:$i}" "$c" "${2:$((i + 1))}"
}
u=$(sign --regex "$RE" --uri http://$HOST/video/a.ts)
agree "tampered signature" "$(tamper 10 "$u")"; is "$got_ats/$got_ours" "403/400" "tampered: both reject"
u=$(sign --regex "$RE" --now $((NOW - 600)) --lifetime 60 --uri http://$HOST/video/a.ts)
agree "expired token" "$u"; is "$got_ats/$got_ours" "403/404" "expired: both reject"
u=$(sign --regex "$RE" --nbf $((NOW + 600)) --uri http://$HOST/video/a.ts)
agree "not yet valid" "$u"; is "$got_ats/$got_ours" "403/405" "nbf ahead: both reject"
u=$(sign --regex 'http://cdn\.example/other/.*' --uri http://$HOST/video/a.ts)
agree "URI outside the regex" "$u"; is "$got_ats/$got_ours" "403/411" "wrong path: both reject"
u=$("$U" sign --jwk "$T/ES256.jwk" --iss ucdn --regex "$RE" --uri http://$HOST/video/a.ts --print-uri)
agree "unknown issuer" "$u"; is "$got_ats/$got_ours" "403/401" "unknown issuer: both reject"
u=$("$U" sign --jwk "$T/ES256.jwk" --regex "$RE" --uri http://$HOST/video/a.ts --print-uri)
agree "no iss (keys are bound to issuers)" "$u"; is "$got_ats/$got_ours" "403/401" "no iss: both reject"
u=$("$U" sign --jwk "$T/ES384.jwk" --iss csp --regex "$RE" --uri http://$HOST/video/a.ts --print-uri)
agree "another issuer's key" "$u"; is "$got_ats/$got_ours" "403/401" "key of another issuer: both reject"
u=$(sign --regex "$RE" --aud dcdn2 --uri http://$HOST/video/a.ts)
agree "aud naming another CDN" "$u"; is "$got_ats/$got_ours" "403/403" "foreign aud: both reject"
u=$(sign --regex "$RE" --claims '{"cdniv":2}' --uri http://$HOST/video/a.ts)
agree "cdniv 2" "$u"; is "$got_ats/$got_ours" "403/408" "cdniv 2: both reject"
agree "no token" "http://$HOST/video/a.ts"; is "$got_ats/$got_ours" "403/000" "no token: both reject"
agree "garbage token" "http://$HOST/video/a.ts?URISigningPackage=not.a.jwt"
is "$got_ats/$got_ours" "403/400" "garbage: both reject"

# ---- renewal by cookie: Traffic Server's renewed token verifies here --------
u=$(sign --regex "$RE" --renew-cookie 30 --depth 1 --uri http://$HOST/video/a.ts)
agree "renewal token (cdnistt 1)" "$u"; is "$got_ats/$got_ours" "200/200" "renewal: both accept"
sc=$(tr -d '\r' <"$T/hdrs" | sed -n 's/^[Ss]et-[Cc]ookie: //p')
like "$sc" '^URISigningPackage=[^;]+; Path=/video$' "Traffic Server renews by Set-Cookie, Path of cdnistd segments"
renewed=$(printf '%s' "$sc" | sed 's/^URISigningPackage=//; s/;.*//')
got=$(ours "http://$HOST/video/b.ts" "URISigningPackage=$renewed")
is "$got" 200 "cdni-urisign accepts the token Traffic Server renewed"
"$U" inspect "$renewed" >"$T/r.json"
is "$(jq -r '.claims.cdniets, .claims.cdnistt, .claims.cdnistd' "$T/r.json" | tr '\n' ' ')" "30 1 1 " \
	"the renewed token carries cdniets, cdnistt, cdnistd over"
exp=$(jq -r '.claims.exp | floor' "$T/r.json")
ok "its exp is about verification time + cdniets" test $((exp - NOW)) -ge 29 -a $((exp - NOW)) -le 60
"$U" verify --jwks "$T/ours.json" --renew-jwk "$T/ES256.jwk" --renew-iss csp "$u" >"$T/ourrenew.json"
mine=$(jq -r .renewal.set_cookie "$T/ourrenew.json")
is "$(printf '%s' "$mine" | sed 's/.*; Path=//; s/;.*//')" "/video" "cdni-urisign renews with the same cookie Path"
got=$(ats "http://$HOST/video/b.ts" "$(printf '%s' "$mine" | sed 's/;.*//')")
is "$got" 200 "Traffic Server accepts the token cdni-urisign renewed"

# ---- observed differences (docs/urisign-ats-differences.md) --------------
u=$(sign --regex "$RE" --jti once-1 --uri http://$HOST/video/a.ts)
is "$(ats "$u")/$(ours "$u")" "403/200" "jti: Traffic Server refuses it, RFC 9246 allows a first use"
u=$(sign --uri http://$HOST/video/a.ts)
is "$(ats "$u")/$(ours "$u")" "403/200" "hash: container: Traffic Server does not implement it"
u=$(sign --regex "$RE" --bind-cert "$(pki dcdn-ec.pem)" --uri http://$HOST/video/a.ts)
is "$(ats "$u")/$(ours "$u")" "403/200" "cdnicrit (with cdnicb): Traffic Server refuses any cdnicrit"
u=$(sign --regex "$RE" --cdniip 127.0.0.1 --enc-jwk "$T/enc.jwk" --uri http://$HOST/video/a.ts)
is "$(ats "$u")/$(ours "$u")" "403/200" "cdniip: Traffic Server refuses it"
u=$(sign --regex 'http://cdn\.example/vid' --uri http://$HOST/video/a.ts)
is "$(ats "$u")/$(ours "$u")" "200/411" "regex: Traffic Server anchors at the start only, RFC 9246 matches the URI"
u=$(sign --claims '{"cdniuc":""}' --uri http://$HOST/video/a.ts)
is "$(ats "$u")/$(ours "$u")" "200/411" "an empty cdniuc: Traffic Server skips the URI check"
u=$(sign --regex "$RE" --renew-query 30 --uri http://$HOST/video/a.ts)
is "$(ats "$u")/$(ours "$u")" "403/200" "cdnistt 2 (renewal in the query): Traffic Server refuses it"
good=$(stok --regex "$RE" --uri http://$HOST/video/a.ts)
u="http://$HOST/video/a.ts?URISigningPackage=$(stok --regex "$RE" --now $((NOW - 600)) --lifetime 60 --uri http://$HOST/video/a.ts)"
is "$(ats "$u" "URISigningPackage=$good")/$(ours "$u" "URISigningPackage=$good")" "200/500" \
	"an invalid URI token and a valid cookie: Traffic Server falls back to the cookie, cdni-urisign refuses the ambiguity"

# The last character of an ES256 signature (86 characters for 64 bytes)
# carries 2 bits and 4 spare bits that must be zero (RFC 7515 §2, RFC 4648
# §3.5 canonical encoding): a changed spare bit leaves the signature bytes
# as they were.
u=$(sign --regex "$RE" --uri http://$HOST/video/a.ts)
last=${u: -1}
alpha=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_
idx=${alpha%%"$last"*}; idx=${#idx}
nc=${u%?}${alpha:$((idx ^ 1)):1}
is "$(ats "$nc")/$(ours "$nc")" "200/400" \
	"non-canonical base64url (spare bits set): Traffic Server accepts, cdni-urisign refuses"

stop_daemon ats
stop_daemon nginx
ok "Traffic Server wrote no crash log" ats_no_crash
done_testing

#!/usr/bin/env bash
# The daemons against a real RFC 9246 peer: cdni-ucdn signs the Location of a
# redirect to "the dCDN", and that dCDN is Apache Traffic Server 9.2 with its
# uri_signing plugin (docs/urisign-ats-differences.md; t/ats.sh runs it).
# Traffic Server must accept the signed Locations and refuse tampered,
# expired, wrong-path and missing tokens; cdni-dcdn, given the same issuer
# map, must give the same verdict for the same request. Within the common
# subset: iss, aud (Traffic Server's id), exp, a regex container (Traffic
# Server has no hash: containers), query or path-style carriage, no jti, no
# cdnicrit/cdnicb. Renewal by cookie crosses over in both directions. The
# hash container, outside the subset, is asserted as a difference.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh"
. "$CDNI_TOP/t/ats.sh"

ats_need
command -v nginx >/dev/null || PATH=$PATH:/usr/sbin
command -v nginx >/dev/null || skip_all "nginx is not installed (make deps)"
command -v jq >/dev/null || skip_all "jq is not installed (make deps)"

U="$CDNI_BIN/cdni-urisign"
HOST=cdn.example

# ---- keys: the uCDN's ES256 key; Traffic Server renews with it too --------
"$U" keygen --alg ES256 --kid ucdn-1 --private "$T/ucdn.jwk" --public "$T/ucdn.jwks" 2>/dev/null
# Traffic Server's format (issuer -> keys, renewal_kid, id, strip_token);
# cdni-dcdn reads the same file (it ignores renewal_kid, id and strip_token,
# and never forwards tokens).
jq -n --slurpfile k "$T/ucdn.jwk" \
	'{ucdn: {renewal_kid: $k[0].kid, id: "dcdn1", strip_token: true, keys: [$k[0]]}}' >"$T/keys.json"

# ---- origin: nginx ---------------------------------------------------------
mkdir -p "$T/www/video" "$T/www/other"
echo "segment a" >"$T/www/video/a.ts"
echo "segment b" >"$T/www/video/b.ts"
echo "other" >"$T/www/other/x.ts"
origin_servers() { echo "  server { listen 127.0.0.1:$NGINX_PORT; root $T/www; }"; }
start_nginx nginx origin_servers || done_testing
ORIGIN="127.0.0.1:$NGINX_PORT"

# ---- the two dCDNs: Traffic Server and cdni-dcdn, same keys -----------------
PROBE_PATH=/video/a.ts PROBE_STATUS=403 ats_start \
	"map http://$HOST/ http://$ORIGIN/ @plugin=uri_signing.so @pparam=$T/keys.json" ||
	{ echo "not ok - traffic_server starts"; done_testing; }
write_file "$T/dcdn.json" "{\"listen\": [{\"port\": 0}], \"upstream\": \"http://$ORIGIN\",
  \"uri_signing\": {\"keys\": \"$T/keys.json\", \"audience\": [\"dcdn1\"],
                    \"renew_key\": \"$T/ucdn.jwk\"},
  \"access_log\": \"$T/dcdn.access\"}"
start_daemon dcdn cdni-dcdn "$T/dcdn.json" || done_testing

# ---- uCDNs redirecting to http://cdn.example ---------------------------------
ucdn_conf() { # NAME CONTAINER LIFETIME [MORE_URI_SIGNING_JSON]
	write_file "$T/$1.json" "{\"listen\": [{\"port\": 0}], \"default_action\": \"refuse\",
  \"rules\": [{\"prefix\": \"/\", \"action\": \"redirect\", \"target\": \"http://$HOST\"}],
  \"uri_signing\": {\"key\": \"$T/ucdn.jwk\", \"issuer\": \"ucdn\", \"audience\": \"dcdn1\",
                    \"container\": \"$2\", \"lifetime\": $3 ${4:-}},
  \"access_log\": \"$T/$1.access\"}"
	start_daemon "$1" cdni-ucdn "$T/$1.json" || done_testing
}
ucdn_conf ucdn regex 60
ucdn_conf ucdn-path regex 60 ', "carriage": "path"'
ucdn_conf ucdn-short regex 1
ucdn_conf ucdn-cookie regex 60 ', "claims": {"cdnistt": 1, "cdniets": 30, "cdnistd": 1}'
ucdn_conf ucdn-hash hash 60

# location UCDN PATH: the Location that uCDN answers
location() { curl -s -o /dev/null -w '%{redirect_url}' "http://$(addr "$1" http)$2"; }
# at PEER URI [COOKIE]: the status PEER (ats or dcdn) answers for URI, sent with Host cdn.example
at() {
	local where=$ATS path=${2#http://$HOST}
	[ "$1" = dcdn ] && where=$(addr dcdn http)
	curl -s -o "$T/body.$1" -D "$T/hdrs.$1" -w '%{http_code}' -H "Host: $HOST" \
		${3:+-H "Cookie: $3"} "http://$where$path"
}
dcode() { tail -n 1 "$T/dcdn.access" | jq -r .uri_signing; }
# both NAME URI WANT_STATUS [COOKIE]: Traffic Server and cdni-dcdn answer WANT_STATUS
both() {
	local a d
	a=$(at ats "$2" "${4:-}") d=$(at dcdn "$2" "${4:-}")
	is "$a/$d" "$3/$3" "$1: Traffic Server $a, cdni-dcdn $d"
}
tamper() {
	local i=$((${#2} - $1)) ch=${2:$((${#2} - $1)):1}
	[ "$ch" = A ] && ch=B || ch=A
	printf '%s%s%s' "${2:0:$i}" "$ch" "${2:$((i + 1))}"
}

# ---- accepted by both ----------------------------------------------------------
L=$(location ucdn /video/a.ts)
like "$L" "^http://$HOST/video/a\\.ts\\?URISigningPackage=" "cdni-ucdn redirects to the Traffic Server host with a token"
both "the signed Location" "$L" 200
is "$(cat "$T/body.ats")|$(cat "$T/body.dcdn")" "segment a|segment a" "both served the origin's bytes"
is "$(dcode)" 200 "cdni-dcdn log code 200"
both "the same token for another segment in the directory" "${L/a.ts/b.ts}" 200
L=$(location ucdn /video/b.ts?q=1)
both "a Location with a query" "$L" 200
L=$(location ucdn-path /video/a.ts)
like "$L" "^http://$HOST/video/a\\.ts;URISigningPackage=" "path-style carriage"
both "a path-style token" "$L" 200

# ---- refused by both -------------------------------------------------------------
L=$(location ucdn /video/a.ts)
both "a tampered signature" "$(tamper 7 "$L")" 403
is "$(dcode)" 400 "cdni-dcdn log code 400"
both "outside the token's directory" "http://$HOST/other/x.ts?${L#*\?}" 403
is "$(dcode)" 411 "cdni-dcdn log code 411"
both "no token" "http://$HOST/video/a.ts" 403
is "$(dcode)" 000 "cdni-dcdn log code 000"
L=$(location ucdn-short /video/a.ts)
exp=$("$U" inspect "${L#*URISigningPackage=}" | jq -r .claims.exp)
wait_for 5 sh -c "[ \$(date +%s) -gt $exp ]"
both "an expired token (lifetime 1 s)" "$L" 403
is "$(dcode)" 404 "cdni-dcdn log code 404"

# ---- renewal by cookie, across ---------------------------------------------------
L=$(location ucdn-cookie /video/a.ts)
is "$(at ats "$L")" 200 "a renewal token (cdnistt 1) at Traffic Server"
ck=$(tr -d '\r' <"$T/hdrs.ats" | sed -n 's/^[Ss]et-[Cc]ookie: //p' | sed 's/;.*//')
like "$ck" '^URISigningPackage=' "Traffic Server renews by Set-Cookie"
is "$(at dcdn "http://$HOST/video/b.ts" "$ck")" 200 "cdni-dcdn accepts Traffic Server's renewed cookie"
is "$(at dcdn "$L")" 200 "the same renewal token at cdni-dcdn"
ck=$(tr -d '\r' <"$T/hdrs.dcdn" | sed -n 's/^[Ss]et-[Cc]ookie: //p')
like "$ck" '^URISigningPackage=[^;]+; Path=/video; HttpOnly$' "cdni-dcdn renews by Set-Cookie, Path /video"
is "$(at ats "http://$HOST/video/b.ts" "${ck%%;*}")" 200 "Traffic Server accepts cdni-dcdn's renewed cookie"

# ---- outside the common subset (docs/urisign-ats-differences.md) ----------------
L=$(location ucdn-hash /video/a.ts)
is "$(at ats "$L")/$(at dcdn "$L")" "403/200" "a hash: container: cdni-dcdn accepts, Traffic Server does not implement it"

is "$(grep -c URISigningPackage "$T/nginx/access.log")" 0 "the origin saw no token from either"

for n in ucdn ucdn-path ucdn-short ucdn-cookie ucdn-hash dcdn ats nginx; do stop_daemon "$n"; done
ok "Traffic Server wrote no crash log" ats_no_crash
done_testing

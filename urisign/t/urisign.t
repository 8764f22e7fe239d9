#!/usr/bin/env bash
# cdni-urisign end to end: keygen -> sign -> verify; rejections with their
# RFC 9246 log codes and exit status 1; usage errors with exit status 2;
# RFC 9246 Appendix A; renewal; jti; encrypted cdniip; certificate binding.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh"

U="$CDNI_BIN/cdni-urisign"
NOW=1700000000
command -v jq >/dev/null || skip_all "jq is not installed (make deps)"

# run CMD...: stdout in $T/out, exit status in $rc
run() { "$@" >"$T/out" 2>"$T/err"; rc=$?; }
field() { jq -r "$1" <"$T/out" | head -n 1; }
# verdict NAME WANT_RC WANT_CODE verify-args... : one verify call
verdict() {
	local name=$1 want_rc=$2 want_code=$3; shift 3
	run "$U" verify "$@"
	is "$rc/$(field .log_code)" "$want_rc/$want_code" "$name"
}

# --- keygen ---
run "$U" keygen --alg ES256 --private "$T/es.jwk" --public "$T/es.jwks"
is "$rc" 0 "keygen ES256 writes the private JWK and the public set"
is "$(stat -c %a "$T/es.jwk")" 600 "the private JWK file is mode 0600"
is "$(jq -r '.keys[0] | has("d")' "$T/es.jwks")" false "the public set holds no private part"
like "$(jq -r .kid "$T/es.jwk")" '^[A-Za-z0-9_-]{43}$' "kid is an RFC 7638 thumbprint"
is "$(jq -r .kid "$T/es.jwk")" "$(jq -r '.keys[0].kid' "$T/es.jwks")" "same kid in both"
run "$U" keygen --alg EdDSA
is "$(wc -l <"$T/out")" 2 "keygen without files prints the private JWK and the set"

# --- sign -> verify ---
URI=https://cdn.example/video/a.ts
run "$U" sign --jwk "$T/es.jwk" --iss csp --uri "$URI" --lifetime 60 --now $NOW
is "$rc" 0 "sign a URI"
TOK=$(sed -n 1p "$T/out"); SURI=$(sed -n 2p "$T/out")
is "$SURI" "$URI?URISigningPackage=$TOK" "the second line is the signed URI"
verdict "signed URI verifies (200)" 0 200 --jwks "$T/es.jwks" --now $NOW "$SURI"
is "$(field .claims.iss)/$(field .token_location)/$(field .stripped_uri)" "csp/query/$URI" \
	"verdict names the claims, the carriage and the URI without the token"
verdict "one second before exp still verifies" 0 200 --jwks "$T/es.jwks" --now $((NOW + 59)) "$SURI"
verdict "expired at exp: exit 1, 404" 1 404 --jwks "$T/es.jwks" --now $((NOW + 60)) "$SURI"
i=$((${#SURI} - 10)); c=${SURI:$i:1}; [ "$c" = A ] && c=B || c=A
BAD="${SURI:0:$i}$c${SURI:$((i + 1))}"
verdict "tampered signature: exit 1, 400" 1 400 --jwks "$T/es.jwks" --now $NOW "$BAD"
verdict "another path: exit 1, 411" 1 411 --jwks "$T/es.jwks" --now $NOW "${SURI/a.ts/b.ts}"
verdict "no token: exit 1, 000" 1 000 --jwks "$T/es.jwks" --now $NOW "$URI"
verdict "token twice: exit 1, 500" 1 500 --jwks "$T/es.jwks" --now $NOW "$SURI&URISigningPackage=$TOK"
verdict "token in a cookie verifies" 0 200 --jwks "$T/es.jwks" --now $NOW \
	--cookie "a=b; URISigningPackage=$TOK" "$URI"
verdict "normalized URI (case, default port, dot segments) verifies" 0 200 --jwks "$T/es.jwks" \
	--now $NOW "HTTPS://CDN.example:443/video/x/../a.ts?URISigningPackage=$TOK"
run "$U" keygen --alg ES256 --public "$T/other.jwks" --private "$T/other.jwk"
verdict "a key set without the signer's key: exit 1, 400" 1 400 --jwks "$T/other.jwks" --now $NOW "$SURI"
verdict "an issuer not accepted: exit 1, 401" 1 401 --jwks "$T/es.jwks" --now $NOW --issuer ucdn "$SURI"

# --- path style, issuer map, aud ---
run "$U" sign --jwk "$T/es.jwk" --iss csp --aud dcdn1 --uri "$URI" --path-style --print-uri --now $NOW
PURI=$(cat "$T/out")
like "$PURI" '^https://cdn.example/video/a.ts;URISigningPackage=' "--path-style --print-uri"
jq '{csp: .}' "$T/es.jwks" >"$T/map.json"
verdict "issuer map with the audience: 200" 0 200 --jwks "$T/map.json" --aud dcdn1 --now $NOW "$PURI"
verdict "audience not ours: 403" 1 403 --jwks "$T/map.json" --aud dcdn2 --now $NOW "$PURI"

# --- every algorithm ---
for alg in ES256 ES384 ES512 RS256 PS256 PS512 EdDSA HS256 HS512; do
	"$U" keygen --alg $alg --private "$T/k.jwk" --public "$T/k.jwks" 2>/dev/null
	u=$("$U" sign --jwk "$T/k.jwk" --uri "$URI" --print-uri --now $NOW)
	verdict "$alg: keygen, sign, verify" 0 200 --jwks "$T/k.jwks" --now $NOW "$u"
done

# --- inspect ---
run "$U" inspect "$SURI"
is "$rc/$(field .verified)/$(field .header.alg)/$(field .claims.iss)" "0/false/ES256/csp" \
	"inspect decodes and says it did not verify"
run "$U" inspect not.a.token
is "$rc" 1 "inspect refuses garbage"

# --- RFC 9246 Appendix A ---
cat >"$T/rfc.jwks" <<'EOF'
{"keys":[{"kty":"EC","kid":"P5UpOv0eMq1wcxLf7WxIg09JdSYGYFDOWkldueaImf0","use":"sig","alg":"ES256",
"crv":"P-256","x":"be807S4O7dzB6I4hTiCUvmxCI6FuxWba1xYBlLSSsZ8","y":"rOGC4vI69g-WF9AGEVI37sNNwbjIzBxSjLvIL7f3RBA"},
{"kty":"oct","kid":"f-WbjxBC3dPuI3d24kP2hfvos7Qz688UTi6aB0hN998","use":"enc","alg":"A128GCM","k":"4uFxxV7fhNmrtiah2d1fFg"}]}
EOF
A1=eyJhbGciOiJFUzI1NiIsImtpZCI6IlA1VXBPdjBlTXExd2N4TGY3V3hJZzA5SmRTWUdZRkRPV2tsZHVlYUltZjAifQ.eyJleHAiOjE2NDY4NjczNjksImlzcyI6InVDRE4gSW5jIiwiY2RuaXVjIjoiaGFzaDpzaGEtMjU2OzJ0ZGVyZldQYTg2S3U3WW56VzUxWVVwN2RHVWpCU18zU1czRUx4NGhtV1kifQ.TaNlJM3D96i_9J9XvlICO6FUIDFTqt3E2YJkEUOLfcH0b89wYRKTbJ9Yj6h_GRgSoZoQO0cps3yUPcWGK3smCw
verdict "RFC 9246 A.1 verifies at its time" 0 200 --jwks "$T/rfc.jwks" --now 1646867000 \
	"http://cdni.example/foo/bar?URISigningPackage=$A1"
verdict "RFC 9246 A.1 today is expired (404)" 1 404 --jwks "$T/rfc.jwks" \
	"http://cdni.example/foo/bar?URISigningPackage=$A1"

# --- renewal by cookie ---
"$U" keygen --alg ES256 --private "$T/edge.jwk" --public "$T/edge.jwks"
run "$U" sign --jwk "$T/es.jwk" --regex 'https://cdn\.example/video/[^/]+\.ts' --renew-cookie 30 \
	--depth 1 --uri "$URI" --print-uri --now $NOW
verdict "renewal token verifies" 0 200 --jwks "$T/es.jwks" --renew-jwk "$T/edge.jwk" \
	--now $NOW "$(cat "$T/out")"
like "$(field .renewal.set_cookie)" '^URISigningPackage=[^;]+; Path=/video; Secure; HttpOnly$' \
	"renewal: Set-Cookie with the cdnistd path"
is "$(field .renewal.exp)" $((NOW + 30)) "renewal: exp = now + cdniets"

# --- jti: the same URI twice in one run ---
run "$U" sign --jwk "$T/es.jwk" --jti once-1 --uri "$URI" --print-uri --now $NOW
J=$(cat "$T/out")
run "$U" verify --jwks "$T/es.jwks" --now $NOW "$J" "$J"
is "$rc/$(jq -r .log_code <"$T/out" | tr '\n' ' ')" "1/200 407 " "jti: accepted once, then 407"

# --- encrypted cdniip ---
"$U" keygen --alg A128GCM --private "$T/enc.jwk" --public "$T/enc.jwks" 2>/dev/null
jq -s '{keys: (.[0].keys + .[1].keys)}' "$T/es.jwks" "$T/enc.jwks" >"$T/both.jwks"
run "$U" sign --jwk "$T/es.jwk" --cdniip 192.0.2.0/24 --enc-jwk "$T/enc.jwk" --uri "$URI" \
	--print-uri --now $NOW
IP=$(cat "$T/out")
unlike "$IP" '192\.0\.2' "cdniip travels encrypted"
verdict "client inside cdniip: 200" 0 200 --jwks "$T/both.jwks" --client-ip 192.0.2.9 --now $NOW "$IP"
verdict "client outside cdniip: 410" 1 410 --jwks "$T/both.jwks" --client-ip 198.51.100.1 --now $NOW "$IP"
verdict "cdniip without the enc key: 410" 1 410 --jwks "$T/es.jwks" --client-ip 192.0.2.9 --now $NOW "$IP"

# --- certificate binding (cdnicb, non-standard) ---
run "$U" sign --jwk "$T/es.jwk" --bind-cert "$(pki dcdn-ec.pem)" --uri "$URI" --print-uri --now $NOW
CB=$(cat "$T/out")
verdict "cdnicb: the bound edge certificate verifies" 0 200 --jwks "$T/es.jwks" \
	--cert "$(pki dcdn-ec.pem)" --now $NOW "$CB"
verdict "cdnicb: another edge's certificate is refused (409)" 1 409 --jwks "$T/es.jwks" \
	--cert "$(pki dcdn2-ec.pem)" --now $NOW "$CB"

# --- usage and config errors: exit 2 ---
for args in "" "frobnicate" "verify $SURI" "verify --jwks $T/nonexistent $SURI" \
	"verify --jwks $T/es.jwks" "verify --jwks $T/es.jwks --now yesterday $SURI" \
	"sign --uri $URI" "sign --jwk $T/es.jwks --uri $URI" "sign --jwk $T/es.jwk" \
	"sign --jwk $T/es.jwk --uri $URI --claims [1]" "keygen" "keygen --alg none" \
	"keygen --alg RS256 --bits 1024" "inspect" "bench --seconds 0" "verify --bogus"; do
	run "$U" $args
	is "$rc" 2 "usage error exits 2: cdni-urisign $args"
done
like "$(cat "$T/err")" 'usage: cdni-urisign verify' "a usage error prints the usage"
echo '{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}]}' >"$T/bad.jwks"
run "$U" verify --jwks "$T/bad.jwks" "$SURI"
is "$rc" 2 "a bad key set exits 2"
like "$(cat "$T/err")" 'keys\[0\]: EC key' "...naming the bad key"
for cmd in keygen sign verify inspect bench; do
	run "$U" $cmd --help
	is "$rc/$(head -c 19 "$T/out")" "0/usage: cdni-urisign" "$cmd --help"
done
run "$U" --help
like "$(cat "$T/out")" 'keygen.*' "top-level --help lists the commands"
run "$U" bench --seconds 0.2
is "$rc/$(field .alg)" "0/ES256" "bench runs"

done_testing

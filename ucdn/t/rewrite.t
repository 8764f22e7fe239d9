#!/usr/bin/env bash
# Manifest rewriting end to end (draft §3.2.1), with ffmpeg as the player:
# streams made by ffmpeg at test time (HLS TS, fMP4 with EXT-X-MAP, AES-128
# with EXT-X-KEY, a multivariant playlist, DASH SegmentTemplate and
# SegmentList) on cdni-origin; cdni-ucdn rewrites them so that cdni-dcdn
# serves the segments; ffmpeg plays every HLS variant through the uCDN and
# the access logs (JSON) of the uCDN and the dCDN show who served what: every
# segment from the dCDN, the AES key from the uCDN (keys_on_ucdn), the mixed
# case split by segment parity between the dCDN and the uCDN, per-URI ES256
# tokens enforced by a second dCDN. Decoded frames (framemd5) through the CDNs
# equal those from the origin. Bad manifests (truncated, binary, a huge line,
# invalid XML, billion laughs, too large) get 502 and a log line while the
# uCDN keeps serving. Also: HEAD, Range ignored, Cache-Control, the API mode
# (JSON, JSONP, CORS preflight, errors), CORS on the uCDN's redirects and on
# the dCDN, an HTML page, and -n errors naming rewrite keys.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh"

# Installed by make deps; a machine without them fails here rather than skip.
for tool in ffmpeg jq xmllint; do
	command -v "$tool" >/dev/null || { echo "1..1"; echo "not ok 1 - $tool is installed (make deps)";
		trap - EXIT; exit 1; }
done

W="$T/www"
U="$CDNI_BIN/cdni-urisign"

# ---- test streams (tiny: 160x120, 1 s segments) ---------------------------
ff() { ffmpeg -nostdin -v error -y "$@"; }
SRC=(-f lavfi -i "testsrc=size=160x120:rate=10")
H264=(-c:v libx264 -preset ultrafast -g 10)
HLS=(-f hls -hls_time 1 -hls_playlist_type vod)
mkdir -p "$W/v/ts" "$W/v/fmp4" "$W/v/aes" "$W/v/mix" "$W/v/sig" "$W/v/tpl" "$W/v/list" "$W/v/bad"
ff "${SRC[@]}" -t 3 "${H264[@]}" "${HLS[@]}" -hls_segment_filename "$W/v/ts/seg_%03d.ts" "$W/v/ts/index.m3u8"
ff "${SRC[@]}" -t 3 "${H264[@]}" "${HLS[@]}" -hls_segment_type fmp4 -hls_fmp4_init_filename init.mp4 \
	-hls_segment_filename "$W/v/fmp4/seg_%03d.m4s" "$W/v/fmp4/index.m3u8"
head -c 16 /dev/urandom >"$W/v/aes/enc.key"
printf 'enc.key\n%s\n' "$W/v/aes/enc.key" >"$T/keyinfo"
ff "${SRC[@]}" -t 3 "${H264[@]}" "${HLS[@]}" -hls_key_info_file "$T/keyinfo" \
	-hls_segment_filename "$W/v/aes/seg_%03d.ts" "$W/v/aes/index.m3u8"
ff "${SRC[@]}" -t 3 -map 0:v -map 0:v "${H264[@]}" -b:v:0 100k -b:v:1 200k -s:v:1 320x240 "${HLS[@]}" \
	-master_pl_name master.m3u8 -var_stream_map "v:0 v:1" \
	-hls_segment_filename "$W/v/mv/v%v/seg_%03d.ts" "$W/v/mv/v%v/index.m3u8"
ff "${SRC[@]}" -t 6 "${H264[@]}" "${HLS[@]}" -hls_segment_filename "$W/v/mix/seg_%03d.ts" "$W/v/mix/index.m3u8"
cp "$W/v/ts/"* "$W/v/sig/"
ff "${SRC[@]}" -t 3 -f lavfi -i sine=frequency=440:sample_rate=44100 -t 3 -map 0 -map 1 "${H264[@]}" -c:a aac \
	-f dash -seg_duration 1 -use_template 1 -use_timeline 0 "$W/v/tpl/a.mpd"
ff "${SRC[@]}" -t 3 "${H264[@]}" -f dash -seg_duration 1 -use_template 0 -use_timeline 0 "$W/v/list/a.mpd"
ok "ffmpeg made the test streams" test -s "$W/v/mv/master.m3u8" -a -s "$W/v/list/a.mpd" -a -s "$W/v/tpl/a.mpd"
cat >"$W/v/page.html" <<'EOF'
<!DOCTYPE html><html><head><title>t</title><script src="js/app.js"></script></head>
<body><img src="ts/seg_000.ts" alt="x"><a href="other.html">other</a></body></html>
EOF

# bad manifests
head -c $(( $(stat -c %s "$W/v/ts/index.m3u8") - 4 )) "$W/v/ts/index.m3u8" >"$W/v/bad/truncated.m3u8"
{ echo '#EXTM3U'; head -c 4096 /dev/urandom; } >"$W/v/bad/binary.m3u8"
{ echo '#EXTM3U'; echo '#EXTINF:1,'; head -c 200000 /dev/zero | tr '\0' a; echo; } >"$W/v/bad/hugeline.m3u8"
printf '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n' >"$W/v/bad/novariant.m3u8"
printf '<MPD><Period><AdaptationSet>\n' >"$W/v/bad/invalid.mpd"
head -c 700 "$W/v/tpl/a.mpd" >"$W/v/bad/truncated.mpd"
{
	echo '<?xml version="1.0"?>'
	echo '<!DOCTYPE lolz [<!ENTITY lol "lol">'
	p=lol; for i in 1 2 3 4 5 6 7 8 9; do
		echo "<!ENTITY lol$i \"$(for _ in 1 2 3 4 5 6 7 8 9 10; do printf '&%s;' $p; done)\">"; p=lol$i
	done
	echo ']><MPD><BaseURL>&lol9;</BaseURL></MPD>'
} >"$W/v/bad/laughs.mpd"
head -c 3000000 /dev/zero | tr '\0' '\n' | sed '1s/^/#EXTM3U/' >"$W/v/bad/large.m3u8"

# ---- keys: the uCDN signs, the second dCDN enforces ------------------------
"$U" keygen --alg ES256 --kid ucdn-rw --private "$T/ucdn.jwk" --public "$T/ucdn.jwks" 2>/dev/null
jq -n --slurpfile k "$T/ucdn.jwks" '{"ucdn.test": $k[0]}' >"$T/dkeys.json"

# ---- the cast --------------------------------------------------------------
write_file "$T/origin.json" "{\"listen\":[{\"port\":0}],\"root\":\"$W\",\"cors\":true,
  \"access_log\":\"$T/origin.log\"}"
start_daemon origin cdni-origin "$T/origin.json" || done_testing
O=$(addr origin http)
write_file "$T/dcdn.json" "{\"listen\":[{\"port\":0}],\"upstream\":\"http://$O\",\"cors\":true,
  \"access_log\":\"$T/dcdn.log\"}"
start_daemon dcdn cdni-dcdn "$T/dcdn.json" || done_testing
D=$(addr dcdn http)
write_file "$T/dcdn2.json" "{\"listen\":[{\"port\":0}],\"upstream\":\"http://$O\",
  \"uri_signing\":{\"keys\":\"$T/dkeys.json\",\"issuers\":[\"ucdn.test\"],\"audience\":[\"dcdn2.test\"]},
  \"access_log\":\"$T/dcdn2.log\"}"
start_daemon dcdn2 cdni-dcdn "$T/dcdn2.json" || done_testing
D2=$(addr dcdn2 http)
UCDN_CONF="{\"listen\":[{\"port\":0}],\"origin\":\"http://$O\",\"origin_max_body\":2000000,
  \"cors\":true,\"api_path\":\"/.cdni/api\",\"access_log\":\"$T/ucdn.log\",
  \"rules\":[{\"prefix\":\"/go/\",\"action\":\"redirect\",\"target\":\"http://$D\"}],
  \"rewrite\":{\"prefixes\":[\"/v/\"],
    \"cdns\":[{\"name\":\"edge\",\"base\":\"http://$D\"},
              {\"name\":\"secure\",\"base\":\"http://$D2\",\"sign\":\"uri\"}],
    \"rules\":[
      {\"kinds\":[\"segment\"],\"manifest\":\"/v/mix/\",\"mod\":2,\"rem\":1,\"cdn\":\"ucdn\"},
      {\"kinds\":[\"segment\",\"init\"],\"manifest\":\"/v/sig/\",\"cdn\":\"secure\"},
      {\"kinds\":[\"segment\",\"init\",\"index\",\"key\",\"asset\",\"api\"],\"cdn\":\"edge\"}],
    \"signing\":{\"key\":\"$T/ucdn.jwk\",\"issuer\":\"ucdn.test\",\"audience\":\"dcdn2.test\",
                 \"lifetime\":120}}}"
write_file "$T/ucdn.json" "$UCDN_CONF"
start_daemon ucdn cdni-ucdn "$T/ucdn.json" || done_testing
UC=$(addr ucdn http)

# ---- helpers ----------------------------------------------------------------
# play NAME URL: ffmpeg reads every stream of URL (HLS: every variant)
play() {
	timeout 60 ffmpeg -nostdin -v verbose -i "$2" -map 0 -c copy -f null - >"$T/$1.ff" 2>&1
}
opened() { grep -o "Opening '[^']*' for reading" "$T/$1.ff" | sed "s/^Opening '//; s/' for reading$//"; }
# logged LOG 200 REGEX: sorted paths (no query) of requests served (200, or 206:
# ffmpeg asks for "bytes=0-")
logged() { jq -r 'select(.status==200 or .status==206) | .uri' "$T/$1.log" | sed 's/?.*//' | grep -E "$3" | sort; }
files() { (cd "$W" && ls $1 | sed 's|^|/|') | sort; }
settle() { sleep 0.2; }

# ---- HLS TS: every segment from the dCDN ------------------------------------
ok "ffmpeg plays HLS TS through the uCDN" play ts "http://$UC/v/ts/index.m3u8"
settle
is "$(logged dcdn 200 '^/v/ts/.*\.ts$')" "$(files 'v/ts/*.ts')" "ts: every segment came from the dCDN (its access log)"
is "$(logged ucdn 200 '^/v/ts/')" "/v/ts/index.m3u8" "ts: the uCDN served the playlist only"
like "$(jq -r 'select(.uri=="/v/ts/index.m3u8") | .note' "$T/ucdn.log")" "^rewritten hls: 3 URIs, 3 to dCDNs" \
	"ts: the uCDN's log says it rewrote 3 URIs"
is "$(opened ts | grep -c "^http://$D/v/ts/seg_")" 3 "ts: ffmpeg opened 3 segments on the dCDN"

# ---- fMP4 with EXT-X-MAP ----------------------------------------------------
ok "ffmpeg plays HLS fMP4 through the uCDN" play fmp4 "http://$UC/v/fmp4/index.m3u8"
settle
is "$(logged dcdn 200 '^/v/fmp4/')" "$(files 'v/fmp4/*.m4s v/fmp4/init.mp4')" \
	"fmp4: the init segment (EXT-X-MAP) and every segment from the dCDN"

# ---- AES-128: the key stays on the uCDN, frames decode the same -------------
ok "ffmpeg plays HLS AES-128 through the uCDN" play aes "http://$UC/v/aes/index.m3u8"
settle
is "$(logged ucdn 200 '^/v/aes/')" "$(printf '/v/aes/enc.key\n/v/aes/index.m3u8')" \
	"aes: the uCDN served the playlist and the key (keys_on_ucdn)"
is "$(logged dcdn 200 '^/v/aes/')" "$(files 'v/aes/*.ts')" "aes: every segment from the dCDN, no key"
md5() { timeout 60 ffmpeg -nostdin -v error -i "$1" -map 0 -f framemd5 - 2>/dev/null | grep -v '^#'; }
direct=$(md5 "http://$O/v/aes/index.m3u8")
through=$(md5 "http://$UC/v/aes/index.m3u8")
ok "aes: frames decoded from the origin" test -n "$direct"
is "$through" "$direct" "aes: the same frames (framemd5) through the uCDN and the dCDN"

# ---- multivariant: every variant --------------------------------------------
ok "ffmpeg plays every variant of a multivariant playlist" play mv "http://$UC/v/mv/master.m3u8"
settle
is "$(logged ucdn 200 '^/v/mv/')" "$(printf '/v/mv/master.m3u8\n/v/mv/v0/index.m3u8\n/v/mv/v1/index.m3u8')" \
	"mv: the uCDN served (and rewrote) the multivariant and both media playlists"
is "$(logged dcdn 200 '^/v/mv/')" "$(files 'v/mv/v*/*.ts')" "mv: the segments of both variants from the dCDN"
is "$(grep -c '^#EXT-X-STREAM-INF' "$T/mv.ff" 2>/dev/null; curl -s "http://$UC/v/mv/master.m3u8" | grep -A1 STREAM-INF | grep -c '^v[01]/index.m3u8')" \
	"$(printf '0\n2')" "mv: variant URIs stay relative (on the uCDN)"

# ---- the mixed case: odd segments on the uCDN, even on the dCDN -------------
ok "ffmpeg plays the mixed stream" play mix "http://$UC/v/mix/index.m3u8"
settle
all=$(files 'v/mix/*.ts')
is "$(logged dcdn 200 '^/v/mix/.*\.ts$')" "$(echo "$all" | grep -E '[02468]\.ts$')" "mix: the dCDN served the even segments"
is "$(logged ucdn 200 '^/v/mix/.*\.ts$')" "$(echo "$all" | grep -E '[13579]\.ts$')" "mix: the uCDN served the odd ones"
is "$(echo "$all" | wc -l)" 6 "mix: 6 segments in all"

# ---- per-URI ES256 tokens, enforced by the second dCDN ----------------------
ok "ffmpeg plays the signed stream" play sig "http://$UC/v/sig/index.m3u8"
settle
is "$(logged dcdn2 200 '^/v/sig/')" "$(files 'v/sig/*.ts')" "sig: every segment from the enforcing dCDN"
is "$(jq -r 'select(.uri|startswith("/v/sig/")) | .uri_signing' "$T/dcdn2.log" | sort -u)" 200 \
	"sig: each with a verified token (uri_signing 200)"
pl=$(curl -s "http://$UC/v/sig/index.m3u8")
first=$(echo "$pl" | grep -m1 '^http')
second=$(echo "$pl" | grep '^http' | sed -n 2p)
is "$(curl -s -o /dev/null -w '%{http_code}' "${first%%\?*}")" 403 "sig: a segment without its token: 403"
is "$(curl -s -o /dev/null -w '%{http_code}' "${second%%\?*}?${first#*\?}")" 403 \
	"sig: a segment with another segment's token: 403"
is "$("$U" inspect "$first" | jq -r '.claims | [.iss, .aud, (.exp - now | . > 60 and . <= 121)] | @tsv')" \
	"$(printf 'ucdn.test\tdcdn2.test\ttrue')" "sig: iss, aud and exp (lifetime 120) of the tokens"
ok "sig: two fetches of the playlist carry different tokens (made per request)" \
	test "$(curl -s "http://$UC/v/sig/index.m3u8" | grep -m1 '^http')" != "$first"

# ---- DASH: SegmentTemplate and SegmentList ----------------------------------
mpd=$(curl -s "http://$UC/v/tpl/a.mpd")
ok "tpl: the rewritten MPD is XML" sh -c 'echo "$1" | xmllint --noout -' - "$mpd"
media=$(echo "$mpd" | xmllint --xpath 'string(//*[local-name()="Representation"][@id="0"]/*[local-name()="SegmentTemplate"]/@media)' -)
init=$(echo "$mpd" | xmllint --xpath 'string(//*[local-name()="Representation"][@id="0"]/*[local-name()="SegmentTemplate"]/@initialization)' -)
is "$media" "http://$D/v/tpl/chunk-stream\$RepresentationID\$-\$Number%05d\$.m4s" \
	"tpl: media template absolute on the dCDN, identifiers and format tag intact"
codes=""
for n in 1 2 3; do
	u=$(printf '%s' "$media" | sed "s/\\\$RepresentationID\\\$/0/; s/\\\$Number%05d\\\$/$(printf %05d $n)/")
	codes="$codes$(curl -s -o /dev/null -w '%{http_code} ' "$u")"
done
codes="$codes$(curl -s -o /dev/null -w '%{http_code}' "${init//\$RepresentationID\$/0}")"
is "$codes" "200 200 200 200" "tpl: every expansion (and the init) answers 200 from the dCDN"
mpd=$(curl -s "http://$UC/v/list/a.mpd")
urls=$(echo "$mpd" | xmllint --xpath '//*[local-name()="SegmentURL"]/@media | //*[local-name()="Initialization"]/@sourceURL' - |
	sed 's/ [a-zA-Z]*="/\n/g; s/"//g' | grep http)
is "$(echo "$urls" | grep -c "^http://$D/v/list/")" 4 "list: 3 SegmentURLs and the Initialization on the dCDN"
is "$(for u in $urls; do curl -s -o /dev/null -w '%{http_code}\n' "$u"; done | sort -u)" 200 "list: each answers 200"

# ---- what the uCDN answers --------------------------------------------------
hdr() { curl -s -D - -o /dev/null "${@:2}" | tr -d '\r' | grep -i "^$1:" | head -n1 | sed 's/^[^:]*: //'; }
is "$(hdr Content-Type "http://$UC/v/ts/index.m3u8")" "application/vnd.apple.mpegurl" "Content-Type of HLS"
is "$(hdr Content-Type "http://$UC/v/tpl/a.mpd")" "application/dash+xml" "Content-Type of DASH"
is "$(hdr Cache-Control "http://$UC/v/ts/index.m3u8")" "no-store" "Cache-Control no-store (tokens are per client)"
is "$(hdr ETag "http://$UC/v/ts/index.m3u8")" "" "no ETag (the body is not the origin's)"
len=$(curl -s "http://$UC/v/ts/index.m3u8" | wc -c)
is "$(hdr Content-Length -I "http://$UC/v/ts/index.m3u8")" "$len" "HEAD: the rewritten length"
is "$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -H 'Range: bytes=0-9' "http://$UC/v/ts/index.m3u8")" \
	"200 $len" "Range on a rewritten manifest: the whole (200)"
is "$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -H 'Range: bytes=0-9' "http://$UC/v/ts/seg_000.ts")" \
	"206 10" "Range on a segment the uCDN serves still works"
is "$(hdr Access-Control-Allow-Origin "http://$UC/v/ts/index.m3u8")" "*" "CORS on rewritten answers"
is "$(hdr Access-Control-Allow-Origin "http://$UC/go/x.ts")" "*" "CORS on the uCDN's redirects"
is "$(hdr Access-Control-Allow-Methods -X OPTIONS "http://$UC/v/ts/index.m3u8")" "GET, HEAD, OPTIONS" \
	"uCDN preflight: Allow-Methods"
is "$(hdr Access-Control-Allow-Origin "http://$D/v/ts/seg_000.ts")" "*" "CORS on the dCDN (cors: true)"
is "$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS "http://$D/v/ts/seg_000.ts")" 204 "dCDN preflight: 204"
is "$(hdr Access-Control-Allow-Headers -X OPTIONS "http://$D/v/ts/seg_000.ts")" \
	"Range, If-None-Match, If-Modified-Since, If-Range" "dCDN preflight: Allow-Headers"
is "$(hdr Access-Control-Allow-Origin "http://$D2/v/ts/seg_000.ts")" "" "no CORS on a dCDN without cors"
page=$(curl -s "http://$UC/v/page.html")
like "$page" "<img src=\"http://$D/v/ts/seg_000.ts\" alt=\"x\">" "html: img src rewritten to the dCDN"
like "$page" '<a href="other.html">other</a>' "html: links stay (default_cdn ucdn)"
like "$page" "<script src=\"http://$D/v/js/app.js\"></script>" "html: script src rewritten"

# ---- the API mode -----------------------------------------------------------
api=$(curl -s "http://$UC/.cdni/api?url=/v/ts/seg_001.ts")
is "$(echo "$api" | jq -c '[.url, .cdn, .token]')" "[\"http://$D/v/ts/seg_001.ts\",\"edge\",null]" "api: URL and CDN"
api=$(curl -s "http://$UC/.cdni/api?url=%2Fv%2Fsig%2Fseg_001.ts&kind=segment")
is "$(echo "$api" | jq -r .cdn)" edge "api: kind segment for /v/sig/ is not the manifest rule's"
is "$(hdr Access-Control-Allow-Origin "http://$UC/.cdni/api?url=/v/a")" "*" "api: CORS"
is "$(hdr Content-Type "http://$UC/.cdni/api?url=/v/a")" "application/json" "api: JSON"
is "$(curl -s "http://$UC/.cdni/api?url=/v/a&callback=cdn.cb")" "/**/cdn.cb({\"url\":\"http://$D/v/a\",\"cdn\":\"edge\",\"token\":null,\"expires\":null});" \
	"api: JSONP"
is "$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS "http://$UC/.cdni/api")" 204 "api: preflight 204"
is "$(curl -s -w ' %{http_code}' "http://$UC/.cdni/api")" '{"status":400,"error":"url: a path or an absolute URL is required"} 400' \
	"api: no url: 400 with a reason"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://$UC/.cdni/api?url=http://elsewhere.example/x")" 400 \
	"api: another site's URL: 400"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://$UC/.cdni/api?url=/v/a&callback=alert(1)")" 400 \
	"api: a callback that is not a name: 400"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://$UC/.cdni/api?url=/v/a&kind=weird")" 400 "api: unknown kind: 400"
is "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://$UC/.cdni/api?url=/v/a")" 405 "api: DELETE: 405"

# ---- bad manifests: 502, a log line, the uCDN keeps serving ----------------
for b in truncated.m3u8:"no line end" binary.m3u8:"binary data or invalid UTF-8" \
	 hugeline.m3u8:"longer than max_line" novariant.m3u8:"without its URI line" \
	 invalid.mpd:"invalid XML" truncated.mpd:"invalid XML" laughs.mpd:"DOCTYPE"; do
	f=${b%%:*} why=${b#*:}
	t0=$(date +%s%N)
	is "$(curl -s -o "$T/bad.body" -w '%{http_code}' "http://$UC/v/bad/$f")" 502 "bad $f: 502"
	ok "bad $f: answered within 2 s" test $(( ($(date +%s%N) - t0) / 1000000 )) -lt 2000
	like "$(cat "$T/bad.body")" "manifest refused" "bad $f: the answer says why"
	wait_for 5 grep -q "/v/bad/$f: manifest refused (.*$why" "$T/ucdn.err"
	like "$(grep "/v/bad/$f" "$T/ucdn.err")" "manifest refused \\(.*$why.*-> 502" "bad $f: log line names the reason"
	is "$(curl -s -o /dev/null -w '%{http_code}' "http://$UC/v/ts/index.m3u8")" 200 "bad $f: the uCDN still serves"
done
is "$(curl -s -o /dev/null -w '%{http_code}' "http://$UC/v/bad/large.m3u8")" 502 "a manifest over origin_max_body: 502"
like "$(grep /v/bad/large.m3u8 "$T/ucdn.err")" "larger than origin_max_body" "... logged"

# ---- -n: rewrite keys named in errors ----------------------------------------
bad_conf() { # EDIT (jq) -> message
	echo "$UCDN_CONF" | jq "$1" >"$T/bad.json"
	"$CDNI_BIN/cdni-ucdn" -n -c "$T/bad.json" 2>&1
}
like "$(bad_conf '.rewrite.rules[0].cdn="nope"')" "rewrite.rules\\[0\\].cdn: no CDN named \"nope\"" "-n: unknown cdn"
like "$(bad_conf '.rewrite.cdns[0].base="ftp://x"')" "rewrite.cdns\\[0\\].base" "-n: bad base"
like "$(bad_conf '.rewrite.signing.key="/nonexistent"')" "rewrite.signing.key" "-n: unreadable key"
like "$(bad_conf '.rewrite.prefixes=["v"]')" "rewrite.prefixes\\[0\\]: must start with /" "-n: bad prefix"
like "$(bad_conf '.api_path="api"')" "api_path: must be a path" "-n: bad api_path"
like "$(bad_conf '.rewrite.rulez=[]')" "rewrite.rulez: unknown key" "-n: unknown rewrite key"
like "$(bad_conf 'del(.origin) | .default_action="refuse"')" "rewrite.prefixes: rewriting needs an origin" \
	"-n: rewriting without an origin"
ok "-n: the test config is accepted" "$CDNI_BIN/cdni-ucdn" -n -c "$T/ucdn.json"

# ---- the scenario of this flow passes ------------------------------------------
"$CDNI_BIN/cdni-scenario" -o "$T/scenario" "$CDNI_TOP/scenarios/cases/manifest-rewrite.json" >"$T/scenario.out" 2>&1
is "$?" 0 "scenarios/cases/manifest-rewrite.json passes"
like "$(tail -n 1 "$T/scenario.out")" '^[0-9]+ passed, 0 failed$' "every check of it"

done_testing

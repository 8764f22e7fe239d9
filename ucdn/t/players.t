#!/usr/bin/env bash
# Real players in a real browser: hls.js and dash.js (npm, installed into
# build/npm at test time) in headless Chromium (Debian's, driven through
# playwright-core by ucdn/t/players/play.js) play to the end through
# cdni-ucdn's rewritten manifests, over HTTPS, across origins: the page comes
# from player.csp.test, the manifests from www.csp.test (the uCDN), the
# segments from edge.dcdn.test and secure.dcdn.test (two cdni-dcdn, the
# second enforcing RFC 9246 tokens), so CORS must hold on every server,
# the uCDN's redirects included. The access logs say who served what:
#   hls.js, multivariant TS: odd segments from the uCDN, even ones from the
#     enforcing dCDN with per-URI ES256 tokens (the mixed case);
#   dash.js, SegmentTemplate (video and audio): every segment from the
#     enforcing dCDN, with tokens whose regex containers cover the templates;
#   dash.js, SegmentList: odd segments from the uCDN, even ones from the dCDN;
#   hls.js through a 302 of the uCDN to the dCDN (CORS on the redirector).
# This test needs chromium, node and npm (make deps) and the npm registry the
# first time; without them it fails, it does not skip.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh"

HERE="$CDNI_TOP/ucdn/t/players"
NPM="${CDNI_NPM:-$CDNI_TOP/build/npm}" # shared by the sanitizer build
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
missing=""
for tool in ffmpeg jq node npm; do command -v "$tool" >/dev/null || missing="$missing $tool"; done
[ -n "$CHROMIUM" ] || missing="$missing chromium"
if [ -n "$missing" ]; then
	echo "1..1"; echo "not ok 1 - installed:$missing (make deps)"; trap - EXIT; exit 1
fi
if [ ! -f "$NPM/node_modules/playwright-core/package.json" ] || [ ! -f "$NPM/node_modules/hls.js/package.json" ] ||
   [ ! -f "$NPM/node_modules/dashjs/package.json" ]; then
	npm install --prefix "$NPM" --no-audit --no-fund --loglevel=error \
		hls.js@1 dashjs@5 playwright-core@1 >"$T/npm.log" 2>&1
fi
ok "hls.js, dash.js and playwright-core are installed in build/npm" \
	test -f "$NPM/node_modules/hls.js/dist/hls.min.js" -a -f "$NPM/node_modules/dashjs/dist/modern/umd/dash.all.min.js" \
	     -a -f "$NPM/node_modules/playwright-core/package.json"
[ -f "$NPM/node_modules/playwright-core/package.json" ] || { diag "$(tail -n 20 "$T/npm.log")"; done_testing; }

# ---- streams ---------------------------------------------------------------
W="$T/www"
ff() { ffmpeg -nostdin -v error -y "$@"; }
SRC=(-f lavfi -i "testsrc=size=160x120:rate=10")
AUD=(-f lavfi -i "sine=frequency=440:sample_rate=44100")
H264=(-c:v libx264 -preset ultrafast -profile:v baseline -pix_fmt yuv420p -g 10)
HLS=(-f hls -hls_time 1 -hls_playlist_type vod)
mkdir -p "$W/v/hls" "$W/v/dash" "$W/v/dlist" "$W/r/ts"
ff "${SRC[@]}" -t 4 -map 0:v -map 0:v "${H264[@]}" -b:v:0 100k -b:v:1 200k -s:v:1 320x240 "${HLS[@]}" \
	-master_pl_name master.m3u8 -var_stream_map "v:0 v:1" \
	-hls_segment_filename "$W/v/hls/v%v/seg_%03d.ts" "$W/v/hls/v%v/index.m3u8"
ff "${SRC[@]}" -t 4 "${AUD[@]}" -t 4 -map 0 -map 1 "${H264[@]}" -c:a aac -b:a 64k \
	-f dash -seg_duration 1 -use_template 1 -use_timeline 0 -adaptation_sets "id=0,streams=v id=1,streams=a" \
	"$W/v/dash/a.mpd"
ff "${SRC[@]}" -t 4 "${H264[@]}" -f dash -seg_duration 1 -use_template 0 -use_timeline 0 "$W/v/dlist/a.mpd"
ff "${SRC[@]}" -t 3 "${H264[@]}" "${HLS[@]}" -hls_segment_filename "$W/r/ts/seg_%03d.ts" "$W/r/ts/index.m3u8"
ok "ffmpeg made the streams" test -s "$W/v/hls/master.m3u8" -a -s "$W/v/dash/a.mpd" -a -s "$W/v/dlist/a.mpd"
mkdir -p "$T/page"
cp "$HERE/page.html" "$T/page/page.html"
cp "$NPM/node_modules/hls.js/dist/hls.min.js" "$NPM/node_modules/dashjs/dist/modern/umd/dash.all.min.js" "$T/page/"

# ---- keys -------------------------------------------------------------------
"$CDNI_BIN/cdni-urisign" keygen --alg ES256 --kid ucdn-rw --private "$T/ucdn.jwk" --public "$T/ucdn.jwks" 2>/dev/null
jq -n --slurpfile k "$T/ucdn.jwks" '{"ucdn.test": $k[0]}' >"$T/dkeys.json"
spki() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64; }
SPKI="$(spki "$(pki csp-ec.pem)"),$(spki "$(pki dcdn-ec.pem)")"

# ---- the cast: content origin (plain HTTP, only CDNs reach it), page origin,
# ---- two dCDNs, the uCDN; every browser-facing one over HTTPS with CORS -------
tls() { echo "{\"port\":0,\"tls\":true,\"cert\":\"$(pki "$1".chain.pem)\",\"key\":\"$(pki "$1".key)\"}"; }
write_file "$T/origin.json" "{\"listen\":[{\"port\":0}],\"root\":\"$W\",\"access_log\":\"$T/origin.log\"}"
start_daemon origin cdni-origin "$T/origin.json" || done_testing
write_file "$T/page.json" "{\"listen\":[$(tls csp-ec)],\"root\":\"$T/page\",\"access_log\":\"off\"}"
start_daemon page cdni-origin "$T/page.json" || done_testing
write_file "$T/edge.json" "{\"listen\":[$(tls dcdn-ec)],\"upstream\":\"http://$(addr origin http)\",
  \"cors\":true,\"access_log\":\"$T/edge.log\"}"
start_daemon edge cdni-dcdn "$T/edge.json" || done_testing
write_file "$T/secure.json" "{\"listen\":[$(tls dcdn-ec)],\"upstream\":\"http://$(addr origin http)\",
  \"cors\":true,\"uri_signing\":{\"keys\":\"$T/dkeys.json\",\"issuers\":[\"ucdn.test\"],
  \"audience\":[\"secure.dcdn.test\"]},\"access_log\":\"$T/secure.log\"}"
start_daemon secure cdni-dcdn "$T/secure.json" || done_testing
EDGE="https://edge.dcdn.test:$(port edge https)"
SECURE="https://secure.dcdn.test:$(port secure https)"
write_file "$T/ucdn.json" "{\"listen\":[$(tls csp-ec)],\"origin\":\"http://$(addr origin http)\",
  \"cors\":true,\"access_log\":\"$T/ucdn.log\",
  \"rules\":[{\"prefix\":\"/r/\",\"action\":\"redirect\",\"target\":\"$EDGE\"}],
  \"rewrite\":{\"prefixes\":[\"/v/\"],
    \"cdns\":[{\"name\":\"edge\",\"base\":\"$EDGE\"},{\"name\":\"secure\",\"base\":\"$SECURE\",\"sign\":\"uri\"}],
    \"rules\":[
      {\"kinds\":[\"segment\"],\"manifest\":\"/v/hls/\",\"mod\":2,\"rem\":1,\"cdn\":\"ucdn\"},
      {\"kinds\":[\"segment\",\"init\"],\"manifest\":\"/v/hls/\",\"cdn\":\"secure\"},
      {\"kinds\":[\"segment\"],\"manifest\":\"/v/dlist/\",\"mod\":2,\"rem\":1,\"cdn\":\"ucdn\"},
      {\"kinds\":[\"segment\",\"init\"],\"manifest\":\"/v/dlist/\",\"cdn\":\"edge\"},
      {\"kinds\":[\"segment\",\"init\"],\"manifest\":\"/v/dash/\",\"cdn\":\"secure\"}],
    \"signing\":{\"key\":\"$T/ucdn.jwk\",\"issuer\":\"ucdn.test\",\"audience\":\"secure.dcdn.test\"}}}"
start_daemon ucdn cdni-ucdn "$T/ucdn.json" || done_testing
UCDN="https://www.csp.test:$(port ucdn https)"
PAGE="https://player.csp.test:$(port page https)/page.html"

# play NAME PLAYER MANIFEST_URL: the player in Chromium; $T/NAME.json is the result
play() {
	local src
	src=$(jq -rn --arg s "$3" '$s|@uri')
	timeout 120 node "$HERE/play.js" "$NPM" "$CHROMIUM" "$PAGE?p=$2&src=$src" "$SPKI" 60000 >"$T/$1.json" 2>"$T/$1.err"
}
result() { jq -r "$2" "$T/$1.json" 2>/dev/null; }
explain() { diag "$(jq -r '.why, (.log // [] | .[-15:][]), (.console // [] | .[-10:][]), (.requests // [] | map(select(.status != 200 and .status != 206)) | .[:10][] | "\(.status) \(.url)")' "$T/$1.json" 2>/dev/null)" "$(tail -n 5 "$T/$1.err")"; }
# served LOG REGEX: sorted paths of requests answered 200/206
served() { jq -r 'select(.status==200 or .status==206) | .uri' "$T/$1.log" | sed 's/?.*//' | grep -E "$2" | sort -u; }
numbers() { sed -E 's/.*[-_]0*([0-9]+)\.(ts|m4s)$/\1/' | sort -un | tr '\n' ' '; }
settle() { sleep 0.3; }

# ---- hls.js: the mixed case with tokens --------------------------------------
play hls hls "$UCDN/v/hls/master.m3u8"; rc=$?
is "$rc $(result hls .ok)" "0 true" "hls.js played the multivariant stream to the end" || explain hls
ok "hls.js: it played all of it ($(result hls .currentTime) of $(result hls .duration) s)" \
	awk -v t="$(result hls .currentTime)" -v d="$(result hls .duration)" 'BEGIN { exit !(d > 3.5 && t >= d - 0.5) }'
settle
like "$(served ucdn '^/v/hls/.*m3u8$' | tr '\n' ' ')" "^/v/hls/master.m3u8 /v/hls/v0/index.m3u8 (/v/hls/v1/index.m3u8 )?$" \
	"hls.js: the uCDN served the multivariant and the variants it chose (v0 first)"
is "$(jq -r 'select(.uri|test("^/v/hls/.*m3u8$")) | .note' "$T/ucdn.log" | sed 's/:.*//' | sort -u)" "rewritten hls" \
	"hls.js: ... each of them rewritten"
even=$(served secure '^/v/hls/.*\.ts$')
odd=$(served ucdn '^/v/hls/.*\.ts$')
is "$(echo "$even" | numbers)" "0 2 " "hls.js: the enforcing dCDN served segments 0 and 2"
is "$(echo "$odd" | numbers)" "1 3 " "hls.js: the uCDN served segments 1 and 3"
is "$(jq -r 'select(.uri|startswith("/v/hls/")) | "\(.status) \(.uri_signing)"' "$T/secure.log" | sort -u)" \
	"200 200" "hls.js: every request to the dCDN carried a valid token (uri_signing 200)"
is "$(result hls '[.requests[] | select(.status == 0)] | length')" 0 "hls.js: no request failed (CORS held)"

# ---- dash.js: SegmentTemplate, video and audio, every segment with a token ----
play dash dash "$UCDN/v/dash/a.mpd"; rc=$?
is "$rc $(result dash .ok)" "0 true" "dash.js played the SegmentTemplate MPD to the end" || explain dash
settle
is "$(served secure '^/v/dash/init-stream[01]\.m4s$' | tr '\n' ' ')" "/v/dash/init-stream0.m4s /v/dash/init-stream1.m4s " \
	"dash.js: both init segments from the enforcing dCDN"
is "$(served secure '^/v/dash/chunk-stream0-' | numbers)" "1 2 3 4 " "dash.js: every video segment from the dCDN"
is "$(served secure '^/v/dash/chunk-stream1-' | numbers)" "1 2 3 4 " "dash.js: every audio segment from the dCDN"
is "$(served ucdn '^/v/dash/' | tr '\n' ' ')" "/v/dash/a.mpd " "dash.js: the uCDN served the MPD only"
is "$(jq -r 'select(.uri|startswith("/v/dash/")) | "\(.status) \(.uri_signing)"' "$T/secure.log" | sort -u)" \
	"200 200" "dash.js: template tokens (regex containers) verified for every expansion"

# ---- dash.js: SegmentList, the mixed case ------------------------------------
play dlist dash "$UCDN/v/dlist/a.mpd"; rc=$?
is "$rc $(result dlist .ok)" "0 true" "dash.js played the SegmentList MPD to the end" || explain dlist
settle
is "$(served edge '^/v/dlist/chunk' | numbers)" "2 4 " "dash.js SegmentList: the dCDN served segments 2 and 4"
is "$(served ucdn '^/v/dlist/chunk' | numbers)" "1 3 " "dash.js SegmentList: the uCDN served segments 1 and 3"
is "$(served edge '^/v/dlist/init')" "/v/dlist/init-stream0.m4s" "dash.js SegmentList: the init from the dCDN"

# ---- hls.js through the uCDN's 302 (CORS on the redirector) ------------------
play redirect hls "$UCDN/r/ts/index.m3u8"; rc=$?
is "$rc $(result redirect .ok)" "0 true" "hls.js followed the uCDN's 302 and played from the dCDN" || explain redirect
settle
is "$(jq -r 'select(.uri=="/r/ts/index.m3u8") | .status' "$T/ucdn.log" | sort -u)" 302 "the uCDN answered 302"
is "$(served edge '^/r/ts/' | tr '\n' ' ')" "/r/ts/index.m3u8 /r/ts/seg_000.ts /r/ts/seg_001.ts /r/ts/seg_002.ts " \
	"the dCDN served the playlist and every segment"

done_testing

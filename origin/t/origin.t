#!/usr/bin/env bash
# cdni-origin against real clients: curl over HTTP and HTTPS, openssl s_client,
# raw bytes over /dev/tcp. Bodies, ranges, validators, 304s, types,
# Cache-Control, CORS, refusals (traversal, methods, malformed requests), the
# config check, and the access log.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh" || exit 1

H=origin.csp.test
W=$T/www

# ---- content ----
mkdir -p "$W/sub" "$W/noindex" "$W/live" "$W/vod"
head -c 3000000 /dev/urandom >"$W/a.ts"
SIZE=$(stat -c %s "$W/a.ts")
printf '#EXTM3U\n#EXT-X-TARGETDURATION:2\n' >"$W/live/index.m3u8"
printf '<MPD/>\n' >"$W/vod/manifest.mpd"
head -c 1000 /dev/urandom >"$W/vod/seg1.m4s"
head -c 1000 /dev/urandom >"$W/vod/init.mp4"
head -c 1000 /dev/urandom >"$W/vod/seg1.ts"
printf '<p>origin</p>\n' >"$W/index.html"
printf '<p>sub</p>\n' >"$W/sub/index.html"
printf '{"ok":true}\n' >"$W/data.json"
printf 'do not serve me\n' >"$T/secret.txt"
ln -s a.ts "$W/in.ts"
ln -s /etc/passwd "$W/passwd"
ln -s ../secret.txt "$W/secret"
ln -s .. "$W/up"

CERT=$(pki origin-ec.pem)
KEY=$(pki origin-ec.key)
CA=$(pki ca.pem)

# ---- the config check (-n) and help ----
conf() { # extra keys after root
	printf '{"listen":[{"port":0},{"port":0,"tls":true,"cert":"%s","key":"%s"}],"root":"%s"%s}\n' \
		"$CERT" "$KEY" "$W" "${1:+,$1}"
}
check() { # FILE -> "rc|stderr"
	local out rc
	out=$("$CDNI_BIN/cdni-origin" -n -c "$1" 2>&1); rc=$?
	printf '%s|%s' "$rc" "$out"
}
conf '"cors":true' >"$T/good.json"
like "$(check "$T/good.json")" '^0\|.*config OK' "-n accepts a good config"
printf '{"listen":[{"port":70000}],"root":"%s"}\n' "$W" >"$T/bad-port.json"
like "$(check "$T/bad-port.json")" '^1\|.*bad-port.json: listen\[0\]\.port: must be an integer in 0\.\.65535, got 70000' \
	"-n: bad port exits 1 naming listen[0].port"
printf '{"listen":[{"port":0}],"root":"%s/nonexistent"}\n' "$T" >"$T/bad-root.json"
like "$(check "$T/bad-root.json")" "^1\|.*root: '$T/nonexistent'" "-n: missing root exits 1 naming root"
printf '{"listen":[{"port":0}],"root":"%s"}\n' "$W/a.ts" >"$T/file-root.json"
like "$(check "$T/file-root.json")" '^1\|.*root: .* is not a directory' "-n: root that is a file refused"
printf '{"listen":[{"port":0,"tls":true,"cert":"%s"}],"root":"%s"}\n' "$CERT" "$W" >"$T/no-key.json"
like "$(check "$T/no-key.json")" '^1\|.*listen\[0\]: tls needs both cert and key' "-n: tls without key refused"
printf '{"listen":[{"port":0,"tls":true,"cert":"%s","key":"%s/none.key"}],"root":"%s"}\n' "$CERT" "$T" "$W" >"$T/bad-key.json"
like "$(check "$T/bad-key.json")" '^1\|.*listen\[0\]\.key: ' "-n: unreadable key named listen[0].key"
conf '"rules":[{"ext":"m3u8"}]' >"$T/bad-rule.json"
like "$(check "$T/bad-rule.json")" '^1\|.*rules\[0\]\.cache_control: is required' "-n: rule without cache_control refused"
conf '"cros":true' >"$T/typo.json"
like "$(check "$T/typo.json")" '^1\|.*cros: unknown key' "-n: misspelt key refused"
printf '{"listen":[{"port":0}],' >"$T/broken.json"
like "$(check "$T/broken.json")" '^1\|.*broken.json:' "-n: broken JSON refused with the file name"
help=$("$CDNI_BIN/cdni-origin" -h); rc=$?
ok "-h exits 0" test "$rc" = 0
like "$help" 'cache_control' "-h lists the config keys"
like "$help" 'cors_origin' "-h lists cors_origin"

# ---- start: HTTP + HTTPS, an epoll pool, CORS, Cache-Control rules ----
conf "\"cors\":true,\"access_log\":\"$T/access.log\",\"threads\":2,\"cache_control\":\"public, max-age=60\",
 \"rules\":[{\"ext\":\"m3u8\",\"cache_control\":\"max-age=2\"},
           {\"prefix\":\"/vod/\",\"cache_control\":\"public, max-age=86400\"}]" >"$T/origin.json"
start_daemon origin cdni-origin "$T/origin.json" || { done_testing; }
like "${_ready[origin]}" '^http=127\.0\.0\.1:[0-9]+ https=127\.0\.0\.1:[0-9]+$' "readiness line names both bound listeners"
P=$(port origin http)
S=$(port origin https)
ok "port 0 gave real ports" test "$P" -gt 0 -a "$S" -gt 0 -a "$P" != "$S"
U="http://127.0.0.1:$P"
US="https://$H:$S"
cs() { curl -s --cacert "$CA" --resolve "$H:$S:127.0.0.1" "$@"; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
hdr() { # NAME CURL-ARGS... : the value of a response header
	local name=$1; shift
	curl -s -D - -o /dev/null "$@" | tr -d '\r' | grep -i "^$name:" | head -n1 | cut -d' ' -f2-
}
sha() { sha256sum | cut -d' ' -f1; }
jsonl() { # FILE KEY... : per line the values joined by spaces; BAD for a line that is not a JSON object
	python3 - "$@" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    try:
        o = json.loads(line)
        assert isinstance(o, dict)
    except Exception:
        print("BAD")
        continue
    print(" ".join(str(o.get(k, "-")) for k in sys.argv[2:]))
EOF
}
WANT=$(sha <"$W/a.ts")

# ---- bodies ----
is "$(curl -s "$U/a.ts" | sha)" "$WANT" "HTTP GET: body equals the file (sha256, $SIZE bytes)"
is "$(cs "$US/a.ts" | sha)" "$WANT" "HTTPS GET: body equals the file"
is "$(code "$U/a.ts")" 200 "GET -> 200"
is "$(hdr Content-Length -I "$U/a.ts")" "$SIZE" "HEAD: Content-Length is the size"
is "$(hdr Content-Length -I --cacert "$CA" --resolve "$H:$S:127.0.0.1" "$US/a.ts")" "$SIZE" "HTTPS HEAD: Content-Length"

raw() { # PORT REQUEST (printf %b escapes) : the raw response bytes on stdout
	( exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
	  printf '%b' "$2" >&3
	  timeout 5 cat <&3 ) 2>/dev/null
}
raw "$P" "HEAD /a.ts HTTP/1.1\r\nHost: $H\r\nConnection: close\r\n\r\n" >"$T/head.out"
hlen=$(sed -n '1,/^\r$/p' "$T/head.out" | wc -c)
is "$(( $(stat -c %s "$T/head.out") - hlen ))" 0 "HEAD over raw TCP: no body after the headers"
like "$(head -c 200 "$T/head.out")" '^HTTP/1\.1 200' "HEAD over raw TCP: 200"

# ---- ranges ----
curl -s -D "$T/r.h" -r 100-199 "$U/a.ts" -o "$T/r.body"
like "$(head -n1 "$T/r.h")" '^HTTP/1\.1 206' "Range 100-199 -> 206"
is "$(grep -i '^Content-Range:' "$T/r.h" | tr -d '\r' | cut -d' ' -f2-)" "bytes 100-199/$SIZE" "Content-Range bytes 100-199/SIZE"
is "$(sha <"$T/r.body")" "$(tail -c +101 "$W/a.ts" | head -c 100 | sha)" "Range 100-199: the right 100 bytes"
curl -s -D "$T/r.h" -H 'Range: bytes=-500' "$U/a.ts" -o "$T/r.body"
is "$(grep -i '^Content-Range:' "$T/r.h" | tr -d '\r' | cut -d' ' -f2-)" "bytes $((SIZE - 500))-$((SIZE - 1))/$SIZE" "suffix range: Content-Range"
is "$(sha <"$T/r.body")" "$(tail -c 500 "$W/a.ts" | sha)" "suffix range: the last 500 bytes"
curl -s -D "$T/r.h" -r 2000000- "$U/a.ts" -o "$T/r.body"
is "$(stat -c %s "$T/r.body")" "$((SIZE - 2000000))" "open-ended range: the rest of the file"
is "$(cs -r 5-9 "$US/a.ts" | sha)" "$(tail -c +6 "$W/a.ts" | head -c 5 | sha)" "HTTPS range: the right bytes"
curl -s -D "$T/r.h" -r "$SIZE-" "$U/a.ts" -o /dev/null
like "$(head -n1 "$T/r.h")" '^HTTP/1\.1 416' "Range past the end -> 416"
is "$(grep -i '^Content-Range:' "$T/r.h" | tr -d '\r' | cut -d' ' -f2-)" "bytes */$SIZE" "416 has Content-Range bytes */SIZE"
is "$(code -H 'Range: bytes=0-1,5-6' "$U/a.ts")" 200 "multi-range ignored -> 200"
is "$(curl -s -H 'Range: bytes=0-1,5-6' "$U/a.ts" | sha)" "$WANT" "multi-range: the whole file"
is "$(code -H 'Range: bytes=oops' "$U/a.ts")" 200 "malformed Range ignored -> 200"

# ---- validators and conditional requests ----
ETAG=$(hdr ETag -I "$U/a.ts")
LM=$(hdr Last-Modified -I "$U/a.ts")
like "$ETAG" '^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$' "strong ETag"
is "$LM" "$(TZ=GMT date -r "$W/a.ts" '+%a, %d %b %Y %H:%M:%S GMT')" "Last-Modified is the file's mtime"
is "$(code -H "If-None-Match: $ETAG" "$U/a.ts")" 304 "If-None-Match with the ETag -> 304"
is "$(curl -s -H "If-None-Match: $ETAG" "$U/a.ts" | wc -c)" 0 "304 has no body"
is "$(hdr ETag -H "If-None-Match: $ETAG" "$U/a.ts")" "$ETAG" "304 carries the ETag"
is "$(code -H "If-None-Match: \"nope\", $ETAG" "$U/a.ts")" 304 "ETag in a list -> 304"
is "$(code -H "If-Modified-Since: $LM" "$U/a.ts")" 304 "If-Modified-Since = Last-Modified -> 304"
is "$(code -H 'If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT' "$U/a.ts")" 200 "If-Modified-Since older -> 200"
is "$(code -H 'If-None-Match: "nope"' -H "If-Modified-Since: $LM" "$U/a.ts")" 200 "If-None-Match wins over If-Modified-Since"
is "$(code -r 0-9 -H "If-Range: $ETAG" "$U/a.ts")" 206 "If-Range with the ETag -> 206"
is "$(code -r 0-9 -H 'If-Range: "old"' "$U/a.ts")" 200 "If-Range with another ETag -> 200"
is "$(cs -o /dev/null -w '%{http_code}' -H "If-None-Match: $ETAG" "$US/a.ts")" 304 "HTTPS 304"

# ---- types and Cache-Control ----
for t in "live/index.m3u8=application/vnd.apple.mpegurl" "vod/manifest.mpd=application/dash+xml" \
	"vod/seg1.ts=video/mp2t" "vod/seg1.m4s=video/iso.segment" "vod/init.mp4=video/mp4" \
	"index.html=text/html; charset=utf-8" "data.json=application/json"; do
	is "$(curl -s -o /dev/null -w '%{content_type}' "$U/${t%%=*}")" "${t#*=}" "Content-Type of ${t%%=*}"
done
is "$(hdr Cache-Control "$U/live/index.m3u8")" "max-age=2" "manifest rule: max-age=2"
is "$(hdr Cache-Control "$U/vod/seg1.m4s")" "public, max-age=86400" "prefix rule: /vod/ long max-age"
is "$(hdr Cache-Control "$U/a.ts")" "public, max-age=60" "default Cache-Control"
is "$(hdr Accept-Ranges "$U/a.ts")" "bytes" "Accept-Ranges: bytes"

# ---- CORS ----
is "$(hdr Access-Control-Allow-Origin -H 'Origin: https://player.example' "$U/a.ts")" "*" "GET: Access-Control-Allow-Origin"
like "$(hdr Access-Control-Expose-Headers "$U/a.ts")" 'Content-Length.*Content-Range.*ETag' "GET: Expose-Headers"
pre=(-X OPTIONS -H 'Origin: https://player.example' -H 'Access-Control-Request-Method: GET'
     -H 'Access-Control-Request-Headers: range')
is "$(code "${pre[@]}" "$U/vod/seg1.m4s")" 204 "preflight -> 204"
is "$(hdr Access-Control-Allow-Origin "${pre[@]}" "$U/vod/seg1.m4s")" "*" "preflight: Allow-Origin"
like "$(hdr Access-Control-Allow-Methods "${pre[@]}" "$U/vod/seg1.m4s")" 'GET.*HEAD' "preflight: Allow-Methods"
like "$(hdr Access-Control-Allow-Headers "${pre[@]}" "$U/vod/seg1.m4s")" 'Range' "preflight: Allow-Headers has Range"
like "$(hdr Access-Control-Expose-Headers "${pre[@]}" "$U/vod/seg1.m4s")" 'Content-Length.*Content-Range.*ETag' "preflight: Expose-Headers"
like "$(hdr Access-Control-Max-Age "${pre[@]}" "$U/vod/seg1.m4s")" '^[0-9]+$' "preflight: Max-Age"

# ---- refusals ----
for p in "/../etc/passwd" "/../../../../etc/passwd" "/%2e%2e/%2e%2e/etc/passwd" "/%2E%2E/secret.txt" \
	"/a%2f..%2f..%2fetc%2fpasswd" "/a.ts%00.html" "/..%5c..%5cetc%5cpasswd" "/sub/..%5C..%5Csecret.txt" \
	"/sub/../../secret.txt" "/./a.ts" "/passwd" "/secret" "/up/secret.txt"; do
	c=$(curl -s --path-as-is -o "$T/trav.body" -w '%{http_code}' "$U$p")
	like "$c" '^4[0-9][0-9]$' "traversal $p -> 4xx ($c)"
	unlike "$(cat "$T/trav.body")" 'root:|do not serve' "traversal $p: no file content leaked"
done
is "$(curl -s "$U/a.ts" | sha)" "$WANT" "still serving after the traversal attempts"
is "$(code "$U/in.ts")" 200 "a symlink that stays under root is served (symlinks: beneath)"
is "$(code -X POST -d x=1 "$U/a.ts")" 405 "POST -> 405"
is "$(hdr Allow -X POST -d x=1 "$U/a.ts")" "GET, HEAD, OPTIONS" "405 carries Allow"
is "$(code -X DELETE "$U/a.ts")" 405 "DELETE -> 405"
is "$(code -X PUT --data-binary @"$W/index.html" "$U/x.html")" 405 "PUT -> 405"
ok "PUT did not create a file" test ! -e "$W/x.html"
is "$(code "$U/missing.ts")" 404 "missing file -> 404"
is "$(code "$U/sub")" 404 "directory without a slash -> 404"
is "$(curl -s "$U/sub/")" "<p>sub</p>" "directory/ serves its index.html"
is "$(code "$U/noindex/")" 404 "directory without index.html -> 404"
is "$(curl -s "$U/")" "<p>origin</p>" "/ serves the root index.html"

# ---- malformed requests over raw TCP ----
like "$(raw "$P" "GET /a.ts HTTP/1.1\r\nHost: $H\r\nthis is not a header\r\n\r\n" | head -n1)" '^HTTP/1\.1 400' \
	"header line without a colon -> 400"
like "$(raw "$P" "GET /a.ts HTTP/1.1\r\nConnection: close\r\n\r\n" | head -n1)" '^HTTP/1\.1 400' \
	"HTTP/1.1 without Host -> 400"
# (only the request line: libmicrohttpd answers it at once and closes; bytes
# left unread would turn the close into a reset that can eat the answer)
like "$(raw "$P" "GET /a.ts HTTQ/1.1\r\n" | head -n1)" '^HTTP/1\.1 400' "bad protocol name -> 400"
like "$(raw "$P" "GET /a%zz HTTP/1.1\r\nHost: $H\r\nConnection: close\r\n\r\n" | head -n1)" '^HTTP/1\.1 400' \
	"bad percent-encoding -> 400"
raw "$P" "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n" >/dev/null
raw "$P" "GARBAGE\r\n\r\n" >/dev/null
raw "$S" "GET / HTTP/1.1\r\nHost: $H\r\n\r\n" >/dev/null
is "$(code "$U/index.html")" 200 "still serving HTTP after malformed requests"
is "$(cs -o /dev/null -w '%{http_code}' "$US/index.html")" 200 "still serving HTTPS after plain text on the TLS port"

# ---- keep-alive: two requests on one connection ----
like "$(curl -sv "$U/index.html" "$U/data.json" 2>&1 >/dev/null)" 'Re-using existing connection' \
	"HTTP/1.1 keep-alive: the second request reuses the connection"

# ---- TLS with a real client ----
for v in tls1_2 tls1_3; do
	out=$(printf 'GET /index.html HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$H" |
		timeout 10 openssl s_client -connect "127.0.0.1:$S" -servername "$H" -"$v" \
			-CAfile "$CA" -verify_return_error -verify_hostname "$H" -ign_eof 2>&1)
	like "$out" 'Verify return code: 0 \(ok\)' "s_client -$v: chain verifies with the test CA"
	like "$out" "New, TLSv1\\.${v#tls1_}, Cipher" "s_client -$v: negotiated TLS 1.${v#tls1_}"
	like "$out" 'HTTP/1\.1 200 OK' "s_client -$v: GET over the session -> 200"
done
out=$(timeout 10 openssl s_client -connect "127.0.0.1:$S" -servername "$H" -CAfile "$(pki rogue-ca.pem)" \
	-verify_return_error </dev/null 2>&1)
unlike "$out" 'Verify return code: 0 \(ok\)' "s_client with another CA does not verify"

# ---- access log: one JSON line per request ----
n0=$(wc -l <"$T/access.log")
curl -s -o /dev/null "$U/vod/seg1.ts"
curl -s -o /dev/null "$U/nope.ts"
curl -s -o /dev/null -r 0-9 "$U/a.ts"
curl -s -o /dev/null -I "$U/a.ts"
ok "access log: four new lines" wait_for 5 test "$(wc -l <"$T/access.log")" -ge $((n0 + 4))
tail -n +$((n0 + 1)) "$T/access.log" >"$T/last.log"
is "$(jsonl "$T/last.log" method uri status bytes | tr '\n' ';')" \
	"GET /vod/seg1.ts 200 1000;GET /nope.ts 404 10;GET /a.ts 206 10;HEAD /a.ts 200 0;" \
	"access log: method, uri, status, bytes per request"
is "$(jsonl "$T/access.log" status dur_us | grep -cvE '^[0-9]+ [0-9]+$')" 0 \
	"access log: every line is a JSON object with a status and dur_us"
is "$(jsonl "$T/last.log" prog peer | grep -cE '^cdni-origin 127\.0\.0\.1:[0-9]+$')" 4 "access log: prog and peer"
like "$(grep -c '"uri":"/a.ts%00.html","status":400' "$T/access.log")" '^1$' "access log: a refused path is logged with 400"
like "$(grep '"tls":"TLSv1.3"' "$T/access.log" | head -n1)" '"status":200' "access log: HTTPS requests name the TLS version"
like "$(grep '"note":"refused by libmicrohttpd"' "$T/access.log" | head -n1)" '"status":400' \
	"access log: a request refused by libmicrohttpd is logged with its 400"
unlike "$(cat "$T/origin.out")" '.' "nothing else on stdout (the access log went to its file)"

# ---- a second instance: thread per connection, symlinks refused, no index ----
printf '{"listen":[{"port":0}],"root":"%s","threads":0,"symlinks":"refuse","index":"","access_log":"%s/access2.log"}\n' \
	"$W" "$T" >"$T/origin2.json"
start_daemon origin2 cdni-origin "$T/origin2.json" || { done_testing; }
U2="http://$(addr origin2 http)"
is "$(curl -s "$U2/a.ts" | sha)" "$WANT" "thread per connection: body equals the file"
is "$(code "$U2/in.ts")" 403 "symlinks refuse: even a symlink inside root -> 403"
is "$(code "$U2/sub/")" 404 "index \"\": directory/ -> 404"
is "$(hdr Access-Control-Allow-Origin "$U2/a.ts")" "" "cors off: no Access-Control-Allow-Origin"
is "$(code -X OPTIONS "$U2/a.ts")" 204 "cors off: OPTIONS still 204"
pids=()
for i in 1 2 3 4 5 6 7 8; do curl -s "$U2/a.ts" -o "$T/par$i" & pids+=($!); done
wait "${pids[@]}"
same=0
for i in 1 2 3 4 5 6 7 8; do [ "$(sha <"$T/par$i")" = "$WANT" ] && same=$((same + 1)); done
is "$same" 8 "eight parallel downloads all complete and match"

stop_daemon origin2
stop_daemon origin
like "$(jsonl "$T/access2.log" status | sort | uniq -c | tr -s ' \n' ' ')" '^ *[0-9]+ 200 [0-9]+ 204 [0-9]+ 403 [0-9]+ 404 *$' \
	"second access log: every line parses, with the statuses sent"
done_testing

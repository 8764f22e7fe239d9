#!/usr/bin/env bash
# cdni-ucdn system test: real curl, openssl s_client and raw TCP against the
# daemon, with nginx (or cdni-origin, UCDN_T_ORIGIN=cdni-origin) as the origin.
# Redirects (301/302/307/308, exact Location, query, target path prefix,
# Host rules), header injection, escaping, proxying (bytes, HEAD, Range,
# conditional requests, 404), refusals, 405, 400, 414, HTTPS (TLS 1.2 and
# 1.3), origin down (502) and slow (504) in both threading modes, access log,
# and -n with bad configs.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh"

CA=$(pki ca.pem)
CERT=$(pki csp-ec.chain.pem)
KEY=$(pki csp-ec.key)
[ -f "$CERT" ] || skip_all "test PKI missing: run make pki"

# ---- the origin -----------------------------------------------------------
mkdir -p "$T/www/dir"
printf 'hello from origin\n' >"$T/www/hello.txt"
head -c 300000 /dev/urandom >"$T/www/big.bin"
head -c 2000000 /dev/zero >"$T/www/slow.bin"

origin_servers() {
	cat <<-EOF
	  types { text/plain txt; application/octet-stream bin; }
	  server {
	    listen 127.0.0.1:$NGINX_PORT;
	    root $T/www;
	    location /slow.bin { limit_rate 20k; }
	  }
	EOF
}

start_origin() {
	if [ "${UCDN_T_ORIGIN:-nginx}" = cdni-origin ]; then
		write_file "$T/origin.json" "{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"root\":\"$T/www\",\"access_log\":\"off\"}"
		start_daemon nginx cdni-origin "$T/origin.json" || return 1
		ORIGIN="http://$(addr nginx http)"
	else
		start_nginx nginx origin_servers && ORIGIN="http://127.0.0.1:$NGINX_PORT"
	fi
}
start_origin || { echo "not ok - origin starts"; done_testing; }

# A listener that accepts connections and never answers (header deadline).
python3 -c 'import signal,socket,sys,time
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(64)
print(s.getsockname()[1], flush=True); time.sleep(300)' >"$T/blackhole.port" 2>"$T/blackhole.err" &
_pid[blackhole]=$!  # stopped (TERM, exit 0 checked) like the daemons
wait_for 5 test -s "$T/blackhole.port"
HOLE="http://127.0.0.1:$(cat "$T/blackhole.port")"

# ---- the uCDN ---------------------------------------------------------------
ucdn_conf() { # file threads origin timeout_ms [extra json members]
	write_file "$1" "{
  \"listen\": [{\"address\":\"127.0.0.1\",\"port\":0},
             {\"address\":\"127.0.0.1\",\"port\":0,\"tls\":true,\"cert\":\"$CERT\",\"key\":\"$KEY\"}],
  \"origin\": \"$3\",
  \"origin_timeout_ms\": $4,
  \"threads\": $2,
  \"access_log\": \"$T/access.log\",
  \"rules\": [
    {\"prefix\":\"/private/\",\"action\":\"refuse\"},
    {\"prefix\":\"/gone/\",\"action\":\"refuse\",\"status\":451},
    {\"prefix\":\"/v/\",\"action\":\"redirect\",\"target\":\"https://edge.dcdn.test:8443\"},
    {\"prefix\":\"/p/\",\"action\":\"redirect\",\"status\":301,\"target\":\"https://edge.dcdn.test/cdn/\"},
    {\"prefix\":\"/t/\",\"action\":\"redirect\",\"status\":307,\"target\":\"http://edge.dcdn.test:8080\"},
    {\"prefix\":\"/r/\",\"action\":\"redirect\",\"status\":308,\"target\":\"https://edge.dcdn.test\"},
    {\"prefix\":\"/h/\",\"host\":\"video.csp.test\",\"action\":\"redirect\",\"target\":\"https://video.dcdn.test\"}
  ]${5:-}
}"
}

ucdn_conf "$T/ucdn.json" 0 "$ORIGIN" 1000
start_daemon ucdn cdni-ucdn "$T/ucdn.json" || done_testing
A=$(addr ucdn http)
S=$(port ucdn https)

hdrs() { curl -sS -o /dev/null -D - "$@" | tr -d '\r'; }
status() { curl -sS -o /dev/null -w '%{http_code}' "$@"; }
location() { curl -sS -o /dev/null -w '%{redirect_url}' "$@"; }
header() { # name, then curl args: the value of one response header
	local n=$1; shift
	hdrs "$@" | sed -n "s/^$n: //Ip" | head -n1
}

# raw HOST:PORT BYTES: send bytes over a plain TCP connection, print the answer
raw() {
	exec 3<>"/dev/tcp/${1%:*}/${1##*:}" || return 1
	printf '%s' "$2" >&3
	timeout 5 cat <&3
	exec 3<&- 3>&-
}
head_block() { tr -d '\r' | sed '/^$/q'; }
# hdr_like HEADERS REGEX NAME: some header line matches ^REGEX (case-insensitive)
hdr_like() { ok "$3" grep -Eiq -- "^$2" <<<"$1"; }
hdr_unlike() { fails "$3" grep -Eiq -- "^$2" <<<"$1"; }

# ---- redirects ----------------------------------------------------------------
h=$(hdrs "http://$A/v/a.ts")
like "$h" '^HTTP/1.1 302 Found' "delegated path: 302"
is "$(printf '%s\n' "$h" | sed -n 's/^Location: //p')" "https://edge.dcdn.test:8443/v/a.ts" "exact Location"
hdr_like "$h" 'Cache-Control: no-store' "redirect has Cache-Control: no-store"
hdr_like "$h" 'Content-Type: text/plain' "redirect has a text/plain body"
is "$(curl -sS "http://$A/v/a.ts")" "302 Found" "short body"
is "$(location "http://$A/v/a.m3u8?token=abc&x=%2F&y")" \
	"https://edge.dcdn.test:8443/v/a.m3u8?token=abc&x=%2F&y" "query kept as sent"
r=$(raw "$A" $'GET /v/a? HTTP/1.1\r\nHost: www.csp.test\r\nConnection: close\r\n\r\n' | head_block)
is "$(printf '%s\n' "$r" | sed -n 's/^Location: //p')" "https://edge.dcdn.test:8443/v/a?" "empty query kept"
is "$(status "http://$A/p/x.mpd")" 301 "301 rule"
is "$(location "http://$A/p/x.mpd?q=1")" "https://edge.dcdn.test/cdn/p/x.mpd?q=1" "301: target path prefix, no doubled slash"
is "$(status "http://$A/t/x")" 307 "307 rule"
is "$(location "http://$A/t/x")" "http://edge.dcdn.test:8080/t/x" "307 Location (http target)"
is "$(status "http://$A/r/x")" 308 "308 rule"
is "$(location "http://$A/r/x")" "https://edge.dcdn.test/r/x" "308 Location"
is "$(status -I "http://$A/v/head")" 302 "HEAD redirected"
is "$(location -H 'Host: video.csp.test' "http://$A/h/m.m3u8")" "https://video.dcdn.test/h/m.m3u8" "Host rule matches"
is "$(location -H 'Host: VIDEO.csp.test:443' "http://$A/h/m.m3u8")" "https://video.dcdn.test/h/m.m3u8" "Host rule: case and port ignored"
is "$(status -H 'Host: www.csp.test' "http://$A/h/m.m3u8")" 404 "Host rule does not match other names: proxied (origin 404)"
is "$(location "http://$A/%76/enc")" "https://edge.dcdn.test:8443/%76/enc" "encoded prefix still matches, bytes kept"

# ---- header injection and escaping --------------------------------------------------
h=$(hdrs --path-as-is "http://$A/v/a%0D%0ASet-Cookie:x=1")
is "$(printf '%s\n' "$h" | sed -n 's/^Location: //p')" "https://edge.dcdn.test:8443/v/a%0D%0ASet-Cookie:x=1" \
	"%0D%0A stays escaped in Location (curl)"
hdr_unlike "$h" '[Ss]et-[Cc]ookie' "no injected Set-Cookie header (curl)"

r=$(raw "$A" $'GET /v/a%0D%0ASet-Cookie:%20x=1?q=%0d%0aX:1 HTTP/1.1\r\nHost: www.csp.test\r\nConnection: close\r\n\r\n' | head_block)
is "$(printf '%s\n' "$r" | sed -n 's/^Location: //p')" "https://edge.dcdn.test:8443/v/a%0D%0ASet-Cookie:%20x=1?q=%0d%0aX:1" \
	"%0D%0A stays escaped in Location (raw request)"
is "$(printf '%s\n' "$r" | grep -ci '^location:')" 1 "exactly one Location header"
hdr_unlike "$r" '(Set-Cookie|X):' "no injected header (raw request)"

r=$(raw "$A" $'GET /v/a b"c<d>\xc3\xa9\'`{}|^ HTTP/1.1\r\nHost: www.csp.test\r\nConnection: close\r\n\r\n' | head_block)
is "$(printf '%s\n' "$r" | sed -n 's/^Location: //p')" "https://edge.dcdn.test:8443/v/a%20b%22c%3Cd%3E%C3%A9'%60%7B%7D%7C%5E" \
	"space, quotes, <, >, non-ASCII, backquote, braces percent-encoded"
r=$(raw "$A" $'GET /v/x?a=<script>"\xff HTTP/1.1\r\nHost: www.csp.test\r\nConnection: close\r\n\r\n' | head_block)
is "$(printf '%s\n' "$r" | sed -n 's/^Location: //p')" "https://edge.dcdn.test:8443/v/x?a=%3Cscript%3E%22%FF" \
	"query bytes percent-encoded"
r=$(raw "$A" $'GET /v/a%20b%2Fc%zz HTTP/1.1\r\nHost: www.csp.test\r\nConnection: close\r\n\r\n' | head_block)
like "$r" '^HTTP/1.1 400' "malformed %XX in path: 400"
is "$(location "http://$A/v/a%20b%2Fc")" "https://edge.dcdn.test:8443/v/a%20b%2Fc" "existing %XX kept"

# ---- refusals and bad requests ------------------------------------------------------
is "$(status "http://$A/private/x")" 403 "refuse rule: 403"
like "$(curl -sS "http://$A/private/x")" '^403 Forbidden: refused by policy' "refusal names the reason"
is "$(status "http://$A/gone/x")" 451 "refuse rule with status 451"
is "$(status "http://$A/%70rivate/x")" 403 "encoded refuse prefix still refused"
is "$(status --path-as-is "http://$A//private//x")" 403 "doubled slashes still refused"
is "$(status --path-as-is "http://$A/v/../private/x")" 400 "dot-dot segment: 400"
is "$(status --path-as-is "http://$A/v/%2e%2e/private/x")" 400 "encoded dot-dot segment: 400"
h=$(hdrs -X POST -d 'x=1' "http://$A/v/a")
like "$h" '^HTTP/1.1 405' "POST: 405"
hdr_like "$h" 'Allow: GET, HEAD, OPTIONS' "405 carries Allow"
is "$(status -X DELETE "http://$A/hello.txt")" 405 "DELETE: 405"
is "$(status -X BREW "http://$A/hello.txt")" 405 "unknown method: 405"
h=$(hdrs -X OPTIONS "http://$A/v/a")
like "$h" '^HTTP/1.1 204' "OPTIONS: 204"
hdr_like "$h" 'Allow: GET, HEAD, OPTIONS' "OPTIONS carries Allow"
long=$(head -c 9000 /dev/zero | tr '\0' a)
is "$(status "http://$A/v/$long")" 414 "very long target: 414"

r=$(raw "$A" $'GET /v/a FOO/1.1\r\nHost: a\r\n\r\n' | head -n1 | tr -d '\r')
like "$r" '^HTTP/1.1 400' "malformed request line over raw TCP: 400"
r=$(raw "$A" $'GET /v/a HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n' | head -n1 | tr -d '\r')
like "$r" '^HTTP/1.1 400' "malformed Content-Length: 400"
r=$(raw "$A" $'GET /v/a HTTP/9.1\r\nHost: a\r\n\r\n' | head -n1 | tr -d '\r')
like "$r" '^HTTP/1.1 505' "unknown HTTP version: 505"
is "$(raw "$A" $'GARBAGE\r\n\r\n' | head -c 100)" "" "request line without a target: connection closed, no answer"
is "$(raw "$A" $'\x16\x03\x01\x00\x05hello' | head -c 100)" "" "TLS bytes on the HTTP port: connection closed"
r=$(raw "$A" $'GET /v/a HTTP/1.1\r\nConnection: close\r\n\r\n' | head -n1 | tr -d '\r')
like "$r" '^HTTP/1.1 400' "HTTP/1.1 without Host: 400"
r=$(raw "$A" $'GET /v/a HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n' | head -n1 | tr -d '\r')
like "$r" '^HTTP/1.1 400' "malformed header line: 400"
r=$(raw "$A" $'GET /v/a HTTP/1.0\r\n\r\n' | head_block)
is "$(printf '%s\n' "$r" | sed -n 's/^Location: //p')" "https://edge.dcdn.test:8443/v/a" "HTTP/1.0 without Host still redirected"
is "$(status "http://$A/v/still")" 302 "daemon keeps serving after bad requests"
out=$(curl -sS -w '%{num_connects} %{http_code}\n' -o /dev/null "http://$A/v/1" -o /dev/null "http://$A/v/2" \
	-o /dev/null "http://$A/private/3" -o /dev/null "http://$A/v/4")
is "$(printf '%s' "$out" | tr '\n' ' ')" "1 302 0 302 0 403 0 302" "keep-alive across redirects and refusals"

# ---- proxy path -------------------------------------------------------------------------
check_proxy() { # label address
	local a=$2 h
	is "$(curl -sS "http://$a/hello.txt")" "hello from origin" "$1: origin bytes"
	h=$(hdrs "http://$a/hello.txt")
	like "$h" '^HTTP/1.1 200' "$1: 200"
	hdr_like "$h" 'Content-Type: text/plain' "$1: Content-Type passed"
	hdr_like "$h" 'ETag: "' "$1: ETag passed"
	hdr_like "$h" 'Last-Modified: ' "$1: Last-Modified passed"
	curl -sS -o "$T/got.bin" "http://$a/big.bin"
	ok "$1: 300 kB body identical" cmp "$T/got.bin" "$T/www/big.bin"
	h=$(hdrs -I "http://$a/big.bin")
	hdr_like "$h" 'Content-Length: 300000' "$1: HEAD keeps the origin's Content-Length"
	is "$(curl -sS -I "http://$a/big.bin" -w '%{size_download}' -o /dev/null)" 0 "$1: HEAD has no body"
	h=$(hdrs -r 10-19 "http://$a/big.bin")
	like "$h" '^HTTP/1.1 206' "$1: Range forwarded: 206"
	hdr_like "$h" 'Content-Range: bytes 10-19/300000' "$1: Content-Range passed"
	is "$(curl -sS -r 10-19 "http://$a/big.bin" | od -An -tx1 | tr -d ' \n')" \
		"$(dd if="$T/www/big.bin" bs=1 skip=10 count=10 2>/dev/null | od -An -tx1 | tr -d ' \n')" "$1: range bytes"
	local etag lm
	etag=$(header ETag "http://$a/hello.txt")
	is "$(status -H "If-None-Match: $etag" "http://$a/hello.txt")" 304 "$1: If-None-Match forwarded: 304"
	lm=$(header Last-Modified "http://$a/hello.txt")
	is "$(status -H "If-Modified-Since: $lm" "http://$a/hello.txt")" 304 "$1: If-Modified-Since forwarded: 304"
	is "$(status "http://$a/missing")" 404 "$1: origin 404 passed through"
	is "$(curl -sS "http://$a/hello.txt?x=%20y")" "hello from origin" "$1: query sent to the origin"
}
check_proxy "thread per connection" "$A"
grep -q '"uri":"/hello.txt?x=%20y"' "$T/nginx/access.log" 2>/dev/null || grep -q 'GET /hello.txt?x=%20y ' "$T/nginx/access.log" 2>/dev/null
ok "origin saw the query as sent" test $? = 0 -o "${UCDN_T_ORIGIN:-nginx}" = cdni-origin

# ---- HTTPS ----------------------------------------------------------------------------------
tls() { curl -sS --cacert "$CA" --resolve "www.csp.test:$S:127.0.0.1" "$@"; }
is "$(tls -o /dev/null -w '%{http_code} %{redirect_url}' "https://www.csp.test:$S/v/s.ts?a=1")" \
	"302 https://edge.dcdn.test:8443/v/s.ts?a=1" "HTTPS listener: 302 with Location"
is "$(tls "https://www.csp.test:$S/hello.txt")" "hello from origin" "HTTPS listener: proxied bytes"
for v in 1.2 1.3; do
	out=$(printf 'GET /v/tls HTTP/1.1\r\nHost: www.csp.test\r\nConnection: close\r\n\r\n' |
		timeout 10 openssl s_client -connect "127.0.0.1:$S" -servername www.csp.test \
			-CAfile "$CA" -verify_return_error -tls${v/./_} -ign_eof 2>&1)
	like "$out" "Protocol *: TLSv$v|New, TLSv$v" "s_client TLS $v handshake"
	like "$out" 'Verify return code: 0 \(ok\)' "s_client TLS $v: certificate verifies"
	like "$out" 'Location: https://edge.dcdn.test:8443/v/tls' "s_client TLS $v: 302 Location"
done
grep -q '"uri":"/v/tls".*"tls":"TLSv1.2"' "$T/access.log"
ok "access log records TLS 1.2" test $? = 0
grep -q '"uri":"/v/tls".*"tls":"TLSv1.3"' "$T/access.log"
ok "access log records TLS 1.3" test $? = 0

# ---- access log ------------------------------------------------------------------------------
line=$(grep -m1 '"uri":"/v/a.ts"' "$T/access.log")
like "$line" '"status":302' "access log: status"
like "$line" '"location":"https://edge.dcdn.test:8443/v/a.ts"' "access log: Location"
like "$(grep -m1 '"method":"GET","host":"[^"]*","uri":"/hello.txt"' "$T/access.log")" "\"upstream\":\"$ORIGIN/hello.txt\"" "access log: origin URL"

# ---- epoll pool with origin workers --------------------------------------------------------------
ucdn_conf "$T/pool.json" 1 "$ORIGIN" 1500 ', "origin_workers": 2'
start_daemon pool cdni-ucdn "$T/pool.json" || done_testing
P=$(addr pool http)
is "$(location "http://$P/v/a.ts?q")" "https://edge.dcdn.test:8443/v/a.ts?q" "pool: redirect"
check_proxy "pool" "$P"
is "$(curl -sS --cacert "$CA" --resolve "www.csp.test:$(port pool https):127.0.0.1" \
	"https://www.csp.test:$(port pool https)/hello.txt")" "hello from origin" "pool: HTTPS listener: proxied bytes"
# a slow origin answer (nginx limit_rate) must not hold up redirects on the
# pool's threads, and must give 504, not a truncated 200
if [ "${UCDN_T_ORIGIN:-nginx}" = nginx ]; then
	curl -sS -o /dev/null -w '%{http_code}' "http://$P/slow.bin" >"$T/slow.code" &
	slow=$!
	curl -sS -o /dev/null -w '%{http_code}' "http://$P/slow.bin" >"$T/slow2.code" &
	slow2=$!
	# the slow fetches hold both origin workers for origin_timeout_ms (1.5 s);
	# redirects on the epoll threads meanwhile must not wait for them
	t=0
	for i in 1 2 3 4 5; do
		t1=$(curl -sS -o /dev/null -w '%{time_total}' "http://$P/v/during$i")
		t=$(awk "BEGIN{print ($t1 > $t) ? $t1 : $t}")
	done
	ok "pool: redirects answered while origin fetches wait (slowest $t s)" awk "BEGIN{exit !($t < 0.5)}"
	ok "pool: the slow fetches were still in flight" kill -0 $slow $slow2
	wait $slow $slow2
	is "$(cat "$T/slow.code")" 504 "pool: slow origin body: 504 (no truncated 200)"
	like "$(cat "$T/pool.err")" 'origin http://[^ ]*/slow.bin: origin timed out .* -> 504' "pool: log names the timeout"
	is "$(status "http://$A/slow.bin")" 504 "thread per connection: slow origin: 504"
else
	diag "slow-body tests need nginx's limit_rate: not run with $UCDN_T_ORIGIN"
fi

# ---- origin not answering, origin down -------------------------------------------------------
ucdn_conf "$T/hole.json" 2 "$HOLE" 400
start_daemon hole cdni-ucdn "$T/hole.json" || done_testing
is "$(status "http://$(addr hole http)/x")" 504 "origin that never answers: 504"
like "$(cat "$T/hole.err")" 'origin timed out' "log names the timeout"

# stopping while origin fetches wait: they are cancelled, the daemon exits
# promptly with status 0 (stop_daemon checks), a waiting client gets 503
in_flight() { [ "$(ss -Htn state established "( dport = :${HOLE##*:} )" | wc -l)" -ge "$1" ]; }
for th in 2 0; do
	ucdn_conf "$T/stop$th.json" $th "$HOLE" 20000
	start_daemon stop$th cdni-ucdn "$T/stop$th.json" || done_testing
	curl -sS -o /dev/null -w '%{http_code}' "http://$(addr stop$th http)/x" >"$T/stop$th.code" 2>/dev/null &
	client=$!
	wait_for 5 in_flight 1
	t0=$(date +%s%N)
	stop_daemon stop$th
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	ok "threads=$th: stops within 3 s while an origin fetch waits (${ms} ms)" test "$ms" -lt 3000
	wait $client
	[ "$th" = 0 ] || is "$(cat "$T/stop$th.code")" 503 "threads=$th: the waiting client gets 503"
done
stop_daemon blackhole

stop_daemon nginx
is "$(status "http://$A/hello.txt")" 502 "origin down: 502"
like "$(curl -sS "http://$A/hello.txt")" '^502 Bad Gateway' "502 body names it"
like "$(cat "$T/ucdn.err")" 'origin http://[^ ]*/hello.txt: origin unreachable .*-> 502' "log names the reason for 502"
is "$(status "http://$P/hello.txt")" 502 "pool: origin down: 502"
is "$(status "http://$A/v/after")" 302 "redirects still served with the origin down"

# ---- config checks (-n) ------------------------------------------------------------------------
check_bad() { # name json want
	write_file "$T/bad.json" "$2"
	out=$("$CDNI_BIN/cdni-ucdn" -n -c "$T/bad.json" 2>&1); rc=$?
	is "$rc" 1 "-n $1: exit 1"
	like "$out" "$3" "-n $1: names the key path"
}
L='"listen":[{"port":0}]'
check_bad "bad status" "{$L,\"default_action\":\"refuse\",\"rules\":[{\"prefix\":\"/a/\",\"action\":\"refuse\"},{\"prefix\":\"/v/\",\"action\":\"redirect\",\"target\":\"https://e.test\",\"status\":303}]}" \
	'bad.json: rules\[1\]\.status: must be 301, 302, 307 or 308'
check_bad "missing target" "{$L,\"default_action\":\"refuse\",\"rules\":[{\"prefix\":\"/v/\",\"action\":\"redirect\"}]}" \
	'bad.json: rules\[0\]\.target: is required'
check_bad "bad target" "{$L,\"default_action\":\"refuse\",\"rules\":[{\"prefix\":\"/v/\",\"action\":\"redirect\",\"target\":\"edge.dcdn.test\"}]}" \
	'rules\[0\]\.target: must be an absolute http'
check_bad "unknown rule key" "{$L,\"default_action\":\"refuse\",\"rules\":[{\"prefix\":\"/v/\",\"action\":\"refuse\",\"staus\":403}]}" \
	'rules\[0\]\.staus: unknown key'
check_bad "unknown top key" "{$L,\"origin\":\"http://o.test\",\"colour\":1}" 'colour: unknown key'
check_bad "no origin" "{$L}" 'origin: is required when some path is proxied'
check_bad "bad origin" "{$L,\"origin\":\"ftp://o.test\"}" 'origin: must be an http'
check_bad "status out of range" "{$L,\"origin\":\"http://o.test\",\"rules\":[{\"prefix\":\"/\",\"action\":\"refuse\",\"status\":700}]}" \
	'rules\[0\]\.status: must be an integer in 0..599'
check_bad "tls without key" "{\"listen\":[{\"tls\":true,\"cert\":\"$CERT\"}],\"origin\":\"http://o.test\"}" 'listen\[0\]: tls needs both cert and key'
out=$("$CDNI_BIN/cdni-ucdn" -n -c "$T/ucdn.json" 2>&1)
is "$?" 0 "-n with a good config: exit 0"
out=$("$CDNI_BIN/cdni-ucdn" -h)
like "$out" 'redirect_cache_control' "-h lists the config keys"

done_testing

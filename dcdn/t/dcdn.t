#!/usr/bin/env bash
# cdni-dcdn against real clients (curl, openssl s_client, raw bytes over
# /dev/tcp) and real upstreams: nginx for files (per-location Cache-Control),
# and a small python upstream that trickles bodies, breaks midway, answers
# chunked, sets cookies, or stays silent. MISS then HIT, HTTPS (TLS 1.2 and
# 1.3), ranges, HEAD, validators, no-store, expiry, LRU eviction, objects too
# big to store, streaming before the fill completes, collapsed forwarding
# (in both threading modes), upstream down/silent/broken, malformed requests,
# the config check, the access log, and stopping during a fill.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh"

command -v nginx >/dev/null || PATH=$PATH:/usr/sbin
command -v nginx >/dev/null || skip_all "nginx is not installed (make deps)"
command -v python3 >/dev/null || skip_all "python3 is not installed"

CA=$(pki ca.pem)
CERT=$(pki dcdn-ec.chain.pem)
KEY=$(pki dcdn-ec.key)
W=$T/www
chmod 755 "$T" # nginx workers may run as another user
mkdir -p "$W/nostore" "$W/short" "$W/plain" "$W/lru" "$W/h" "$W/r"

# ---- processes that are not ours: nginx and the python upstream ----
declare -a BG=()
bg_stop_all() { local p; for p in "${BG[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; BG=(); }
_lib_exit=$(trap -p EXIT | sed "s/^trap -- '//; s/' EXIT\$//")
trap "bg_stop_all; $_lib_exit" EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

nginx_start() { # NAME PORT -> pid in NGX_PID_<NAME>
	local d=$T/$1
	mkdir -p "$d"
	cat >"$d/nginx.conf" <<NGX
worker_processes 1;
error_log $d/error.log;
pid $d/nginx.pid;
events { worker_connections 256; }
http {
  access_log $d/access.log;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$2;
    root $W;
    location / { add_header Cache-Control "max-age=60"; }
    location /nostore/ { add_header Cache-Control "no-store"; }
    location /short/ { add_header Cache-Control "max-age=1"; }
    location /plain/ { }
  }
}
NGX
	nginx -p "$d" -c "$d/nginx.conf" -g 'daemon off;' 2>"$d/stderr" &
	BG+=($!)
	eval "NGX_PID_$1=$!"
	wait_for 10 curl -fsS -o /dev/null "http://127.0.0.1:$2/ping.txt"
}
# requests nginx NAME saw for PATH
ngx_count() { grep -c "\"GET $2 HTTP" "$T/$1/access.log" 2>/dev/null; }

cat >"$T/up.py" <<'PY'
import socket, sys, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
log = open(sys.argv[1], "a", buffering=1)
def pattern(n): return bytes((i * 7) % 251 for i in range(n))
BODY = pattern(200000)
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def head(self, status, hdrs):
        self.send_response(status)
        for k, v in hdrs: self.send_header(k, v)
        self.end_headers()
    def trickle(self, extra):
        self.head(200, [("Content-Length", str(len(BODY))), ("Cache-Control", "max-age=60")] + extra)
        for i in range(10):
            if i: time.sleep(0.1)
            self.wfile.write(BODY[i * 20000:(i + 1) * 20000]); self.wfile.flush()
    def do_GET(self):
        log.write(self.path + "\n")
        p = self.path
        if p.startswith("/silent"):
            time.sleep(20); self.close_connection = True
        elif p.startswith("/slow"):
            self.trickle([])
        elif p.startswith("/private"):
            self.trickle([("Set-Cookie", "s=1")])
        elif p.startswith("/broken"):
            self.head(200, [("Content-Length", "100000"), ("Cache-Control", "max-age=60")])
            self.wfile.write(BODY[:1000]); self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR); self.close_connection = True
        elif p.startswith("/chunked"):
            self.head(200, [("Transfer-Encoding", "chunked"), ("Cache-Control", "max-age=60")])
            for i in range(0, 300000, 10000):
                c = pattern(300000)[i:i + 10000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
            self.wfile.write(b"0\r\n\r\n")
        elif p.startswith("/error"):
            self.head(503, [("Content-Length", "5"), ("Cache-Control", "max-age=60")]); self.wfile.write(b"busy\n")
        else:
            self.head(404, [("Content-Length", "0")])
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
open(sys.argv[2], "w").write(str(srv.server_address[1]))
srv.serve_forever()
PY
pattern_sha() { python3 -c "import hashlib; print(hashlib.sha256(bytes((i*7)%251 for i in range($1))).hexdigest())"; }
py_count() { grep -cx "$1" "$T/up.log" 2>/dev/null; }

# ---- content ----
echo pong >"$W/ping.txt"
head -c 50000 /dev/urandom >"$W/a.bin"
head -c 50000 /dev/urandom >"$W/r/a.bin"
head -c 1000 /dev/urandom >"$W/h/cold.bin"
head -c 1000 /dev/urandom >"$W/r/cold.bin"
head -c 100000 /dev/urandom >"$W/big.bin"
echo "never stored" >"$W/nostore/n.txt"
echo "short lived" >"$W/short/e.txt"
echo "no freshness" >"$W/plain/p.txt"
for i in 1 2 3; do head -c 25000 /dev/urandom >"$W/lru/$i.bin"; done
sha() { sha256sum "$1" | cut -d' ' -f1; }

# ---- the config check ----
check() { # FILE -> "rc|output"
	local out rc
	out=$("$CDNI_BIN/cdni-dcdn" -n -c "$1" 2>&1); rc=$?
	printf '%s|%s' "$rc" "$out"
}
write_file "$T/good.json" '{"listen":[{"port":0}],"upstream":"http://127.0.0.1:1"}'
like "$(check "$T/good.json")" '^0\|.*config OK' "-n accepts a good config"
write_file "$T/bad-port.json" '{"listen":[{"port":70000}],"upstream":"http://127.0.0.1:1"}'
like "$(check "$T/bad-port.json")" '^1\|.*bad-port.json: listen\[0\]\.port: must be an integer in 0\.\.65535, got 70000' \
	"-n: bad port exits 1 naming listen[0].port"
write_file "$T/bad-up.json" '{"listen":[{"port":0}],"upstream":"ftp://127.0.0.1"}'
like "$(check "$T/bad-up.json")" '^1\|.*bad-up.json: upstream: .*http:// or https://' "-n: ftp upstream names upstream"
write_file "$T/no-up.json" '{"listen":[{"port":0}]}'
like "$(check "$T/no-up.json")" '^1\|.*upstream' "-n: missing upstream named"
write_file "$T/bad-size.json" '{"listen":[{"port":0}],"upstream":"http://h","cache_size":"big"}'
like "$(check "$T/bad-size.json")" '^1\|.*cache_size' "-n: cache_size of the wrong type named"
write_file "$T/bad-obj.json" '{"listen":[{"port":0}],"upstream":"http://h","cache_size":100000,"max_object_size":200000}'
like "$(check "$T/bad-obj.json")" '^1\|.*max_object_size: ' "-n: max_object_size above cache_size named"
write_file "$T/bad-ca.json" "{\"listen\":[{\"port\":0}],\"upstream\":\"https://h\",\"upstream_ca\":\"$T/none.pem\"}"
like "$(check "$T/bad-ca.json")" '^1\|.*upstream_ca: cannot read' "-n: unreadable upstream_ca named"
write_file "$T/typo.json" '{"listen":[{"port":0}],"upstream":"http://h","cache_sise":1}'
like "$(check "$T/typo.json")" '^1\|.*cache_sise' "-n: misspelt key refused"
like "$("$CDNI_BIN/cdni-dcdn" -h)" 'upstream_timeout_ms.*' "-h lists the config keys"

# ---- upstreams ----
NGX=$(free_port)
ok "nginx origin starts" nginx_start ngx "$NGX"
python3 "$T/up.py" "$T/up.log" "$T/up.port" 2>"$T/up.err" &
BG+=($!)
wait_for 10 test -s "$T/up.port"
PY=$(cat "$T/up.port")
ok "python upstream starts" test -n "$PY"

conf_main() {
	printf '{"listen":[{"address":"127.0.0.1","port":0},{"address":"127.0.0.1","port":0,"tls":true,"cert":"%s","key":"%s"}],' "$CERT" "$KEY"
	printf '"upstream":"http://127.0.0.1:%s","max_object_size":60000,"access_log":"%s"}\n' "$NGX" "$T/main.access"
}
write_file "$T/main.json" "$(conf_main)"
start_daemon main cdni-dcdn "$T/main.json" || { bg_stop_all; done_testing; }
E=$(addr main http)
S=$(port main https)

hdr_to() { # FILE NAME, then curl args -> value of the response header NAME; body to FILE
	local f=$1 n=$2; shift 2
	curl -s -o "$f" -D - "$@" | tr -d '\r' | awk -v n="$(echo "$n" | tr A-Z a-z)" -F': ' 'tolower($1)==n {print $2}'
}
hdr() { hdr_to /dev/null "$@"; } # NAME, then curl args
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# ---- MISS then HIT ----
is "$(hdr_to "$T/a1" X-Cache "http://$E/a.bin")" "MISS" "first request is a MISS"
is "$(hdr_to "$T/a2" X-Cache "http://$E/a.bin")" "HIT" "second request is a HIT"
is "$(sha "$T/a1")" "$(sha "$W/a.bin")" "MISS body is the origin's bytes"
is "$(sha "$T/a2")" "$(sha "$W/a.bin")" "HIT body is the same bytes"
is "$(ngx_count ngx /a.bin)" 1 "origin saw one request"
curl -s -D "$T/hit.h" -o /dev/null "http://$E/a.bin"
tr -d '\r' <"$T/hit.h" >"$T/hit.hh"
like "$(cat "$T/hit.hh")" '^Age: [0-9]+' "a HIT carries Age"
like "$(cat "$T/hit.hh")" '^ETag: "[^"]+"' "ETag passed through"
like "$(cat "$T/hit.hh")" '^Last-Modified: .* GMT' "Last-Modified passed through"
like "$(cat "$T/hit.hh")" '^Cache-Control: max-age=60' "Cache-Control passed through"
like "$(cat "$T/hit.hh")" '^Content-Type: application/octet-stream' "Content-Type passed through"
like "$(cat "$T/hit.hh")" '^Content-Length: 50000' "Content-Length right"
unlike "$(cat "$T/hit.hh")" '^(Transfer-Encoding|Keep-Alive):' "no hop-by-hop headers"
is "$(grep -ci '^accept-ranges:' "$T/hit.hh")" 1 "one Accept-Ranges"
is "$(hdr X-Cache -H 'Host: EDGE.dcdn.test' "http://$E/ping.txt")" "MISS" "ping: MISS"
is "$(hdr X-Cache -H 'Host: edge.DCDN.test:1234' "http://$E/ping.txt")" "HIT" "Host case and port do not split the key"
is "$(hdr X-Cache -H 'Host: other.dcdn.test' "http://$E/ping.txt")" "MISS" "another host is another key"

# ---- HTTPS ----
TLSURL="https://edge.dcdn.test:$S"
RES=(--cacert "$CA" --resolve "edge.dcdn.test:$S:127.0.0.1")
is "$(curl -s "${RES[@]}" -o "$T/tls1" -w '%{http_code}' "$TLSURL/r/a.bin")" 200 "HTTPS GET 200 (verified against the test CA)"
is "$(sha "$T/tls1")" "$(sha "$W/r/a.bin")" "HTTPS body right"
is "$(hdr X-Cache -H 'Host: edge.dcdn.test' "http://$E/r/a.bin")" "HIT" "the key is scheme-independent: HTTPS fill, HTTP hit"
for v in 1.2 1.3; do
	out=$(openssl s_client -connect "127.0.0.1:$S" -servername edge.dcdn.test -CAfile "$CA" \
		-verify_return_error "-tls${v/./_}" </dev/null 2>&1)
	like "$out" "Protocol *: TLSv$v|New, TLSv$v" "s_client TLS $v handshake"
	like "$out" "Verify return code: 0 \\(ok\\)" "s_client TLS $v verifies the chain"
done
fails "curl refuses a name the certificate lacks" curl -sf --cacert "$CA" \
	--resolve "edge.example:$S:127.0.0.1" "https://edge.example:$S/ping.txt"

# ---- ranges, HEAD, validators ----
R=(-H 'Host: edge.dcdn.test')
is "$(curl -s "${R[@]}" -H 'Range: bytes=10-19' -o "$T/rg" -w '%{http_code}' "http://$E/r/a.bin")" 206 "Range from cache: 206"
is "$(sha "$T/rg")" "$(dd if="$W/r/a.bin" bs=1 skip=10 count=10 2>/dev/null | sha256sum | cut -d' ' -f1)" "range bytes right"
is "$(hdr Content-Range "${R[@]}" -H 'Range: bytes=10-19' "http://$E/r/a.bin")" "bytes 10-19/50000" "Content-Range"
is "$(curl -s "${R[@]}" -H 'Range: bytes=-5' "http://$E/r/a.bin" | od -An -tx1 | tr -d ' \n')" \
	"$(tail -c 5 "$W/r/a.bin" | od -An -tx1 | tr -d ' \n')" "suffix range"
is "$(status "${R[@]}" -H 'Range: bytes=50000-' "http://$E/r/a.bin")" 416 "range past the end: 416"
is "$(hdr Content-Range "${R[@]}" -H 'Range: bytes=50000-' "http://$E/r/a.bin")" "bytes */50000" "416 Content-Range"
is "$(status "${R[@]}" -H 'Range: bytes=1-2,4-5' "http://$E/r/a.bin")" 200 "several ranges: whole (200)"
is "$(curl -s -H 'Range: bytes=100-199' -D "$T/rc.h" -o "$T/rc" -w '%{http_code}' "http://$E/r/cold.bin")" 206 \
	"Range on a miss: 206"
is "$(sha "$T/rc")" "$(dd if="$W/r/cold.bin" bs=1 skip=100 count=100 2>/dev/null | sha256sum | cut -d' ' -f1)" \
	"range on a miss: right bytes"
like "$(tr -d '\r' <"$T/rc.h")" 'X-Cache: MISS' "range on a miss was a MISS"
is "$(hdr X-Cache "http://$E/r/cold.bin")" "HIT" "the whole object was fetched and stored"
is "$(ngx_count ngx /r/cold.bin)" 1 "one origin request for range then whole"
curl -s -I "http://$E/h/cold.bin" | tr -d '\r' >"$T/head.h"
like "$(cat "$T/head.h")" '^HTTP/1.1 200' "HEAD on a miss: 200"
like "$(cat "$T/head.h")" '^Content-Length: 1000' "HEAD: Content-Length"
like "$(cat "$T/head.h")" 'X-Cache: MISS' "HEAD on a miss: MISS"
is "$(curl -s -I "http://$E/h/cold.bin" -o /dev/null -w '%{size_download}')" 0 "HEAD: no body"
is "$(hdr X-Cache "http://$E/h/cold.bin")" "HIT" "GET after HEAD: HIT (HEAD and GET share the key)"
is "$(ngx_count ngx /h/cold.bin)" 1 "HEAD filled with one GET upstream"
like "$(curl -s -I "http://$E/h/cold.bin" | tr -d '\r')" 'X-Cache: HIT' "HEAD on a hit"
ETAG=$(hdr ETag "http://$E/a.bin")
LM=$(hdr Last-Modified "http://$E/a.bin")
is "$(status -H "If-None-Match: $ETAG" "http://$E/a.bin")" 304 "If-None-Match with the ETag: 304"
is "$(status -H 'If-None-Match: "nope"' "http://$E/a.bin")" 200 "If-None-Match with another tag: 200"
is "$(status -H "If-Modified-Since: $LM" "http://$E/a.bin")" 304 "If-Modified-Since: 304"
is "$(hdr ETag -H "If-None-Match: $ETAG" "http://$E/a.bin")" "$ETAG" "304 carries the ETag"
cl=$(hdr Content-Length -H "If-None-Match: $ETAG" "http://$E/a.bin")
ok "304 Content-Length absent or the 200's (${cl:-none})" test -z "$cl" -o "$cl" = 50000

# ---- what is not stored ----
for i in 1 2 3; do curl -s -o /dev/null "http://$E/nostore/n.txt"; done
is "$(ngx_count ngx /nostore/n.txt)" 3 "no-store: the origin sees every request"
is "$(hdr X-Cache "http://$E/nostore/n.txt")" "MISS" "no-store: MISS"
curl -s -o /dev/null "http://$E/plain/p.txt"
is "$(hdr X-Cache "http://$E/plain/p.txt")" "MISS" "no freshness and default_ttl 0: not stored"
is "$(hdr_to "$T/big1" X-Cache "http://$E/big.bin")" "MISS" "object over max_object_size: MISS"
is "$(hdr_to "$T/big2" X-Cache "http://$E/big.bin")" "MISS" "... and MISS again: streamed, not stored"
is "$(sha "$T/big2")" "$(sha "$W/big.bin")" "streamed-through body right"
is "$(ngx_count ngx /big.bin)" 2 "origin saw both"

# ---- expiry ----
is "$(hdr X-Cache "http://$E/short/e.txt")" "MISS" "max-age=1: MISS"
t0=$(date +%s%N)
is "$(hdr X-Cache "http://$E/short/e.txt")" "HIT" "max-age=1: HIT at once"
expired() { [ "$(hdr X-Cache "http://$E/short/e.txt")" = MISS ]; }
ok "max-age=1: MISS again once expired" wait_for 5 expired
ok "... not before a second passed" test $(( ($(date +%s%N) - t0) / 1000000 )) -ge 900

# ---- streaming while filling; collapsed forwarding (event loop) ----
SHA200=$(pattern_sha 200000)
write_file "$T/py.json" "{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"upstream\":\"http://127.0.0.1:$PY\",\"access_log\":\"$T/py.access\"}"
start_daemon py cdni-dcdn "$T/py.json"
P=$(addr py http)
tt=$(curl -s -o "$T/s0" -w '%{time_starttransfer} %{time_total}' "http://$P/slow/s0")
ok "bytes reach the client before the fill completes ($tt s)" \
	awk -v t="$tt" 'BEGIN { split(t, a, " "); exit !(a[1] + 0.4 < a[2] && a[2] >= 0.8) }'
is "$(sha "$T/s0")" "$SHA200" "streamed body right"
pids=(); for i in 1 2 3 4 5 6 7 8; do curl -s -o "$T/c$i" -D "$T/c$i.h" "http://$P/slow/c1" & pids+=($!); done
wait "${pids[@]}"
is "$(py_count /slow/c1)" 1 "8 parallel requests for a cold object: one upstream request"
n=0; for i in 1 2 3 4 5 6 7 8; do [ "$(sha "$T/c$i")" = "$SHA200" ] && n=$((n + 1)); done
is "$n" 8 "all 8 got the whole body"
is "$(cat "$T"/c?.h | tr -d '\r' | grep -c '^X-Cache: MISS')" 1 "one MISS, the others joined"
is "$(hdr X-Cache "http://$P/slow/c1")" "HIT" "then a HIT"
pids=(); for i in 1 2 3 4; do curl -s -o "$T/p$i" "http://$P/private/p1" & pids+=($!); done
wait "${pids[@]}"
is "$(py_count /private/p1)" 4 "Set-Cookie responses are not shared: each request fetched its own"
is "$(hdr_to "$T/k1" X-Cache "http://$P/chunked/k1")" "MISS" "chunked upstream (no length): MISS"
is "$(hdr_to "$T/k2" X-Cache "http://$P/chunked/k1")" "HIT" "... stored: HIT"
is "$(sha "$T/k2")" "$(pattern_sha 300000)" "... with the right bytes"
is "$(status "http://$P/error/e1")" 503 "an upstream 5xx passes through"
is "$(status "http://$P/error/e1")" 503 "... again"
is "$(py_count /error/e1)" 2 "... and is not stored"

# ---- upstream failures ----
is "$(curl -s -o /dev/null -w '%{http_code}' "http://$P/broken/b1"; echo " $?")" "200 18" \
	"a fill failing midway aborts the client (curl: partial transfer)"
curl -s -o /dev/null "http://$P/broken/b1"
is "$(py_count /broken/b1)" 2 "the partial object was discarded, never served"
write_file "$T/quick.json" "{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"upstream\":\"http://127.0.0.1:$PY\",\"upstream_timeout_ms\":1500}"
start_daemon quick cdni-dcdn "$T/quick.json"
Q=$(addr quick http)
t0=$(date +%s%N)
is "$(status "http://$Q/silent/x")" 504 "silent upstream: 504"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok "504 after the upstream deadline (${ms} ms)" test "$ms" -ge 1400 -a "$ms" -lt 6000
is "$(status "http://$Q/silent/x")" 504 "silent again: 504, nothing stored"
is "$(py_count /silent/x)" 2 "... the upstream was asked twice"

DOWN=$(free_port)
write_file "$T/down.json" "{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"upstream\":\"http://127.0.0.1:$DOWN\"}"
start_daemon down cdni-dcdn "$T/down.json"
D=$(addr down http)
is "$(status "http://$D/ping.txt")" 502 "origin down: 502"
ok "second origin starts" nginx_start ngx2 "$DOWN"
is "$(hdr X-Cache "http://$D/ping.txt")" "MISS" "origin back: MISS (the 502 was not stored)"
is "$(hdr X-Cache "http://$D/ping.txt")" "HIT" "then HIT"

# ---- an HTTPS upstream (cdni-origin), verified with upstream_ca ----
if [ -x "$CDNI_BIN/cdni-origin" ]; then
	write_file "$T/origin.json" "{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0,\"tls\":true,\"cert\":\"$(pki origin-ec.chain.pem)\",\"key\":\"$(pki origin-ec.key)\"}],\"root\":\"$W\",\"cache_control\":\"max-age=60\",\"access_log\":\"$T/origin.access\"}"
	start_daemon origin cdni-origin "$T/origin.json"
	OS=$(addr origin https)
	write_file "$T/tlsup.json" "{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"upstream\":\"https://$OS\",\"upstream_ca\":\"$CA\",\"upstream_host\":\"origin.csp.test\"}"
	start_daemon tlsup cdni-dcdn "$T/tlsup.json"
	is "$(hdr_to "$T/o1" X-Cache "http://$(addr tlsup http)/r/a.bin")" "MISS" "https upstream: MISS"
	is "$(hdr_to "$T/o2" X-Cache "http://$(addr tlsup http)/r/a.bin")" "HIT" "https upstream: HIT"
	is "$(sha "$T/o2")" "$(sha "$W/r/a.bin")" "https upstream: bytes right"
	like "$(grep '"uri":"/r/a.bin"' "$T/origin.access")" '"host":"origin.csp.test"' "upstream_host sent as Host"
	write_file "$T/rogue.json" "{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"upstream\":\"https://$OS\",\"upstream_ca\":\"$(pki rogue-ca.pem)\"}"
	start_daemon rogue cdni-dcdn "$T/rogue.json"
	is "$(status "http://$(addr rogue http)/r/a.bin")" 502 "https upstream with a certificate the CA did not sign: 502"
	ok "... and the reason is logged" wait_for 5 grep -Eq 'warn \[fill\].*(certificate|SSL)' "$T/rogue.err"
else
	skip_n=6; while [ $skip_n -gt 0 ]; do _tap_report 0 "# SKIP cdni-origin not built"; skip_n=$((skip_n - 1)); done
fi

# ---- LRU eviction in a small cache ----
write_file "$T/small.json" "{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"upstream\":\"http://127.0.0.1:$NGX\",\"cache_size\":65536,\"max_object_size\":30000}"
start_daemon small cdni-dcdn "$T/small.json"
M=$(addr small http)
xc() { hdr X-Cache "http://$M/lru/$1.bin"; }
is "$(xc 1) $(xc 2) $(xc 1)" "MISS MISS HIT" "two objects fit"
is "$(xc 3)" "MISS" "a third one evicts"
is "$(xc 1)" "HIT" "the recently used one stays"
is "$(xc 2)" "MISS" "the least recently used one was evicted"
is "$(ngx_count ngx /lru/1.bin) $(ngx_count ngx /lru/2.bin) $(ngx_count ngx /lru/3.bin)" "1 2 1" \
	"origin requests match"
is "$(sha "$(curl -s -o "$T/l1" "http://$M/lru/1.bin"; echo "$T/l1")")" "$(sha "$W/lru/1.bin")" "evicting never corrupts"

# ---- a thread per connection: blocking waits ----
write_file "$T/tpc.json" "{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"upstream\":\"http://127.0.0.1:$PY\",\"threads\":0}"
start_daemon tpc cdni-dcdn "$T/tpc.json"
TP=$(addr tpc http)
pids=(); for i in 1 2 3 4 5 6; do curl -s -o "$T/t$i" "http://$TP/slow/t1" & pids+=($!); done
wait "${pids[@]}"
is "$(py_count /slow/t1)" 1 "thread per connection: 6 parallel requests, one upstream request"
n=0; for i in 1 2 3 4 5 6; do [ "$(sha "$T/t$i")" = "$SHA200" ] && n=$((n + 1)); done
is "$n" 6 "... all got the whole body"
is "$(hdr X-Cache "http://$TP/slow/t1")" "HIT" "... then a HIT"
is "$(status "http://$TP/broken/t2")" 200 "thread per connection: broken fill still answers headers"
write_file "$T/tpcq.json" "{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"upstream\":\"http://127.0.0.1:$PY\",\"threads\":0,\"upstream_timeout_ms\":1500}"
start_daemon tpcq cdni-dcdn "$T/tpcq.json"
is "$(status "http://$(addr tpcq http)/silent/t3")" 504 "thread per connection: silent upstream 504"

# ---- malformed requests ----
raw() { # PORT BYTES -> first response line
	local out
	exec 3<>"/dev/tcp/127.0.0.1/$1"
	printf '%b' "$2" >&3
	out=$(timeout 5 head -n 1 <&3 | tr -d '\r')
	exec 3<&- 3>&-
	printf '%s' "$out"
}
MP=$(port main http)
like "$(raw "$MP" 'GET /x HTTP/1.1\r\nBad header line\r\n\r\n')" '^HTTP/1\.1 400' "malformed header line: 400"
out=$(raw "$MP" 'GARBAGE\r\n\r\n')
like "${out:-closed}" '^(closed|HTTP/1\.[01] 400)' "garbage request line: 400 or closed"
like "$(raw "$MP" 'GET /ping.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n')" '^HTTP/1\.1 400' "two Host headers: 400"
like "$(raw "$MP" 'GET /a\001b HTTP/1.1\r\nHost: h\r\n\r\n')" '^HTTP/1\.1 400' "control byte in the target: 400"
like "$(raw "$MP" 'GET * HTTP/1.1\r\nHost: h\r\n\r\n')" '^HTTP/1\.1 400' "asterisk-form: 400"
like "$(raw "$MP" 'GET /ping.txt HTTP/1.1\r\nHost: a/b\r\n\r\n')" '^HTTP/1\.1 400' "bad Host: 400"
like "$(raw "$MP" 'GET /ping.txt HTTP/1.1\r\n\r\n')" '^HTTP/1\.1 400' "HTTP/1.1 without Host: 400"
like "$(raw "$MP" "GET /$(head -c 5000 /dev/zero | tr '\0' a) HTTP/1.1\r\nHost: h\r\n\r\n")" \
	'^HTTP/1\.1 (414|400|431)' "very long target refused"
like "$(raw "$MP" 'POST /a.bin HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc')" '^HTTP/1\.1 405' "POST: 405"
like "$(raw "$MP" 'GET http://edge.dcdn.test/ping.txt HTTP/1.1\r\nHost: x\r\n\r\n')" '^HTTP/1\.1 200' \
	"absolute-form accepted"
is "$(hdr X-Cache "http://$E/a.bin")" "HIT" "the daemon keeps serving after bad requests"

# ---- the access log ----
wait_for 5 grep -q '"uri":"/a.bin".*"cache":"HIT"' "$T/main.access"
like "$(grep '"uri":"/a.bin"' "$T/main.access" | head -n 1)" \
	"\"method\":\"GET\".*\"status\":200,\"bytes\":50000.*\"cache\":\"MISS\",\"upstream\":\"http://127.0.0.1:$NGX/a.bin\"" \
	"access log: MISS with the upstream URL"
like "$(grep '"uri":"/a.bin"' "$T/main.access" | sed -n 2p)" '"cache":"HIT"' "access log: HIT"
unlike "$(grep '"cache":"HIT"' "$T/main.access" | head -n 1)" '"upstream"' "no upstream on a HIT"
like "$(grep '"uri":"/r/a.bin"' "$T/main.access" | head -n 1)" '"tls":"TLSv1\.3"' "access log: TLS version"
like "$(grep '"status":405' "$T/main.access")" '"note":"only GET and HEAD"' "access log: why refused"
is "$(grep '"uri":"/slow/c1"' "$T/py.access" | grep -c '"note":"joined a fill in progress"')" 7 "access log: 7 joined requests"

# ---- stopping during a fill ----
write_file "$T/stop.json" "{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"upstream\":\"http://127.0.0.1:$PY\"}"
start_daemon stop cdni-dcdn "$T/stop.json"
curl -s -o "$T/stopped" "http://$(addr stop http)/slow/st" &
cpid=$!
wait_for 5 grep -qx /slow/st "$T/up.log"
t0=$(date +%s%N)
ok "stops cleanly (TERM) with a fill in progress" stop_daemon stop
ok "... quickly ($(( ($(date +%s%N) - t0) / 1000000 )) ms)" test $(( ($(date +%s%N) - t0) / 1000000 )) -lt 3000
wait "$cpid"
ok "... and the client did not get a whole body" test "$(stat -c %s "$T/stopped")" -lt 200000

bg_stop_all
done_testing

#!/usr/bin/env bash
# cdni-ua against servers nobody here wrote: nginx (redirect chains, TLS with
# the test PKI, static files) and a tiny python listener for what nginx will
# not send (a silent server, a bare CR in Location, bytes that are not UTF-8).
# Cross-checks with curl and openssl s_client where they say the same thing.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh" || exit 1

command -v nginx >/dev/null || skip_all "nginx not installed (make deps)"
command -v python3 >/dev/null || skip_all "python3 not installed (make deps)"

UA=$CDNI_BIN/cdni-ua
CA=$(pki ca.pem)

# ---- helpers ---------------------------------------------------------------

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Debian's python3 first: a version manager's shim can take half a second a start
PY=$(command -v /usr/bin/python3 || command -v python3)

# j NAME EXPR : a python expression over the trace $T/NAME.json (as t), by
# one long-lived python process (started once, ends when the test does)
coproc QUERY { "$PY" -u -c '
import json, sys
for line in sys.stdin:
    f, e = line.rstrip("\n").split("\t", 1)
    try:
        v = eval(e, {"t": json.load(open(f)), "len": len, "any": any, "all": all,
                     "sorted": sorted, "isinstance": isinstance, "int": int, "float": float, "str": str})
        if isinstance(v, bool): v = "true" if v else "false"
        elif v is None: v = "null"
        elif isinstance(v, (list, dict)): v = json.dumps(v)
        else: v = str(v)
    except Exception as x:
        v = "query failed: %r" % x
    print(v.replace("\n", "\\n"))
'; }
exec {QIN}>&"${QUERY[1]}" {QOUT}<&"${QUERY[0]}"
j() {
	local r
	printf '%s\t%s\n' "$T/$1.json" "$2" >&"$QIN"
	IFS= read -r r <&"$QOUT"
	printf '%s\n' "$r"
}

# run_ua NAME ARGS... : run cdni-ua with the test CA and --resolve map;
# trace in $T/NAME.json, stderr in $T/NAME.uaerr, exit status in $rc
run_ua() {
	local name=$1; shift
	"$UA" --cacert "$CA" "${RESOLVE[@]}" "$@" >"$T/$name.json" 2>"$T/$name.uaerr"
	rc=$?
}

# start_bg NAME COMMAND... : a third-party server; stopped (TERM, exit 0
# expected) by done_testing like the project's daemons
start_bg() {
	local name=$1; shift
	"$@" >"$T/$name.out" 2>"$T/$name.err" &
	_pid[$name]=$!
}

can_connect() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# ---- the servers -------------------------------------------------------------

mkdir -p "$T/www/v"
head -c 100000 /dev/urandom >"$T/www/v/a.bin"
echo "plain http body" >"$T/www/plain.bin"
SHA=$(sha256sum <"$T/www/v/a.bin" | cut -d' ' -f1)

# The servers inside nginx's http { } (t/lib.sh start_nginx): $NGINX_PORT is
# the CSP's http port; the https ones are picked here, again on each attempt.
ua_servers() {
	H=$NGINX_PORT S1=$(free_port) S2=$(free_port) S3=$(free_port) S4=$(free_port)
	cat <<EOF
  default_type application/octet-stream;
  absolute_redirect off;
  ssl_protocols TLSv1.2 TLSv1.3;

  # the CSP's name over http: the "insecure first" request of the figures
  server {
    listen 127.0.0.1:$H; listen 127.0.0.2:$H; server_name www.csp.test;
    root $T/www;
    location = /start { return 302 https://www.csp.test:$S1/v/a.bin; }
    location = /loop { return 302 /loop; }
    location = /nolocation { return 302; }
  }
  # the CSP's name over https (uCDN front door): delegates by 302
  server {
    listen 127.0.0.1:$S1 ssl; server_name www.csp.test;
    ssl_certificate $CDNI_PKI/csp-ec.chain.pem; ssl_certificate_key $CDNI_PKI/csp-ec.key;
    add_header X-Echo-Test \$http_x_test always;
    add_header X-Echo-Auth \$http_authorization always;
    location /v/ { return 302 https://edge.dcdn.test:$S2\$request_uri; }
    location = /r/sub/rel { return 302 ../../v/a.bin; }
    location = /s301 { return 301 /s303; }
    location = /s303 { return 303 /s307; }
    location = /s307 { return 307 /s308; }
    location = /s308 { return 308 /v/a.bin; }
    location = /down { return 302 http://www.csp.test:$H/plain.bin; }
    location = /crlf { return 302 "/x%0D%0AX-Injected:%20yes"; }
    location = /wrongname { return 302 https://edge.dcdn.test:$S3/v/a.bin; }
    location / { return 404; }
  }
  # the dCDN edge: serves the content under its own name
  server {
    listen 127.0.0.1:$S2 ssl; listen 127.0.0.2:$S2 ssl; server_name edge.dcdn.test;
    ssl_certificate $CDNI_PKI/dcdn-ec.chain.pem; ssl_certificate_key $CDNI_PKI/dcdn-ec.key;
    root $T/www;
    add_header X-Cache MISS;
    add_header X-Echo-Test \$http_x_test always;
    add_header X-Echo-Auth \$http_authorization always;
  }
  # an edge reached under edge.dcdn.test that holds only the CSP's
  # certificate: what a UA sees after a plain DNS CNAME delegation
  server {
    listen 127.0.0.1:$S3 ssl; server_name edge.dcdn.test;
    ssl_certificate $CDNI_PKI/csp-ec.chain.pem; ssl_certificate_key $CDNI_PKI/csp-ec.key;
    root $T/www;
  }
  # www.csp.test with a certificate from a CA nobody trusts
  server {
    listen 127.0.0.1:$S4 ssl; server_name www.csp.test;
    ssl_certificate $CDNI_PKI/rogue-csp.chain.pem; ssl_certificate_key $CDNI_PKI/rogue-csp.key;
    root $T/www;
  }
EOF
}

nginx_up() {
	can_connect 127.0.0.1 "$H" && can_connect 127.0.0.2 "$H" && can_connect 127.0.0.1 "$S1" &&
		can_connect 127.0.0.2 "$S2" && can_connect 127.0.0.1 "$S3" && can_connect 127.0.0.1 "$S4"
}

start_nginx nginx ua_servers nginx_up || done_testing

RESOLVE=(--resolve "www.csp.test:$H:127.0.0.1" --resolve "www.csp.test:$S1:127.0.0.1"
	--resolve "edge.dcdn.test:$S2:127.0.0.2" --resolve "edge.dcdn.test:$S3:127.0.0.1"
	--resolve "www.csp.test:$S4:127.0.0.1")

# python listener: "silent" accepts and never answers; "raw DIR" answers a
# request for /NAME with the bytes of DIR/NAME.resp and closes
write_file "$T/raw.py" 'import os, signal, socket, sys
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
print("ready", s.getsockname()[1], flush=True)
held = []
while True:
    c, _ = s.accept()
    if sys.argv[1] == "silent":
        held.append(c)
        continue
    c.settimeout(5)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            d = c.recv(4096)
            if not d:
                break
            data += d
        name = data.split(b" ")[1].decode().strip("/")
        c.sendall(open(os.path.join(sys.argv[2], os.path.basename(name) + ".resp"), "rb").read())
    except (OSError, IndexError):
        pass
    c.close()'
mkdir -p "$T/raw"
start_bg silent "$PY" "$T/raw.py" silent
start_bg raw "$PY" "$T/raw.py" raw "$T/raw"
wait_for 10 grep -q ready "$T/silent.out" || diag "silent listener did not start"
wait_for 10 grep -q ready "$T/raw.out" || diag "raw listener did not start"
SILENT=$(awk '{print $2}' "$T/silent.out")
RAW=$(awk '{print $2}' "$T/raw.out")

# ---- the figure: http -> https uCDN -> https dCDN edge ------------------------

run_ua fig -o "$T/fig.body" "http://www.csp.test:$H/start"
is "$rc" 0 "figure chain: exit 0"
is "$(j fig 't["ok"]')" true "figure chain: ok"
is "$(j fig 't["error"]')" null "figure chain: no error"
is "$(j fig 't["final_status"]')" 200 "figure chain: final_status 200"
is "$(j fig 'len(t["hops"])')" 3 "figure chain: three hops"
is "$(j fig '" ".join(str(h["status"]) for h in t["hops"])')" "302 302 200" "statuses 302 302 200"
is "$(j fig '" ".join(h["method"] for h in t["hops"])')" "GET GET GET" "methods"
is "$(j fig 't["hops"][0]["location"]')" "https://www.csp.test:$S1/v/a.bin" "hop 1: http -> https Location"
is "$(j fig 't["hops"][1]["location"]')" "https://edge.dcdn.test:$S2/v/a.bin" "hop 2: cross-domain Location"
is "$(j fig 't["hops"][2]["location"]')" null "hop 3: no Location"
is "$(j fig 't["hops"][2]["url"]')" "https://edge.dcdn.test:$S2/v/a.bin" "hop 3 URL is hop 2's Location"
is "$(j fig 't["hops"][2]["host"]')" "edge.dcdn.test" "hop 3 host"
is "$(j fig 't["hops"][0]["address"]')" "127.0.0.1:$H" "hop 1 address (--resolve)"
is "$(j fig 't["hops"][2]["address"]')" "127.0.0.2:$S2" "hop 3 address is the --resolve mapping (127.0.0.2)"
is "$(j fig 't["hops"][0]["tls"]')" null "hop 1 (http): tls null"
is "$(j fig 't["hops"][1]["tls"]["subject"]')" "CN=csp.test,O=cdni test" "hop 2: CSP certificate"
is "$(j fig 't["hops"][2]["tls"]["subject"]')" "CN=dcdn.test,O=cdni test" "hop 3: dCDN certificate"
is "$(j fig 't["hops"][2]["tls"]["issuer"]')" "CN=cdni test root,O=cdni test" "hop 3: issuer"
is "$(j fig '"DNS:*.dcdn.test" in t["hops"][2]["tls"]["sans"]')" true "hop 3: SANs"
is "$(j fig 't["hops"][2]["tls"]["version"]')" TLSv1.3 "hop 3: TLS 1.3"
is "$(j fig 't["hops"][2]["tls"]["verified"]')" true "hop 3: verified"
is "$(j fig 't["hops"][2]["tls"]["verify_error"]')" null "hop 3: no verify_error"
s_cipher=$(openssl s_client -connect "127.0.0.2:$S2" -servername edge.dcdn.test -CAfile "$CA" \
	</dev/null 2>/dev/null | sed -n 's/.*Cipher is \(.*\)/\1/p' | head -n1)
is "$(j fig 't["hops"][2]["tls"]["cipher"]')" "$s_cipher" "hop 3 cipher is what openssl s_client negotiates"
is "$(j fig 't["hops"][2]["http_version"]')" 1.1 "http_version"
is "$(j fig 't["hops"][2]["headers"]["x-cache"]')" MISS "response headers recorded, lowercase"
is "$(j fig 't["hops"][2]["headers"]["content-length"]')" 100000 "content-length header"
is "$(j fig 't["hops"][2]["body"]["size"]')" 100000 "body size"
is "$(j fig 't["hops"][2]["body"]["sha256"]')" "$SHA" "body sha256 equals sha256sum of the file"
ok "-o writes the final body" cmp "$T/fig.body" "$T/www/v/a.bin"
is "$(j fig '[c["name"] for c in t["checks"]]')" '["tls-verified hop 2", "tls-verified hop 3"]' "checks: one per https hop"
is "$(j fig 'all(c["ok"] for c in t["checks"])')" true "every check passed"
is "$(j fig 'all(all(isinstance(v, (int, float)) and v >= 0 for v in h["timing_ms"].values()) for h in t["hops"])')" \
	true "timings are non-negative numbers"
is "$(j fig 'sorted(t["hops"][1]["timing_ms"])')" '["connect", "dns", "first_byte", "tls", "total"]' "timing keys"
is "$(j fig 't["hops"][1]["timing_ms"]["tls"] > 0')" true "hop 2 spent time in the TLS handshake"
like "$(cat "$T/fig.uaerr")" "hop=3.* -> 200" "progress lines on stderr"

# the same chain, mapping the edge to 127.0.0.1: the address follows --resolve
run_ua remap --resolve "edge.dcdn.test:$S2:127.0.0.1" "http://www.csp.test:$H/start"
is "$rc" 0 "remapped edge: exit 0"
is "$(j remap 't["hops"][2]["address"]')" "127.0.0.1:$S2" "--resolve: a later mapping for a host:port wins"

# --max-redirs equal to the chain's redirects passes
run_ua exact --max-redirs 2 "http://www.csp.test:$H/start"
is "$rc" 0 "--max-redirs 2 follows a chain of two redirects"

# ---- relative Location, every redirect status, reused connection -------------

run_ua rel "https://www.csp.test:$S1/r/sub/rel"
is "$rc" 0 "relative Location: exit 0"
is "$(j rel 't["hops"][0]["headers"]["location"]')" "../../v/a.bin" "server sent a relative Location"
is "$(j rel 't["hops"][0]["location"]')" "https://www.csp.test:$S1/v/a.bin" "resolved against the hop's URL"
is "$(j rel 't["hops"][1]["tls"]["subject"]')" "CN=csp.test,O=cdni test" "hop 2 (reused connection) still records TLS"
is "$(j rel 't["hops"][2]["body"]["sha256"]')" "$SHA" "relative chain ends with the file"

run_ua codes "https://www.csp.test:$S1/s301"
is "$rc" 0 "301 303 307 308 followed: exit 0"
is "$(j codes '" ".join(str(h["status"]) for h in t["hops"])')" "301 303 307 308 302 200" "each status followed"

# ---- methods, ranges, headers ----------------------------------------------------

run_ua head --method HEAD "http://www.csp.test:$H/start"
is "$rc" 0 "HEAD: exit 0"
is "$(j head '" ".join(h["method"] for h in t["hops"])')" "HEAD HEAD HEAD" "HEAD kept across redirects"
is "$(j head 't["hops"][2]["body"]')" null "HEAD: no body"
is "$(j head 't["hops"][2]["headers"]["content-length"]')" 100000 "HEAD: headers of the file"

run_ua range --range 0-99 -o "$T/range.body" "https://www.csp.test:$S1/v/a.bin"
is "$rc" 0 "range: exit 0"
is "$(j range 't["final_status"]')" 206 "range: 206"
is "$(j range 't["hops"][-1]["body"]["size"]')" 100 "range: 100 bytes"
is "$(j range 't["hops"][-1]["body"]["sha256"]')" "$(head -c 100 "$T/www/v/a.bin" | sha256sum | cut -d' ' -f1)" \
	"range: sha256 of the first 100 bytes"
is "$(stat -c %s "$T/range.body")" 100 "range: -o holds the 100 bytes"

run_ua hdr -H 'X-Test: hello' -H 'Authorization: Bearer s3cret' "https://www.csp.test:$S1/v/a.bin"
is "$(j hdr 't["hops"][0]["headers"]["x-echo-test"]')" hello "-H sent on hop 1"
is "$(j hdr 't["hops"][1]["headers"]["x-echo-test"]')" hello "-H sent on the cross-origin hop too"
is "$(j hdr 't["hops"][0]["headers"]["x-echo-auth"]')" "Bearer s3cret" "Authorization sent to the start origin"
is "$(j hdr '"x-echo-auth" in t["hops"][1]["headers"]')" false "Authorization not sent to another origin"

# ---- redirect limit ----------------------------------------------------------------

run_ua loop "http://www.csp.test:$H/loop"
is "$rc" 1 "redirect loop: exit 1"
is "$(j loop 'len(t["hops"])')" 11 "redirect loop: 11 hops with the default limit of 10"
like "$(j loop 't["error"]')" "too many redirects \(more than 10\)" "redirect loop: error names the limit"
is "$(j loop 't["ok"]')" false "redirect loop: ok false"

run_ua loop3 --max-redirs 3 "http://www.csp.test:$H/loop"
is "$rc" 1 "--max-redirs 3: exit 1"
is "$(j loop3 'len(t["hops"])')" 4 "--max-redirs 3: four hops"

run_ua loop0 --max-redirs 0 "http://www.csp.test:$H/start"
is "$rc" 1 "--max-redirs 0 with a redirect: exit 1"
is "$(j loop0 'len(t["hops"])')" 1 "--max-redirs 0: one hop"

run_ua emptyloc "http://www.csp.test:$H/nolocation"
is "$rc" 1 "302 with an empty Location (nginx 'return 302;'): exit 1"
like "$(j emptyloc 't["error"]')" "Location refused: empty Location" "empty Location: refused"

run_ua notfound "https://www.csp.test:$S1/missing"
is "$rc" 1 "final 404: exit 1"
is "$(j notfound 't["final_status"]')" 404 "final 404 recorded"
is "$(j notfound 't["error"]')" null "final 404 is not a transport error"

# ---- TLS verification ----------------------------------------------------------------

run_ua wrongname "https://edge.dcdn.test:$S3/v/a.bin"
is "$rc" 1 "certificate for another name: exit 1"
is "$(j wrongname 't["hops"][0]["tls"]["verified"]')" false "wrong name: verified false"
like "$(j wrongname 't["hops"][0]["tls"]["verify_error"]')" "edge.dcdn.test" "wrong name: verify_error names the host"
is "$(j wrongname 't["hops"][0]["tls"]["subject"]')" "CN=csp.test,O=cdni test" "wrong name: the certificate shown is recorded"
is "$(j wrongname 't["hops"][0]["status"]')" null "wrong name: no request was answered"
is "$(j wrongname '[c["ok"] for c in t["checks"] if c["name"] == "tls-verified hop 1"]')" "[false]" \
	"wrong name: tls-verified hop 1 fails"
curl -s -o /dev/null --cacert "$CA" --resolve "edge.dcdn.test:$S3:127.0.0.1" "https://edge.dcdn.test:$S3/v/a.bin"
is "$?" 60 "curl refuses the same server (exit 60)"

run_ua viaredirect "https://www.csp.test:$S1/wrongname"
is "$rc" 1 "redirect to a wrongly named edge: exit 1"
is "$(j viaredirect '[h["status"] for h in t["hops"]]')" "[302, null]" "the failure is on hop 2"
like "$(j viaredirect 't["error"]')" "^hop 2: " "error names hop 2"

run_ua rogue "https://www.csp.test:$S4/v/a.bin"
is "$rc" 1 "untrusted CA: exit 1"
is "$(j rogue 't["hops"][0]["tls"]["issuer"]')" "CN=rogue root,O=cdni test" "untrusted CA: issuer recorded"
like "$(j rogue 't["hops"][0]["tls"]["verify_error"]')" "certificate chain: " "untrusted CA: chain error recorded"
curl -s -o /dev/null --cacert "$CA" --resolve "www.csp.test:$S4:127.0.0.1" "https://www.csp.test:$S4/v/a.bin"
is "$?" 60 "curl refuses the same server (exit 60)"

"$UA" -q --cacert "$(pki rogue-ca.pem)" "${RESOLVE[@]}" "https://www.csp.test:$S4/v/a.bin" >"$T/rogueca.json" 2>"$T/rogueca.uaerr"
is "$?" 0 "--cacert rogue-ca.pem: the rogue server verifies"
"$UA" -q --cacert "$(pki rogue-ca.pem)" "${RESOLVE[@]}" "https://edge.dcdn.test:$S2/v/a.bin" >"$T/rogueca2.json" 2>"$T/rogueca2.uaerr"
is "$?" 1 "--cacert rogue-ca.pem: the test root is no longer trusted"

# ---- downgrade ---------------------------------------------------------------------------

run_ua down "https://www.csp.test:$S1/down"
is "$rc" 1 "https -> http: exit 1"
is "$(j down 't["final_status"]')" 200 "https -> http: followed (final 200)"
is "$(j down 't["error"]')" null "https -> http: not an error"
is "$(j down '[c["ok"] for c in t["checks"] if c["name"] == "no-downgrade hop 2"]')" "[false]" \
	"https -> http: check no-downgrade hop 2 fails"
run_ua down2 --allow-downgrade "https://www.csp.test:$S1/down"
is "$rc" 0 "--allow-downgrade: exit 0"
is "$(j down2 '[c["ok"] for c in t["checks"] if c["name"] == "no-downgrade hop 2"]')" "[true]" \
	"--allow-downgrade: the check passes, still listed"

# ---- header injection and hostile responses ------------------------------------------

run_ua crlf "https://www.csp.test:$S1/crlf"
is "$(j crlf 't["hops"][0]["location"]')" "https://www.csp.test:$S1/x%0D%0AX-Injected:%20yes" "%0D%0A stays escaped in the next URL"
is "$(j crlf 't["hops"][1]["url"]')" "https://www.csp.test:$S1/x%0D%0AX-Injected:%20yes" "hop 2 requested it escaped"
is "$(j crlf 'any("injected" in k for h in t["hops"] for k in h["headers"])')" false "no injected header anywhere"
like "$(cat "$T/nginx/access.log")" "GET /x%0D%0AX-Injected:%20yes " "nginx saw the request line with the escape"
unlike "$(grep -a 'X-Injected' "$T/nginx/access.log" | grep -av '%0D%0A')" . "nginx never saw a raw CR LF"

printf 'HTTP/1.1 302 Found\r\nLocation: /a\rX-Evil: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' >"$T/raw/cr.resp"
run_ua rawcr "http://127.0.0.1:$RAW/cr"
is "$rc" 1 "bare CR in Location: exit 1"
like "$(j rawcr 't["error"]')" "Location refused: .*control byte 0x0D" "bare CR in Location: refused"
is "$(j rawcr 'len(t["hops"])')" 1 "bare CR in Location: not followed"
is "$(j rawcr 't["hops"][0]["location"]')" null "bare CR in Location: no resolved location"

printf 'HTTP/1.1 302 Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' >"$T/raw/noloc.resp"
run_ua noloc "http://127.0.0.1:$RAW/noloc"
is "$rc" 1 "302 without Location: exit 1"
like "$(j noloc 't["error"]')" "302 without a Location" "302 without Location: error says so"

printf 'HTTP/1.1 302 Found\r\nLocation: javascript:alert(1)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' >"$T/raw/js.resp"
run_ua rawjs "http://127.0.0.1:$RAW/js"
like "$(j rawjs 't["error"]')" "not http or https" "javascript: Location refused"

printf 'HTTP/1.1 200 OK\r\nX-Bin: \xff\xfe\x01ok\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi' >"$T/raw/bin.resp"
run_ua rawbin "http://127.0.0.1:$RAW/bin"
is "$rc" 0 "header bytes that are not UTF-8: exit 0"
is "$(j rawbin 't["hops"][0]["headers"]["x-bin"]')" "%FF%FE"$'\x01'"ok" "trace stays valid JSON (%XX for non-UTF-8)"

{ printf 'HTTP/1.1 200 OK\r\n'; for i in $(seq 1 1001); do printf 'X-H%d: v\r\n' "$i"; done
  printf 'Content-Length: 0\r\nConnection: close\r\n\r\n'; } >"$T/raw/many.resp"
run_ua rawmany "http://127.0.0.1:$RAW/many"
is "$rc" 1 "more than 1000 header fields: exit 1"
like "$(j rawmany 't["error"]')" "more than 1000 response header fields" "more than 1000 header fields: error says so"

printf 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhi' >"$T/raw/short.resp"
run_ua rawshort "http://127.0.0.1:$RAW/short"
is "$rc" 1 "body shorter than Content-Length: exit 1"
is "$(j rawshort 't["hops"][0]["body"]["size"]')" 2 "the partial body is what was received"

# ---- deadlines ---------------------------------------------------------------------------

t0=$(date +%s%N)
run_ua silent --timeout 1 "http://127.0.0.1:$SILENT/x"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$rc" 1 "silent server: exit 1"
like "$(j silent 't["error"]')" "timed out" "silent server: timed out"
ok "silent server: gave up within the deadline (${ms} ms)" test "$ms" -ge 900 -a "$ms" -lt 4000
is "$(j silent 't["hops"][0]["status"]')" null "silent server: no status"
is "$(j silent 't["hops"][0]["address"]')" "127.0.0.1:$SILENT" "silent server: address recorded"

run_ua silenttls --timeout 0.5 --resolve "www.csp.test:$SILENT:127.0.0.1" "https://www.csp.test:$SILENT/x"
is "$rc" 1 "silent TLS server: exit 1"
like "$(j silenttls '[c["detail"] for c in t["checks"]]')" "no TLS session" "silent TLS server: tls-verified fails, no session"

dead=$(free_port)
run_ua refused --timeout 2 "http://127.0.0.1:$dead/x"
is "$rc" 1 "connection refused: exit 1"
like "$(j refused 't["error"]')" "^hop 1: " "connection refused: error recorded"

# ---- output choices ----------------------------------------------------------------------

"$UA" -q --cacert "$CA" "${RESOLVE[@]}" --trace "$T/tr.json" "http://www.csp.test:$H/start" >"$T/tr.stdout" 2>"$T/tr.uaerr"
is "$?" 0 "--trace FILE: exit 0"
is "$(stat -c %s "$T/tr.stdout")" 0 "--trace FILE: nothing on stdout"
is "$(stat -c %s "$T/tr.uaerr")" 0 "--quiet: nothing on stderr"
is "$(j tr 't["hops"][-1]["body"]["sha256"]')" "$SHA" "--trace FILE holds the trace"
"$UA" -q --cacert "$CA" "${RESOLVE[@]}" --trace "$T/tr2.json" -o - "http://www.csp.test:$H/start" >"$T/tr2.body" 2>"$T/tr2.uaerr"
ok "-o - with --trace FILE: the body on stdout" cmp "$T/tr2.body" "$T/www/v/a.bin"

# ---- usage errors (exit 2) -------------------------------------------------------------

usage_fails() { # name args...
	local name=$1; shift
	"$UA" "$@" >"$T/usage.out" 2>"$T/usage.err"
	is "$?" 2 "usage error: $name"
}
usage_fails "no URL"
usage_fails "two URLs" http://a.test/ http://b.test/
usage_fails "--insecure is not offered" --insecure https://a.test/
usage_fails "-k is not offered" -k https://a.test/
usage_fails "--method POST" --method POST http://a.test/
usage_fails "-H without colon" -H 'NoColon' http://a.test/
usage_fails "-H with CR LF" -H $'X-A: b\r\nX-B: c' http://a.test/
usage_fails "--range 5-1" --range 5-1 http://a.test/
usage_fails "--resolve without address" --resolve a.test:80 http://a.test/
usage_fails "--timeout 0" --timeout 0 http://a.test/
usage_fails "--max-redirs -1" --max-redirs -1 http://a.test/
usage_fails "ftp URL" ftp://a.test/
usage_fails "URL without scheme" www.csp.test/v/a.bin
usage_fails "--cacert missing file" --cacert "$T/nonexistent.pem" https://a.test/
usage_fails "-o - with the trace on stdout" -o - http://a.test/
usage_fails "--trace in a missing directory" --trace "$T/no/such/dir/t.json" http://a.test/

"$UA" --help >"$T/help.out" 2>&1
is "$?" 0 "--help: exit 0"
for o in --method --header -H --range --resolve --cacert --max-redirs --allow-downgrade --timeout \
	--output -o --trace --quiet -q --help; do
	like "$(cat "$T/help.out")" "(^| )$o[ ,]" "--help documents $o"
done

# ---- no sanitizer reports from any run ---------------------------------------------------

is "$(cat "$T"/*.uaerr | grep -cE 'ERROR: (Address|Leak)Sanitizer|runtime error:')" 0 "no sanitizer reports"

done_testing

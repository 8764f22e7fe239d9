#!/usr/bin/env bash
# cdni-dcdn's RFC 7975 redirection interface with curl and jq: the RFC's
# request examples (HTTP and DNS forms), the capabilities document, the
# media type (415), malformed and hostile bodies (each answered with the
# error object while the daemon keeps serving), a cascade dCDN1 -> dCDN2
# (the answer is dCDN2's surrogate, cdn-path grows), two dCDNs delegating to
# each other (loop error, quickly), max-hops, out of footprint, capacity,
# capabilities not supported, a downstream that is down, the config check.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh"

command -v jq >/dev/null || skip_all "jq is not installed"
command -v python3 >/dev/null || skip_all "python3 is not installed"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

CT='Content-Type: application/cdni; ptype=redirection-request'
CAPS1='{"capabilities":[
 {"capability-type":"FCI.DeliveryProtocol","capability-value":{"delivery-protocols":["http/1.1","https/1.1"]},
  "footprints":[{"footprint-type":"ipv4cidr","footprint-value":["198.51.100.0/24"]},
                {"footprint-type":"ipv6cidr","footprint-value":["2001:db8:1::/48"]},
                {"footprint-type":"countrycode","footprint-value":["nl"]}]},
 {"capability-type":"FCI.RedirectionMode","capability-value":{"redirection-modes":["DNS-R","HTTP-R"]}},
 {"capability-type":"FCI.Metadata","capability-value":{"metadata":["MI.UriSigning"]}}]}'
CAPS2='{"capabilities":[
 {"capability-type":"FCI.DeliveryProtocol","capability-value":{"delivery-protocols":["http/1.1","https/1.1"]},
  "footprints":[{"footprint-type":"ipv4cidr","footprint-value":["203.0.113.0/24"]}]},
 {"capability-type":"FCI.RedirectionMode","capability-value":{"redirection-modes":["DNS-R","HTTP-R"]}}]}'
CAPS3='{"capabilities":[
 {"capability-type":"FCI.DeliveryProtocol","capability-value":{"delivery-protocols":["http/1.1"]}},
 {"capability-type":"FCI.RedirectionMode","capability-value":{"redirection-modes":["HTTP-R"]}}]}'

# dcdn_conf RI_PORT RRI_OBJECT_BODY : a dCDN config (the edge listener is
# needed by cdni-dcdn; its upstream is never asked here)
dcdn_conf() {
	printf '{"listen":[{"address":"127.0.0.1","port":0}],"upstream":"http://127.0.0.1:9",
"access_log":"%s","rri":{"listen":[{"address":"127.0.0.1","port":%s,"name":"rri"}],%s}}\n' \
		"$3" "$1" "$2"
}

P2=$(free_port)
write_file "$T/d1.json" "$(dcdn_conf 0 "\"cdn_id\":\"AS64500:1\",
 \"edge_base\":\"https://edge.dcdn.test:8443\",\"dns_cname\":[\"edge.dcdn.test\"],
 \"capabilities\":$CAPS1,\"geo\":[{\"prefix\":\"192.0.2.0/24\",\"country\":\"nl\"}],
 \"scope_v4\":24,\"max_age\":60,
 \"downstream\":{\"url\":\"http://127.0.0.1:$P2/cdni/rri\",\"timeout_ms\":2000}" "$T/d1.access")"
write_file "$T/d2.json" "$(dcdn_conf "$P2" "\"cdn_id\":\"AS64501:2\",
 \"edge_base\":\"http://edge.dcdn2.test\",\"dns_a\":[\"203.0.113.80\"],\"dns_aaaa\":[\"2001:DB8:2::80\"],
 \"dns_ttl\":20,\"capabilities\":$CAPS2" "$T/d2.access")"

ok "config check passes" "$CDNI_BIN/cdni-dcdn" -n -c "$T/d1.json"
start_daemon d1 cdni-dcdn "$T/d1.json" || { done_testing; }
start_daemon d2 cdni-dcdn "$T/d2.json" || { done_testing; }
U1="http://$(addr d1 rri)/cdni/rri"
U2="http://$(addr d2 rri)/cdni/rri"

post() { # URL BODY [extra curl args] -> "STATUS BODY" in $T/r.body, status echoed
	local u=$1 b=$2; shift 2
	curl -s -o "$T/r.body" -D "$T/r.hdr" -w '%{http_code}' -X POST -H "${CTH:-$CT}" "$@" --data-binary "$b" "$u"
}
jqr() { jq -c -r "$1" "$T/r.body" 2>/dev/null; }
hdr() { tr -d '\r' <"$T/r.hdr" | awk -v h="$1" 'BEGIN{IGNORECASE=1} index(tolower($0), tolower(h) ":") == 1 { sub(/^[^:]*: */, ""); print }'; }

# ---- the RFC's examples (§4.5.1, §4.4.1), client in dCDN1's footprint ----
HTTP_REQ='{"http":{"c-ip":"198.51.100.1","cs-uri":"http://www.example.com","cs-version":"HTTP/1.1","cs-method":"GET"},"cdn-path":["AS64496:0"],"max-hops":3}'
is "$(post "$U1" "$HTTP_REQ")" 200 "§4.5.1 HTTP request: 200"
is "$(hdr Content-Type)" "application/cdni; ptype=redirection-response" "response media type"
is "$(hdr Cache-Control)" "public, max-age=60" "Cache-Control from max_age"
is "$(jqr '.http["sc-status"]')" 302 "sc-status 302"
is "$(jqr '.http["sc-(location)"]')" "https://edge.dcdn.test:8443/" "Location: edge base + path"
is "$(jqr '.http["sc-version"] + " " + .http["sc-reason"]')" "HTTP/1.1 Found" "sc-version, sc-reason"
is "$(jqr '.http["cs-uri"]')" "http://www.example.com" "cs-uri echoed"
is "$(jqr '.["cdn-path"]')" '["AS64496:0","AS64500:1"]' "cdn-path reflected with our ID"
is "$(jqr '.scope.iprange')" '["198.51.100.0/24"]' "scope: the client's /24"

Q='{"http":{"c-ip":"198.51.100.9","cs-uri":"https://www.example.com/v/seg%201.ts?token=a&b=c","cs-version":"HTTP/1.1","cs-method":"GET","cs-(user-agent)":"curl"},"cdn-path":["AS64496:0"]}'
is "$(post "$U1" "$Q")" 200 "https cs-uri with a query"
is "$(jqr '.http["sc-(location)"]')" "https://edge.dcdn.test:8443/v/seg%201.ts?token=a&b=c" \
	"Location keeps path and query as received"

DNS_REQ='{"dns":{"resolver-ip":"192.0.2.1","c-subnet":"198.51.100.0/24","qtype":"A","qclass":"IN","qname":"www.example.com"},"cdn-path":["AS64496:0"],"max-hops":3}'
is "$(post "$U1" "$DNS_REQ")" 200 "§4.4.1 DNS request: 200"
is "$(jqr '.dns')" '{"cname":["edge.dcdn.test"],"name":"www.example.com","rcode":0,"ttl":30}' \
	"DNS answer: CNAME of the edge, name, rcode, ttl"
DNS_NL='{"dns":{"resolver-ip":"192.0.2.53","qtype":"AAAA","qclass":"IN","qname":"www.example.com"},"cdn-path":["AS64496:0"]}'
is "$(post "$U1" "$DNS_NL")" 200 "resolver in nl (country footprint via geo), no c-subnet"
V6='{"http":{"c-ip":"2001:db8:1::7","cs-uri":"http://www.example.com/a","cs-version":"HTTP/1.1","cs-method":"GET"},"cdn-path":["AS64496:0"]}'
is "$(post "$U1" "$V6")" 200 "IPv6 client in the ipv6cidr footprint"

# ---- capabilities ----
curl -s -o "$T/fci.json" "http://$(addr d1 rri)/cdni/fci"
is "$(jq -c '[.capabilities[]["capability-type"]]' "$T/fci.json")" \
	'["FCI.DeliveryProtocol","FCI.RedirectionMode","FCI.Metadata"]' "FCI document: capability types"
is "$(jq -c '.capabilities[0].footprints' "$T/fci.json")" \
	'[{"footprint-type":"ipv4cidr","footprint-value":["198.51.100.0/24"]},{"footprint-type":"ipv6cidr","footprint-value":["2001:db8:1::/48"]},{"footprint-type":"countrycode","footprint-value":["nl"]}]' \
	"FCI document: footprints"
is "$(jq -c '.capabilities[2]["capability-value"]' "$T/fci.json")" '{"metadata":["MI.UriSigning"]}' \
	"FCI document: URI signing support"

# ---- the media type and methods ----
is "$(CTH='Content-Type: application/json' post "$U1" "$HTTP_REQ")" 415 "application/json: 415"
is "$(jqr '.error["error-code"]')" 400 "415 carries error 400"
is "$(CTH='Content-Type: application/cdni; ptype=redirection-response' post "$U1" "$HTTP_REQ")" 415 \
	"a response's ptype: 415"
is "$(CTH='Content-Type: Application/CDNI;ptype="redirection-request"' post "$U1" "$HTTP_REQ")" 200 \
	"media type case and quotes tolerated"
is "$(curl -s -o /dev/null -w '%{http_code}' "$U1")" 405 "GET on the interface: 405"
is "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$CT" --data x "http://$(addr d1 rri)/other")" 404 \
	"other path: 404"

# ---- malformed and hostile bodies ----
bad() { # BODY STATUS ERROR_REASON_PREFIX NAME
	local st
	st=$(post "$U1" "$1")
	is "$st $(jqr '.error["error-code"]')" "$2 400" "$4: $2 with error 400"
	like "$(jqr '.error.reason')" "^$3" "$4: reason names it"
}
bad '{"http":{"c-ip":198,"cs-uri":"http://a/","cs-version":"HTTP/1.1","cs-method":"GET"},"cdn-path":[]}' \
	400 'http\.c-ip: not a string' "c-ip a number"
bad '{"http":{"cs-uri":"http://a/","cs-version":"HTTP/1.1","cs-method":"GET"},"cdn-path":[]}' \
	400 'http\.c-ip: missing' "c-ip missing"
bad '{"http":{"c-ip":"1.2.3.4","cs-uri":"http://a/","cs-version":"HTTP/1.1","cs-method":"GET"}}' \
	400 'cdn-path: missing' "cdn-path missing"
bad '{"dns":{"resolver-ip":"192.0.2.1","qtype":"A","qclass":"IN"},"cdn-path":[]}' \
	400 'dns\.qname: missing' "qname missing"
bad '{"dns":{"resolver-ip":"192.0.2.1","qtype":"MX","qclass":"IN","qname":"a.example"},"cdn-path":[]}' \
	400 "dns\\.qtype: 'MX'" "qtype MX"
bad '{"cdn-path":[],"max-hops":"3"}' 400 'dns, http: missing' "neither dns nor http"
bad '{"http":{"c-ip":"1.2.3.4","c-ip":"1.2.3.5","cs-uri":"http://a/","cs-version":"HTTP/1.1","cs-method":"GET"},"cdn-path":[]}' \
	400 'body: not I-JSON: duplicate' "duplicate key"
bad 'this is not JSON' 400 'body: not I-JSON' "not JSON"
bad '' 400 'body: not I-JSON' "empty body"
python3 -c 'print("{\"x\":" + "[" * 30000 + "]" * 30000 + ",\"cdn-path\":[]}")' >"$T/deep.json"
bad "$(cat "$T/deep.json")" 400 'body: nested deeper than 8' "30000 levels of nesting"
python3 -c 'import json; print(json.dumps({"http":{"c-ip":"1.2.3.4","cs-uri":"http://a/","cs-version":"HTTP/1.1","cs-method":"GET"},"cdn-path":["AS%d:0" % i for i in range(1, 500)]}))' >"$T/path.json"
bad "$(cat "$T/path.json")" 400 'cdn-path: 499 elements, more than 32' "cdn-path of 499"
python3 -c 'print("{\"dns\":{\"resolver-ip\":\"192.0.2.1\",\"qtype\":\"A\",\"qclass\":\"IN\",\"qname\":\"a.example\",\"x\":[" + ",".join(["1"] * 20000) + "]},\"cdn-path\":[]}")' >"$T/huge.json"
is "$(post "$U1" "$(cat "$T/huge.json")")" 200 "a huge array in an unknown key is ignored (within the size limit)"
head -c 70000 /dev/zero | tr '\0' ' ' >"$T/big.json"
is "$(curl -s -o "$T/r.body" -w '%{http_code}' -X POST -H "$CT" --data-binary @"$T/big.json" "$U1")" 413 \
	"70000-byte body: 413"
is "$(jqr '.error["error-code"]')" 400 "413 carries error 400"
is "$(curl -s -o "$T/r.body" -w '%{http_code}' -X POST -H "$CT" -H 'Transfer-Encoding: chunked' \
	--data-binary @"$T/big.json" "$U1")" 413 "70000 bytes chunked (no Content-Length): 413"
is "$(post "$U1" "$HTTP_REQ")" 200 "still serving after the hostile bodies"

# ---- out of footprint, delegation, cascade ----
IN2='{"http":{"c-ip":"203.0.113.5","cs-uri":"http://www.example.com/v/a.ts?q=1","cs-version":"HTTP/1.1","cs-method":"GET"},"cdn-path":["AS64496:0"],"max-hops":3}'
is "$(post "$U2" "$IN2")" 200 "dCDN2 serves its own footprint"
is "$(post "$U1" "$IN2")" 200 "dCDN1 -> dCDN2 for a client outside dCDN1's footprint"
is "$(jqr '.http["sc-(location)"]')" "http://edge.dcdn2.test/v/a.ts?q=1" "the answer is dCDN2's surrogate"
is "$(jqr '.["cdn-path"]')" '["AS64496:0","AS64500:1","AS64501:2"]' "cdn-path grew by both dCDNs"
like "$(tail -n 1 "$T/d2.access")" '"note":"rri http self"' "dCDN2 logged the cascaded request"
like "$(tail -n 1 "$T/d1.access")" '"note":"rri http via downstream"' "dCDN1 logged the delegation"
DNS2='{"dns":{"resolver-ip":"203.0.113.53","qtype":"A","qclass":"IN","qname":"www.example.com"},"cdn-path":["AS64496:0"]}'
is "$(post "$U1" "$DNS2")" 200 "DNS form cascaded"
is "$(jqr '.dns.a + .dns.aaaa')" '["203.0.113.80","2001:db8:2::80"]' "dCDN2's A/AAAA (RFC 5952 form)"
is "$(jqr '.dns.ttl')" 20 "dCDN2's ttl"
OUT='{"http":{"c-ip":"100.64.0.1","cs-uri":"http://www.example.com/","cs-version":"HTTP/1.1","cs-method":"GET"},"cdn-path":["AS64496:0"]}'
is "$(post "$U2" "$OUT")" 500 "out of footprint: HTTP 500"
is "$(jqr '.error["error-code"]')" 500 "out of footprint: error 500"
like "$(jqr '.error.reason')" "out of footprint" "reason says out of footprint"
is "$(post "$U1" "$OUT")" 500 "out of both footprints, through dCDN1"
is "$(jqr '.error.cdn')" "AS64501:2" "the error names dCDN2"

# ---- max-hops ----
H1=$(echo "$IN2" | jq -c '.["max-hops"]=1')
is "$(post "$U1" "$H1")" 500 "max-hops 1: dCDN1 may not cascade"
is "$(jqr '.error["error-code"]')" 503 "error 503 (maximum hops exceeded)"
H0=$(echo "$HTTP_REQ" | jq -c '.["max-hops"]=0')
is "$(post "$U1" "$H0")" 500 "cdn-path longer than max-hops"
is "$(jqr '(.error["error-code"] | tostring) + " " + .error.reason')" "503 Maximum hops exceeded" "503 at once"
H2=$(echo "$IN2" | jq -c '.["max-hops"]=2')
is "$(post "$U1" "$H2")" 200 "max-hops 2 allows one cascade"

# ---- loops ----
L=$(echo "$HTTP_REQ" | jq -c '.["cdn-path"]=["AS64496:0","AS64500:1"]')
is "$(post "$U1" "$L")" 500 "our own ID in cdn-path"
is "$(jqr '(.error["error-code"] | tostring) + " " + .error.reason')" "502 Loop detected" "loop error 502"
L=$(echo "$HTTP_REQ" | jq -c '.["cdn-path"]=["AS64496:0","AS7:0","AS64496:0"]')
is "$(post "$U1" "$L")" 500 "an ID twice in cdn-path"
is "$(jqr '.error["error-code"]')" 502 "loop error 502"

PA=$(free_port); PB=$(free_port)
write_file "$T/la.json" "$(dcdn_conf "$PA" "\"cdn_id\":\"AS65001:0\",\"edge_base\":\"http://a.test\",\"delegate\":\"always\",
 \"downstream\":{\"url\":\"http://127.0.0.1:$PB/cdni/rri\",\"timeout_ms\":3000}" "$T/la.access")"
write_file "$T/lb.json" "$(dcdn_conf "$PB" "\"cdn_id\":\"AS65002:0\",\"edge_base\":\"http://b.test\",\"delegate\":\"always\",
 \"downstream\":{\"url\":\"http://127.0.0.1:$PA/cdni/rri\",\"timeout_ms\":3000}" "$T/lb.access")"
start_daemon la cdni-dcdn "$T/la.json"
start_daemon lb cdni-dcdn "$T/lb.json"
t0=$(date +%s%N)
is "$(post "http://127.0.0.1:$PA/cdni/rri" "$HTTP_REQ" -m 5)" 500 "A -> B -> A: answered"
t1=$(date +%s%N)
is "$(jqr '.error["error-code"]')" 502 "loop detected"
is "$(jqr '.error.cdn')" "AS65001:0" "by A, when B's request comes back"
ok "the loop is answered within a second ($(( (t1 - t0) / 1000000 )) ms)" test $(( (t1 - t0) / 1000000 )) -lt 1000
is "$(post "http://127.0.0.1:$PB/cdni/rri" "$HTTP_REQ" -m 5)" 500 "B -> A -> B: answered"
is "$(jqr '.error.cdn')" "AS65002:0" "detected by B"

# ---- capacity, capabilities, downstream down ----
PX=$(free_port)
write_file "$T/d3.json" "$(dcdn_conf 0 "\"cdn_id\":\"AS64503:3\",\"edge_base\":\"http://edge3.test\",
 \"capabilities\":$CAPS3,\"delegate\":\"never\"" "$T/d3.access")"
write_file "$T/d4.json" "$(dcdn_conf 0 "\"cdn_id\":\"AS64504:4\",\"edge_base\":\"http://edge4.test\",\"available\":false" "$T/d4.access")"
write_file "$T/d5.json" "$(dcdn_conf 0 "\"cdn_id\":\"AS64505:5\",\"edge_base\":\"http://edge5.test\",\"delegate\":\"always\",
 \"downstream\":{\"url\":\"http://127.0.0.1:$PX/cdni/rri\",\"connect_timeout_ms\":300,\"timeout_ms\":500}" "$T/d5.access")"
start_daemon d3 cdni-dcdn "$T/d3.json"
start_daemon d4 cdni-dcdn "$T/d4.json"
start_daemon d5 cdni-dcdn "$T/d5.json"
U3="http://$(addr d3 rri)/cdni/rri"
is "$(post "$U3" "$HTTP_REQ")" 200 "http/1.1 and HTTP-R: served"
HTTPS_REQ=$(echo "$HTTP_REQ" | jq -c '.http["cs-uri"]="https://www.example.com/"')
is "$(post "$U3" "$HTTPS_REQ")" 500 "https/1.1 not offered"
is "$(jqr '.error["error-code"]')" 505 "error 505 (delivery protocol not supported)"
is "$(post "$U3" "$DNS_REQ")" 500 "DNS-R not offered"
is "$(jqr '.error["error-code"]')" 506 "error 506 (redirection protocol not supported)"
is "$(post "http://$(addr d4 rri)/cdni/rri" "$HTTP_REQ")" 500 "unavailable dCDN"
is "$(jqr '(.error["error-code"] | tostring) + " " + .error.reason')" "504 out of capacity" "error 504"
is "$(post "http://$(addr d4 rri)/cdni/rri" "$DNS_REQ")" 500 "no DNS target and unavailable"
t0=$(date +%s%N)
is "$(post "http://$(addr d5 rri)/cdni/rri" "$HTTP_REQ" -m 5)" 500 "downstream down"
t1=$(date +%s%N)
is "$(jqr '.error["error-code"]')" 500 "error 500"
like "$(jqr '.error.reason')" '^downstream: ' "reason says the downstream failed"
ok "within the deadline ($(( (t1 - t0) / 1000000 )) ms)" test $(( (t1 - t0) / 1000000 )) -lt 2000

# ---- mutual TLS: an https interface that needs a client certificate ----
CA=$(pki ca.pem)
PM=$(free_port)
write_file "$T/dm.json" "{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"upstream\":\"http://127.0.0.1:9\",
 \"access_log\":\"$T/dm.access\",\"rri\":{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":$PM,\"name\":\"rri\",
 \"tls\":true,\"cert\":\"$(pki dcdn2-ec.chain.pem)\",\"key\":\"$(pki dcdn2-ec.key)\"}],\"client_ca\":\"$CA\",
 \"cdn_id\":\"AS64509:9\",\"edge_base\":\"https://edge.dcdn2.test\"}}"
write_file "$T/dmc.json" "$(dcdn_conf 0 "\"cdn_id\":\"AS64508:8\",\"edge_base\":\"http://e8.test\",\"delegate\":\"always\",
 \"downstream\":{\"url\":\"https://rri.dcdn2.test:$PM/cdni/rri\",\"resolve\":\"rri.dcdn2.test:$PM:127.0.0.1\",\"ca\":\"$CA\",\"cert\":\"$(pki ucdn-ec.chain.pem)\",\"key\":\"$(pki ucdn-ec.key)\"}" "$T/dmc.access")"
write_file "$T/dmr.json" "$(dcdn_conf 0 "\"cdn_id\":\"AS64507:7\",\"edge_base\":\"http://e7.test\",\"delegate\":\"always\",
 \"downstream\":{\"url\":\"https://rri.dcdn2.test:$PM/cdni/rri\",\"resolve\":\"rri.dcdn2.test:$PM:127.0.0.1\",\"ca\":\"$CA\",\"cert\":\"$(pki rogue-csp.chain.pem)\",\"key\":\"$(pki rogue-csp.key)\"}" "$T/dmr.access")"
start_daemon dm cdni-dcdn "$T/dm.json"
start_daemon dmc cdni-dcdn "$T/dmc.json"
start_daemon dmr cdni-dcdn "$T/dmr.json"
UM="https://rri.dcdn2.test:$PM/cdni/rri"
RES="--resolve rri.dcdn2.test:$PM:127.0.0.1"
is "$(post "$UM" "$HTTP_REQ" $RES --cacert "$CA" --cert "$(pki ucdn-ec.chain.pem)" --key "$(pki ucdn-ec.key)")" 200 \
	"mutual TLS: a client certificate from the CA: 200"
is "$(jqr '.http["sc-(location)"]')" "https://edge.dcdn2.test/" "and the answer"
is "$(post "$UM" "$HTTP_REQ" $RES --cacert "$CA")" 403 "no client certificate: 403"
is "$(jqr '.error["error-code"]')" 400 "error 400"
like "$(jqr '.error.reason')" "client certificate" "reason names the certificate"
is "$(post "$UM" "$HTTP_REQ" $RES --cacert "$CA" --cert "$(pki rogue-csp.chain.pem)" --key "$(pki rogue-csp.key)")" 403 \
	"a certificate from another CA: 403"
is "$(post "http://$(addr dmc rri)/cdni/rri" "$HTTP_REQ")" 200 "a dCDN cascading over mutual TLS"
is "$(jqr '.["cdn-path"]')" '["AS64496:0","AS64508:8","AS64509:9"]' "through the https downstream"
is "$(post "http://$(addr dmr rri)/cdni/rri" "$HTTP_REQ")" 500 "cascading with a rogue client certificate"
like "$(jqr '.error.reason')" "client certificate" "refused by the downstream"
write_file "$T/bad5.json" "$(dcdn_conf 0 "\"cdn_id\":\"AS1:0\",\"edge_base\":\"http://e.test\",\"client_ca\":\"$CA\"" -)"
like "$("$CDNI_BIN/cdni-dcdn" -n -c "$T/bad5.json" 2>&1)" 'client_ca \(mutual TLS\) needs tls listeners' \
	"client_ca on a plain listener refused"

# ---- the config check ----
write_file "$T/bad1.json" "$(dcdn_conf 0 "\"cdn_id\":\"dcdn\",\"edge_base\":\"http://e.test\"" -)"
fails "bad cdn_id refused" "$CDNI_BIN/cdni-dcdn" -n -c "$T/bad1.json"
like "$("$CDNI_BIN/cdni-dcdn" -n -c "$T/bad1.json" 2>&1)" 'rri\.cdn_id' "message names rri.cdn_id"
write_file "$T/bad2.json" "$(dcdn_conf 0 "\"cdn_id\":\"AS1:0\",\"edge_base\":\"http://e.test\",\"capabilities\":{\"capabilities\":[{\"capability-type\":\"FCI.DeliveryProtocol\",\"capability-value\":{\"delivery-protocols\":[\"http/1.1\"]},\"footprints\":[{\"footprint-type\":\"ipv4cidr\",\"footprint-value\":[\"10.0.0.1/8\"]}]}]}" -)"
like "$("$CDNI_BIN/cdni-dcdn" -n -c "$T/bad2.json" 2>&1)" 'rri\.capabilities\.capabilities\[0\]\.footprints\[0\]\.footprint-value\[0\]' \
	"bad footprint: message names the path"
write_file "$T/bad3.json" "$(dcdn_conf 0 "\"cdn_id\":\"AS1:0\"" -)"
like "$("$CDNI_BIN/cdni-dcdn" -n -c "$T/bad3.json" 2>&1)" 'rri: needs edge_base' "nothing to answer with"
write_file "$T/bad4.json" "$(dcdn_conf 0 "\"cdn_id\":\"AS1:0\",\"dns_cname\":[\"a..b\"]" -)"
like "$("$CDNI_BIN/cdni-dcdn" -n -c "$T/bad4.json" 2>&1)" "rri\\.dns_cname\\[0\\]" "bad CNAME target"

# ---- the access log ----
like "$(grep -c '"uri":"/cdni/rri"' "$T/d1.access")" '^[1-9][0-9]+$' "every interface request logged"
like "$(grep '"status":413' "$T/d1.access" | head -n 1)" '"note":"rri 400 body: more than 65536 bytes"' \
	"the refusal's reason in the log"

done_testing

#!/usr/bin/env bash
# cdni-ucdn asking dCDNs over the RFC 7975 redirection interface: a redirect
# rule with "ask": true gets its Location from the first dCDN (cdni-dcdn's
# interface) that answers, caches it for its max-age and scope, falls back
# to the next dCDN, then to the rule's own target, when dCDNs are down or
# refuse (a loop between two dCDNs); a cascade uCDN -> dCDN1 -> dCDN2; curl
# follows the redirect to the real edge and gets the origin's bytes; curl
# replays the RFC's request body against the same dCDN meanwhile.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh"

CA=$(pki ca.pem)
mkdir -p "$T/www/v"
head -c 3000 /dev/urandom >"$T/www/v/a.bin"
write_file "$T/origin.json" "{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"root\":\"$T/www\",\"access_log\":\"-\"}"
start_daemon origin cdni-origin "$T/origin.json" || exit 1

# NAME ID EDGE-CERT EDGE-HOST MAX-AGE EXTRA: a dCDN with an HTTPS edge and its
# redirection interface on a listener of its own
dcdn() {
	local edge_port
	edge_port=$(_free_port)
	cat >"$T/$1.json" <<JSON
{"listen":[{"name":"https","address":"127.0.0.1","port":$edge_port,"tls":true,
            "cert":"$(pki "$3".chain.pem)","key":"$(pki "$3".key)"}],
 "upstream":"http://$(addr origin http)","access_log":"$T/$1.access",
 "rri":{"listen":[{"name":"rri","address":"127.0.0.1","port":0}],"cdn_id":"$2",
        "edge_base":"https://$4:$edge_port","max_age":$5,"scope_v4":24$6}}
JSON
	start_daemon "$1" cdni-dcdn "$T/$1.json"
}
dcdn dA AS64501:a dcdn-ec edge.dcdn.test 60 "" || exit 1
dcdn dB AS64502:b dcdn2-ec edge.dcdn2.test 0 "" || exit 1

# NAME DCDNS-JSON: the uCDN, /v/ asks, the rule's target is the fallback
ucdn() {
	cat >"$T/$1.json" <<JSON
{"listen":[{"address":"127.0.0.1","port":0}],"origin":"http://$(addr origin http)",
 "access_log":"$T/$1.access","default_action":"refuse",
 "rules":[{"prefix":"/v/","action":"redirect","status":302,"ask":true,
           "target":"https://static.dcdn.test"}],
 "rri":{"cdn_id":"AS64500:u","max_hops":3,"dcdns":$2}}
JSON
	start_daemon "$1" cdni-ucdn "$T/$1.json"
}
riurl() { echo "http://$(addr "$1" rri)/cdni/rri"; }
ucdn u "[{\"name\":\"A\",\"url\":\"$(riurl dA)\"},{\"name\":\"B\",\"url\":\"$(riurl dB)\"}]" || exit 1
U=$(addr u http)
loc() { curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://$U$1"; }
n_rri() { grep -c '"note":"rri http self"' "$T/$1.access" 2>/dev/null || true; }

# ---- asked, then cached ----
EA=$(port dA https) EB=$(port dB https)
is "$(loc /v/a.bin)" "302 https://edge.dcdn.test:$EA/v/a.bin" "the Location is dCDN A's answer"
is "$(n_rri dA)" 1 "dCDN A answered one redirection request"
like "$(tail -n 1 "$T/u.access")" '"note":"rri A asked"' "the uCDN logged which dCDN answered"
is "$(loc /v/a.bin)" "302 https://edge.dcdn.test:$EA/v/a.bin" "the same Location again"
is "$(n_rri dA)" 1 "from the cache: dCDN A was not asked again (max-age 60)"
like "$(tail -n 1 "$T/u.access")" '"note":"rri A cached"' "logged as cached"
is "$(loc '/v/a.bin?x=1')" "302 https://edge.dcdn.test:$EA/v/a.bin?x=1" "another URI is asked for, query kept"
is "$(n_rri dA)" 2 "dCDN A asked for it"
body=$(curl -sS -L --max-time 10 --cacert "$CA" --resolve "edge.dcdn.test:$EA:127.0.0.1" "http://$U/v/a.bin" | sha256sum)
is "$body" "$(sha256sum <"$T/www/v/a.bin")" "curl follows the answer to dCDN A's edge and gets the origin's bytes"

# ---- curl replaying the RFC's request body to the same dCDN meanwhile ----
RFC_BODY='{"http":{"c-ip":"198.51.100.7","cs-uri":"https://www.csp.test/v/a.bin","cs-method":"GET","cs-version":"HTTP/1.1"},"cdn-path":["AS64496:0"],"max-hops":3}'
code=$(curl -s -o "$T/rfc.out" -w '%{http_code}' -X POST -H 'Content-Type: application/cdni; ptype=redirection-request' \
	--data-binary "$RFC_BODY" "$(riurl dA)")
is "$code" 200 "the RFC's example request (corrected) answered by the dCDN the uCDN uses"
is "$(jq -r '.http["sc-(location)"]' "$T/rfc.out")" "https://edge.dcdn.test:$EA/v/a.bin" "with its edge"

# ---- a dCDN down: the next one ----
stop_daemon dA
t0=$(date +%s%N)
is "$(loc /v/b.bin)" "302 https://edge.dcdn2.test:$EB/v/b.bin" "dCDN A down: dCDN B's answer"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok "within the deadlines (${ms} ms)" test "$ms" -lt 2000
is "$(loc /v/b.bin)" "302 https://edge.dcdn2.test:$EB/v/b.bin" "again"
is "$(n_rri dB)" 2 "B's max-age 0: asked every time, never cached"
stop_daemon dB
is "$(loc /v/c.bin)" "302 https://static.dcdn.test/v/c.bin" "every dCDN down: the rule's own target"
like "$(tail -n 1 "$T/u.access")" '"note":"rri: no dCDN answered, rule target"' "logged"
is "$(loc /v/a.bin)" "302 https://edge.dcdn.test:$EA/v/a.bin" "a cached answer outlives its dCDN until it expires"
stop_daemon u

# ---- two dCDNs that delegate to each other: the loop is refused, fallback ----
PX=$(_free_port) PY=$(_free_port)
cat >"$T/lx.json" <<JSON
{"listen":[{"address":"127.0.0.1","port":0}],"upstream":"http://$(addr origin http)","access_log":"$T/lx.access",
 "rri":{"listen":[{"name":"rri","address":"127.0.0.1","port":$PX}],"cdn_id":"AS64510:x","edge_base":"https://x.dcdn.test",
        "delegate":"always","downstream":{"url":"http://127.0.0.1:$PY/cdni/rri","timeout_ms":1000}}}
JSON
sed -e "s/$PX/$PY/; s/AS64510:x/AS64511:y/; s/x.dcdn.test/y.dcdn.test/; s|127.0.0.1:$PY/cdni|127.0.0.1:$PX/cdni|; s/lx.access/ly.access/" \
	"$T/lx.json" >"$T/ly.json"
start_daemon lx cdni-dcdn "$T/lx.json" || exit 1
start_daemon ly cdni-dcdn "$T/ly.json" || exit 1
ucdn u2 "[{\"name\":\"X\",\"url\":\"$(riurl lx)\"}]" || exit 1
U=$(addr u2 http)
is "$(loc /v/loop.bin)" "302 https://static.dcdn.test/v/loop.bin" "a loop between two dCDNs: refused, the uCDN falls back"
like "$(cat "$T/u2.err")" "declined .*502" "the uCDN logged the loop error (502)"
stop_daemon u2

# ---- a cascade: uCDN -> dCDN1 -> dCDN2 ----
dcdn d2 AS64521:two dcdn2-ec edge.dcdn2.test 30 "" || exit 1
dcdn d1 AS64520:one dcdn-ec edge.dcdn.test 30 \
	",\"delegate\":\"always\",\"downstream\":{\"url\":\"$(riurl d2)\",\"timeout_ms\":1000}" || exit 1
ucdn u3 "[{\"name\":\"one\",\"url\":\"$(riurl d1)\"}]" || exit 1
U=$(addr u3 http)
E2=$(port d2 https)
is "$(loc /v/a.bin)" "302 https://edge.dcdn2.test:$E2/v/a.bin" "a cascade: dCDN1 passes on dCDN2's edge"
body=$(curl -sS -L --max-time 10 --cacert "$CA" --resolve "edge.dcdn2.test:$E2:127.0.0.1" "http://$U/v/a.bin" | sha256sum)
is "$body" "$(sha256sum <"$T/www/v/a.bin")" "and dCDN2's edge serves the origin's bytes"
like "$(grep '"note":"rri' "$T/d1.access" | tail -n 1)" 'via downstream' "dCDN1 delegated"

# ---- config ----
jq 'del(.rri)' "$T/u3.json" >"$T/bad1.json"
like "$("$CDNI_BIN/cdni-ucdn" -n -c "$T/bad1.json" 2>&1)" "rules\[0\]\.ask: needs a redirect rule and rri\.cdn_id" \
	"a rule that asks needs rri"
jq '.rri.cdn_id = "ucdn"' "$T/u3.json" >"$T/bad2.json"
like "$("$CDNI_BIN/cdni-ucdn" -n -c "$T/bad2.json" 2>&1)" "rri\.cdn_id: 'ucdn' is not a CDN Provider ID" "a bad cdn_id"
jq '.rri.dcdns[0].url = "ftp://x"' "$T/u3.json" >"$T/bad3.json"
like "$("$CDNI_BIN/cdni-ucdn" -n -c "$T/bad3.json" 2>&1)" "rri\.dcdns\[0\]\.url" "a bad interface URL"
write_file "$T/fci-elsewhere.json" '{"capabilities":[{"capability-type":"FCI.DeliveryProtocol","capability-value":{"delivery-protocols":["https/1.1"]},"footprints":[{"footprint-type":"ipv4cidr","footprint-value":["203.0.113.0/24"]}]},{"capability-type":"FCI.RedirectionMode","capability-value":{"redirection-modes":["HTTP-I"]}}]}'
jq --arg f "$T/fci-elsewhere.json" '.rri.dcdns[0].fci = $f' "$T/u3.json" >"$T/u4.json"
start_daemon u4 cdni-ucdn "$T/u4.json" || exit 1
n=$(grep -c '"note":"rri' "$T/d1.access")
is "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://$(addr u4 http)/v/fp.bin")" \
	"302 https://static.dcdn.test/v/fp.bin" "a client outside the dCDN's footprint (its FCI file) is not asked about"
is "$(grep -c '"note":"rri' "$T/d1.access")" "$n" "dCDN1 saw no request"

# ---- the capabilities fetched from the dCDN itself (its rri.fci_path) ----
dcdn dF AS64530:f dcdn-ec edge.dcdn.test 30 ",\"capabilities\":$(jq -c . "$T/fci-elsewhere.json")" || exit 1
jq --arg f "http://$(addr dF rri)/cdni/fci" --arg u "$(riurl dF)" '.rri.dcdns[0].fci = $f | .rri.dcdns[0].url = $u' \
	"$T/u3.json" >"$T/u5.json"
start_daemon u5 cdni-ucdn "$T/u5.json" || exit 1
is "$(grep -c '"uri":"/cdni/fci"' "$T/dF.access")" 1 "the uCDN fetched the dCDN's capabilities document at start"
is "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://$(addr u5 http)/v/fp.bin")" \
	"302 https://static.dcdn.test/v/fp.bin" "a client outside that footprint is not asked about"
is "$(grep -c '"note":"rri' "$T/dF.access")" 0 "  the dCDN saw no redirection request"
jq --arg f "http://127.0.0.1:$(_free_port)/cdni/fci" '.rri.dcdns[0].fci = $f' "$T/u5.json" >"$T/u6.json"
start_daemon u6 cdni-ucdn "$T/u6.json" || exit 1
like "$(cat "$T/u6.err")" "rri\.dcdns\[0\]\.fci: cannot fetch 'http://127\.0\.0\.1:[0-9]+/cdni/fci': .*dCDN one is asked about every client" \
	"a capabilities URL that does not answer: logged, the uCDN starts"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://$(addr u6 http)/v/fp.bin")" 302 "  and answers"
is "$(grep -c '"note":"rri' "$T/dF.access")" 1 "  having asked that dCDN about the client"
done_testing

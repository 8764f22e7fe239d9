#!/usr/bin/env bash
# cdni-scenario end to end: the redirect-basic case (uCDN 302 -> dCDN -> origin),
# a scenario of origin + UA, a failing expectation, invalid scenarios and node
# configs (exit 2), a node that dies at start or mid-run, an interrupted run,
# and never a process left behind.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh" || exit 1

command -v jq >/dev/null || skip_all "jq not installed (make deps)"
SC=$CDNI_BIN/cdni-scenario
CASES=$CDNI_TOP/scenarios/cases

# run NAME FILE [ARGS...]: cdni-scenario with its run directory in $T/NAME;
# stdout in $T/NAME.out, stderr in $T/NAME.err, exit status in $rc
run() {
	local name=$1 file=$2; shift 2
	"$SC" -o "$T/$name" "$@" "$file" >"$T/$name.out" 2>"$T/$name.err"
	rc=$?
}
last_line() { tail -n 1 "$T/$1.out"; }
res() { jq -r "$2" "$T/$1/result.json" 2>&1; }
# no process started by a run (every node's command line names its run directory) remains
no_leftovers() { ! pgrep -f "$T/$1/" >/dev/null; }

# ---- a scenario of cdni-origin and cdni-ua ---------------------------------

write_file "$T/origin.json" '{
  "name": "origin-only", "title": "the UA and the origin",
  "content": { "v/a.bin": { "size": 200000 }, "index.html": { "text": "<p>home</p>" } },
  "nodes": [ { "name": "origin", "program": "cdni-origin", "config": {
      "listen": [ { "address": "127.0.0.1", "port": 0 },
                  { "address": "127.0.0.1", "port": 0, "tls": true,
                    "cert": "{{pki}}/origin-ec.chain.pem", "key": "{{pki}}/origin-ec.key" } ],
      "root": "{{content}}" } } ],
  "steps": [
    { "name": "https", "ua": { "url": "https://origin.csp.test:{{origin.https.port}}/v/a.bin",
        "resolve": [ "origin.csp.test:{{origin.https.port}}:127.0.0.1" ] },
      "expect": { "final_status": 200, "hops": [ { "status": 200, "tls": { "verified": true } } ],
        "body_equals": "content/v/a.bin",
        "logs": [ { "node": "origin", "match": { "uri": "/v/a.bin", "status": 200 }, "count": 1 } ] } },
    { "wait_ms": 20 },
    { "name": "http", "ua": { "url": "http://{{origin.http}}/" },
      "expect": { "final_status": 200, "hops": [ { "status": 200, "tls": null } ],
        "body_equals": "content/index.html" } } ] }'

run origin "$T/origin.json"
is "$rc" 0 "origin-only: exit 0"
like "$(last_line origin)" '^[0-9]+ passed, 0 failed$' "origin-only: the summary line"
like "$(cat "$T/origin.out")" 'ok - node "origin": ready \(http=127\.0\.0\.1:[0-9]+ https=127\.0\.0\.1:[0-9]+\)' "origin-only: ready line with listeners"
like "$(cat "$T/origin.out")" 'ok - step 1 "https": body equals content/v/a.bin' "origin-only: body check"
like "$(cat "$T/origin.out")" '# step 2 "wait 20 ms": waited 20 ms' "origin-only: a wait step"
is "$(res origin '[.ok, .failed, (.steps | length)] | @tsv')" "$(printf 'true\t0\t3')" "origin-only: result.json"
is "$(res origin '.steps[0].flow.messages | map(.from + ">" + .to + " " + .label) | join(", ")')" \
	"UA>origin GET /v/a.bin, origin>UA 200 OK" "origin-only: the message flow"
ok "origin-only: report.html is well-formed" xmllint --noout "$T/origin/report.html"
like "$(cat "$T/origin/report.md")" 'sequenceDiagram' "origin-only: report.md has a mermaid diagram"
ok "origin-only: a passing run drops its generated content" test ! -e "$T/origin/content"
ok "origin-only: and keeps traces and logs" test -s "$T/origin/step-1.trace.json" -a -s "$T/origin/origin.access.log"
ok "origin-only: no process left" no_leftovers origin

run keep "$T/origin.json" --keep
ok "--keep keeps the content and bodies" test -s "$T/keep/content/v/a.bin" -a -s "$T/keep/step-1.body"

run again "$T/origin.json"
run again "$T/origin.json"
is "$rc" 0 "a run directory of an earlier run is reused"
mkdir -p "$T/foreign" && echo x >"$T/foreign/mine.txt"
run foreign "$T/origin.json"
is "$rc" 2 "a directory cdni-scenario did not make: exit 2"
like "$(cat "$T/foreign.err")" 'was not made by cdni-scenario' "and it says why"
ok "and leaves it alone" test -s "$T/foreign/mine.txt"

out=$("$SC" -n "$T/origin.json"); rc=$?
is "$rc:$out" "0:$T/origin.json: ok (1 nodes, 3 steps)" "-n validates and exits"

# ---- a failing expectation ---------------------------------------------------

sed 's/"final_status": 200, "hops": \[ { "status": 200, "tls": { "verified": true } } \]/"final_status": 404/' \
	"$T/origin.json" >"$T/wrong.json"
run wrong "$T/wrong.json"
is "$rc" 1 "a wrong expected status: exit 1"
like "$(cat "$T/wrong.out")" 'FAIL - step 1 "https": final_status: got 200, want 404' "the FAIL line"
like "$(last_line wrong)" '^[0-9]+ passed, 1 failed$' "the summary counts it"
is "$(res wrong '[.ok, .steps[0].ok, .steps[2].ok] | @tsv')" "$(printf 'false\tfalse\ttrue')" "result.json says which step failed"
ok "a failing run keeps its content" test -s "$T/wrong/content/v/a.bin"
ok "no process left after a failure" no_leftovers wrong

# ---- invalid scenarios: exit 2, nothing started -------------------------------

sed 's/{{origin.https.port}}\/v/{{origin.htps.port}}\/v/' "$T/origin.json" >"$T/placeholder.json"
run placeholder "$T/placeholder.json"
is "$rc" 2 "an unknown placeholder: exit 2"
like "$(cat "$T/placeholder.err")" 'placeholder.json: steps\[0\]\.ua\.url: unknown placeholder \{\{origin\.htps\.port\}\}: node "origin" has no listener "htps" \(it has: http, https\)' "the message names the path and the placeholder"
ok "nothing was run" test ! -e "$T/placeholder"

sed 's/"root": "{{content}}"/"rooot": "{{content}}"/' "$T/origin.json" >"$T/badconf.json"
run badconf "$T/badconf.json"
is "$rc" 2 "a node config its program refuses: exit 2"
like "$(cat "$T/badconf.err")" 'badconf.json: nodes\[0\]\.config: cdni-origin -n refuses it' "the message names the node's config"
like "$(cat "$T/badconf.err")" 'rooot: unknown key' "and shows the program's own message"
ok "no process left after a refused config" no_leftovers badconf

printf '{ "name": "x", "nodes": [ }' >"$T/syntax.json"
run syntax "$T/syntax.json"
is "$rc" 2 "a JSON syntax error: exit 2"
like "$(cat "$T/syntax.err")" 'syntax.json:1:[0-9]+: ' "with the line and column"
"$SC" >/dev/null 2>&1; is "$?" 2 "no file: usage, exit 2"

# ---- nodes that die -----------------------------------------------------------

mkdir -p "$T/bin"
ln -s "$CDNI_BIN/cdni-origin" "$CDNI_BIN/cdni-ua" "$T/bin/"
write_file "$T/bin/crash" '#!/bin/sh
case " $* " in *" -n "*) exit 0 ;; esac
echo "crash: fatal: cannot bind 127.0.0.1:1: address in use" >&2
exit 1'
write_file "$T/bin/flaky" '#!/bin/sh
case " $* " in *" -n "*) exit 0 ;; esac
echo "t flaky info ready http=127.0.0.1:9" >&2
sleep 0.2
echo "flaky: lost my mind" >&2
exit 3'
chmod +x "$T/bin/crash" "$T/bin/flaky"

jq '.nodes += [{ "name": "crash", "program": "crash", "config": {} }]' "$T/origin.json" >"$T/crash.json"
run crash "$T/crash.json" --bin "$T/bin"
is "$rc" 1 "a node that exits at start: exit 1"
like "$(cat "$T/crash.out")" 'FAIL - node "crash": ready: got exit status 1 before its readiness line, want a readiness line within 15000 ms' "it is reported"
like "$(cat "$T/crash.out")" '#   crash: fatal: cannot bind' "with its last log lines"
like "$(cat "$T/crash.out")" 'FAIL - step 1 "https": run: got not run: a node did not start' "the steps are not run"
like "$(cat "$T/crash.out")" 'ok - node "origin": stopped \(exit status 0\)' "the nodes that did start are stopped"
like "$(last_line crash)" '^[0-9]+ passed, 4 failed$' "the summary line"
ok "no process left after a crash" no_leftovers crash

jq '.nodes += [{ "name": "flaky", "program": "flaky", "config": {} }] | .steps[1].wait_ms = 600' \
	"$T/origin.json" >"$T/flaky.json"
run flaky "$T/flaky.json" --bin "$T/bin"
is "$rc" 1 "a node that dies during the run: exit 1"
like "$(cat "$T/flaky.out")" 'FAIL - node "flaky": running: got exit status 3, want running until stopped' "it is reported"
like "$(cat "$T/flaky.out")" '#   flaky: lost my mind' "with its log"
is "$(grep -c 'node "flaky"' "$T/flaky.out")" 2 "once (ready, then died), not again at the stop"
ok "no process left after a death" no_leftovers flaky

# ---- an interrupted run -------------------------------------------------------

jq '.steps[1].wait_ms = 60000' "$T/origin.json" >"$T/long.json"
"$SC" -o "$T/long" "$T/long.json" >"$T/long.out" 2>"$T/long.err" &
sc_pid=$!
ok "the long run gets to its wait" wait_for 20 grep -q 'step 1 "https": origin log' "$T/long.out"
kill -TERM "$sc_pid"
ok "the runner ends soon after SIGTERM" wait_for 10 sh -c "! kill -0 $sc_pid"
wait "$sc_pid"; rc=$?
is "$rc" 1 "an interrupted run: exit 1"
like "$(cat "$T/long.out")" 'FAIL - run: interrupted: got signal 15 \(Terminated\), want no interruption' "the interruption is a failed check"
like "$(cat "$T/long.out")" 'FAIL - step 3 "http": run: got not run: the run was interrupted' "later steps are not run"
like "$(cat "$T/long.out")" 'ok - node "origin": stopped \(exit status 0\)' "the nodes are stopped cleanly"
like "$(last_line long)" '^[0-9]+ passed, [0-9]+ failed$' "the summary line still ends the output"
is "$(res long .interrupted)" true "result.json says so"
ok "no process left after an interrupt" no_leftovers long

# ---- redirect-basic: uCDN 302 -> dCDN -> origin --------------------------------

if [ -x "$CDNI_BIN/cdni-ucdn" ] && [ -x "$CDNI_BIN/cdni-dcdn" ]; then
	run rb "$CASES/redirect-basic.json"
	is "$rc" 0 "redirect-basic: exit 0"
	like "$(last_line rb)" '^[0-9]+ passed, 0 failed$' "redirect-basic: the summary line"
	[ "$rc" = 0 ] || diag "$(grep -A3 FAIL "$T/rb.out")"
	is "$(res rb '[.ok, .failed, (.nodes | map(.name) | join(","))] | @tsv')" \
		"$(printf 'true\t0\torigin,dcdn,ucdn')" "redirect-basic: result.json"
	is "$(res rb '.steps[0].flow.messages | map(.from + ">" + .to + " " + (.status // "" | tostring)) | join(" ")')" \
		"UA>ucdn  ucdn>UA 302 UA>dcdn  dcdn>origin  origin>dcdn 200 dcdn>UA 200" \
		"redirect-basic: first fetch: 302, then the dCDN fills from the origin"
	is "$(res rb '.steps[1].flow.messages | map(.from + ">" + .to) | join(" ")')" \
		"UA>ucdn ucdn>UA UA>dcdn dcdn>UA" "redirect-basic: second fetch: no fill"
	is "$(res rb '[.steps[].flow.hops[1].cache] | join(",")')" "MISS,HIT" "redirect-basic: MISS then HIT"
	ok "redirect-basic: report.html is well-formed" xmllint --noout "$T/rb/report.html"
	like "$(cat "$T/rb/report.md")" 'p2->>\+p3: GET /v/hello.bin' "redirect-basic: the fill in the mermaid diagram"
	ok "redirect-basic: no process left" no_leftovers rb
else
	diag "cdni-ucdn or cdni-dcdn not built: redirect-basic not run"
	_tap_report 1 "redirect-basic needs cdni-ucdn and cdni-dcdn in $CDNI_BIN"
fi

done_testing

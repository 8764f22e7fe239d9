#!/usr/bin/env bash
# The seeds replayed (scenarios/cases/*.json), fast versions (link delays x0.1)
# on network namespaces with emulated links: each scenario passes its own
# checks; nothing is left behind (processes, namespaces). Full versions:
# `make scenarios`.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh" || exit 1

need_root "the seeds run on network namespaces with emulated links"
for p in jq python3 ffmpeg openssl dig curl; do
	command -v "$p" >/dev/null || skip_all "$p not installed (make deps)"
done
export CDNI_BUILD=$T/build
# sanitizer builds run several times slower than the timings predicted
case "$CDNI_BIN" in */san/*) export CDNI_SCENARIO_TOLERANCE_SCALE=4 ;; esac
"$CDNI_TOP/scenarios/run-all.sh" --fast >"$T/all.out" 2>&1
rc=$?
for c in "$CDNI_TOP"/scenarios/cases/*.json; do
	name=$(basename "$c" .json)
	like "$(tail -n 1 "$T/build/scenarios/$name.out")" '^[0-9]+ passed, 0 failed$' "$name (fast): every check passed"
	[ -s "$T/build/scenarios/$name/report.html" ] && ok "$name: report.html is well-formed" xmllint --noout "$T/build/scenarios/$name/report.html"
done
is "$rc" 0 "run-all.sh --fast: exit 0"
[ "$rc" = 0 ] || diag "$(cat "$T/all.out")"
like "$(cat "$T/all.out")" 'here: HELD' "the paper's qualitative result held (keyless-ttfb)"
like "$(jq -r '.topology.mode' "$T/build/scenarios/keyless-ttfb/result.json")" '^netns$' "keyless-ttfb ran on namespaces"
like "$(jq -r '[.steps[].predictions // [] | .[]] | length' "$T/build/scenarios/keyless-ttfb/result.json")" '^1[0-9]$' "keyless-ttfb: the measured-vs-predicted table has a row per transfer"
no_ns() { ! ip netns list | grep -q '^cdni-'; }
ok "no namespace left" wait_for 5 no_ns
no_ns || diag "left: $(ip netns list | grep '^cdni-')"
none_left() { ! pgrep -f "$T/build/scenarios/" >/dev/null; }
ok "no process left" none_left
done_testing

#!/usr/bin/env bash
# `make demo` (scenarios/demo.sh), the README's first command, from an empty
# build directory: every scenario of the tour passes and leaves its report.
. "${CDNI_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh" || exit 1

export CDNI_BUILD=$T/build
out=$("$CDNI_TOP/scenarios/demo.sh" 2>&1); rc=$?
is "$rc" 0 "demo.sh exits 0 from an empty build directory"
[ "$rc" = 0 ] || diag "$out"
for name in redirect-basic redirect-3xx-security dns-dane; do
	like "$out" "$name: PASS" "$name: passes"
	ok "$name: report.html written" test -s "$T/build/scenarios/$name/report.html"
done
like "$out" "make scenarios" "it says what to run for more"
done_testing

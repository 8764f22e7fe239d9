#!/usr/bin/env bash
# Run the seeds replayed (scenarios/cases/*.json) and print a summary: each
# scenario's verdict and wall time, and the paper's measured-vs-predicted
# table (keyless-ttfb). `make scenarios` runs them in full; scenarios/t/seeds.t
# runs them with --fast. Reports in $CDNI_BUILD/scenarios/NAME/, the summary
# in $CDNI_BUILD/scenarios/summary.md.
#   scenarios/run-all.sh [--fast] [CASE.json...]
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${CDNI_BIN:-$top/build/bin}
pki=${CDNI_PKI:-$top/build/pki}
out=${CDNI_BUILD:-$top/build}/scenarios
fast=
if [ "${1:-}" = --fast ]; then fast=--fast; shift; fi
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=("$top"/scenarios/cases/*.json)
mkdir -p "$out"
summary=$out/summary.md
{
	echo "# Seeds replayed${fast:+ (--fast: link delays x0.1)}"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), load: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	echo "| scenario | verdict | checks | wall time s | report |"
	echo "|---|---|---|---:|---|"
} >"$summary"
failed=0
for c in "${cases[@]}"; do
	name=$(basename "$c" .json)
	t0=$(date +%s.%N)
	"$bin/cdni-scenario" $fast --bin "$bin" --pki "$pki" -o "$out/$name" "$c" >"$out/$name.out" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	line=$(tail -n 1 "$out/$name.out")
	verdict=PASS
	[ "$rc" = 0 ] || { verdict="FAIL (exit $rc)"; failed=$((failed + 1)); }
	printf '%-24s %-14s %-22s %6.1f s\n' "$name" "$verdict" "$line" "$(awk "BEGIN{print $t1 - $t0}")"
	printf '| %s | %s | %s | %.1f | %s |\n' "$name" "$verdict" "$line" "$(awk "BEGIN{print $t1 - $t0}")" \
		"$name/report.html" >>"$summary"
done
verdict=$(grep -l "^here: " "$out"/keyless-ttfb/step-*.out 2>/dev/null | head -n 1)
if [ -n "$verdict" ]; then
	echo
	echo "The paper's flow figure (keyless-ttfb): time to first byte, measured and predicted"
	cat "$verdict"
	{ echo; echo "## The paper's flow figure (keyless-ttfb)"; echo; echo '```'; cat "$verdict"; echo '```'; } >>"$summary"
fi
echo
echo "summary: $summary"
[ "$failed" = 0 ]

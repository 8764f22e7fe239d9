#!/usr/bin/env bash
# make demo: run the redirect-basic scenario (UA -> uCDN 302 -> dCDN, which
# fills from the origin; then a cache hit) and say where its report is.
# Uses the build's programs and PKI: $CDNI_BIN and $CDNI_PKI (exported by
# make), else build/bin and build/pki.
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${CDNI_BIN:-$top/build/bin}
pki=${CDNI_PKI:-$top/build/pki}
run=${CDNI_BUILD:-$top/build}/scenarios/redirect-basic
case=$top/scenarios/cases/redirect-basic.json

for p in cdni-scenario cdni-origin cdni-ucdn cdni-dcdn cdni-ua; do
	if [ ! -x "$bin/$p" ]; then
		echo "demo: $bin/$p is missing; run 'make' first" >&2
		exit 2
	fi
done

# a path as short as it can be from where the user stands
show() { case $1 in "$PWD"/*) echo "${1#"$PWD"/}" ;; *) echo "$1" ;; esac; }

echo "demo: running $(show "$case")"
"$bin/cdni-scenario" --bin "$bin" --pki "$pki" -o "$run" "$case"
rc=$?
echo
if [ -s "$run/summary.txt" ]; then
	cat "$run/summary.txt"
	echo
fi
if [ -s "$run/report.html" ]; then
	echo "report: $(show "$run/report.html")  (open it in a browser: sequence diagrams, timings, checks)"
	echo "        $(show "$run/report.md")  (the same in Markdown, diagrams in mermaid)"
	echo "        $(show "$run")/  (node configs and logs, the UA's traces, result.json)"
fi
exit $rc

#!/usr/bin/env bash
# make demo: a short tour of HTTPS delegation, three scenarios:
#   redirect-basic          the uCDN's 302 to the dCDN, a fill, a cache hit
#   redirect-3xx-security   draft 3.1: what an on-path attacker does to http
#                           and cannot do to https (namespaces; as root)
#   dns-dane                draft Figure 1, DNS redirection made safe by DANE
# The last two need root (network namespaces, emulated links); without it
# they run on loopback addresses without delays, and their reports say so.
# Uses $CDNI_BIN and $CDNI_PKI (exported by make), else build/bin and build/pki.
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${CDNI_BIN:-$top/build/bin}
pki=${CDNI_PKI:-$top/build/pki}
out=${CDNI_BUILD:-$top/build}/scenarios
mkdir -p "$out" || exit 2

for p in cdni-scenario cdni-origin cdni-ucdn cdni-dcdn cdni-ua cdni-dns cdni-linkemu cdni-onpath; do
	if [ ! -x "$bin/$p" ]; then
		echo "demo: $bin/$p is missing; run 'make' first" >&2
		exit 2
	fi
done

# a path as short as it can be from where the user stands
show() { case $1 in "$PWD"/*) echo "${1#"$PWD"/}" ;; *) echo "$1" ;; esac; }

rc=0
for name in redirect-basic redirect-3xx-security dns-dane; do
	case=$top/scenarios/cases/$name.json
	run=$out/$name
	echo "demo: $(show "$case")"
	"$bin/cdni-scenario" --bin "$bin" --pki "$pki" -o "$run" "$case" >"$run.out" 2>&1 || rc=1
	grep -E '^(FAIL|#   network|#   not root|#   --no-netns)' "$run.out" | sed 's/^/  /'
	echo "  $(tail -n 1 "$run.out")"
	[ -s "$run/summary.txt" ] && sed 's/^/  /' "$run/summary.txt"
	[ -s "$run/report.html" ] && echo "  report: $(show "$run/report.html")  (sequence diagrams, timings, checks; report.md: the same in Markdown)"
	echo
done
echo "more: 'make scenarios' replays every seed in full (the paper's keyless TTFB, Figure 2, RSA vs DH)"
exit $rc

# The start every bench script shares (sourced right after its comment):
# strict mode, the test library (t/lib.sh: daemons, ports, $T), every
# daemon stopped and $T removed at exit, SECS (BENCH_SECONDS, else the
# script's BENCH_DEFAULT_SECONDS, else 5) and OUT (build/bench, made).
set -euo pipefail
: "${CDNI_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
. "$CDNI_TOP/t/lib.sh"
set -e
trap - EXIT
trap 'for n in "${!_pid[@]}"; do kill_daemon "$n"; done; rm -rf "$T"' EXIT
SECS=${BENCH_SECONDS:-${BENCH_DEFAULT_SECONDS:-5}}
OUT="$CDNI_BUILD/bench"
mkdir -p "$OUT"

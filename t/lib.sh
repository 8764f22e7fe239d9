# cdni — the one lifecycle for system tests (TAP over bash), sourced by every
# FOLDER/t/*.t script:
#   . "$CDNI_TOP/t/lib.sh"
#   write_file "$T/origin.json" '{...}'
#   start_daemon origin cdni-origin "$T/origin.json"   # waits for "ready"
#   url=$(addr origin http)                             # "127.0.0.1:PORT"
#   is "$(curl -s ...)" "want" "what it checks"
#   done_testing                                         # stops daemons, checks logs
#
# Daemons run in the foreground with stdout in $T/NAME.out and stderr in
# $T/NAME.err. Readiness is awaited with a deadline, never a bare sleep.
# Stopping sends TERM, then KILL after a deadline; a daemon that died before
# being stopped, exited non-zero, or printed sanitizer reports fails the test.

set -u
: "${CDNI_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${CDNI_BUILD:=$CDNI_TOP/build}"
: "${CDNI_BIN:=$CDNI_BUILD/bin}"
: "${CDNI_PKI:=$CDNI_BUILD/pki}"
export CDNI_TOP CDNI_BUILD CDNI_BIN CDNI_PKI
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=87}"

T=$(mktemp -d "${TMPDIR:-/tmp}/cdni-test.XXXXXX") && [ -d "$T" ] ||
	{ echo "Bail out! cannot make a temporary directory"; exit 1; }
_tap_n=0
_tap_failed=0
declare -A _pid _ready _peer

_tap_report() { # cond name
	_tap_n=$((_tap_n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $_tap_n - $2"
	else
		echo "not ok $_tap_n - $2"
		_tap_failed=$((_tap_failed + 1))
	fi
}

diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

# ok NAME COMMAND... : passes when COMMAND exits 0
ok() {
	local name=$1; shift
	if "$@" >"$T/.ok.out" 2>&1; then _tap_report 0 "$name"; else
		_tap_report 1 "$name"; diag "command failed: $*"; diag "$(tail -n 20 "$T/.ok.out")"; fi
}

# not_ok NAME COMMAND... : passes when COMMAND exits non-zero
fails() {
	local name=$1; shift
	if "$@" >"$T/.ok.out" 2>&1; then _tap_report 1 "$name"; diag "command succeeded: $*"
	else _tap_report 0 "$name"; fi
}

is() { # got want name
	if [ "$1" = "$2" ]; then _tap_report 0 "$3"; else
		_tap_report 1 "$3"; diag "     got: '$1'" "    want: '$2'"; fi
}

like() { # got regex name
	if printf '%s' "$1" | grep -Eq -- "$2"; then _tap_report 0 "$3"; else
		_tap_report 1 "$3"; diag "     got: '$(printf '%s' "$1" | head -c 2000)'" "    want match: /$2/"; fi
}

unlike() { # got regex name
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		_tap_report 1 "$3"; diag "     got: '$(printf '%s' "$1" | head -c 2000)'" "    must not match: /$2/"
	else _tap_report 0 "$3"; fi
}

write_file() { printf '%s\n' "$2" >"$1"; }

# wait_for DEADLINE_S COMMAND... : poll (every 20 ms) until COMMAND succeeds
wait_for() {
	local deadline=$(( $(date +%s%N) / 1000000 + ${1} * 1000 )); shift
	until "$@" >/dev/null 2>&1; do
		[ $(( $(date +%s%N) / 1000000 )) -lt "$deadline" ] || return 1
		sleep 0.02
	done
}

_is_ready() { grep -q ' ready ' "$T/$1.err" 2>/dev/null || ! kill -0 "${_pid[$1]}" 2>/dev/null; }

# start_daemon NAME PROGRAM CONFIG [EXTRA ARGS...]
start_daemon() {
	local name=$1 prog=$2 conf=$3; shift 3
	"$CDNI_BIN/$prog" -c "$conf" "$@" >"$T/$name.out" 2>"$T/$name.err" &
	_pid[$name]=$!
	if ! wait_for 15 _is_ready "$name" || ! kill -0 "${_pid[$name]}" 2>/dev/null; then
		_tap_report 1 "$name ($prog) starts and reports ready"
		diag "$(tail -n 20 "$T/$name.err")"
		return 1
	fi
	_ready[$name]=$(grep -m1 ' ready ' "$T/$name.err" | sed 's/.* ready //')
	return 0
}

# start_process NAME COMMAND... : a third-party peer (nginx, a python test
# server, openssl s_server) under the same lifecycle: output in $T/NAME.out and
# $T/NAME.err, stopped by done_testing. Wait for it with wait_for. Dying of the
# TERM it is sent at the end (status 143) counts as a clean stop for a peer.
start_process() {
	local name=$1; shift
	"$@" >"$T/$name.out" 2>"$T/$name.err" &
	_pid[$name]=$!
	_peer[$name]=1
}

# start_nginx NAME SERVERS_FN [READY_FN] : nginx as a third-party peer
# (start_process), its files under $T/NAME/ (nginx.conf, access.log,
# error.log, temp directories; NGINX_DIR names it), its workers running as
# the current user (as root they would run as nobody, who may not read $T).
# SERVERS_FN prints what goes inside http { }: server blocks and any other
# directives; it may use $NGINX_PORT, a free port picked for each attempt,
# and may pick more ports itself. NGINX_WORKERS sets worker_processes
# (default 1). Ready when READY_FN succeeds (default: 127.0.0.1:$NGINX_PORT
# answers HTTP) within 10 s; when nginx exits instead (a port was taken in
# the meantime), it is tried again on other ports, five times in all.
start_nginx() {
	local name=$1 servers=$2 ready=${3:-_nginx_answers} bin attempt
	bin=$(command -v nginx || echo /usr/sbin/nginx)
	NGINX_DIR=$T/$name
	mkdir -p "$NGINX_DIR/tmp"
	for attempt in 1 2 3 4 5; do
		NGINX_PORT=$(_free_port)
		_nginx_conf "$servers" >"$NGINX_DIR/nginx.conf" || return 1
		start_process "$name" "$bin" -e "$NGINX_DIR/error.log" -p "$NGINX_DIR" \
			-c "$NGINX_DIR/nginx.conf" -g 'daemon off;'
		if wait_for 10 _nginx_up "$name" "$ready" && kill -0 "${_pid[$name]}" 2>/dev/null; then
			return 0
		fi
		_nginx_drop "$name"
	done
	_tap_report 1 "nginx ($name) starts"
	diag "$(tail -n 20 "$NGINX_DIR/error.log" "$T/$name.err" 2>&1)"
	return 1
}

_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
_nginx_answers() { curl -s -m 1 -o /dev/null "http://127.0.0.1:$NGINX_PORT/"; }
_nginx_up() { ! kill -0 "${_pid[$1]}" 2>/dev/null || "$2"; } # ready, or gone
# TERM first (the master stops its workers), KILL after 5 s
_nginx_drop() { kill -TERM "${_pid[$1]}" 2>/dev/null; wait_for 5 sh -c "! kill -0 ${_pid[$1]}"; kill_daemon "$1"; }

# The whole config; SERVERS_FN runs in this shell (ports it picks stay set).
_nginx_conf() {
	local d=$NGINX_DIR
	[ "$(id -u)" -eq 0 ] && echo "user $(id -un) $(id -gn);"
	cat <<-EOF
	worker_processes ${NGINX_WORKERS:-1};
	pid $d/nginx.pid;
	error_log $d/error.log;
	events { worker_connections 1024; }
	http {
	  access_log $d/access.log;
	  client_body_temp_path $d/tmp; proxy_temp_path $d/tmp; fastcgi_temp_path $d/tmp;
	  uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp;
	EOF
	"$1" || return 1
	echo "}"
}

# addr NAME LISTENER : the "ip:port" a daemon reported for that listener
addr() {
	local kv
	for kv in ${_ready[$1]:-}; do
		[ "${kv%%=*}" = "$2" ] && { printf '%s\n' "${kv#*=}"; return 0; }
	done
	echo "no-such-listener:0"; return 1
}
port() { local a; a=$(addr "$1" "$2"); echo "${a##*:}"; }

pid_of() { echo "${_pid[$1]}"; }

_sanitizer_clean() { ! grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer' "$T/$1.err"; }

# stop_daemon NAME : TERM, then KILL after 10 s; checks exit status and logs
stop_daemon() {
	local name=$1 pid=${_pid[$1]:-} rc=0
	[ -n "$pid" ] || return 0
	unset "_pid[$name]"
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid"; rc=$?
		_tap_report 1 "$name was still running when stopped"; diag "exit status $rc" "$(tail -n 20 "$T/$name.err")"
		return 1
	fi
	kill -TERM "$pid" 2>/dev/null
	if ! wait_for 10 sh -c "! kill -0 $pid"; then
		kill -KILL "$pid" 2>/dev/null
		_tap_report 1 "$name stops on TERM within 10 s"
	fi
	wait "$pid"; rc=$?
	[ -n "${_peer[$name]:-}" ] && [ "$rc" = 143 ] && rc=0
	if [ "$rc" != 0 ] || ! _sanitizer_clean "$name"; then
		_tap_report 1 "$name exits cleanly (status 0, no sanitizer report)"
		diag "exit status $rc" "$(grep -E -A30 'Sanitizer|runtime error' "$T/$name.err" | head -n 40)"
		return 1
	fi
}

# kill_daemon NAME : simulate a crash/outage (KILL, no checks)
kill_daemon() {
	local pid=${_pid[$1]:-}
	[ -n "$pid" ] || return 0
	unset "_pid[$1]"
	kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
}

_cleanup() {
	local name
	for name in "${!_pid[@]}"; do stop_daemon "$name"; done
	if [ "$_tap_failed" -eq 0 ] && [ -z "${CDNI_KEEP:-}" ]; then rm -rf "$T"; else
		echo "# test files kept in $T" >&2; fi
}

done_testing() {
	local name
	for name in "${!_pid[@]}"; do stop_daemon "$name"; done
	echo "1..$_tap_n"
	trap - EXIT
	_cleanup
	[ "$_tap_failed" -eq 0 ]
	exit $?
}

trap '_cleanup; echo "# aborted before done_testing"; exit 1' EXIT
trap 'exit 130' INT TERM

# skip_all REASON : for tests that need what this machine lacks; never used to
# hide a failure (CI installs everything these tests need).
skip_all() { echo "1..0 # SKIP $*"; trap - EXIT; rm -rf "$T"; exit 0; }

need_root() {
	[ "$(id -u)" -eq 0 ] && return 0
	if [ "${CI:-}" = true ]; then echo "1..1"; echo "not ok 1 - needs root ($*), and CI runs as root"; trap - EXIT; exit 1; fi
	skip_all "needs root ($*); CI runs it as root"
}

# PKI shortcuts
pki() { echo "$CDNI_PKI/$1"; }

# Helpers shared by the DNS system tests (sourced after t/lib.sh).

command -v dig >/dev/null || skip_all "dig not installed (make deps: bind9-dnsutils)"
PY=$(command -v /usr/bin/python3 || command -v python3)

# zone_head ORIGIN: the start of a zone file (TTL, SOA, NS, the server's A)
zone_head() {
	printf '$ORIGIN %s.\n$TTL 300\n@ IN SOA ns.%s. admin.%s. 1 3600 600 86400 300\n' "$1" "$1" "$1"
	printf '@ IN NS ns.%s.\nns IN A 127.0.0.1\n' "$1"
}

# zone files for csp.test and dcdn.test under $T
write_zones() {
	cat >"$T/csp.zone" <<'Z'
$ORIGIN csp.test.
$TTL 300
@        IN SOA ns.csp.test. admin.csp.test. 1 3600 600 86400 300
@        IN NS  ns.csp.test.
ns       IN A   127.0.0.1
www      IN A   127.0.0.1
video    IN A   127.0.0.1
origin   IN A   127.0.0.1
a.b.deep IN A   127.0.0.2
alias    IN CNAME www.csp.test.
big      IN TXT "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
big      IN TXT "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
big      IN TXT "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
Z
	cat >"$T/dcdn.zone" <<'Z'
$ORIGIN dcdn.test.
$TTL 300
@     IN SOA ns.dcdn.test. admin.dcdn.test. 1 3600 600 86400 300
@     IN NS  ns.dcdn.test.
ns    IN A   127.0.0.1
edge  IN A   127.0.0.1
edge2 IN A   127.0.0.1
Z
}

# dq ARGS... : dig at cdni-dns (name "dns"), no recursion, terse
dq() { dig +norec +time=2 +tries=1 @127.0.0.1 -p "$(port dns udp)" "$@"; }
# status of an answer
dstatus() { dq "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }
dflags() { dq "$@" | sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p'; }

# raw UDP/TCP message to cdni-dns in hex; prints the answer in hex ('' for none)
raw_udp() {
	"$PY" - "$(port dns udp)" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1.0)
s.sendto(bytes.fromhex(sys.argv[2]), ("127.0.0.1", int(sys.argv[1])))
try: print(s.recv(65535).hex())
except socket.timeout: print("")
PY
}

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_bg NAME COMMAND... : a third-party server, stopped by done_testing
# (TERM; exit status 0 expected) like the project's daemons
start_bg() {
	local name=$1; shift
	"$@" >"$T/$name.out" 2>"$T/$name.err" &
	_pid[$name]=$!
}

# start_unbound NAME ANCHORFILE ZONE=IP@PORT... : a validating resolver on a
# free port (UB_PORT_NAME), stub zones to the given servers
start_unbound() {
	local name=$1 anchor=$2 p; shift 2
	command -v unbound >/dev/null || skip_all "unbound not installed (make deps)"
	p=$(free_port)
	{
		printf 'server:\n  interface: 127.0.0.1@%s\n  port: %s\n  do-daemonize: no\n' "$p" "$p"
		printf '  username: ""\n  chroot: ""\n  directory: "%s"\n  pidfile: ""\n  use-syslog: no\n' "$T"
		printf '  logfile: ""\n  verbosity: 1\n  do-not-query-localhost: no\n  local-zone: "test." nodefault\n'
		printf '  trust-anchor-file: "%s"\n  val-bogus-ttl: 0\n  cache-max-ttl: 1\n  ede: yes\n' "$anchor"
		printf '  module-config: "validator iterator"\n  do-ip6: no\n'
		for z in "$@"; do printf 'stub-zone:\n  name: "%s"\n  stub-addr: %s\n' "${z%%=*}" "${z#*=}"; done
		printf 'remote-control:\n  control-enable: no\n'
	} >"$T/$name.conf"
	start_bg "$name" unbound -d -c "$T/$name.conf"
	eval "UB_PORT_$name=$p"
	wait_for 10 dig +time=1 +tries=1 @127.0.0.1 -p "$p" csp.test SOA
}

# uq NAME ARGS... : dig through unbound NAME
uq() { local n=$1 p; shift; eval "p=\$UB_PORT_$n"; dig +time=3 +tries=1 @127.0.0.1 -p "$p" "$@"; }

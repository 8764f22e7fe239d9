# Helpers shared by the DNS system tests (sourced after t/lib.sh).

command -v dig >/dev/null || skip_all "dig not installed (make deps: bind9-dnsutils)"
PY=$(command -v /usr/bin/python3 || command -v python3)

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

# dns/: cdni-dns, the authoritative DNS server (UDP and TCP, DNSSEC signing
# with ldns, CNAME redirection by policy, TLSA publication). The library has
# the query parser, the answer database and engine, and the socket loop;
# unit tests link it. The policy lives in redirect/, signing and TLSA in dane/.
DNS_SRCS := dns/query.c dns/conf.c dns/zone.c dns/db.c dns/build.c dns/answer.c dns/server.c dns/health.c dns/ri.c
$(eval $(call LIBRARY,dns,$(DNS_SRCS)))
$(eval $(call PROGRAM,cdni-dns,dns/main.c,dns redirect rri dane common))
$(foreach t,$(wildcard dns/t/test_*.c),$(eval $(call UNIT,dns,$(t),tap dns redirect rri dane common)))

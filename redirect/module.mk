# redirect/: request routing decisions, DNS redirection policy, and manifest
# and page rewriting (socket-free), used by cdni-ucdn and cdni-dns.
REDIRECT_SRCS := redirect/route.c redirect/dnspolicy.c \
                 redirect/rwuri.c redirect/rwpolicy.c redirect/rwmap.c \
                 redirect/rwhls.c redirect/rwdash.c redirect/rwhtml.c
$(eval $(call LIBRARY,redirect,$(REDIRECT_SRCS)))
# the RFC 7975 redirection interface codec and client, and RFC 8008
# capabilities: a library of their own (cdni-dcdn, cdni-ucdn, cdni-dns link it)
RRI_SRCS := redirect/rri.c redirect/rri_client.c redirect/rri_cache.c redirect/fci.c
$(eval $(call LIBRARY,rri,$(RRI_SRCS)))
$(eval $(call PROGRAM,cdni-rewrite,redirect/rw_main.c,redirect urisign common))
# a command run once per document: load only the shared libraries it uses
$(BIN)/cdni-rewrite: LDFLAGS += -Wl,--as-needed
RRI_TESTS := redirect/t/test_rri.c redirect/t/test_fci.c redirect/t/test_rri_cache.c
$(foreach t,$(filter-out $(RRI_TESTS),$(wildcard redirect/t/test_*.c)),$(eval $(call UNIT,redirect,$(t),tap redirect urisign common)))
$(foreach t,$(RRI_TESTS),$(eval $(call UNIT,redirect,$(t),tap rri common)))

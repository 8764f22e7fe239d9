# redirect/: request routing decisions, DNS redirection policy, and manifest
# and page rewriting (socket-free), used by cdni-ucdn and cdni-dns.
REDIRECT_SRCS := redirect/route.c redirect/dnspolicy.c redirect/rri.c redirect/rri_client.c redirect/fci.c \
                 redirect/rwuri.c redirect/rwpolicy.c redirect/rwmap.c \
                 redirect/rwhls.c redirect/rwdash.c redirect/rwhtml.c
$(eval $(call LIBRARY,redirect,$(REDIRECT_SRCS)))
$(eval $(call PROGRAM,cdni-rewrite,redirect/rw_main.c,redirect urisign common))
# a command run once per document: load only the shared libraries it uses
$(BIN)/cdni-rewrite: LDFLAGS += -Wl,--as-needed
$(foreach t,$(wildcard redirect/t/test_*.c),$(eval $(call UNIT,redirect,$(t),tap redirect urisign common)))

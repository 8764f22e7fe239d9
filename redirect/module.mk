# redirect/: request routing decisions (socket-free), used by cdni-ucdn.
REDIRECT_SRCS := redirect/route.c redirect/dnspolicy.c
$(eval $(call LIBRARY,redirect,$(REDIRECT_SRCS)))
$(foreach t,$(wildcard redirect/t/test_*.c),$(eval $(call UNIT,redirect,$(t),tap redirect common)))

# ucdn/: cdni-ucdn, the uCDN front door (redirect / proxy / refuse per path).
UCDN_LIB_SRCS := ucdn/conf.c ucdn/front.c ucdn/proxy.c ucdn/sign.c ucdn/rewrite.c ucdn/api.c ucdn/ask.c
$(eval $(call LIBRARY,ucdn,$(UCDN_LIB_SRCS)))
$(eval $(call PROGRAM,cdni-ucdn,ucdn/main.c,ucdn redirect rri urisign common))
$(foreach t,$(wildcard ucdn/t/test_*.c),$(eval $(call UNIT,ucdn,$(t),tap ucdn redirect rri urisign common)))

# urisign/: RFC 9246 URI signing (libcdni_urisign) and the cdni-urisign tool.
URISIGN_LIB_SRCS := urisign/b64.c urisign/jwk.c urisign/jws.c urisign/jwe.c urisign/uri.c \
                    urisign/replay.c urisign/container.c urisign/claims.c urisign/verify.c \
                    urisign/sign.c urisign/cli.c urisign/cli_sign.c urisign/cli_verify.c
$(eval $(call LIBRARY,urisign,$(URISIGN_LIB_SRCS)))
$(eval $(call PROGRAM,cdni-urisign,urisign/main.c,urisign common))
$(foreach t,$(wildcard urisign/t/test_*.c),$(eval $(call UNIT,urisign,$(t),tap urisign common)))

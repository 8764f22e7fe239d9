# keyless/: the key-server protocol (codec, request core, client library),
# cdni-keyserver and the cdni-keyless CLI.
KEYLESS_SRCS := keyless/proto.c keyless/keys.c keyless/keyops.c keyless/policy.c \
	keyless/core.c keyless/tconn.c keyless/client.c keyless/metrics.c \
	keyless/server.c keyless/server_io.c keyless/server_conf.c
$(eval $(call LIBRARY,keyless,$(KEYLESS_SRCS)))
$(eval $(call PROGRAM,cdni-keyserver,keyless/ks_main.c,keyless common))
$(foreach t,$(wildcard keyless/t/*.c),$(eval $(call UNIT,keyless,$(t),keyless tap common)))
$(eval $(call PROGRAM,cdni-keyless,keyless/cli.c,keyless common))

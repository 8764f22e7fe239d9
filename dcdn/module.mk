# dcdn/: cdni-dcdn, a dCDN surrogate (HTTPS caching reverse proxy).
DCDN_SRCS := $(filter-out dcdn/main.c,$(wildcard dcdn/*.c))
$(eval $(call LIBRARY,dcdn,$(DCDN_SRCS)))
$(eval $(call PROGRAM,cdni-dcdn,dcdn/main.c,dcdn rri urisign keyless common))
# the redirection interface verifies client certificates through GnuTLS (libmicrohttpd's TLS)
$(BIN)/cdni-dcdn: LDLIBS += -lgnutls
$(foreach t,$(wildcard dcdn/t/*.c),$(eval $(call UNIT,dcdn,$(t),dcdn rri tap urisign keyless common)))

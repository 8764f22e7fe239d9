# dane/: libcdni_dane (DNSSEC keys and signing, TLSA records, trust anchors,
# a validating stub resolver, DANE with OpenSSL) and the cdni-dane tool.
DANE_SRCS := dane/tlsa.c dane/keys.c dane/sign.c dane/anchor.c dane/validate.c dane/ssl.c
$(eval $(call LIBRARY,dane,$(DANE_SRCS)))
$(eval $(call PROGRAM,cdni-dane,dane/main.c dane/cli.c,dane common))
$(foreach t,$(wildcard dane/t/test_*.c),$(eval $(call UNIT,dane,$(t),tap dane common)))

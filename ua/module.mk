# ua/: cdni-ua, the user agent of the draft's figures (redirect following,
# TLS verification, JSON trace). The library has the loop, the trace model,
# Location resolution and the libcurl glue; unit tests link it.
UA_SRCS := ua/ua.c ua/trace.c ua/location.c ua/args.c ua/fetch.c ua/dns.c
$(eval $(call LIBRARY,ua,$(UA_SRCS)))
$(eval $(call PROGRAM,cdni-ua,ua/main.c,ua dane common))
$(foreach t,$(wildcard ua/t/*.c),$(eval $(call UNIT,ua,$(t),ua dane tap common)))

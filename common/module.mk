# common/: logging, errors, wire reader/writer, buffers, config tables, TLS,
# HTTP helpers, libmicrohttpd glue, daemon plumbing, TAP.
COMMON_SRCS := $(filter-out common/tap.c,$(wildcard common/*.c))
$(eval $(call LIBRARY,common,$(COMMON_SRCS)))
$(eval $(call LIBRARY,tap,common/tap.c))
$(foreach t,$(wildcard common/t/*.c),$(eval $(call UNIT,common,$(t),tap common)))

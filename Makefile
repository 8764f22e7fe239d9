# cdni — top-level, non-recursive GNU make.
# Each folder contributes a fragment (FOLDER/module.mk) that declares its
# library sources, programs and unit tests with the macros below.
#
#   make                 build every library and program into build/
#   make check           build, then run every test through prove (TAP)
#   make demo            a short tour of delegation (scenarios) and where the reports are
#   make scenarios       the seeds replayed in full (scenarios/cases), with a summary
#   make bench           run the benchmarks (figures, not tests)
#   make deps            install the Debian packages cdni needs (as root)
#   make SANITIZE=address,undefined check    same, under ASan/UBSan (build/san)

.DEFAULT_GOAL := all
SHELL := /bin/bash

ifneq ($(SANITIZE),)
BUILD ?= build/san
else
BUILD ?= build
endif

CC      ?= cc
PKGS    := libmicrohttpd jansson libcurl openssl ldns libxml-2.0 gnutls
OPT     ?= -O2
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wpointer-arith -Wvla -Wundef -Wcast-qual -Wwrite-strings \
           -Wnull-dereference -Wno-format-truncation -Werror
CPPFLAGS += -D_GNU_SOURCE -I. -MMD -MP
CFLAGS  += -std=c11 $(OPT) -g $(WARN) -fno-strict-aliasing \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

ifneq ($(SANITIZE),)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=$(SANITIZE)
endif

BIN     := $(BUILD)/bin
LIBDIR  := $(BUILD)/lib
UNITDIR := $(BUILD)/t

ALL_LIBS  :=
ALL_BINS  :=
ALL_UNITS :=

# $(call objs,SRCS) -> object files under $(BUILD)/obj
objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

# $(eval $(call LIBRARY,name,srcs))  -> $(LIBDIR)/libcdni_name.a
define LIBRARY
$(LIBDIR)/libcdni_$(1).a: $(call objs,$(2)) | $(LIBDIR)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
ALL_LIBS += $(LIBDIR)/libcdni_$(1).a
endef

# $(eval $(call PROGRAM,cdni-name,srcs,libs-in-link-order))
define PROGRAM
$(BIN)/$(1): $(call objs,$(2)) $(foreach l,$(3),$(LIBDIR)/libcdni_$(l).a) | $(BIN)
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(foreach l,$(3),$(LIBDIR)/libcdni_$(l).a) $$(LDLIBS)
ALL_BINS += $(BIN)/$(1)
endef

# $(eval $(call UNIT,folder,test.c,libs))  -> $(UNITDIR)/folder-test.t
define UNIT
$(UNITDIR)/$(1)-$(basename $(notdir $(2))).t: $(call objs,$(2)) $(foreach l,$(3),$(LIBDIR)/libcdni_$(l).a) | $(UNITDIR)
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(foreach l,$(3),$(LIBDIR)/libcdni_$(l).a) $$(LDLIBS)
ALL_UNITS += $(UNITDIR)/$(1)-$(basename $(notdir $(2))).t
endef

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BIN) $(LIBDIR) $(UNITDIR):
	@mkdir -p $@

include $(sort $(wildcard */module.mk))

PKI := $(BUILD)/pki/.done
$(PKI): scripts/mkpki.sh
	scripts/mkpki.sh $(BUILD)/pki

.PHONY: all check unit systest demo scenarios bench deps clean pki
all: $(ALL_LIBS) $(ALL_BINS) $(ALL_UNITS)
pki: $(PKI)

# System tests are executable TAP scripts: FOLDER/t/*.t (and t/*.t).
SYSTESTS := $(sort $(filter-out build/%,$(wildcard */t/*.t)))
# failing tests' lines in the output (CI logs say which check failed)
PROVE_FLAGS ?= --failures

export CDNI_BUILD := $(abspath $(BUILD))
export CDNI_BIN   := $(abspath $(BIN))
export CDNI_PKI   := $(abspath $(BUILD)/pki)
export CDNI_TOP   := $(abspath .)

deps-if-missing:
	@scripts/deps.sh --if-missing

check: deps-if-missing
	@$(MAKE) --no-print-directory all pki
	prove --exec '' $(PROVE_FLAGS) $(ALL_UNITS) $(SYSTESTS)

unit: all
	prove --exec '' $(PROVE_FLAGS) $(ALL_UNITS)

systest: all pki
	prove --exec '' $(PROVE_FLAGS) $(SYSTESTS)

demo: deps-if-missing
	@$(MAKE) --no-print-directory all pki
	@scenarios/demo.sh

# The seeds replayed in full (scenarios/cases/*.json; root for namespaces and
# emulated links): reports under build/scenarios/, a summary printed.
scenarios: deps-if-missing
	@$(MAKE) --no-print-directory all pki
	@scenarios/run-all.sh

bench: deps-if-missing
	@$(MAKE) --no-print-directory all pki
	@bench/run.sh

deps:
	@scripts/deps.sh

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# scenarios/: cdni-scenario, the scenario runner, over libcdni_scenario
# (scenario files, placeholders, process control, expectations, message
# flow, reports).
SCENARIO_SRCS := $(filter-out scenarios/main.c,$(wildcard scenarios/*.c))
$(eval $(call LIBRARY,scenario,$(SCENARIO_SRCS)))
$(eval $(call PROGRAM,cdni-scenario,scenarios/main.c,scenario common))
$(foreach t,$(wildcard scenarios/t/*.c),$(eval $(call UNIT,scenarios,$(t),tap scenario common)))
# Scenario tools (scripts a scenario starts as nodes), installed next to the programs.
$(BIN)/cdni-onpath: scenarios/tools/onpath.py | $(BIN)
	install -m 755 $< $@
ALL_BINS += $(BIN)/cdni-onpath
$(BIN)/cdni-tlsrec: scenarios/tools/tlsrec.py | $(BIN)
	install -m 755 $< $@
ALL_BINS += $(BIN)/cdni-tlsrec
$(BIN)/cdni-ttfb-verdict: scenarios/tools/ttfb_verdict.py | $(BIN)
	install -m 755 $< $@
ALL_BINS += $(BIN)/cdni-ttfb-verdict

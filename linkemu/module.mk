# linkemu/: cdni-linkemu, emulated links between network namespaces (TUN
# devices, delay/loss/rate queues) over libcdni_linkemu.
LINKEMU_SRCS := linkemu/linkq.c linkemu/emu.c
$(eval $(call LIBRARY,linkemu,$(LINKEMU_SRCS)))
$(eval $(call PROGRAM,cdni-linkemu,linkemu/main.c,linkemu common))
$(foreach t,$(wildcard linkemu/t/*.c),$(eval $(call UNIT,linkemu,$(t),tap linkemu common)))

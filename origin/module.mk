# origin/: cdni-origin, the content service provider's origin server.
$(eval $(call LIBRARY,origin,origin/origin.c origin/server.c))
$(eval $(call PROGRAM,cdni-origin,origin/main.c,origin common))
$(foreach t,$(wildcard origin/t/*.c),$(eval $(call UNIT,origin,$(t),origin tap common)))

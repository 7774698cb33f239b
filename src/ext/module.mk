# ext-backend (tests/tools/ext_backend.c): the unix-socket backend of the
# test extensions in tests/integration/test_extensions.sh.  Static and
# never sanitized: it runs inside a busybox container.
$(BUILD)/tests/ext-backend: tests/tools/ext_backend.c
	@mkdir -p $(dir $@)
	@echo "  LD      $@ (static)"
	$(Q)$(CC) $(CPPFLAGS) $(STATIC_CFLAGS) -Wno-missing-prototypes \
	    -static-pie -o $@ $<
tests: $(BUILD)/tests/ext-backend

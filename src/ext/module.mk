# ext-backend (tests/tools/ext_backend.c): the unix-socket backend of the
# test extensions in tests/integration/test_extensions.sh.  Static and
# never sanitized: it runs inside a busybox container.
$(BUILD)/tests/ext-backend: tests/tools/ext_backend.c
	@mkdir -p $(dir $@)
	@echo "  LD      $@ (static)"
	$(Q)$(CC) $(CPPFLAGS) $(STATIC_CFLAGS) -Wno-missing-prototypes \
	    -static-pie -o $@ $<
tests: $(BUILD)/tests/ext-backend

# ext-exec (tests/tools/ext_exec.c): drives the confined runner of host
# binaries (src/ext/hostexec.h); ext-probe (tests/tools/ext_probe.c): the
# static host binary it runs (tests/integration/test_ext_host.sh).
$(BUILD)/tests/ext-exec: tests/tools/ext_exec.c $(BUILD)/libmoat.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes -o $@ $^ \
	    $(LDFLAGS) $(LDLIBS)
$(BUILD)/tests/ext-probe: tests/tools/ext_probe.c
	@mkdir -p $(dir $@)
	@echo "  LD      $@ (static)"
	$(Q)$(CC) $(CPPFLAGS) $(STATIC_CFLAGS) -Wno-missing-prototypes \
	    -static-pie -o $@ $<
tests: $(BUILD)/tests/ext-exec $(BUILD)/tests/ext-probe

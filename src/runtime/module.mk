# mount-probe (tests/tools/mount_probe.c): escape attempts through the new
# mount API for tests/escape/attempts.sh.  Static and never sanitized: it
# runs inside a busybox container.
$(BUILD)/tests/mount-probe: tests/tools/mount_probe.c
	@mkdir -p $(dir $@)
	@echo "  LD      $@ (static)"
	$(Q)$(CC) $(CPPFLAGS) $(STATIC_CFLAGS) -Wno-missing-prototypes \
	    -static-pie -o $@ $<

tests: $(BUILD)/tests/mount-probe

# fcap-probe (tests/tools/fcap_probe.c): tries to leave a file capability
# the host honours through a bind (tests/integration/test_caller_rights.sh).
$(BUILD)/tests/fcap-probe: tests/tools/fcap_probe.c
	@mkdir -p $(dir $@)
	@echo "  LD      $@ (static)"
	$(Q)$(CC) $(CPPFLAGS) $(STATIC_CFLAGS) -Wno-missing-prototypes \
	    -static-pie -o $@ $<

tests: $(BUILD)/tests/fcap-probe

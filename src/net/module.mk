# The net guard's test driver (tests/tools/netguard-runner.c): a program
# over libmoat.a that the integration tests and bench/ run outside moatd.
# Built with `make tests`.  This fragment is included before the main
# Makefile's first rule, so it keeps the default goal as it found it.
net_saved_goal := $(.DEFAULT_GOAL)
NET_TOOLS := $(BUILD)/tests/netguard-runner
tests: $(NET_TOOLS)

$(BUILD)/tests/netguard-runner: tests/tools/netguard-runner.c $(BUILD)/libmoat.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes -o $@ $^ \
	    $(LDFLAGS) $(LDLIBS)
.DEFAULT_GOAL := $(net_saved_goal)

# net-probe (tests/tools/net_probe.c): egress attempts from inside a
# container for tests/integration/test_airgap_nets.sh.  Static and never
# sanitized: it runs inside a busybox container.
$(BUILD)/tests/net-probe: tests/tools/net_probe.c
	@mkdir -p $(dir $@)
	@echo "  LD      $@ (static)"
	$(Q)$(CC) $(CPPFLAGS) $(STATIC_CFLAGS) -Wno-missing-prototypes \
	    -static-pie -o $@ $<
tests: $(BUILD)/tests/net-probe

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

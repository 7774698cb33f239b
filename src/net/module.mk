# The net guard's test driver (tests/tools/netguard-runner.c): a program
# over libmoat.a that the integration test and bench/ run, since moatd
# wiring is separate.  Built with `make tests`.
NET_TOOLS := $(BUILD)/tests/netguard-runner
tests: $(NET_TOOLS)

$(BUILD)/tests/netguard-runner: tests/tools/netguard-runner.c $(BUILD)/libmoat.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes -o $@ $^ \
	    $(LDFLAGS) $(LDLIBS)

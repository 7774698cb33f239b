# libFuzzer targets of the PAC result parser and the sandbox frame parser.
# Standalone (tests/fuzz/fuzz.mk did not exist on this branch):
#   make -f tests/fuzz/pac.mk            builds build/fuzz/fuzz_*
#   build/fuzz/fuzz_pac_result -max_total_time=60
# Each target links only the sources it tests, so no Duktape is needed.
FUZZ_CC ?= clang
FUZZ_OUT ?= build/fuzz
FUZZ_FLAGS := -g -O1 -std=c11 -D_GNU_SOURCE -Isrc \
              -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer

.PHONY: all
all: $(FUZZ_OUT)/fuzz_pac_result $(FUZZ_OUT)/fuzz_sandbox_frame

$(FUZZ_OUT)/fuzz_pac_result: tests/fuzz/fuzz_pac_result.c src/pac/result.c src/common/error.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

$(FUZZ_OUT)/fuzz_sandbox_frame: tests/fuzz/fuzz_sandbox_frame.c src/sandbox/proto.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

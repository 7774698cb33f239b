# `make fuzz`: every tests/fuzz/fuzz_<name>.c becomes build/fuzz/fuzz_<name>,
# a libFuzzer binary linked against a libmoat built entirely with clang and
# -fsanitize=fuzzer-no-link,address,undefined (module.mk fragments are
# included, so third-party objects are rebuilt with clang too).
#   build/fuzz/fuzz_settings -max_total_time=60 tests/fuzz/corpus/settings
# Seed corpora live in tests/fuzz/corpus/<name>/ (copy them before a run
# that adds inputs, or pass a scratch directory first).

BUILD := build/fuzz
CC := clang
PKGS := jansson sqlite3 libcurl libseccomp openssl zlib
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
CPPFLAGS := -D_GNU_SOURCE -Isrc $(shell pkg-config --cflags $(PKGS))
CFLAGS := -std=c11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra \
          -Wno-unused-parameter -fsanitize=fuzzer-no-link $(SAN)
LDLIBS := $(shell pkg-config --libs $(PKGS)) -lpthread -lm

LIB_DIRS := $(filter-out src/cmd,$(patsubst %/,%,$(dir $(wildcard src/*/))))
LIB_SRCS := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
LIB_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/%,$(FUZZ_SRCS))

EXTRA_OBJS :=
-include $(wildcard src/*/module.mk)

.PHONY: all
all: $(FUZZ_BINS)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libmoat.a: $(LIB_OBJS) $(EXTRA_OBJS)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/libmoat.a
	$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer -o $@ $< \
	    $(BUILD)/libmoat.a $(LDLIBS)

-include $(LIB_OBJS:.o=.d)

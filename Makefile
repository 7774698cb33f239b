# moat build.  `make` builds everything into build/; `make check` runs the
# whole test suite (unit tests plain and under ASan+UBSan, then integration
# tests against the sanitizer build) and prints "N skipped", then ends with
# the line "N passed, N failed"; `make fuzz` builds libFuzzer targets.
#
# Layout: every directory under src/ except src/cmd is a library concern and
# goes into build/libmoat.a; every directory src/cmd/<prog>/ is a program
# build/<prog>.  A concern that needs special build rules (third-party C
# built from a Debian package) adds them in src/<concern>/module.mk.

BUILD ?= build
CC ?= cc
PKGS := jansson sqlite3 libcurl libseccomp openssl zlib

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wmissing-prototypes \
        -Wstrict-prototypes -Wno-unused-parameter
CPPFLAGS += -D_GNU_SOURCE -Isrc $(shell pkg-config --cflags $(PKGS))
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -fPIE -fstack-protector-strong -D_FORTIFY_SOURCE=2 $(WARN)
LDFLAGS += -pie -Wl,-z,relro,-z,now
LDLIBS += $(shell pkg-config --libs $(PKGS)) -lpthread -lm
# Programs that run inside a container's root file system: static, libc
# only, never sanitized (ASan cannot be linked statically).
STATIC_PROGS := moat-lock
STATIC_CFLAGS := $(CFLAGS)

ifeq ($(SANITIZE),1)
CFLAGS := $(filter-out -D_FORTIFY_SOURCE=2 -O2,$(CFLAGS)) -O1 \
          -fsanitize=address,undefined -fno-omit-frame-pointer \
          -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

LIB_DIRS := $(filter-out src/cmd,$(patsubst %/,%,$(dir $(wildcard src/*/))))
LIB_SRCS := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
LIB_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
PROGS := $(notdir $(patsubst %/,%,$(dir $(wildcard src/cmd/*/))))
PROG_BINS := $(addprefix $(BUILD)/,$(PROGS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)

# Extra objects (third-party sources built from Debian packages) that
# module.mk fragments append to.
EXTRA_OBJS :=
-include $(wildcard src/*/module.mk)

.PHONY: all tests check unit san fuzz install clean format lint
all: $(PROG_BINS)

# `make V=1` shows the full command lines.
Q := $(if $(V),,@)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<",true)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libmoat.a: $(LIB_OBJS) $(EXTRA_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

define prog_rule
$(BUILD)/$(1): $(patsubst src/%.c,$(BUILD)/obj/%.o,$(wildcard src/cmd/$(1)/*.c)) $(BUILD)/libmoat.a
	@echo "  LD      $$@"
	$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach p,$(filter-out $(STATIC_PROGS),$(PROGS)),$(eval $(call prog_rule,$(p))))

define static_prog_rule
$(BUILD)/obj/cmd/$(1)/%.o: CFLAGS := $(STATIC_CFLAGS)
$(BUILD)/$(1): $(patsubst src/%.c,$(BUILD)/obj/%.o,$(wildcard src/cmd/$(1)/*.c))
	@echo "  LD      $$@ (static)"
	$(Q)$$(CC) -static-pie -Wl,-z,relro,-z,now -o $$@ $$^
endef
$(foreach p,$(filter $(STATIC_PROGS),$(PROGS)),$(eval $(call static_prog_rule,$(p))))

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libmoat.a
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	$(Q)$(CC) $(CPPFLAGS) -Itests $(CFLAGS) -Wno-missing-prototypes -o $@ $^ \
	    $(LDFLAGS) $(LDLIBS) -lcmocka

tests: all $(UNIT_BINS)

san:
	$(MAKE) BUILD=build/san SANITIZE=1 tests

check: tests san lint
	tests/run.sh

fuzz:
	$(MAKE) -f tests/fuzz/fuzz.mk

PREFIX ?= /usr/local
DESTDIR ?=
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
	    $(DESTDIR)/lib/systemd/system
	install -m 0755 $(BUILD)/moat $(DESTDIR)$(PREFIX)/bin/moat
	for p in $(filter-out moat,$(PROGS)); do \
	    install -m 0755 $(BUILD)/$$p $(DESTDIR)$(PREFIX)/sbin/$$p; done
	for u in dist/systemd/*; do \
	    sed 's#@PREFIX@#$(PREFIX)#g' $$u > $(DESTDIR)/lib/systemd/system/$$(basename $$u); \
	    chmod 0644 $(DESTDIR)/lib/systemd/system/$$(basename $$u); done

format:
	clang-format -i $(shell git ls-files '*.c' '*.h')

# The folder graph and file sizes of docs/architecture.md, then cppcheck.
lint:
	scripts/check-layers
	scripts/check-test-harness
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	    --inline-suppr -Isrc $(LIB_DIRS) src/cmd

clean:
	rm -rf build

# Header dependencies of the library and of the programs' own objects (a
# changed header must rebuild src/cmd/*/ objects too, or a program keeps a
# stale struct layout).
PROG_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(wildcard src/cmd/*/*.c))
-include $(LIB_OBJS:.o=.d) $(PROG_OBJS:.o=.d)

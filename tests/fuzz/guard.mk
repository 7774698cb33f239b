# libFuzzer targets of the engine guard (until a shared tests/fuzz/fuzz.mk
# exists: `make -f tests/fuzz/guard.mk`, then
# `build/fuzz/fuzz_http -max_total_time=60 tests/fuzz/corpus/http`).
FUZZ_BUILD ?= build/fuzz
FUZZ_CC ?= clang
PKGS := jansson sqlite3 libcurl libseccomp
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 \
  -D_GNU_SOURCE -Isrc -I/usr/share/include/llhttp \
  $(shell pkg-config --cflags $(PKGS))
FUZZ_LIBS := $(shell pkg-config --libs $(PKGS)) -lpthread -lm
LIB_SRCS := $(filter-out src/cmd/%,$(wildcard src/*/*.c))
LLHTTP_SRCS := /usr/share/llhttp/llhttp.c /usr/share/llhttp/api.c \
  /usr/share/llhttp/http.c

all: $(FUZZ_BUILD)/fuzz_http

$(FUZZ_BUILD)/fuzz_http: tests/fuzz/fuzz_http.c $(LIB_SRCS) $(LLHTTP_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -w -o $@ $^ $(FUZZ_LIBS)

# libFuzzer targets of the net guard's parsers.  Used by `make fuzz` once
# tests/fuzz/fuzz.mk exists (include this from there); standalone:
#   make -f tests/fuzz/net.mk  -> build/fuzz/fuzz_sni, fuzz_http_host,
#                                 fuzz_proxy_reply
#   build/fuzz/fuzz_sni -max_total_time=60 build/fuzz/corpus-sni
FUZZ_BUILD ?= build/fuzz
FUZZ_CC ?= clang
FUZZ_FLAGS ?= -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
              -std=c11 -Isrc

NET_FUZZ := $(FUZZ_BUILD)/fuzz_sni $(FUZZ_BUILD)/fuzz_http_host \
            $(FUZZ_BUILD)/fuzz_proxy_reply

.PHONY: net-fuzz
net-fuzz: $(NET_FUZZ)

$(FUZZ_BUILD)/fuzz_sni: tests/fuzz/fuzz_sni.c src/net/sniff.c src/net/sniff.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_sni.c src/net/sniff.c

$(FUZZ_BUILD)/fuzz_http_host: tests/fuzz/fuzz_http_host.c src/net/sniff.c src/net/sniff.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_http_host.c src/net/sniff.c

$(FUZZ_BUILD)/fuzz_proxy_reply: tests/fuzz/fuzz_proxy_reply.c src/net/proxyproto.c src/net/rules.c src/net/sniff.c src/common/error.c src/common/cleanup.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

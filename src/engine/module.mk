# llhttp, built from the C sources Debian's node-llhttp installs (never
# copied into the repository).  Generated code: built with relaxed warnings.
LLHTTP_SRC_DIR ?= /usr/share/llhttp
LLHTTP_INC_DIR ?= /usr/share/include/llhttp
LLHTTP_OBJS := $(BUILD)/obj/llhttp/llhttp.o $(BUILD)/obj/llhttp/api.o \
               $(BUILD)/obj/llhttp/http.o
LLHTTP_CFLAGS := $(filter-out -Werror -Wmissing-prototypes -Wshadow \
                   -Wstrict-prototypes -Wextra -Wformat=2,$(CFLAGS)) -w

$(BUILD)/obj/llhttp/%.o: $(LLHTTP_SRC_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) -I$(LLHTTP_INC_DIR) $(LLHTTP_CFLAGS) -c $< -o $@

EXTRA_OBJS += $(LLHTTP_OBJS)
CPPFLAGS += -I$(LLHTTP_INC_DIR)

# guard-run: the guard loop alone, for tests/integration/test_guard.sh and
# bench/ (tests/tools/guard_run.c).
$(BUILD)/tests/guard-run: tests/tools/guard_run.c $(BUILD)/libmoat.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)
tests: $(BUILD)/tests/guard-run

# The Makefile includes fragments before its first rule: keep `all` the
# default goal whatever rule comes first here.
.DEFAULT_GOAL := all

# Duktape, built from the source Debian ships (duktape-dev) with our own
# configuration (src/sandbox/duk_moat_config.h: execution timeout on).  The
# source stays in /usr/share/duktape; nothing is copied into the repository.
DUKTAPE_SRC := /usr/share/duktape/duktape.c
DUKTAPE_OBJ := $(BUILD)/obj/third_party/duktape.o

$(DUKTAPE_OBJ): $(DUKTAPE_SRC) src/sandbox/duk_moat_config.h src/sandbox/module.mk
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -DMOAT_DUK_BUILD \
	    -include src/sandbox/duk_moat_config.h \
	    $(filter-out -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wformat=2 -Wextra,$(CFLAGS)) \
	    -w -c $< -o $@

EXTRA_OBJS += $(DUKTAPE_OBJ)

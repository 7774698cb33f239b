# The PAC helper functions live in pac_helpers.js (readable, diffable) and are
# embedded into libmoat as a C string generated at build time.
.DEFAULT_GOAL := all
PAC_HELPERS_C := $(BUILD)/gen/pac_helpers_js.c
PAC_HELPERS_OBJ := $(BUILD)/obj/gen/pac_helpers_js.o

$(PAC_HELPERS_C): src/pac/pac_helpers.js src/pac/module.mk
	@mkdir -p $(dir $@)
	{ echo '/* Generated from src/pac/pac_helpers.js by src/pac/module.mk. */'; \
	  echo '#include "pac/helpers.h"'; \
	  echo 'const char pac_helpers_js[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/  "/' -e 's/$$/\\n"/' $<; \
	  echo '  ;'; \
	  echo 'const size_t pac_helpers_js_len = sizeof pac_helpers_js - 1;'; } > $@

$(PAC_HELPERS_OBJ): $(PAC_HELPERS_C) src/pac/helpers.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

EXTRA_OBJS += $(PAC_HELPERS_OBJ)

# The dashboard's static files (src/web/assets) are compiled into libmoat
# at build time (docs/dashboard.md says why): one generated C file.
WEB_ASSETS := $(sort $(wildcard src/web/assets/*))

$(BUILD)/gen/web_assets.c: $(WEB_ASSETS) scripts/embed-assets
	@mkdir -p $(dir $@)
	$(Q)scripts/embed-assets $@ $(WEB_ASSETS)

$(BUILD)/obj/gen/web_assets.o: $(BUILD)/gen/web_assets.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

EXTRA_OBJS += $(BUILD)/obj/gen/web_assets.o

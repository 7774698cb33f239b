# The organization directory: Argon2id (libargon2), LDAP (libldap) and
# Apple property lists for `moat signin lint` (libplist), all from Debian.
DIRECTORY_PKGS := libargon2 ldap lber libplist-2.0
CPPFLAGS += $(shell pkg-config --cflags $(DIRECTORY_PKGS))
LDLIBS += $(shell pkg-config --libs $(DIRECTORY_PKGS))

# directory-auth: the directory API from a shell, for
# tests/integration/test_directory*.sh (tests/tools/directory_auth.c).
$(BUILD)/tests/directory-auth: tests/tools/directory_auth.c $(BUILD)/libmoat.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)
tests: $(BUILD)/tests/directory-auth

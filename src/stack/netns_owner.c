/* One stack a network namespace: the interception rules are one nftables
 * table, `inet moat`, whose comment names the stack it belongs to
 * (docs/net-guard.md, "One stack a network namespace").  `moat up` refuses
 * to load its own over another recorded stack's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "internal.h"

const char *
stack_owner (const struct moat_paths *paths)
{
  return paths->root != NULL && paths->root[0] != '\0' ? paths->root : "/";
}

int
stack_netns_owner_check (const struct moat_paths *paths, const char *netns,
                         const char *bridge, bool own_record,
                         moat_error_t *err)
{
  const char *me = stack_owner (paths);
  struct net_intercept ic;
  cleanup_free char *rec = NULL;
  char owner[256];
  char where[300];
  int r;

  stack_intercept_for (bridge, netns, &ic);
  r = net_nft_table_owner (&ic, owner, sizeof owner, err);
  if (r <= 0)
    return r < 0 ? moat_error_wrap (err, "look for another stack's "
                                         "interception rules")
                 : 0;
  snprintf (where, sizeof where, "%s%s%s",
            netns != NULL ? "network namespace `" : "this network namespace",
            netns != NULL ? netns : "", netns != NULL ? "`" : "");
  if (owner[0] == '\0')
    {
      /* This root's own previous stack, cleaned up just now, may have been
       * an older moat's: its rules name no stack. */
      if (own_record)
        return 0;
      return moat_error (err, 0,
                         "%s already holds moat's interception rules "
                         "(nftables table `inet moat`) of a stack that does "
                         "not name itself (an older moat, or one made by "
                         "hand); stop that stack first, or, if no moat "
                         "stack runs there, remove them with `nft delete "
                         "table inet moat`",
                         where);
    }
  if (strcmp (owner, me) == 0)
    return 0;
  if (asprintf (&rec, "%s/run/moat/stack.json",
                strcmp (owner, "/") == 0 ? "" : owner)
      < 0)
    {
      rec = NULL;
      return moat_error (err, ENOMEM, "moat up");
    }
  if (access (rec, F_OK) == 0 || errno != ENOENT)
    return moat_error (err, 0,
                       "%s already runs the moat stack at %s: its "
                       "interception rules (nftables table `inet moat`) "
                       "are that stack's, and a namespace holds one "
                       "stack's; stop it first (`MOAT_ROOT=%s moat down`), "
                       "or start this one in another network namespace",
                       where, owner, owner);
  log_warn ("replacing the interception rules of the moat stack at %s, "
            "which is not running (no `%s`)",
            owner, rec);
  return 0;
}

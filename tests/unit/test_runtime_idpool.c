/* Unit tests of src/runtime/idpool: exclusive ranges, release, exhaustion,
 * concurrent allocating processes, and the subuid/subgid entry. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "runtime/idpool.h"

struct fixture
{
  char dir[64];
  char db[128];
};

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  strcpy (f->dir, "/tmp/moat-test-idpool-XXXXXX");
  if (mkdtemp (f->dir) == NULL)
    return -1;
  snprintf (f->db, sizeof f->db, "%s/state.db", f->dir);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  char cmd[128];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", f->dir);
  if (system (cmd) != 0)
    return -1;
  free (f);
  return 0;
}

static struct idpool *
open_pool (struct fixture *f, uint32_t start, uint32_t count, uint32_t size)
{
  struct idpool_config cfg = { start, count, size };
  struct idpool *p = NULL;
  cleanup_error moat_error_t err = NULL;
  if (idpool_open (&p, f->db, &cfg, &err) < 0)
    fail_msg ("open: %s", moat_error_msg (&err));
  return p;
}

static void
ranges_are_exclusive_and_stable (void **state)
{
  struct idpool *p = open_pool (*state, 100000, 65536 * 4, 65536);
  cleanup_error moat_error_t err = NULL;
  uint32_t a, b, a2;
  assert_int_equal (idpool_alloc (p, "a", &a, &err), 0);
  assert_int_equal (idpool_alloc (p, "b", &b, &err), 0);
  assert_int_equal (a, 100000);
  assert_int_equal (b, 100000 + 65536);
  /* create retried for the same container: same range. */
  assert_int_equal (idpool_alloc (p, "a", &a2, &err), 0);
  assert_int_equal (a2, a);
  idpool_close (p);
}

static void
release_frees_the_slot (void **state)
{
  struct idpool *p = open_pool (*state, 100000, 65536 * 4, 65536);
  cleanup_error moat_error_t err = NULL;
  struct idpool_entry *e = NULL;
  size_t n = 0;
  uint32_t a, b, c;
  int released = -1;
  assert_int_equal (idpool_alloc (p, "a", &a, &err), 0);
  assert_int_equal (idpool_alloc (p, "b", &b, &err), 0);
  assert_int_equal (idpool_release (p, "a", &released, &err), 0);
  assert_int_equal (released, 1);
  assert_int_equal (idpool_release (p, "a", &released, &err), 0);
  assert_int_equal (released, 0);
  assert_int_equal (idpool_list (p, &e, &n, &err), 0);
  assert_int_equal (n, 1);
  assert_string_equal (e[0].container_id, "b");
  assert_int_equal (e[0].base, b);
  assert_int_equal (e[0].size, 65536);
  idpool_entries_free (e, n);
  /* The lowest free slot is reused. */
  assert_int_equal (idpool_alloc (p, "c", &c, &err), 0);
  assert_int_equal (c, a);
  idpool_close (p);
}

static void
exhaustion_is_an_error (void **state)
{
  struct idpool *p = open_pool (*state, 1000, 25, 10);
  cleanup_error moat_error_t err = NULL;
  uint32_t x;
  assert_int_equal (idpool_alloc (p, "a", &x, &err), 0);
  assert_int_equal (idpool_alloc (p, "b", &x, &err), 0);
  assert_int_equal (x, 1010);
  assert_int_equal (idpool_alloc (p, "c", &x, &err), -1);
  assert_int_equal (moat_error_status (&err), ENOSPC);
  assert_non_null (strstr (moat_error_msg (&err), "id pool exhausted"));
  idpool_close (p);
}

static void
refuses_host_root (void **state)
{
  struct fixture *f = *state;
  struct idpool_config cfg = { 0, 65536 * 4, 65536 };
  struct idpool *p = NULL;
  cleanup_error moat_error_t err = NULL;
  assert_int_equal (idpool_open (&p, f->db, &cfg, &err), -1);
  moat_error_release (&err);
  cfg.start = 1;
  cfg.count = 100;
  assert_int_equal (idpool_open (&p, f->db, &cfg, &err), -1);
}

/* Processes racing for ranges, each with its own connection, as
 * concurrent moat-runc create calls are: no slot is handed out twice. */
static void
concurrent_processes_never_share (void **state)
{
  struct fixture *f = *state;
  enum
  {
    PROCS = 8,
    EACH = 10
  };
  struct idpool *p;
  cleanup_error moat_error_t err = NULL;
  struct idpool_entry *e = NULL;
  size_t n = 0;

  for (int i = 0; i < PROCS; i++)
    {
      pid_t pid = fork ();
      assert_true (pid >= 0);
      if (pid == 0)
        {
          struct idpool_config cfg = { 100000, 65536 * 100, 65536 };
          struct idpool *cp = NULL;
          moat_error_t e1 = NULL;
          /* No cmocka assertions in the child: they would longjmp into
           * the parent's copy of the runner. */
          if (idpool_open (&cp, f->db, &cfg, &e1) < 0)
            {
              fprintf (stderr, "%s\n", moat_error_msg (&e1));
              _exit (1);
            }
          for (int k = 0; k < EACH; k++)
            {
              char id[32];
              uint32_t b;
              moat_error_t e2 = NULL;
              snprintf (id, sizeof id, "p%d-c%d", i, k);
              if (idpool_alloc (cp, id, &b, &e2) < 0)
                {
                  fprintf (stderr, "%s\n", moat_error_msg (&e2));
                  _exit (1);
                }
            }
          idpool_close (cp);
          _exit (0);
        }
    }
  for (int i = 0; i < PROCS; i++)
    {
      int status;
      assert_true (wait (&status) > 0);
      assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    }
  p = open_pool (f, 100000, 65536 * 100, 65536);
  assert_int_equal (idpool_list (p, &e, &n, &err), 0);
  assert_int_equal (n, PROCS * EACH);
  for (size_t i = 1; i < n; i++)
    assert_true (e[i].base >= e[i - 1].base + e[i - 1].size);
  idpool_entries_free (e, n);
  idpool_close (p);
}

static void
subid_entry_is_created_once (void **state)
{
  struct fixture *f = *state;
  char path[128];
  uint32_t s, c;
  cleanup_error moat_error_t err = NULL;
  FILE *fp;
  snprintf (path, sizeof path, "%s/subuid", f->dir);
  fp = fopen (path, "w");
  fputs ("alice:100000:65536\n", fp);
  fclose (fp);
  assert_int_equal (subid_lookup (path, "moat", &s, &c, &err), 1);
  assert_int_equal (
      subid_ensure (path, "moat", 1000000, 6553600, &s, &c, &err), 0);
  assert_int_equal (s, 1000000);
  assert_int_equal (c, 6553600);
  assert_int_equal (subid_ensure (path, "moat", 5, 5, &s, &c, &err), 0);
  assert_int_equal (s, 1000000);
  assert_int_equal (subid_lookup (path, "alice", &s, &c, &err), 0);
  assert_int_equal (s, 100000);
  assert_int_equal (subid_lookup (path, "moa", &s, &c, &err), 1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (ranges_are_exclusive_and_stable, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (release_frees_the_slot, setup, teardown),
    cmocka_unit_test_setup_teardown (exhaustion_is_an_error, setup, teardown),
    cmocka_unit_test_setup_teardown (refuses_host_root, setup, teardown),
    cmocka_unit_test_setup_teardown (concurrent_processes_never_share, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (subid_entry_is_created_once, setup,
                                     teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

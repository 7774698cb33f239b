/* Unit tests of src/runtime/idpool: exclusive ranges, release, exhaustion,
 * concurrent allocating processes, the subuid/subgid entry, and the
 * host-wide claims that keep two roots (two state dbs) apart.  Every test
 * uses a private registry in its temporary directory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "runtime/idpool.h"

struct fixture
{
  char dir[64];
  char db[128];
  char db2[128]; /* a second root's state db */
  char reg[128]; /* the shared registry */
};

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  strcpy (f->dir, "/tmp/moat-test-idpool-XXXXXX");
  if (mkdtemp (f->dir) == NULL)
    return -1;
  snprintf (f->db, sizeof f->db, "%s/state.db", f->dir);
  snprintf (f->db2, sizeof f->db2, "%s/b/state.db", f->dir);
  snprintf (f->reg, sizeof f->reg, "%s/claims.db", f->dir);
  {
    char b[128];
    snprintf (b, sizeof b, "%s/b", f->dir);
    if (mkdir (b, 0700) < 0)
      return -1;
  }
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
open_at (const char *db, const char *reg, uint32_t start, uint32_t gid_start,
         uint32_t count, uint32_t size)
{
  struct idpool_config cfg = { start, count, size, gid_start, reg };
  struct idpool *p = NULL;
  cleanup_error moat_error_t err = NULL;
  if (idpool_open (&p, db, &cfg, &err) < 0)
    fail_msg ("open: %s", moat_error_msg (&err));
  return p;
}

static struct idpool *
open_pool (struct fixture *f, uint32_t start, uint32_t count, uint32_t size)
{
  return open_at (f->db, f->reg, start, 0, count, size);
}

/* the second root, same registry */
static struct idpool *
open_pool2 (struct fixture *f, uint32_t start, uint32_t count, uint32_t size)
{
  return open_at (f->db2, f->reg, start, 0, count, size);
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

static off_t
file_size (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 ? st.st_size : -1;
}

/* A call's close neither checkpoints nor deletes the WALs (no fsync, and
 * none of the directory for a WAL made anew); what was committed is read
 * back by the next opener; a WAL is checkpointed (emptied) once it grows
 * past its limit instead of growing without end; and a call that
 * changes nothing writes nothing to the registry. */
static void
wal_stays_bounded_and_calls_that_change_nothing_write_nothing (void **state)
{
  struct fixture *f = *state;
  cleanup_error moat_error_t err = NULL;
  struct idpool_entry *e = NULL;
  char wal[160], rwal[160];
  size_t n = 0;
  uint32_t a;
  int released;
  off_t before;
  struct idpool *p = open_pool (f, 100000, 65536 * 4, 65536);

  snprintf (wal, sizeof wal, "%s-wal", f->db);
  snprintf (rwal, sizeof rwal, "%s-wal", f->reg);
  assert_int_equal (idpool_alloc (p, "a", &a, &err), 0);
  idpool_close (p);
  assert_true (file_size (wal) > 0);
  assert_true (file_size (rwal) > 0);
  p = open_pool (f, 100000, 65536 * 4, 65536);
  assert_int_equal (idpool_list (p, &e, &n, &err), 0);
  assert_int_equal (n, 1);
  assert_string_equal (e[0].container_id, "a");
  idpool_entries_free (e, n);
  idpool_close (p);

  /* nothing held, nothing changed: the registry is not written (a
   * second later: not even a time stamp) */
  before = file_size (rwal);
  sleep (1);
  p = open_pool (f, 100000, 65536 * 4, 65536);
  assert_int_equal (idpool_release (p, "nobody", &released, &err), 0);
  assert_int_equal (released, 0);
  idpool_close (p);
  assert_int_equal (file_size (rwal), before);

  for (int i = 0; i < 300; i++)
    {
      char key[16];
      snprintf (key, sizeof key, "k%d", i);
      p = open_pool (f, 100000, 65536 * 4, 65536);
      assert_int_equal (idpool_alloc (p, key, &a, &err), 0);
      assert_int_equal (idpool_release (p, key, &released, &err), 0);
      idpool_close (p);
    }
  /* 100 pages of 4 KiB and the commit that passed them */
  assert_true (file_size (wal) < 120 * 4096);
  assert_true (file_size (rwal) < 120 * 4096);
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
  struct idpool_config cfg = { 0, 65536 * 4, 65536, 0, f->reg };
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
          struct idpool_config cfg = { 100000, 65536 * 100, 65536, 0, f->reg };
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

static void
remove_root (const char *db)
{
  char p[160];
  unlink (db);
  snprintf (p, sizeof p, "%s-wal", db);
  unlink (p);
  snprintf (p, sizeof p, "%s-shm", db);
  unlink (p);
}

/* Two roots with the same pool, one registry: their ranges never
 * overlap, and the second runs out when the first holds the rest. */
static void
two_roots_never_share (void **state)
{
  struct fixture *f = *state;
  struct idpool *a = open_pool (f, 100000, 65536 * 4, 65536);
  struct idpool *b = open_pool2 (f, 100000, 65536 * 4, 65536);
  cleanup_error moat_error_t err = NULL;
  uint32_t a1, a2, b1, b2, x;
  assert_int_equal (idpool_alloc (a, "c1", &a1, &err), 0);
  assert_int_equal (idpool_alloc (b, "c1", &b1, &err), 0);
  assert_int_equal (idpool_alloc (a, "c2", &a2, &err), 0);
  assert_int_equal (idpool_alloc (b, "c2", &b2, &err), 0);
  assert_int_equal (a1, 100000);
  assert_int_equal (b1, 100000 + 65536);
  assert_int_equal (a2, 100000 + 2 * 65536);
  assert_int_equal (b2, 100000 + 3 * 65536);
  assert_int_equal (idpool_alloc (a, "c3", &x, &err), -1);
  assert_int_equal (moat_error_status (&err), ENOSPC);
  moat_error_release (&err);
  /* a release frees the slot for the other root too */
  assert_int_equal (idpool_release (b, "c1", NULL, &err), 0);
  assert_int_equal (idpool_alloc (a, "c3", &x, &err), 0);
  assert_int_equal (x, b1);
  idpool_close (a);
  idpool_close (b);
}

/* Different pools: overlap is by interval, not by slot, and by uid or
 * gid. */
static void
overlap_is_by_interval_and_gid (void **state)
{
  struct fixture *f = *state;
  struct idpool *a = open_at (f->db, f->reg, 100000, 0, 400, 100);
  struct idpool *b = open_at (f->db2, f->reg, 100050, 0, 400, 100);
  cleanup_error moat_error_t err = NULL;
  uint32_t x;
  assert_int_equal (idpool_alloc (a, "a", &x, &err), 0);
  assert_int_equal (x, 100000);
  assert_int_equal (idpool_alloc (b, "b", &x, &err), 0);
  assert_int_equal (x, 100150); /* 100050 would overlap [100000, 100100) */
  assert_int_equal (idpool_alloc (a, "a2", &x, &err), 0);
  assert_int_equal (x, 100300); /* 100100 and 100200 overlap b's */
  idpool_close (a);
  idpool_close (b);
  /* same gids, other uids */
  remove_root (f->db);
  remove_root (f->db2);
  a = open_at (f->db, f->reg, 200000, 500000, 400, 100);
  b = open_at (f->db2, f->reg, 900000, 500000, 400, 100);
  assert_int_equal (idpool_alloc (a, "a", &x, &err), 0);
  assert_int_equal (x, 200000);
  assert_int_equal (idpool_alloc (b, "b", &x, &err), 0);
  assert_int_equal (x, 900100); /* gids 500000-500099 are a's */
  idpool_close (a);
  idpool_close (b);
}

/* A root whose state db is gone (a deleted test root) holds nothing; one
 * that is still there (crashed, closed without releasing) keeps its
 * claims. */
static void
dead_root_claims_are_reclaimed (void **state)
{
  struct fixture *f = *state;
  struct idpool *a = open_pool (f, 100000, 65536 * 2, 65536);
  struct idpool *b;
  cleanup_error moat_error_t err = NULL;
  uint32_t x;
  assert_int_equal (idpool_alloc (a, "a1", &x, &err), 0);
  assert_int_equal (idpool_alloc (a, "a2", &x, &err), 0);
  idpool_close (a); /* "crashed": rows and claims stay */
  b = open_pool2 (f, 100000, 65536 * 2, 65536);
  assert_int_equal (idpool_alloc (b, "b1", &x, &err), -1);
  assert_int_equal (moat_error_status (&err), ENOSPC);
  moat_error_release (&err);
  remove_root (f->db); /* the root is deleted */
  assert_int_equal (idpool_alloc (b, "b1", &x, &err), 0);
  assert_int_equal (x, 100000);
  idpool_close (b);
  /* a new root at the same path is another root: it holds nothing of
   * the old one's */
  a = open_pool (f, 100000, 65536 * 2, 65536);
  assert_int_equal (idpool_alloc (a, "a1", &x, &err), 0);
  assert_int_equal (x, 100000 + 65536);
  idpool_close (a);
}

/* Rows made while the roots did not share a registry (before it existed,
 * or after it was deleted) are reported as conflicts; the next create of
 * such a container takes a fresh range instead of the claimed one. */
static void
lost_registry_conflicts_are_reported_and_moved (void **state)
{
  struct fixture *f = *state;
  char r1[160], r2[160];
  struct idpool *a, *b;
  struct idpool_peer *peers = NULL;
  size_t n = 0;
  cleanup_error moat_error_t err = NULL;
  uint32_t x;

  snprintf (r1, sizeof r1, "%s/r1.db", f->dir);
  snprintf (r2, sizeof r2, "%s/r2.db", f->dir);
  a = open_at (f->db, r1, 100000, 0, 65536 * 4, 65536);
  b = open_at (f->db2, r2, 100000, 0, 65536 * 4, 65536);
  assert_int_equal (idpool_alloc (a, "x", &x, &err), 0);
  assert_int_equal (x, 100000);
  assert_int_equal (idpool_alloc (b, "y", &x, &err), 0);
  assert_int_equal (x, 100000); /* separate registries: shared */
  idpool_close (a);
  idpool_close (b);
  a = open_pool (f, 100000, 65536 * 4, 65536);
  b = open_pool2 (f, 100000, 65536 * 4, 65536);
  assert_int_equal (idpool_sync (a, &err), 0);
  assert_int_equal (idpool_sync (b, &err), 0);
  assert_int_equal (idpool_peers (a, &peers, &n, &err), 0);
  assert_int_equal (n, 1);
  assert_non_null (strstr (peers[0].db_path, "/b/state.db"));
  assert_int_equal (peers[0].uid_start, 100000);
  assert_int_equal (peers[0].claims, 1);
  assert_int_equal (peers[0].conflicts, 1);
  idpool_peers_free (peers, n);
  /* a range a running container holds (a pod's) stays where it is */
  assert_int_equal (idpool_alloc_held (b, "y", &x, &err), 0);
  assert_int_equal (x, 100000);
  /* b's container is created again: it moves off a's claim */
  assert_int_equal (idpool_alloc (b, "y", &x, &err), 0);
  assert_int_equal (x, 100000 + 65536);
  assert_int_equal (idpool_peers (a, &peers, &n, &err), 0);
  assert_int_equal (n, 1);
  assert_int_equal (peers[0].conflicts, 0);
  idpool_peers_free (peers, n);
  idpool_close (a);
  idpool_close (b);
  /* disjoint pools are no peers */
  a = open_pool (f, 100000, 65536 * 4, 65536);
  b = open_pool2 (f, 100000 + 65536 * 4, 65536 * 4, 65536);
  assert_int_equal (idpool_sync (b, &err), 0);
  assert_int_equal (idpool_peers (a, &peers, &n, &err), 0);
  assert_int_equal (n, 0);
  idpool_close (a);
  idpool_close (b);
  /* ... unless a range of the other (made under its old pool, without
   * the registry) overlaps one of ours */
  remove_root (f->db2);
  b = open_at (f->db2, r2, 100000, 0, 65536 * 4, 65536);
  assert_int_equal (idpool_alloc (b, "old", &x, &err), 0);
  assert_int_equal (x, 100000);
  idpool_close (b);
  b = open_pool2 (f, 100000 + 65536 * 4, 65536 * 4, 65536);
  assert_int_equal (idpool_sync (b, &err), 0);
  a = open_pool (f, 100000, 65536 * 4, 65536);
  assert_int_equal (idpool_peers (a, &peers, &n, &err), 0);
  assert_int_equal (n, 1);
  assert_int_equal (peers[0].conflicts, 1);
  idpool_peers_free (peers, n);
  idpool_close (a);
  idpool_close (b);
}

/* Processes of two roots racing for one pool through one registry. */
static void
concurrent_roots_never_share (void **state)
{
  struct fixture *f = *state;
  enum
  {
    PROCS = 8,
    EACH = 10
  };
  struct idpool_entry *e[2] = { NULL, NULL };
  size_t n[2] = { 0, 0 }, total = 0;
  cleanup_error moat_error_t err = NULL;
  uint32_t *bases;

  for (int i = 0; i < PROCS; i++)
    {
      pid_t pid = fork ();
      assert_true (pid >= 0);
      if (pid == 0)
        {
          struct idpool_config cfg = { 100000, 65536 * 100, 65536, 0, f->reg };
          struct idpool *cp = NULL;
          moat_error_t e1 = NULL;
          if (idpool_open (&cp, i % 2 ? f->db2 : f->db, &cfg, &e1) < 0)
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
  for (int r = 0; r < 2; r++)
    {
      struct idpool *p = r ? open_pool2 (f, 100000, 65536 * 100, 65536)
                           : open_pool (f, 100000, 65536 * 100, 65536);
      assert_int_equal (idpool_list (p, &e[r], &n[r], &err), 0);
      idpool_close (p);
      total += n[r];
    }
  assert_int_equal (total, PROCS * EACH);
  bases = calloc (total, sizeof *bases);
  for (size_t i = 0; i < n[0]; i++)
    bases[i] = e[0][i].base;
  for (size_t i = 0; i < n[1]; i++)
    bases[n[0] + i] = e[1][i].base;
  for (size_t i = 0; i < total; i++)
    for (size_t j = i + 1; j < total; j++)
      assert_true (bases[i] != bases[j]); /* same size, aligned slots */
  free (bases);
  idpool_entries_free (e[0], n[0]);
  idpool_entries_free (e[1], n[1]);
}

/* The registry cannot be a link, nor sit where others can write. */
static void
registry_must_be_trusted (void **state)
{
  struct fixture *f = *state;
  struct idpool_config cfg = { 100000, 65536 * 4, 65536, 0, NULL };
  struct idpool *p = NULL;
  cleanup_error moat_error_t err = NULL;
  char link[160], dir[160], reg[200], target[160];

  snprintf (target, sizeof target, "%s/elsewhere.db", f->dir);
  snprintf (link, sizeof link, "%s/link.db", f->dir);
  assert_int_equal (symlink (target, link), 0);
  cfg.registry = link;
  assert_int_equal (idpool_open (&p, f->db, &cfg, &err), -1);
  moat_error_release (&err);
  snprintf (dir, sizeof dir, "%s/open", f->dir);
  assert_int_equal (mkdir (dir, 0777), 0);
  assert_int_equal (chmod (dir, 0777), 0);
  snprintf (reg, sizeof reg, "%s/claims.db", dir);
  cfg.registry = reg;
  assert_int_equal (idpool_open (&p, f->db, &cfg, &err), -1);
  assert_non_null (strstr (moat_error_msg (&err), "writable by group"));
  moat_error_release (&err);
  assert_int_equal (chmod (dir, 0755), 0);
  assert_int_equal (idpool_open (&p, f->db, &cfg, &err), 0);
  idpool_close (p);
  assert_int_equal (chmod (reg, 0666), 0);
  assert_int_equal (idpool_open (&p, f->db, &cfg, &err), -1);
  cfg.registry = "relative.db";
  moat_error_release (&err);
  assert_int_equal (idpool_open (&p, f->db, &cfg, &err), -1);
}

/* A new root's default pool avoids the pools of live roots. */
static void
default_pool_avoids_live_roots (void **state)
{
  struct fixture *f = *state;
  struct idpool *a;
  cleanup_error moat_error_t err = NULL;
  uint32_t s, x;

  assert_int_equal (
      idpool_pick_start (f->reg, f->db2, 1000000, 65536000, &s, &err), 0);
  assert_int_equal (s, 1000000); /* no registry yet */
  a = open_pool (f, 1000000, 65536000, 65536);
  assert_int_equal (idpool_alloc (a, "a", &x, &err), 0);
  idpool_close (a);
  assert_int_equal (
      idpool_pick_start (f->reg, f->db2, 1000000, 65536000, &s, &err), 0);
  assert_int_equal (s, 1000000 + 65536000);
  /* a root's own pool does not push it away */
  assert_int_equal (
      idpool_pick_start (f->reg, f->db, 1000000, 65536000, &s, &err), 0);
  assert_int_equal (s, 1000000);
  remove_root (f->db);
  assert_int_equal (
      idpool_pick_start (f->reg, f->db2, 1000000, 65536000, &s, &err), 0);
  assert_int_equal (s, 1000000);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (ranges_are_exclusive_and_stable, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (release_frees_the_slot, setup, teardown),
    cmocka_unit_test_setup_teardown (exhaustion_is_an_error, setup, teardown),
    cmocka_unit_test_setup_teardown (
        wal_stays_bounded_and_calls_that_change_nothing_write_nothing, setup,
        teardown),
    cmocka_unit_test_setup_teardown (refuses_host_root, setup, teardown),
    cmocka_unit_test_setup_teardown (concurrent_processes_never_share, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (subid_entry_is_created_once, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (two_roots_never_share, setup, teardown),
    cmocka_unit_test_setup_teardown (overlap_is_by_interval_and_gid, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (dead_root_claims_are_reclaimed, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (
        lost_registry_conflicts_are_reported_and_moved, setup, teardown),
    cmocka_unit_test_setup_teardown (concurrent_roots_never_share, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (registry_must_be_trusted, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (default_pool_avoids_live_roots, setup,
                                     teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

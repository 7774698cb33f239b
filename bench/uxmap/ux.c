/* bench/uxmap: user-space half of the scratch redirect (ux.bpf.c), linked
 * into a bench-only guard-run with a patched guard.c (guard-hook.patch).
 * At start-up (a constructor) it loads the object named by
 * $MOAT_UXMAP_OBJ and hands ux_pair to the guard's hook;
 * ux_pair(engine_fd, client_fd) puts the engine-side
 * socket in `engines` and the client socket in `clients` under the cookie
 * of dockerd's end of the engine connection (found with sock_diag).  Not
 * part of moat. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

extern int (*engine_guard_uxmap_pair) (int engine_fd, int client_fd);
int ux_pair (int engine_fd, int client_fd);

static int map_engines = -1, map_clients = -1, nl = -1;

static int
ux_init (void)
{
  const char *path = getenv ("MOAT_UXMAP_OBJ");
  struct bpf_object *obj;
  struct bpf_program *prog;
  if (path == NULL)
    return -1;
  obj = bpf_object__open_file (path, NULL);
  if (obj == NULL || bpf_object__load (obj) < 0)
    return -1;
  map_engines = bpf_object__find_map_fd_by_name (obj, "engines");
  map_clients = bpf_object__find_map_fd_by_name (obj, "clients");
  prog = bpf_object__find_program_by_name (obj, "ux_verdict");
  if (map_engines < 0 || map_clients < 0 || prog == NULL
      || bpf_prog_attach (bpf_program__fd (prog), map_engines,
                          BPF_SK_SKB_STREAM_VERDICT, 0)
             < 0)
    return -1;
  nl = socket (AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  return nl < 0 ? -1 : 0;
}

/* unix_diag of inode ino: its cookie and its peer's inode */
static int
diag (uint32_t ino, uint64_t *cookie, uint32_t *peer)
{
  struct
  {
    struct nlmsghdr h;
    struct unix_diag_req r;
  } req = { 0 };
  char buf[8192];
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.h.nlmsg_flags = NLM_F_REQUEST;
  req.r.sdiag_family = AF_UNIX;
  req.r.udiag_states = ~0u;
  req.r.udiag_ino = ino;
  req.r.udiag_show = UDIAG_SHOW_PEER;
  req.r.udiag_cookie[0] = req.r.udiag_cookie[1] = ~0u;
  if (send (nl, &req, sizeof req, 0) < 0)
    return -1;
  ssize_t n = recv (nl, buf, sizeof buf, 0);
  if (n < (ssize_t)sizeof (struct nlmsghdr))
    return -1;
  struct nlmsghdr *h = (struct nlmsghdr *)buf;
  if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
    return -1;
  struct unix_diag_msg *m = NLMSG_DATA (h);
  *cookie = (uint64_t)m->udiag_cookie[0] | (uint64_t)m->udiag_cookie[1] << 32;
  *peer = 0;
  int alen = (int)h->nlmsg_len - NLMSG_LENGTH (sizeof *m);
  struct nlattr *a = (struct nlattr *)(m + 1);
  while (alen >= (int)sizeof *a && a->nla_len >= sizeof *a
         && a->nla_len <= alen)
    {
      if ((a->nla_type & NLA_TYPE_MASK) == UNIX_DIAG_PEER)
        memcpy (peer, a + 1, 4);
      int step = NLA_ALIGN (a->nla_len);
      alen -= step;
      a = (struct nlattr *)((char *)a + step);
    }
  return 0;
}

int
ux_pair (int engine_fd, int client_fd)
{
  struct stat st;
  uint64_t own, theirs;
  uint32_t peer, dummy;
  uint64_t fd64;
  if (nl < 0 || fstat (engine_fd, &st) < 0)
    return -1;
  if (diag ((uint32_t)st.st_ino, &own, &peer) < 0 || peer == 0
      || diag (peer, &theirs, &dummy) < 0)
    return -1;
  fd64 = (uint64_t)engine_fd;
  if (bpf_map_update_elem (map_engines, &own, &fd64, BPF_NOEXIST) < 0
      && errno != EEXIST)
    return -1;
  fd64 = (uint64_t)client_fd;
  if (bpf_map_update_elem (map_clients, &theirs, &fd64, BPF_ANY) < 0)
    return -1;
  return 0;
}

__attribute__ ((constructor)) static void
ux_start (void)
{
  if (ux_init () < 0)
    {
      fprintf (stderr, "uxmap: cannot load $MOAT_UXMAP_OBJ\n");
      exit (1);
    }
  engine_guard_uxmap_pair = ux_pair;
}

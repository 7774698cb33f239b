/* The uid owning a loopback TCP peer, from sock_diag (peer.h). */
#include "peer.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"

int
web_peer_uid (int fd, uid_t *uid)
{
  struct sockaddr_in local, peer;
  socklen_t ll = sizeof local, pl = sizeof peer;
  cleanup_close int nl = -1;
  struct
  {
    struct nlmsghdr nh;
    struct inet_diag_req_v2 r;
  } req;
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  char buf[8192] __attribute__ ((aligned (8)));
  ssize_t n;

  if (getsockname (fd, (struct sockaddr *)&local, &ll) < 0
      || getpeername (fd, (struct sockaddr *)&peer, &pl) < 0)
    return -1;
  if (local.sin_family != AF_INET || peer.sin_family != AF_INET)
    {
      errno = EAFNOSUPPORT;
      return -1;
    }
  nl = socket (AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (nl < 0)
    return -1;
  memset (&req, 0, sizeof req);
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.r.sdiag_family = AF_INET;
  req.r.sdiag_protocol = IPPROTO_TCP;
  req.r.idiag_states = ~0u;
  /* The peer's socket: its source is our destination and back. */
  req.r.id.idiag_sport = peer.sin_port;
  req.r.id.idiag_dport = local.sin_port;
  memcpy (req.r.id.idiag_src, &peer.sin_addr, 4);
  memcpy (req.r.id.idiag_dst, &local.sin_addr, 4);
  req.r.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  req.r.id.idiag_if = 0;
  if (sendto (nl, &req, sizeof req, 0, (struct sockaddr *)&kernel,
              sizeof kernel)
      < 0)
    return -1;
  n = recv (nl, buf, sizeof buf, 0);
  if (n < 0)
    return -1;
  for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK (h, (size_t)n);
       h = NLMSG_NEXT (h, n))
    {
      if (h->nlmsg_type == NLMSG_ERROR)
        {
          struct nlmsgerr *e = NLMSG_DATA (h);
          errno = e->error < 0 ? -e->error : ENOENT;
          return -1;
        }
      if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY)
        {
          struct inet_diag_msg *m = NLMSG_DATA (h);
          *uid = (uid_t)m->idiag_uid;
          return 0;
        }
    }
  errno = ENOENT;
  return -1;
}

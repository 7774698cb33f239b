/* Which uid owns the other end of a loopback TCP connection: the kernel's
 * socket table (NETLINK_SOCK_DIAG, an exact lookup of the peer's socket),
 * so a session cookie works only from its own user's processes. */
#ifndef MOAT_WEB_PEER_H
#define MOAT_WEB_PEER_H

#include <sys/types.h>

/* fd: an accepted AF_INET socket on 127.0.0.1.  0 and *uid, or -1 with
 * errno (ENOENT: the peer socket is not in this network namespace). */
int web_peer_uid (int fd, uid_t *uid);

#endif

/* net-probe: egress attempts from inside a container, for the air-gap
 * tests (tests/integration/test_airgap_nets.sh).  Static, runs in a
 * busybox container.  Each command sends and reports; whether anything
 * got out is judged outside (counters in the test's namespaces).
 *
 *   net-probe tcp ADDR PORT           connect (3 s), send a line, print the
 *                                     reply; exit 0 when connected
 *   net-probe udp ADDR PORT           send one datagram
 *   net-probe raw ADDR PROTO          one IP packet of protocol PROTO
 *   net-probe ping ADDR               one ICMP / ICMPv6 echo request
 *   net-probe spoof SRC DST tcp|udp|icmp PORT
 *                                     IPv4 with a forged source (IP_HDRINCL)
 *   net-probe frame6 IFACE GW4 SRC6 DST6 PORT
 *                                     a raw Ethernet frame carrying IPv6 UDP
 *                                     to the MAC of GW4 (the bridge),
 *                                     through AF_PACKET */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int
die (const char *what)
{
  fprintf (stderr, "net-probe: %s: %s\n", what, strerror (errno));
  return 1;
}

/* ADDR to sockaddr (v4 or v6). */
static int
addr_of (const char *s, uint16_t port, struct sockaddr_storage *ss,
         socklen_t *len)
{
  struct sockaddr_in *a = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *b = (struct sockaddr_in6 *)ss;
  memset (ss, 0, sizeof *ss);
  if (inet_pton (AF_INET, s, &a->sin_addr) == 1)
    {
      a->sin_family = AF_INET;
      a->sin_port = htons (port);
      *len = sizeof *a;
      return AF_INET;
    }
  if (inet_pton (AF_INET6, s, &b->sin6_addr) == 1)
    {
      b->sin6_family = AF_INET6;
      b->sin6_port = htons (port);
      *len = sizeof *b;
      return AF_INET6;
    }
  fprintf (stderr, "net-probe: bad address %s\n", s);
  exit (2);
}

static uint16_t
csum (const void *p, size_t n, uint32_t sum)
{
  const uint8_t *b = p;
  for (size_t i = 0; i + 1 < n; i += 2)
    sum += (uint32_t)(b[i] << 8 | b[i + 1]);
  if (n & 1)
    sum += (uint32_t)(b[n - 1] << 8);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

static int
tcp (const char *addr, int port)
{
  struct sockaddr_storage ss;
  socklen_t len;
  int fam = addr_of (addr, (uint16_t)port, &ss, &len);
  int fd = socket (fam, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct pollfd p = { .fd = fd, .events = POLLOUT };
  char buf[512];
  int e = 0;
  socklen_t el = sizeof e;
  if (fd < 0)
    return die ("socket");
  if (connect (fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS)
    return die ("connect");
  if (poll (&p, 1, 3000) != 1)
    {
      fprintf (stderr, "net-probe: connect timed out\n");
      return 1;
    }
  getsockopt (fd, SOL_SOCKET, SO_ERROR, &e, &el);
  if (e != 0)
    {
      errno = e;
      return die ("connect");
    }
  printf ("connected\n");
  if (write (fd, "GET / HTTP/1.0\r\n\r\n", 18) < 0)
    return die ("write");
  p.events = POLLIN;
  if (poll (&p, 1, 6000) == 1)
    {
      ssize_t n = read (fd, buf, sizeof buf - 1);
      if (n > 0)
        {
          buf[n] = '\0';
          printf ("reply: %s\n", buf);
        }
    }
  return 0;
}

static int
udp (const char *addr, int port)
{
  struct sockaddr_storage ss;
  socklen_t len;
  int fam = addr_of (addr, (uint16_t)port, &ss, &len);
  int fd = socket (fam, SOCK_DGRAM, 0);
  if (fd < 0)
    return die ("socket");
  if (sendto (fd, "probe\n", 6, 0, (struct sockaddr *)&ss, len) < 0)
    return die ("sendto");
  return 0;
}

static int
raw (const char *addr, int proto)
{
  struct sockaddr_storage ss;
  socklen_t len;
  int fam = addr_of (addr, 0, &ss, &len);
  int fd = socket (fam, SOCK_RAW, proto);
  char payload[32] = "probe";
  if (fd < 0)
    return die ("socket");
  if (sendto (fd, payload, sizeof payload, 0, (struct sockaddr *)&ss, len) < 0)
    return die ("sendto");
  return 0;
}

static int
ping (const char *addr)
{
  struct sockaddr_storage ss;
  socklen_t len;
  int fam = addr_of (addr, 0, &ss, &len);
  int fd
      = socket (fam, SOCK_RAW, fam == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
  uint8_t pkt[16] = { 0 };
  if (fd < 0)
    return die ("socket");
  pkt[0] = fam == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
  pkt[4] = 0x12;
  pkt[6] = 0;
  pkt[7] = 1;
  if (fam == AF_INET)
    {
      uint16_t c = csum (pkt, sizeof pkt, 0);
      pkt[2] = (uint8_t)(c >> 8);
      pkt[3] = (uint8_t)c;
    }
  /* ICMPv6: the kernel fills the checksum of a raw ICMPv6 socket. */
  if (sendto (fd, pkt, sizeof pkt, 0, (struct sockaddr *)&ss, len) < 0)
    return die ("sendto");
  return 0;
}

static int
spoof (const char *src, const char *dst, const char *kind, int port)
{
  uint8_t pkt[60] = { 0 };
  struct ip *ip = (struct ip *)pkt;
  uint8_t *l4 = pkt + 20;
  size_t l4len;
  struct sockaddr_in to = { .sin_family = AF_INET };
  int fd = socket (AF_INET, SOCK_RAW, IPPROTO_RAW), one = 1;
  if (fd < 0)
    return die ("socket");
  setsockopt (fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof one);
  ip->ip_v = 4;
  ip->ip_hl = 5;
  ip->ip_ttl = 64;
  if (inet_pton (AF_INET, src, &ip->ip_src) != 1
      || inet_pton (AF_INET, dst, &ip->ip_dst) != 1)
    return 2;
  to.sin_addr = ip->ip_dst;
  if (strcmp (kind, "tcp") == 0)
    {
      ip->ip_p = IPPROTO_TCP;
      l4len = 20;
      l4[0] = 0x9c; /* source port 40000 */
      l4[1] = 0x40;
      l4[2] = (uint8_t)(port >> 8);
      l4[3] = (uint8_t)port;
      l4[7] = 1;       /* seq */
      l4[12] = 5 << 4; /* data offset */
      l4[13] = 0x02;   /* SYN */
      l4[14] = 0xff;
    }
  else if (strcmp (kind, "udp") == 0)
    {
      ip->ip_p = IPPROTO_UDP;
      l4len = 8 + 6;
      l4[0] = 0x9c;
      l4[1] = 0x40;
      l4[2] = (uint8_t)(port >> 8);
      l4[3] = (uint8_t)port;
      l4[5] = (uint8_t)l4len;
      memcpy (l4 + 8, "probe\n", 6);
    }
  else
    {
      ip->ip_p = IPPROTO_ICMP;
      l4len = 16;
      l4[0] = ICMP_ECHO;
      l4[7] = 1;
      uint16_t c = csum (l4, l4len, 0);
      l4[2] = (uint8_t)(c >> 8);
      l4[3] = (uint8_t)c;
    }
  if (ip->ip_p != IPPROTO_ICMP)
    {
      /* pseudo-header checksum */
      uint8_t ph[12];
      uint32_t sum = 0;
      memcpy (ph, &ip->ip_src, 4);
      memcpy (ph + 4, &ip->ip_dst, 4);
      ph[8] = 0;
      ph[9] = ip->ip_p;
      ph[10] = 0;
      ph[11] = (uint8_t)l4len;
      for (int i = 0; i < 12; i += 2)
        sum += (uint32_t)(ph[i] << 8 | ph[i + 1]);
      uint16_t c = csum (l4, l4len, sum);
      int off = ip->ip_p == IPPROTO_TCP ? 16 : 6;
      l4[off] = (uint8_t)(c >> 8);
      l4[off + 1] = (uint8_t)c;
    }
  ip->ip_len = htons ((uint16_t)(20 + l4len));
  if (sendto (fd, pkt, 20 + l4len, 0, (struct sockaddr *)&to, sizeof to) < 0)
    return die ("sendto");
  return 0;
}

/* MAC of ipv4 in /proc/net/arp (after a datagram to it to fill the entry). */
static int
arp_mac (const char *gw, uint8_t mac[6])
{
  for (int tries = 0; tries < 30; tries++)
    {
      FILE *f = fopen ("/proc/net/arp", "re");
      char line[256], ip[64], hw[64];
      udp (gw, 9);
      if (f != NULL)
        {
          while (fgets (line, sizeof line, f) != NULL)
            if (sscanf (line, "%63s %*s %*s %63s", ip, hw) == 2
                && strcmp (ip, gw) == 0
                && sscanf (hw, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0],
                           &mac[1], &mac[2], &mac[3], &mac[4], &mac[5])
                       == 6
                && (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
              {
                fclose (f);
                return 0;
              }
          fclose (f);
        }
      usleep (100000);
    }
  fprintf (stderr, "net-probe: no ARP entry for %s\n", gw);
  return -1;
}

static int
frame6 (const char *ifname, const char *gw, const char *src, const char *dst,
        int port)
{
  uint8_t f[14 + 40 + 8 + 6] = { 0 };
  uint8_t *ip6 = f + 14, *u = f + 54;
  struct sockaddr_ll ll = { .sll_family = AF_PACKET };
  uint32_t sum = 0;
  int fd;
  if (arp_mac (gw, f) < 0)
    return 1;
  fd = socket (AF_PACKET, SOCK_RAW, htons (ETH_P_IPV6));
  if (fd < 0)
    return die ("socket AF_PACKET");
  ll.sll_ifindex = (int)if_nametoindex (ifname);
  ll.sll_halen = 6;
  memcpy (ll.sll_addr, f, 6);
  f[6] = 0x02; /* a locally administered source MAC */
  f[11] = 0x01;
  f[12] = 0x86;
  f[13] = 0xdd;
  ip6[0] = 0x60;
  ip6[5] = 8 + 6; /* payload length */
  ip6[6] = IPPROTO_UDP;
  ip6[7] = 64;
  if (inet_pton (AF_INET6, src, ip6 + 8) != 1
      || inet_pton (AF_INET6, dst, ip6 + 24) != 1)
    return 2;
  u[0] = 0x9c;
  u[1] = 0x40;
  u[2] = (uint8_t)(port >> 8);
  u[3] = (uint8_t)port;
  u[5] = 8 + 6;
  memcpy (u + 8, "probe\n", 6);
  for (int i = 0; i < 32; i += 2)
    sum += (uint32_t)(ip6[8 + i] << 8 | ip6[8 + i + 1]);
  sum += 8 + 6;
  sum += IPPROTO_UDP;
  uint16_t c = csum (u, 14, sum);
  u[6] = (uint8_t)(c >> 8);
  u[7] = (uint8_t)c;
  if (sendto (fd, f, sizeof f, 0, (struct sockaddr *)&ll, sizeof ll) < 0)
    return die ("sendto AF_PACKET");
  return 0;
}

int
main (int argc, char **argv)
{
  setvbuf (stdout, NULL, _IONBF, 0);
  if (argc == 4 && strcmp (argv[1], "tcp") == 0)
    return tcp (argv[2], atoi (argv[3]));
  if (argc == 4 && strcmp (argv[1], "udp") == 0)
    return udp (argv[2], atoi (argv[3]));
  if (argc == 4 && strcmp (argv[1], "raw") == 0)
    return raw (argv[2], atoi (argv[3]));
  if (argc == 3 && strcmp (argv[1], "ping") == 0)
    return ping (argv[2]);
  if (argc == 6 && strcmp (argv[1], "spoof") == 0)
    return spoof (argv[2], argv[3], argv[4], atoi (argv[5]));
  if (argc == 7 && strcmp (argv[1], "frame6") == 0)
    return frame6 (argv[2], argv[3], argv[4], argv[5], atoi (argv[6]));
  fprintf (stderr, "usage: see tests/tools/net_probe.c\n");
  return 2;
}

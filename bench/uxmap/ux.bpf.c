/* bench/uxmap: the engine's answers redirected in the kernel (issue 12
 * §6, measured).  The guard's engine-side AF_UNIX sockets are in
 * `engines` (this stream verdict is attached to it); each skb dockerd
 * sends on such a connection is redirected to the egress of the client
 * socket stored in `clients` under the cookie of the skb's owner, which
 * for AF_UNIX is the sending (dockerd's) socket.  Unconditional: correct
 * only for a plain kept-alive request loop.  Not part of moat. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct
{
  __uint (type, BPF_MAP_TYPE_SOCKHASH);
  __uint (max_entries, 4096);
  __type (key, __u64);
  __type (value, __u64);
} engines SEC (".maps");

struct
{
  __uint (type, BPF_MAP_TYPE_SOCKHASH);
  __uint (max_entries, 4096);
  __type (key, __u64);
  __type (value, __u64);
} clients SEC (".maps");

SEC ("sk_skb/stream_verdict")
int
ux_verdict (struct __sk_buff *skb)
{
  __u64 key = bpf_get_socket_cookie (skb);
  return bpf_sk_redirect_hash (skb, &clients, &key, 0);
}

char LICENSE[] SEC ("license") = "GPL";

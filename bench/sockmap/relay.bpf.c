/* The in-kernel half of the sockmap relay prototype (bench/sockmap):
 * every TCP segment that arrives on a socket of the map is sent out of
 * its peer socket without waking user space (sk_skb stream verdict +
 * bpf_sk_redirect_map, egress).  The user-space relay puts both sockets of
 * a DIRECT connection into `socks` and each one's peer index into
 * `peer_of`, keyed by the socket's cookie (SO_COOKIE). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct
{
  __uint (type, BPF_MAP_TYPE_SOCKMAP);
  __uint (max_entries, 8192);
  __type (key, __u32);
  __type (value, __u64);
} socks SEC (".maps");

struct
{
  __uint (type, BPF_MAP_TYPE_HASH);
  __uint (max_entries, 8192);
  __type (key, __u64);
  __type (value, __u32);
} peer_of SEC (".maps");

SEC ("sk_skb/stream_verdict")
int
relay_verdict (struct __sk_buff *skb)
{
  __u64 cookie = bpf_get_socket_cookie (skb);
  __u32 *peer = bpf_map_lookup_elem (&peer_of, &cookie);
  if (peer == 0)
    return SK_PASS;
  return bpf_sk_redirect_map (skb, &socks, *peer, 0);
}

char LICENSE[] SEC ("license") = "GPL";

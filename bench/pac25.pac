// Benchmark PAC: 25 rules, 8 of them shExpMatch.  No rule resolves names
// (isInNet only on address literals), so neither engine touches DNS.
function FindProxyForURL(url, host) {
  var lit = /^\d+\.\d+\.\d+\.\d+$/.test(host);
  if (isPlainHostName(host)) return "DIRECT";                                  // 1
  if (dnsDomainIs(host, ".company.local")) return "DIRECT";                    // 2
  if (dnsDomainIs(host, ".corp.example")) return "DIRECT";                     // 3
  if (localHostOrDomainIs(host, "intranet.example.org")) return "DIRECT";      // 4
  if (lit && isInNet(host, "10.0.0.0", "255.0.0.0")) return "DIRECT";         // 5
  if (lit && isInNet(host, "172.16.0.0", "255.240.0.0")) return "DIRECT";     // 6
  if (lit && isInNet(host, "192.168.0.0", "255.255.0.0")) return "DIRECT";    // 7
  if (lit && isInNet(host, "127.0.0.0", "255.0.0.0")) return "DIRECT";        // 8
  if (shExpMatch(host, "*.internal.example.com")) return "DIRECT";             // 9
  if (shExpMatch(host, "build-??.ci.example.com")) return "PROXY ci:3128";     // 10
  if (shExpMatch(url, "https://*.bank.example/*")) return "DIRECT";            // 11
  if (shExpMatch(host, "*.blocked.example")) return "PROXY reject.docker.internal:1"; // 12
  if (dnsDomainLevels(host) > 6) return "PROXY reject.docker.internal:1";      // 13
  if (shExpMatch(host, "*.cdn.example.net")) return "PROXY cdn-proxy:8080";    // 14
  if (dnsDomainIs(host, ".partner.example")) return "SOCKS5 socks:1080";       // 15
  if (shExpMatch(host, "git*.example.org")) return "PROXY git-proxy:3128";     // 16
  if (host == "registry.example.com") return "DIRECT";                         // 17
  if (dnsDomainIs(host, ".docker.io")) return "PROXY registry-proxy:3128";     // 18
  if (shExpMatch(host, "*.s3.*.amazonaws.com")) return "PROXY s3-proxy:3128";  // 19
  if (url.substring(0, 5) == "http:" && dnsDomainIs(host, ".legacy.example"))
    return "PROXY legacy:80";                                                  // 20
  if (shExpMatch(host, "*.update.example.com")) return "PROXY update:3128";    // 21
  if (dnsDomainIs(host, ".github.com")) return "PROXY gh-proxy:3128";          // 22
  if (lit) return "PROXY reject.docker.internal:1";                            // 23
  if (url.substring(0, 6) == "https:") return "PROXY proxy:3128; DIRECT";      // 24
  return "PROXY proxy:3128";                                                   // 25
}

/* moat's PAC helper functions: the Netscape set and Microsoft's IPv6
 * extensions, evaluated in moat-sandbox before the PAC file itself.
 *
 * Written for moat (see docs/pac.md for where these differ from pacparser).
 * Rules kept throughout:
 *  - arguments are coerced with String() and never used as regular
 *    expressions: shExpMatch is a glob matcher (* and ? only), so a PAC cannot
 *    smuggle a catastrophic regex through it;
 *  - ranges (weekday, date without year, time) wrap around: "FRI", "MON"
 *    covers the weekend; a trailing "GMT" argument selects UTC;
 *  - anything malformed answers false, it never throws;
 *  - DNS and the container's address are answered by moat through the
 *    sandbox's host callback, which bounds and caches lookups.
 */
var __moat_clock = function () { return new Date(); };

(function (global, host) {
  'use strict';

  function str(x) { return String(x); }

  /* Dotted-quad IPv4 to an unsigned 32-bit number, or null. */
  function ipv4(s) {
    if (typeof s !== 'string' || !/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(s))
      return null;
    var p = s.split('.'), n = 0;
    for (var i = 0; i < 4; i++) {
      var b = parseInt(p[i], 10);
      if (b > 255) return null;
      n = n * 256 + b;
    }
    return n;
  }

  /* IPv6 text (with optional embedded IPv4 tail) to 8 16-bit groups, or null. */
  function ipv6(s) {
    if (typeof s !== 'string' || s.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(s))
      return null;
    s = s.toLowerCase();
    if (s.indexOf('.') >= 0) {
      var cut = s.lastIndexOf(':');
      var v4 = ipv4(s.substring(cut + 1));
      if (cut < 0 || v4 === null) return null;
      s = s.substring(0, cut + 1) + Math.floor(v4 / 65536).toString(16) + ':' +
          (v4 % 65536).toString(16);
    }
    var halves = s.split('::');
    if (halves.length > 2) return null;
    function groups(x) {
      if (x === '') return [];
      var g = x.split(':'), out = [];
      for (var i = 0; i < g.length; i++) {
        if (!/^[0-9a-f]{1,4}$/.test(g[i])) return null;
        out.push(parseInt(g[i], 16));
      }
      return out;
    }
    var head = groups(halves[0]);
    if (head === null) return null;
    if (halves.length === 1) return head.length === 8 ? head : null;
    var tail = groups(halves[1]);
    if (tail === null || head.length + tail.length > 7) return null;
    while (head.length + tail.length < 8) head.push(0);
    return head.concat(tail);
  }

  function inRange(v, lo, hi) {
    return lo <= hi ? (lo <= v && v <= hi) : (v >= lo || v <= hi);
  }

  /* Arguments as an array, with a trailing "GMT" removed and reported. */
  function timeArgs(args) {
    var a = Array.prototype.slice.call(args);
    var gmt = a.length > 0 && a[a.length - 1] === 'GMT';
    if (gmt) a.pop();
    return { a: a, gmt: gmt, now: global.__moat_clock() };
  }

  function intArg(x, lo, hi) {
    if (typeof x === 'string' && /^\s*\d+\s*$/.test(x)) x = parseInt(x, 10);
    if (typeof x !== 'number' || x !== Math.floor(x) || x < lo || x > hi)
      return null;
    return x;
  }

  var WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
  var MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP',
                'OCT', 'NOV', 'DEC'];

  function nameIndex(list, x) {
    for (var i = 0; i < list.length; i++)
      if (list[i] === x) return i;
    return -1;
  }

  var h = {};

  h.isPlainHostName = function (host) {
    return !/[.:]/.test(str(host));
  };

  h.dnsDomainIs = function (host, domain) {
    host = str(host); domain = str(domain);
    return host.length >= domain.length &&
           host.substring(host.length - domain.length) === domain;
  };

  h.localHostOrDomainIs = function (host, hostdom) {
    host = str(host); hostdom = str(hostdom);
    return host === hostdom || hostdom.lastIndexOf(host + '.', 0) === 0;
  };

  h.dnsResolve = function (name) {
    var r = host('dnsResolve', str(name));
    return typeof r === 'string' && r !== '' ? r : null;
  };

  h.isResolvable = function (name) {
    return h.dnsResolve(name) !== null;
  };

  h.myIpAddress = function () {
    var r = host('myIpAddress');
    return typeof r === 'string' && r !== '' ? r : '127.0.0.1';
  };

  h.dnsDomainLevels = function (host) {
    return str(host).split('.').length - 1;
  };

  h.isInNet = function (addr, pattern, mask) {
    addr = str(addr);
    var ip = ipv4(addr);
    if (ip === null) {
      var r = h.dnsResolve(addr);
      if (r === null) return false;
      ip = ipv4(r);
      if (ip === null) return false;
    }
    var p = ipv4(str(pattern)), m = ipv4(str(mask));
    if (p === null || m === null) return false;
    /* unsigned compare: & yields a signed 32-bit number */
    return ((ip & m) >>> 0) === ((p & m) >>> 0);
  };

  /* Glob match: "*" any run (also empty), "?" one character, everything else
   * literal; never a regular expression.  Native in moat-sandbox
   * (__moat_glob, O(len(s) * len(p))); the JavaScript version below is the
   * same algorithm, for a sandbox without it. */
  var glob = typeof __moat_glob === 'function' ? __moat_glob : function (s, p) {
    var i = 0, j = 0, star = -1, mark = 0;
    while (i < s.length) {
      var c = p.charAt(j);
      if (j < p.length && c === '*') { star = j++; mark = i; }
      else if (j < p.length && (c === '?' || c === s.charAt(i))) { i++; j++; }
      else if (star >= 0) { j = star + 1; i = ++mark; }
      else return false;
    }
    while (j < p.length && p.charAt(j) === '*') j++;
    return j === p.length;
  };
  h.shExpMatch = function (s, p) {
    return glob(str(s), str(p));
  };

  h.weekdayRange = function () {
    var t = timeArgs(arguments), a = t.a;
    if (a.length < 1 || a.length > 2) return false;
    var w1 = nameIndex(WEEKDAYS, a[0]);
    var w2 = a.length === 2 ? nameIndex(WEEKDAYS, a[1]) : w1;
    if (w1 < 0 || w2 < 0) return false;
    return inRange(t.gmt ? t.now.getUTCDay() : t.now.getDay(), w1, w2);
  };

  /* dateRange(day | month | year [, same] ...): a date is given as one of the
   * shapes [d] [m] [y] [d m] [m y] [d m y]; the range is two of the same
   * shape.  Days are 1..31, years >= 32 (as Netscape's), months are names. */
  h.dateRange = function () {
    var t = timeArgs(arguments), a = t.a, n = a.length;
    if (n !== 1 && n !== 2 && n !== 4 && n !== 6) return false;
    var parts = [];
    for (var i = 0; i < n; i++) {
      var m = nameIndex(MONTHS, a[i]);
      if (m >= 0) { parts.push({ k: 'm', v: m }); continue; }
      var v = intArg(a[i], 1, 1e6);
      if (v === null) return false;
      parts.push(v < 32 ? { k: 'd', v: v } : { k: 'y', v: v });
    }
    var now = {
      d: t.gmt ? t.now.getUTCDate() : t.now.getDate(),
      m: t.gmt ? t.now.getUTCMonth() : t.now.getMonth(),
      y: t.gmt ? t.now.getUTCFullYear() : t.now.getFullYear()
    };
    var half = n === 1 ? 1 : n / 2;
    var lo = parts.slice(0, half), hi = n === 1 ? lo : parts.slice(half);
    var shape = '';
    for (i = 0; i < half; i++) {
      if (lo[i].k !== hi[i].k) return false;
      shape += lo[i].k;
    }
    function key(f) { /* f: {d, m, y} with only the shape's fields */
      return (f.y || 0) * 10000 + (f.m || 0) * 100 + (f.d || 0);
    }
    function fields(list) {
      var f = {};
      for (var k = 0; k < list.length; k++) f[list[k].k] = list[k].v;
      return f;
    }
    var want = { d: 0, m: 0, y: 0 };
    if (shape !== 'd' && shape !== 'm' && shape !== 'y' && shape !== 'dm' &&
        shape !== 'my' && shape !== 'dmy')
      return false;
    for (i = 0; i < shape.length; i++) want[shape.charAt(i)] = 1;
    var cur = {};
    for (var k2 in want)
      if (want[k2]) cur[k2] = now[k2];
    var a1 = key(fields(lo)), a2 = key(fields(hi)), c = key(cur);
    if (shape.indexOf('y') >= 0) return a1 <= c && c <= a2;
    return inRange(c, a1, a2);
  };

  /* timeRange(h), (h1, h2), (h1, m1, h2, m2), (h1, m1, s1, h2, m2, s2):
   * inclusive of both ends at the given precision ((9, 17) is 09:00:00 to
   * 17:59:59), wrapping over midnight when the start is after the end. */
  h.timeRange = function () {
    var t = timeArgs(arguments), a = t.a, n = a.length, v = [];
    if (n !== 1 && n !== 2 && n !== 4 && n !== 6) return false;
    var per = n === 6 ? 3 : n === 4 ? 2 : 1;
    for (var i = 0; i < n; i++) {
      var x = intArg(a[i], 0, i % per === 0 ? 23 : 59);
      if (x === null) return false;
      v.push(x);
    }
    var now = [t.gmt ? t.now.getUTCHours() : t.now.getHours(),
               t.gmt ? t.now.getUTCMinutes() : t.now.getMinutes(),
               t.gmt ? t.now.getUTCSeconds() : t.now.getSeconds()];
    function tod(list, off) {
      var s = 0;
      for (var k = 0; k < per; k++) s = s * 60 + list[off + k];
      return s;
    }
    if (n === 1) return now[0] === v[0];
    return inRange(tod(now, 0), tod(v, 0), tod(v, per));
  };

  h.alert = function (msg) {
    host('alert', str(msg));
  };

  /* Microsoft's IPv6-aware set. */
  h.dnsResolveEx = function (name) {
    var r = host('dnsResolveEx', str(name));
    return typeof r === 'string' ? r : '';
  };

  h.isResolvableEx = function (name) {
    return h.dnsResolveEx(name) !== '';
  };

  h.myIpAddressEx = function () {
    var r = host('myIpAddressEx');
    return typeof r === 'string' ? r : '';
  };

  /* isInNetEx(ip, "prefix/len"): ip must be an address literal (as
   * Chromium's); families must match. */
  h.isInNetEx = function (addr, prefix) {
    addr = str(addr); prefix = str(prefix);
    var slash = prefix.indexOf('/');
    if (slash < 0) return false;
    var len = intArg(prefix.substring(slash + 1), 0, 128);
    var net = prefix.substring(0, slash);
    if (len === null || !/^\d+$/.test(prefix.substring(slash + 1))) return false;
    var a4 = ipv4(addr), n4 = ipv4(net);
    if (a4 !== null && n4 !== null) {
      if (len > 32) return false;
      var mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
      return ((a4 & mask) >>> 0) === ((n4 & mask) >>> 0);
    }
    var a6 = ipv6(addr), n6 = ipv6(net);
    if (a6 === null || n6 === null) return false;
    for (var i = 0; i < 8 && len > 0; i++, len -= 16) {
      var bits = len >= 16 ? 16 : len;
      var m = (0xffff << (16 - bits)) & 0xffff;
      if ((a6[i] & m) !== (n6[i] & m)) return false;
    }
    return true;
  };

  /* IPv6 addresses first, then IPv4, each ascending; false if any entry is
   * not an address. */
  h.sortIpAddressList = function (list) {
    if (typeof list !== 'string' || list === '') return false;
    var items = list.split(';'), keyed = [];
    for (var i = 0; i < items.length; i++) {
      var s = items[i].replace(/^\s+|\s+$/g, '');
      var v4 = ipv4(s), v6 = v4 === null ? ipv6(s) : null, key;
      if (v4 !== null) {
        key = '1';
        for (var b = 3; b >= 0; b--)
          key += ('00' + (Math.floor(v4 / Math.pow(256, b)) % 256)).slice(-3);
      } else if (v6 !== null) {
        key = '0';
        for (var g = 0; g < 8; g++) key += ('0000' + v6[g].toString(16)).slice(-4);
      } else {
        return false;
      }
      keyed.push({ k: key, s: s });
    }
    keyed.sort(function (x, y) { return x.k < y.k ? -1 : x.k > y.k ? 1 : 0; });
    var out = [];
    for (i = 0; i < keyed.length; i++) out.push(keyed[i].s);
    return out.join(';');
  };

  h.getClientVersion = function () { return '1.0'; };

  for (var name in h)
    if (Object.prototype.hasOwnProperty.call(h, name)) global[name] = h[name];

  /* moat's entry point: FindProxyForURLEx when the PAC defines it (the
   * IPv6-aware variant), else FindProxyForURL.  The result must be a
   * string; anything else is an error, which moat treats as a refusal. */
  global.__moat_pac_find = function (url, hostname) {
    var r;
    if (typeof global.FindProxyForURLEx === 'function')
      r = global.FindProxyForURLEx(url, hostname);
    else if (typeof global.FindProxyForURL === 'function')
      r = global.FindProxyForURL(url, hostname);
    else
      throw new TypeError('the PAC file defines no FindProxyForURL function');
    if (typeof r !== 'string')
      throw new TypeError('FindProxyForURL returned ' + typeof r +
                          ', not a string');
    return r;
  };
})(this, __moat_host);

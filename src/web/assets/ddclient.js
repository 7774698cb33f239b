// window.ddClient for an extension's page (docs/extensions.md, "The UI"):
// moat's own code, a compatible subset of Docker Desktop's extension SDK.
// Served on the extension's origin as /.moat/ddclient.js, wrapped in
// (function (MOAT) { ... })({name, generation, dashboard}), and put before
// anything else of each HTML page, so createDockerDesktopClient() finds it.
const DASH = MOAT.dashboard;

// The browser's storage of an earlier install of this name is not this
// install's.  Clearing it is asynchronous (IndexedDB, Cache Storage, the
// origin private file system), and a page script that ran meanwhile could
// open what is not gone yet: so on a new generation nothing of the page
// runs.  The document stops loading here (its own scripts come after this
// one and are never run), everything is cleared, the new generation is
// recorded and the page is loaded again (the key "moat.generation" is
// moat's).
let stale = false;
try {
  stale = localStorage.getItem("moat.generation") !== MOAT.generation;
} catch (e) { /* storage disabled: nothing to clear */ }
if (stale) {
  window.stop();
  const settle = (p) => Promise.resolve().then(p).catch(() => {});
  const jobs = [
    settle(() => { localStorage.clear(); sessionStorage.clear(); }),
    settle(() => {
      for (const c of document.cookie.split(";")) {
        const n = c.split("=")[0].trim();
        if (n) document.cookie = n + "=; Max-Age=0; Path=/";
      }
    }),
    settle(() => indexedDB.databases().then((l) => Promise.all(l.map((d) =>
      new Promise((res) => {
        const r = indexedDB.deleteDatabase(d.name);
        r.onsuccess = r.onerror = r.onblocked = () => res();
      }))))),
    settle(() => caches.keys().then((k) => Promise.all(k.map((n) => caches.delete(n))))),
    settle(() => navigator.storageBuckets.keys().then((k) =>
      Promise.all(k.map((n) => navigator.storageBuckets.delete(n))))),
    settle(() => navigator.storage.getDirectory().then(async (d) => {
      const names = [];
      for await (const n of d.keys()) names.push(n);
      await Promise.all(names.map((n) => d.removeEntry(n, { recursive: true })));
    })),
  ];
  Promise.all(jobs).then(() => {
    let ok = false;
    try {
      localStorage.setItem("moat.generation", MOAT.generation);
      ok = localStorage.getItem("moat.generation") === MOAT.generation;
    } catch (e) { /* cannot record: do not reload in a loop */ }
    if (ok) location.reload();
  });
  throw new Error("moat: clearing an earlier install's storage; the page loads again");
}

// The token: the dashboard (our parent frame, checked by origin) hands a
// one-time ticket, traded here for a token that lives in this closure.
let tokenP = null;
function token() {
  if (tokenP) return tokenP;
  tokenP = new Promise((resolve, reject) => {
    if (window.parent === window) {
      reject(new Error("open this extension from the moat dashboard"));
      return;
    }
    const on = (ev) => {
      if (ev.source !== window.parent || ev.origin !== DASH || !ev.data || ev.data.moat !== "ticket") return;
      window.removeEventListener("message", on);
      clearTimeout(timer);
      fetch("/.moat/session", {
        method: "POST", credentials: "omit",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ticket: String(ev.data.ticket) }),
      }).then((r) => r.json().then((b) => {
        if (!r.ok) throw new Error(b.message || r.statusText);
        resolve(b.token);
      })).catch(reject);
    };
    const timer = setTimeout(() => {
      window.removeEventListener("message", on);
      reject(new Error("the moat dashboard did not answer"));
    }, 10000);
    window.addEventListener("message", on);
    window.parent.postMessage({ moat: "ticket" }, DASH);
  });
  tokenP.catch(() => { tokenP = null; });
  return tokenP;
}

async function call(body) {
  const tok = await token();
  const r = await fetch("/.moat/call", {
    method: "POST", credentials: "omit",
    headers: { "Content-Type": "application/json", "X-Moat-Token": tok },
    body: JSON.stringify(body),
  });
  let b;
  try { b = await r.json(); } catch (e) { b = { message: r.statusText }; }
  if (!r.ok) {
    const err = new Error(b.message || r.statusText);
    err.statusCode = r.status;
    throw err;
  }
  return b;
}

function parse(text) {
  try { return JSON.parse(text); } catch (e) { return text; }
}

async function service(method, url, data) {
  const body = { call: "vm.service", method: String(method).toUpperCase(), path: String(url) };
  if (data !== undefined && data !== null) {
    body.body = data;
    body.contentType = typeof data === "string" ? "text/plain" : "application/json";
  }
  const b = await call(body);
  if (b.status >= 400) {
    const err = new Error(typeof b.body === "string" && b.body ? b.body : "HTTP " + b.status);
    err.statusCode = b.status;
    throw err;
  }
  return parse(b.body);
}

function execResult(o) {
  return {
    stdout: o.stdout || "", stderr: o.stderr || "", code: o.code,
    lines() { return this.stdout.split("\n").filter((l) => l !== ""); },
    parseJsonLines() { return this.lines().map((l) => JSON.parse(l)); },
    parseJsonObject() { return JSON.parse(this.stdout); },
  };
}
function execBody(kind, command, args, options) {
  const body = { call: kind, command: String(command), args: (args || []).map(String) };
  const o = {};
  if (options && options.cwd !== undefined && options.cwd !== null) o.cwd = String(options.cwd);
  if (options && options.env) {
    o.env = {};
    for (const k of Object.keys(options.env)) {
      if (options.env[k] !== undefined && options.env[k] !== null) o.env[k] = String(options.env[k]);
    }
  }
  if (Object.keys(o).length) body.options = o;
  return body;
}

// The streamed form (options.stream): the output as it comes, to
// onOutput({stdout} or {stderr}) (a line at a time with splitOutputLines),
// then onClose(exit code) or onError(error).  Returns {close()}: closing
// the request ends the run (moatd kills its process group).
function execStream(kind, command, args, options) {
  const cb = options.stream || {};
  const ctl = new AbortController();
  let closed = false, ended = false;
  const partial = { stdout: "", stderr: "" };
  const out = (k, text) => {
    if (!cb.onOutput) return;
    if (!cb.splitOutputLines) { cb.onOutput({ [k]: text }); return; }
    const lines = (partial[k] + text).split("\n");
    partial[k] = lines.pop();
    for (const l of lines) cb.onOutput({ [k]: l });
  };
  const flush = () => {
    for (const k of ["stdout", "stderr"]) {
      if (cb.splitOutputLines && partial[k] !== "" && cb.onOutput) cb.onOutput({ [k]: partial[k] });
      partial[k] = "";
    }
  };
  const fail = (e) => { if (!ended) { ended = true; if (cb.onError) cb.onError(e); } };
  const frame = (f) => {
    if (typeof f.stdout === "string") out("stdout", f.stdout);
    else if (typeof f.stderr === "string") out("stderr", f.stderr);
    else if (f.exit) {
      flush();
      ended = true;
      if (cb.onClose) cb.onClose(f.exit.code === undefined ? null : f.exit.code, f.exit);
    } else if (f.error) {
      const e = new Error(f.error.message || "exec failed");
      e.statusCode = f.error.statusCode;
      fail(e);
    }
  };
  (async () => {
    const tok = await token();
    const body = execBody(kind, command, args, options);
    body.stream = true;
    const r = await fetch("/.moat/call", {
      method: "POST", credentials: "omit", signal: ctl.signal,
      headers: { "Content-Type": "application/json", "X-Moat-Token": tok },
      body: JSON.stringify(body),
    });
    if (!r.ok) {
      let b;
      try { b = await r.json(); } catch (e) { b = { message: r.statusText }; }
      const err = new Error(b.message || r.statusText);
      err.statusCode = r.status;
      throw err;
    }
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line) frame(JSON.parse(line));
      }
    }
    if (!ended && !closed) fail(new Error("the stream ended without an exit status"));
  })().catch((e) => { if (!closed) fail(e); });
  return {
    close() {
      if (closed) return;
      closed = true;
      ctl.abort();
    },
  };
}

// Like Docker Desktop's: resolves to an ExecResult when the command exited
// 0, rejects with it (stdout, stderr, code) otherwise; with options.stream,
// the streamed form above.
const exec = (kind) => (command, args, options) => {
  if (options && options.stream) return execStream(kind, command, args, options);
  return (async () => {
    const r = execResult(await call(execBody(kind, command, args, options)));
    if (r.code !== 0) throw r;
    return r;
  })();
};
const toast = (kind) => (msg) => { window.parent.postMessage({ moat: "toast", kind, text: String(msg) }, DASH); };

const client = {
  extension: {
    vm: {
      service: {
        get: (url) => service("GET", url),
        post: (url, data) => service("POST", url, data),
        put: (url, data) => service("PUT", url, data),
        delete: (url) => service("DELETE", url),
        request: (c) => service(c.method || "GET", c.url, c.data),
      },
      cli: { exec: exec("vm.cli.exec") },
    },
    host: { cli: { exec: exec("host.cli.exec") } },
    image: MOAT.name,
  },
  docker: {
    cli: { exec: exec("docker.cli.exec") },
    listContainers: (options) => call({ call: "docker.listContainers", options: options || {} }),
    listImages: (options) => call({ call: "docker.listImages", options: options || {} }),
  },
  desktopUI: { toast: { success: toast("success"), warning: toast("warning"), error: toast("error") } },
  host: { platform: "linux", openExternal: () => {} },
};
Object.defineProperty(window, "ddClient", { value: client, writable: false, configurable: false });

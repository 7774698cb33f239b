"use strict";
// The next extension installed under the same name: at once (before any
// clearing could finish) it looks for what the earlier install kept.
const found = [];
const idb = new Promise((res) => {
  const r = indexedDB.open("secret");
  r.onsuccess = () => {
    const db = r.result;
    if (!db.objectStoreNames.contains("s")) { db.close(); res(); return; }
    const g = db.transaction("s").objectStore("s").get("k");
    g.onsuccess = () => { if (g.result) found.push("idb:" + g.result); db.close(); res(); };
    g.onerror = () => { db.close(); res(); };
  };
  r.onerror = () => res();
  r.onblocked = () => res();
});
const opfs = navigator.storage.getDirectory()
  .then((d) => d.getFileHandle("secret.txt"))
  .then((h) => h.getFile()).then((f) => f.text())
  .then((t) => { found.push("opfs:" + t); }, () => {});
const buckets = navigator.storageBuckets
  ? navigator.storageBuckets.keys().then((k) => { for (const n of k) found.push("bucket:" + n); }, () => {})
  : Promise.resolve();
Promise.all([idb, opfs, buckets]).then(() => {
  const show = () => { document.getElementById("out").textContent = "found [" + found.join(",") + "]"; };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", show);
  else show();
});

"use strict";
// An extension's page that keeps data in the browser (IndexedDB and the
// origin private file system): test_ext_ui_red.sh installs it, then removes
// it and installs another image under the same name (read.js).
window.addEventListener("DOMContentLoaded", async () => {
  const out = document.getElementById("out");
  try {
    await new Promise((res, rej) => {
      const r = indexedDB.open("secret", 1);
      r.onupgradeneeded = () => r.result.createObjectStore("s");
      r.onsuccess = () => {
        const tx = r.result.transaction("s", "readwrite");
        tx.objectStore("s").put("idb-marker", "k");
        tx.oncomplete = () => { r.result.close(); res(); };
        tx.onerror = () => rej(tx.error);
      };
      r.onerror = () => rej(r.error);
    });
    const d = await navigator.storage.getDirectory();
    const f = await d.getFileHandle("secret.txt", { create: true });
    const w = await f.createWritable();
    await w.write("opfs-marker");
    await w.close();
    if (navigator.storageBuckets) {
      const b = await navigator.storageBuckets.open("secret");
      const bd = await b.getDirectory();
      const bf = await bd.getFileHandle("secret.txt", { create: true });
      const bw = await bf.createWritable();
      await bw.write("bucket-marker");
      await bw.close();
    }
    out.textContent = "written";
  } catch (e) {
    out.textContent = "error " + e;
  }
});

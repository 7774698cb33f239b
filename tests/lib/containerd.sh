# Private containerds and OCI images for the containerd and CRI tests
# (test_containerd, test_containerd_attacks, test_pool_claim, test_cri).
# Source after tests/lib/harness.sh; uses $R (the test's directory) and
# the harness's busybox rootfs (call harness_busybox_tar first).

# ctd_config DIR [EXTRA_TOML]: DIR/config.toml for a containerd of its own
# (root, state and socket DIR/c.sock under DIR), without the CRI plugin
# unless EXTRA_TOML says otherwise.
ctd_config() {
  local d=$1
  mkdir -p "$d"
  cat >"$d/config.toml" <<EOT
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$d/c.sock"
[ttrpc]
  address = "$d/c.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
${2:-}
EOT
}

# ctd_wait DIR LOG WHAT: wait (10 s) until the containerd of DIR answers;
# bail out with the tail of LOG if it does not.
ctd_wait() {
  local i
  for i in $(seq 100); do
    ctr -a "$1/c.sock" version >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  harness_bail "$3" "$(tail -20 "$2")"
}

# ctd_oci_image NAME CMD_JSON OUT [EXTRA_CONFIG_JSON]: an OCI archive OUT
# of image NAME: one uncompressed layer (the busybox rootfs), Cmd CMD_JSON,
# EXTRA_CONFIG_JSON (",\"Key\":value...") added to its config.
ctd_oci_image() {
  local w=$R/oci-$RANDOM rt=$HARNESS_TOP/build/cache/busybox-rootfs.tar ld ls cd cs md ms
  mkdir -p "$w/blobs/sha256"
  ld=$(sha256sum "$rt" | cut -d' ' -f1); ls=$(stat -c %s "$rt")
  cp "$rt" "$w/blobs/sha256/$ld"
  printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":%s%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$2" "${4:-}" "$ld" >"$w/c"
  cd=$(sha256sum "$w/c" | cut -d' ' -f1); cs=$(stat -c %s "$w/c"); mv "$w/c" "$w/blobs/sha256/$cd"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' "$cd" "$cs" "$ld" "$ls" >"$w/m"
  md=$(sha256sum "$w/m" | cut -d' ' -f1); ms=$(stat -c %s "$w/m"); mv "$w/m" "$w/blobs/sha256/$md"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s"}}]}' "$md" "$ms" "$1" >"$w/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$w/oci-layout"
  tar -C "$w" -cf "$3" oci-layout index.json blobs
}

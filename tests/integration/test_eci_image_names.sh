#!/usr/bin/env bash
# Shared image names (docs/engine-eci-checks.md, "Image names of other
# users"): image names are shared by every docker-group user, so user B
# could point `busybox` at an image of B's (commit, tag, build, import,
# load) and user A's next `docker run busybox` ran B's code with A's
# rights.  Under ECI the guard records who bound each name to each image
# id and refuses a non-root caller's create of a name another non-root
# user bound; by id it passes, and B's own and root's creates pass.  Two
# real non-root users of the docker group on a real `moat up` stack.
# Payloads: a marker file in B's image, read back with cat.
. "$(dirname "$0")/../lib/harness.sh"
harness_init
harness_eci_stack
harness_two_users moatia moatib
W=$(mktemp -d /tmp/moat-imgnames-XXXXXX)
HARNESS_EXTRA_CLEANUP="$HARNESS_EXTRA_CLEANUP; rm -rf '$W'"
chmod 0777 "$W"
named_by_b() { # NAME OUT IMAGE: refused as B's binding
  case "$2" in
    *b-code*) not_ok "$1" "ran B's code: $2" ;;
    *"${E}image \"$3\" was given that name by another user (uid $BUID); run it by its id (sha256:"*") if you trust it, or pull it again"*)
      ok "$1" ;;
    *) not_ok "$1" "$2" ;;
  esac
}
rootid=$(docker image inspect -f '{{.Id}}' busybox)

# ---- B commits over busybox ----
out=$(as_b docker run --name bsrc busybox sh -c 'echo b-code >/marker' 2>&1) ||
  not_ok "setup: B's container" "$out"
out=$(as_b docker commit bsrc busybox:latest 2>&1) || not_ok "setup: B commits to busybox" "$out"
bid=$(docker image inspect -f '{{.Id}}' busybox)
[ "$bid" != "$rootid" ] || not_ok "setup: busybox is now B's image" "$bid"
named_by_b "A: docker run busybox (B committed to the name)" \
  "$(as_a docker run --rm busybox cat /marker 2>&1)" busybox
named_by_b "A: docker create docker.io/library/busybox:latest" \
  "$(as_a docker create docker.io/library/busybox:latest cat /marker 2>&1)" \
  docker.io/library/busybox:latest
out=$(as_a docker run --rm "$bid" cat /marker 2>&1)
[ "$out" = b-code ] && ok "A: B's image by its id still runs (A's explicit choice)" ||
  not_ok "A: B's image by its id" "$out"
out=$(as_b docker run --rm busybox cat /marker 2>&1)
[ "$out" = b-code ] && ok "B: its own busybox runs" || not_ok "B: its own busybox" "$out"
out=$(docker run --rm busybox cat /marker 2>&1)
[ "$out" = b-code ] && ok "root: busybox runs (root's own choice)" || not_ok "root: busybox" "$out"

# ---- B tags ----
docker -H "$MOAT_ENGINE_HOST" tag "$rootid" rootimg:1 || not_ok "setup: root's rootimg"
out=$(as_b docker tag "$bid" myapp:1 2>&1) || not_ok "setup: B tags myapp:1" "$out"
named_by_b "A: docker run myapp:1 (B tagged its image)" \
  "$(as_a docker run --rm myapp:1 cat /marker 2>&1)" myapp:1
out=$(as_b docker tag rootimg:1 alias:1 2>&1) || not_ok "setup: B tags root's image" "$out"
named_by_b "A: docker run alias:1 (B tagged root's image)" \
  "$(as_a docker run --rm alias:1 true 2>&1)" alias:1
out=$(as_a docker run --rm rootimg:1 true 2>&1) &&
  ok "A: root's rootimg:1 (same image, B did not name it) runs" ||
  not_ok "A: root's rootimg:1 runs" "$out"

# ---- B imports, loads, builds ----
tar -C "$HARNESS_DIR/busybox-rootfs" -cf "$W/rootfs.tar" . && echo b-code >"$W/marker" &&
  tar -C "$W" -rf "$W/rootfs.tar" marker && chmod 0644 "$W/rootfs.tar"
out=$(as_b docker import -c 'ENV PATH=/bin' "$W/rootfs.tar" imported:1 2>&1) ||
  not_ok "setup: B imports" "$out"
named_by_b "A: docker run imported:1 (B imported it)" \
  "$(as_a docker run --rm imported:1 cat /marker 2>&1)" imported:1
docker -H "$MOAT_ENGINE_HOST" tag "$bid" loaded:1 &&
  docker -H "$MOAT_ENGINE_HOST" save -o "$W/loaded.tar" loaded:1 &&
  docker -H "$MOAT_ENGINE_HOST" rmi loaded:1 >/dev/null && chmod 0644 "$W/loaded.tar" ||
  not_ok "setup: an image tar named loaded:1"
out=$(as_b docker load -i "$W/loaded.tar" 2>&1) || not_ok "setup: B loads" "$out"
named_by_b "A: docker run loaded:1 (B loaded it)" \
  "$(as_a docker run --rm loaded:1 cat /marker 2>&1)" loaded:1
printf 'FROM busybox\nLABEL b=1\n' >"$W/Dockerfile" && chmod 0644 "$W/Dockerfile"
out=$(cd "$W" && as_b env DOCKER_BUILDKIT=0 docker build -q -t built:1 -f Dockerfile . 2>&1) ||
  not_ok "setup: B builds" "$out"
named_by_b "A: docker run built:1 (B built it)" \
  "$(as_a docker run --rm built:1 cat /marker 2>&1)" built:1

# ---- A builds FROM a name B gave ----
mkdir "$W/a" && printf 'FROM busybox\nRUN cat /marker\n' >"$W/a/Dockerfile" && chmod -R a+rX "$W/a"
out=$(cd "$W/a" && as_a env DOCKER_BUILDKIT=0 docker build -t abuilt:1 . 2>&1)
case "$out" in
  *"${E}image \"busybox\" was given that name by another user (uid $BUID)"*)
    ok "A: docker build FROM busybox (B's name) refused" ;;
  *) not_ok "A: docker build FROM busybox (B's name) refused" "$out" ;;
esac

# ---- A's own names, and the records outlive moatd ----
out=$(as_a docker tag rootimg:1 amine:1 2>&1) && out=$(as_a docker run --rm amine:1 true 2>&1) &&
  ok "A: a name A gave itself runs" || not_ok "A: a name A gave itself" "$out"
out=$(MOAT_ENGINE_NETNS=$HARNESS_NETNS "$MOAT" down 2>&1) &&
  out=$(MOAT_ENGINE_NETNS=$HARNESS_NETNS "$MOAT" up -d --dashboard-port 0 2>&1) ||
  not_ok "moat down / up" "$out"
named_by_b "after moat down / up: A: docker run busybox still refused" \
  "$(as_a docker run --rm busybox cat /marker 2>&1)" busybox
harness_done

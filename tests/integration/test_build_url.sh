#!/usr/bin/env bash
# A local build context whose Dockerfile says ADD <URL>: the legacy builder
# would fetch the URL itself, as host root, from the engine's network (its
# loopback services included), outside the net guard.  Through the real
# guard (build/tests/guard-run) in front of a private dockerd: every such
# build is refused with an "enhanced container isolation:" message before
# the engine builds anything, and the test's HTTP servers never see a
# request.  Servers: one on the engine's own loopback (its netns: what an
# SSRF would reach) and one on the host's loopback; the engine runs in a
# private netns with only lo, so nothing leaves it.  Normal builds (ADD of
# local files, COPY) still work end to end.
. "$(dirname "$0")/../lib/harness.sh"
top=$HARNESS_TOP
build=$MOAT_BUILD
guard_bin=$build/tests/guard-run
[ -x "$guard_bin" ] || guard_bin=$top/build/tests/guard-run

harness_init
R=$HARNESS_DIR
engine=${MOAT_ENGINE_HOST#unix://}
gsock=$R/run/moat/docker.sock
harness_engine '{"runtimes": {"moat-runc": {"path": "runc"}}}'
harness_busybox
mkdir -p "$(dirname "$gsock")" "$R/www"
"$guard_bin" --listen "$gsock" --engine "$engine" --engine-get \
  --protect "$R/data" --protect "$R/exec" --protect "$(dirname "$engine")" \
  --audit "$R/audit.jsonl" 2>"$R/guard.log" &
harness_track guard $!
for _ in $(seq 1 50); do [ -S "$gsock" ] && break; sleep 0.1; done
export DOCKER_HOST=unix://$gsock
export DOCKER_BUILDKIT=0
raw() { DOCKER_HOST=unix://$engine "$@"; }
E='enhanced container isolation: '

echo payload >"$R/www/x"
free_port() { "$@" python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
NP=$(free_port nsenter --net="/run/netns/$HARNESS_NETNS")
HP=$(free_port)
harness_spawn_netns www-ns python3 -u -m http.server --bind 127.0.0.1 --directory "$R/www" "$NP" >/dev/null
harness_spawn www-host python3 -u -m http.server --bind 127.0.0.1 --directory "$R/www" "$HP" >/dev/null
for _ in $(seq 50); do
  nsenter --net="/run/netns/$HARNESS_NETNS" curl -sf "http://127.0.0.1:$NP/x" >/dev/null &&
    curl -sf "http://127.0.0.1:$HP/x" >/dev/null && break
  sleep 0.1
done
U=http://127.0.0.1:$NP
UH=http://127.0.0.1:$HP
# requests the servers saw for paths under /t- (the probes above are /x)
seen() { cat "$R/www-ns.log" "$R/www-host.log" 2>/dev/null | grep -c '"GET /t-' ; }

n=0
# refused NAME CMD...: fails with the build-URL refusal, no server request
refused() {
  local name=$1 out before
  shift
  before=$(seen)
  if out=$("$@" 2>&1); then
    not_ok "$name" "accepted: $out"
  elif [ "$(seen)" != "$before" ]; then
    not_ok "$name" "the server saw a request" "$out" "$(tail -3 "$R/www-ns.log")"
  else
    case "$out" in
      *"${E}"*"ADD"*) ok "$name" ;;
      *) not_ok "$name" "$out" ;;
    esac
  fi
}
ctx() { # NAME DOCKERFILE-TEXT: a fresh context directory, printed
  local c=$R/ctx-$1
  mkdir -p "$c"
  printf '%s\n' "$2" >"$c/Dockerfile"
  echo local >"$c/local.txt"
  echo "$c"
}
post_build() { # QUERY: the body from stdin, the answer on stdout
  curl -s --unix-socket "$gsock" -X POST -H 'Content-Type: application/x-tar' \
    --data-binary @- "http://moat/v1.41/build?$1"
}

c=$(ctx plain "FROM busybox
ADD $U/t-plain /x")
refused "ADD http URL refused (engine loopback)" docker build -q "$c"
c=$(ctx host "FROM busybox
ADD $UH/t-host /x")
refused "ADD http URL refused (host loopback)" docker build -q "$c"
c=$(ctx lower "from busybox
add --chown=1:1 $U/t-lower /x")
refused "add --chown URL refused (lower case, flag)" docker build -q "$c"
c=$(ctx json "FROM busybox
ADD [\"$U/t-json\", \"/x\"]")
refused "ADD JSON form refused" docker build -q "$c"
c=$(ctx cont "FROM busybox
ADD \\
  # a comment inside the continuation
  $U/t-cont \\
  /x")
refused "ADD over continued lines refused" docker build -q "$c"
c=$(ctx split "FROM busybox
AD\\
D ht\\
tp://127.0.0.1:$NP/t-split /x")
refused "ADD split by continuations refused" docker build -q "$c"
c=$(ctx esc "# escape=\`
FROM busybox
ADD \`
  $U/t-esc /x")
refused "ADD with escape directive refused" docker build -q "$c"
c=$(ctx quoted "FROM busybox
ADD \"http:/\\/127.0.0.1:$NP/t-quoted\" /x")
refused "ADD quoted and escaped URL refused" docker build -q "$c"
c=$(ctx onb "FROM busybox
ONBUILD ADD $U/t-onbuild /x")
refused "ONBUILD ADD URL refused" docker build -q "$c"
c=$(ctx var "FROM busybox
ARG SRC=local.txt
ADD \$SRC /x")
refused "ADD \$VAR refused (build-arg)" docker build -q --build-arg "SRC=$U/t-var" "$c"
c=$(ctx other "FROM busybox
ADD $U/t-other /x")
mv "$c/Dockerfile" "$c/Other.df"
refused "ADD URL in -f inside the context refused" docker build -q -f "$c/Other.df" "$c"
mkdir -p "$R/out"
printf 'FROM busybox\nADD %s/t-outside /x\n' "$U" >"$R/out/Dockerfile.evil"
c=$(ctx outside "FROM busybox")
refused "ADD URL in -f outside the context refused" docker build -q -f "$R/out/Dockerfile.evil" "$c"
c=$(ctx gz "FROM busybox
ADD $U/t-gzip /x")
before=$(seen)
out=$(tar -C "$c" -c . | gzip | post_build "t=gz")
case "$out" in
  *"${E}"*ADD*) [ "$(seen)" = "$before" ] && ok "gzip context with ADD URL refused" ||
    not_ok "gzip context with ADD URL refused" "server saw a request" ;;
  *) not_ok "gzip context with ADD URL refused" "$out" ;;
esac
for comp in bzip2 xz; do
  out=$(tar -C "$c" -c . | $comp | post_build "t=$comp")
  case "$out" in
    *"${E}"*) ok "$comp context refused" ;;
    *) not_ok "$comp context refused" "$out" ;;
  esac
done
# a Dockerfile that is a symlink to another file of the context
c=$(ctx link "FROM busybox")
printf 'FROM busybox\nADD %s/t-link /x\n' "$U" >"$c/evil"
rm "$c/Dockerfile" && ln -s evil "$c/Dockerfile"
refused "Dockerfile as a symlink to an ADD URL refused" docker build -q "$c"

# ONBUILD triggers of a base image already in the engine (committed
# through the raw socket, as an image loaded from elsewhere would be)
raw docker rm -f onb-base >/dev/null 2>&1
raw docker create --name onb-base busybox true >/dev/null
raw docker commit --change "ONBUILD ADD $U/t-base /x" onb-base onbase:1 >/dev/null
raw docker rm -f onb-base >/dev/null
c=$(ctx base "FROM onbase:1
RUN true")
refused "ONBUILD ADD URL of a local base image refused" docker build -q "$c"
c=$(ctx base2 "FROM busybox AS onbase
FROM onbase
RUN true")
check "a stage named like a bad image is not looked up" docker build -q "$c"

# base images whose triggers can't be checked first: absent (the engine
# would pull it, triggers unseen), named through a variable, or re-pulled
# by --pull (a re-tag between the check and the pull)
base_refused() { # NAME CMD...: refused with MESSAGE-PART, nothing fetched
  local name=$1 part=$2 out
  shift 2
  if out=$("$@" 2>&1); then not_ok "$name" "accepted: $out"
  else case "$out" in
    *"${E}"*"$part"*) ok "$name" ;;
    *) not_ok "$name" "$out" ;;
  esac; fi
}
c=$(ctx absent "FROM moat-test-absent-base:1
RUN true")
base_refused "a base image not in the engine is refused (pull it first)" \
  "is not in the engine" docker build -q "$c"
c=$(ctx fromvar "ARG BASE=busybox
FROM \$BASE
RUN true")
base_refused "a base image named by a variable is refused" \
  "not a plain image reference" docker build -q "$c"
c=$(ctx pull "FROM busybox
RUN true")
base_refused "docker build --pull is refused" "--pull" docker build -q --pull "$c"
for v in 1 true TRUE " yes"; do
  out=$(printf '' | post_build "pull=0&pull=$(printf %s "$v" | sed 's/ /%20/g')")
  case "$out" in
    *"${E}"*"--pull"*) ok "pull=$v after pull=0 is refused" ;;
    *) not_ok "pull=$v after pull=0 is refused" "$out" ;;
  esac
done
check "a build without --pull of a local base works" docker build -q "$c"

# allowed: local ADD, COPY, a normal build end to end
c=$(ctx good "FROM busybox
# ADD http://example.invalid/in-a-comment /nothing
ADD local.txt /a.txt
COPY local.txt /b.txt
RUN cat /a.txt /b.txt >/c.txt
LABEL url=http://in-a-label.invalid/")
if out=$(docker build -q -t good:1 "$c" 2>&1); then
  check_output "normal build works end to end" "local" docker run --rm good:1 cat /c.txt
else
  not_ok "normal build works end to end" "$out"
fi
out=$(tar -C "$c" -c . | gzip | post_build "t=good:gz")
case "$out" in
  *Successfully\ built*) ok "gzip context with a normal Dockerfile builds" ;;
  *) not_ok "gzip context with a normal Dockerfile builds" "$out" ;;
esac

# malformed input
out=$(head -c 3000 /dev/urandom | post_build "t=junk")
case "$out" in
  *"${E}"*) ok "malformed tar refused" ;;
  *) not_ok "malformed tar refused" "$out" ;;
esac
c=$(ctx trunc "FROM busybox
ADD $U/t-trunc /x")
tar -C "$c" -cf "$R/trunc.tar" .
sz=$(stat -c %s "$R/trunc.tar")
before=$(seen)
out=$( (printf 'POST /v1.41/build?t=tr HTTP/1.1\r\nHost: moat\r\nContent-Type: application/x-tar\r\nContent-Length: %s\r\nConnection: close\r\n\r\n' "$sz"
  head -c $((sz - 1024)) "$R/trunc.tar"; sleep 1) | timeout 20 nc -U "$gsock")
sleep 1
[ "$(seen)" = "$before" ] && ok "truncated body: nothing fetched" || not_ok "truncated body: nothing fetched" "$out"
big=$R/ctx-big
mkdir -p "$big"
{ echo 'FROM busybox'; head -c 2000000 /dev/zero | tr '\0' '#' | fold -w 100; echo; echo "ADD $U/t-big /x"; } >"$big/Dockerfile"
refused "huge Dockerfile refused" docker build -q "$big"
# the guard is still serving
check "guard still serves after all of this" docker version

harness_done

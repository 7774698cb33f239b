#!/usr/bin/env bash
# scripts/check-layers (run by `make lint`): the tree follows the folder
# graph of docs/architecture.md, and each kind of violation fails it with
# a message naming the file and the rule.  Needs no root and no engine:
# each case runs on a copy of src/ and docs/ in a temporary directory.
. "$(dirname "$0")/../lib/harness.sh"

top=$HARNESS_TOP
check_layers=$top/scripts/check-layers
scratch=$(mktemp -d /tmp/moat-layers-XXXXXX)
trap 'rm -rf "$scratch"' EXIT

# copy NAME: a fresh copy of src/ and docs/ at $scratch/NAME
copy() {
  mkdir -p "$scratch/$1"
  cp -r "$top/src" "$top/docs" "$scratch/$1/"
  echo "$scratch/$1"
}

check "this tree follows the folder graph" "$check_layers" "$top"

t=$(copy up)
echo '#include "net/guard.h"' >>"$t/src/engine/route.c"
check_refused "an include the graph does not allow (engine -> net)" \
  'src/engine/route.c: #include "net/guard.h": engine may not include net' \
  "$check_layers" "$t"

t=$(copy common)
echo '#include "policy/policy.h"' >>"$t/src/common/log.c"
check_refused "common includes no other folder" \
  'common may not include policy' "$check_layers" "$t"

t=$(copy lock)
echo '#include "common/log.h"' >>"$t/src/cmd/moat-lock/main.c"
check_refused "moat-lock (static, libc only) includes nothing of moat" \
  'cmd/moat-lock may not include common' "$check_layers" "$t"

t=$(copy prog)
echo '#include "cmd/moatd/main.h"' >>"$t/src/cmd/moat/main.c"
check_refused "a program does not include another's files" \
  'cmd/moat may not include cmd/moatd' "$check_layers" "$t"

t=$(copy dotdot)
echo '#include "../common/log.h"' >>"$t/src/policy/url.c"
check_refused "an include that leaves its folder" \
  'src/policy/url.c: #include "../common/log.h" leaves its folder' \
  "$check_layers" "$t"

t=$(copy norow)
mkdir "$t/src/newthing"
echo 'int newthing;' >"$t/src/newthing/a.c"
check_refused "a folder with no row in the table" \
  'src/newthing has no row in the folder graph' "$check_layers" "$t"

t=$(copy cycle)
sed -i 's/^| `policy` | `common` |/| `policy` | `common`, `engine` |/' \
  "$t/docs/architecture.md"
check_refused "a cycle in the table" 'has a cycle through' "$check_layers" "$t"

t=$(copy big)
seq 1201 | sed 's#^#// #' >"$t/src/common/big.h"
check_refused "a file over 1,200 lines" \
  'src/common/big.h: 1201 lines, over 1200' "$check_layers" "$t"

t=$(copy io)
mkdir "$t/src/io"
echo '#include "common/log.h"' >"$t/src/io/loop.c"
echo '#include "io/loop.h"' >>"$t/src/net/worker.c"
check "src/io above common, below the guards" "$check_layers" "$t"
echo '#include "policy/policy.h"' >>"$t/src/io/loop.c"
check_refused "src/io includes no policy" 'io may not include policy' \
  "$check_layers" "$t"

harness_done

#!/bin/bash
# Builds OCI runtime-tools' validation programs from the suites' sources (../shared/suites, not
# part of ocelot) with Debian's Go, into OUT; nothing is fetched (vendored modules, GOPROXY=off).
# A finished build is kept: it is rebuilt only when OUT lacks it.
#   build_suites.sh SUITES_DIR OUT_DIR
set -euo pipefail
suites=$1
out=$2
tree=$out/runtime-tools-260e151
if [ -x "$tree/runtimetest" ] && [ -x "$tree/validation/state/state.t" ]; then
  echo "conformance: runtime-tools already built in $tree"
  exit 0
fi
mkdir -p "$out"
rm -rf "$tree"
tar -C "$out" -xzf "$suites/runtime-tools-260e151.tar.gz"
start=$(date +%s)
# GIT_DIR: the tree sits in our ignored build dir; its Makefile must not read ocelot's commit.
( cd "$tree" && GIT_DIR=/nonexistent GOFLAGS="-mod=vendor -buildvcs=false" GOPROXY=off GOPATH="$out/gopath" \
    GOCACHE="$out/gocache" HOME="$out" make runtimetest validation-executables > "$out/build.log" 2>&1 ) || {
  tail -20 "$out/build.log"
  echo "conformance: building runtime-tools failed (log: $out/build.log)"
  exit 1
}
echo "conformance: runtime-tools built in $(( $(date +%s) - start )) s"

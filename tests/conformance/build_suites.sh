#!/bin/bash
# Builds a conformance suite from the suites' sources (../shared/suites, not part of ocelot) with
# Debian's Go, into OUT; nothing is fetched (vendored modules, GOPROXY=off). A finished build is
# kept: it is rebuilt only when OUT lacks it.
#   build_suites.sh SUITES_DIR OUT_DIR [runtime-tools|critest]
set -euo pipefail
suites=$1
out=$2
which=${3:-runtime-tools}
case $which in
  runtime-tools) tree=$out/runtime-tools-260e151; tarball=runtime-tools-260e151.tar.gz
    built="$tree/runtimetest $tree/validation/state/state.t"; targets="runtimetest validation-executables" ;;
  critest) tree=$out/cri-tools-v1.26.1; tarball=cri-tools-v1.26.1.tar.gz
    built="$tree/build/bin/linux/amd64/critest"; targets="critest" ;;
  *) echo "build_suites.sh: unknown suite $which"; exit 2 ;;
esac
done_already=1
for f in $built; do [ -x "$f" ] || done_already=0; done
if [ $done_already = 1 ]; then
  echo "conformance: $which already built in $tree"
  exit 0
fi
mkdir -p "$out"
rm -rf "$tree"
tar -C "$out" -xzf "$suites/$tarball"
start=$(date +%s)
# GIT_DIR: the tree sits in our ignored build dir; its Makefile must not read ocelot's commit.
# VERSION: cri-tools' Makefile asks git for it otherwise.
( cd "$tree" && GIT_DIR=/nonexistent GOFLAGS="-mod=vendor -buildvcs=false" GOPROXY=off GOPATH="$out/gopath" \
    GOCACHE="$out/gocache" HOME="$out" VERSION=v1.26.1 \
    make $targets > "$out/build-$which.log" 2>&1 ) || {
  tail -20 "$out/build-$which.log"
  echo "conformance: building $which failed (log: $out/build-$which.log)"
  exit 1
}
for f in $built; do [ -x "$f" ] || { echo "conformance: building $which made no $f (log: $out/build-$which.log)"; exit 1; }; done
echo "conformance: $which built in $(( $(date +%s) - start )) s"

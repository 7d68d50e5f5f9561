#!/bin/bash
# Prints the path of a criu that works on this kernel: the installed one when `criu check` says
# so, else CRIU 4.2 built from the suites' sources (../shared/suites, not part of ocelot) into
# OUT, kept there once built. Fails with one line saying why when neither is possible: the
# checkpoint tier never skips in silence.
#   criu.sh SUITES_DIR OUT_DIR
set -uo pipefail
suites=$1
out=$2
installed=$(command -v criu || true)
if [ -n "$installed" ] && "$installed" check >/dev/null 2>&1; then
  echo "$installed"
  exit 0
fi
built=$out/criu-4.2/criu/criu
if [ -x "$built" ] && "$built" check >/dev/null 2>&1; then
  echo "$built"
  exit 0
fi
why="the installed criu ${installed:-(none)} fails \`criu check\` on this kernel"
if [ ! -f "$suites/criu-4.2.tar.gz" ]; then
  echo "checkpoint: $why, and CRIU's source (criu-4.2.tar.gz) is not in $suites: install criu >= 4.1 or set SUITES=DIR" >&2
  exit 1
fi
mkdir -p "$out"
rm -rf "$out/criu-4.2"
tar -C "$out" -xzf "$suites/criu-4.2.tar.gz"
start=$(date +%s)
if ! ( cd "$out/criu-4.2" && make -j"$(nproc)" criu ) > "$out/build.log" 2>&1; then
  tail -5 "$out/build.log" >&2
  echo "checkpoint: $why, and building CRIU 4.2 failed (log: $out/build.log)" >&2
  exit 1
fi
if ! "$built" check > "$out/check.log" 2>&1; then
  echo "checkpoint: $why, and the CRIU 4.2 built here fails \`criu check\` too: $(tail -1 "$out/check.log")" >&2
  exit 1
fi
echo "checkpoint: CRIU 4.2 built in $(( $(date +%s) - start )) s ($why)" >&2
echo "$built"

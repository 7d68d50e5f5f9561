#!/usr/bin/env bash
# The layers depend one way:
#   base -> spec -> {namespaces, cgroups} -> runtime -> backends -> isolation -> compare -> cli
# where "backends" are the folders isolation/registry.cc includes a backend from (vm/ today): each
# depends on runtime and below, never on another backend. Fails (and names the file and the
# include) when a file includes a header of a higher layer or of a sibling on its own level.
set -euo pipefail
cd "$(dirname "$0")/.."
backends=$(sed -n 's|^#include "\([a-z0-9_]*\)/.*|\1|p' isolation/registry.cc | sort -u | grep -v -x -E 'base|spec|namespaces|cgroups|runtime|isolation' || true)
rank() {
  case "$1" in
    base) echo 0 ;; spec) echo 1 ;; namespaces|cgroups) echo 2 ;; runtime) echo 3 ;; isolation) echo 5 ;;
    compare) echo 6 ;; cli) echo 7 ;;
    *) if printf '%s\n' $backends | grep -qx "$1"; then echo 4; else echo -1; fi ;;
  esac
}
bad=0
files=$(git ls-files --cached --others --exclude-standard 'base/*' 'spec/*' 'namespaces/*' 'cgroups/*' 'runtime/*' \
          'isolation/*' 'compare/*' 'cli/*' $(for b in $backends; do echo "$b/*"; done) | grep -E '\.(cc|h|c)$' | sort -u)
for f in $files; do
  [ -f "$f" ] || continue
  from=${f%%/*}
  rf=$(rank "$from")
  [ "$rf" -ge 0 ] || continue
  while IFS= read -r inc; do
    to=${inc%%/*}
    rt=$(rank "$to")
    [ "$rt" -ge 0 ] || continue
    if [ "$rt" -gt "$rf" ] || { [ "$rt" -eq "$rf" ] && [ "$to" != "$from" ]; }; then
      echo "layering: $f includes $inc ($from may not depend on $to)"
      bad=1
    fi
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done
if [ "$bad" -ne 0 ]; then exit 1; fi
echo "layering: every include points down (base -> spec -> namespaces, cgroups -> runtime -> backends ($(echo $backends)) -> isolation -> compare -> cli)"

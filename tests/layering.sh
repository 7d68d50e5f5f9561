#!/usr/bin/env bash
# The layers depend one way: base -> spec -> {namespaces, cgroups} -> runtime -> vm -> compare -> cli.
# Fails (and names the file and the include) when a file includes a header of a higher layer, or
# when namespaces/ and cgroups/ (one level) include each other.
set -euo pipefail
cd "$(dirname "$0")/.."
rank() {
  case "$1" in
    base) echo 0 ;; spec) echo 1 ;; namespaces|cgroups) echo 2 ;; runtime) echo 3 ;; vm) echo 4 ;; compare) echo 5 ;; cli) echo 6 ;;
    *) echo -1 ;;
  esac
}
bad=0
while IFS= read -r f; do
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
done < <(git ls-files 'base/*' 'spec/*' 'namespaces/*' 'cgroups/*' 'runtime/*' 'vm/*' 'compare/*' 'cli/*' | grep -E '\.(cc|h|c)$')
if [ "$bad" -ne 0 ]; then exit 1; fi
echo "layering: every include points down (base -> spec -> namespaces, cgroups -> runtime -> vm -> compare -> cli)"

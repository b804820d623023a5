#!/bin/bash
# bench/store/run.sh BUILD_DIR [N]: the core store with N (default 1000)
# records of 9,000-mapping crashes: `lifeline cores list` and a helper's
# cleanup, wall time and peak RSS, against `ls -l` of the same store (issue
# 15 §5: list within 0.5 s and 50 MB, cleanup within 50 MB). Needs root (the
# helper reads the crashing process's /proc as root, the store is root's).
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR [N]}
n=${2:-1000}
lifeline="$build/src/cli/lifeline"
bench="$build/bench/store/bench-store"
for f in "$lifeline" "$bench"; do
	[ -x "$f" ] || { echo "missing $f: build with ninja -C $build first" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "needs root (the helper and its store are root's)" >&2; exit 2; }
tmp=$(mktemp -d /var/tmp/lifeline-bench-store.XXXXXX)
chmod 755 "$tmp"
trap '[ -n "${LL_BENCH_KEEP:-}" ] || rm -rf "$tmp"' EXIT INT TERM
"$bench" "$lifeline" "$tmp/store" "$n"

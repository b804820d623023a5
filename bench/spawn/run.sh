#!/bin/bash
# bench/spawn/run.sh BUILD_DIR: (1) the spawn benchmark, from a parent with
# 2 GiB of touched memory and 10,000 descriptors; (2) bench/fds/run.sh:
# `lifeline fds` against lsof and `ls -l /proc/PID/fd` on a process holding
# 19,000 descriptors (a tenth of them sockets), measured in the same run.
set -euo pipefail
build=${1:?usage: bench/spawn/run.sh BUILD_DIR}
bench=$build/bench/spawn/bench_spawn
lifeline=$build/src/cli/lifeline
[ -x "$bench" ] && [ -x "$lifeline" ] || { echo "run.sh: build $build first (ninja -C $build)" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"

echo "== spawn: per spawn of /bin/true"
"$bench" --mem-mib "${BENCH_MEM_MIB:-2048}" --fds "${BENCH_FDS:-10000}"

echo
# (2) lifeline fds against lsof and ls -l: bench/fds/run.sh
exec "$(dirname "$0")/../fds/run.sh" "$build"

#!/bin/bash
# run.sh BUILD_DIR: the symbolize benchmark (not a test). 100,000 addresses
# in one batch, inline chains on, answered by `lifeline symbolize
# --addr2line`, `addr2line -f -i -e`, `llvm-symbolizer --obj=` and
# `eu-addr2line -f -i -e`, in the same run, on glibc's libc.so.6 (DWARF from
# libc6-dbg, found by build-id) and on a generated program of 200 compile
# units built -g -O2. lifeline runs cold (--no-cache) and with a warm index
# cache. Prints wall and CPU time (median of 3; eu-addr2line once), the
# ratio of each to cold lifeline, and the peak RSS. Goal (issue 12): cold
# >= 6x faster than addr2line and llvm-symbolizer on both targets, the same
# answers as llvm-symbolizer (the reference) on every address, peak RSS at
# most 25% over addr2line's.
set -euo pipefail
build=${1:?usage: bench/symbolize/run.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
lifeline=$(cd "$build" && pwd)/src/cli/lifeline
[ -x "$lifeline" ] || { echo "no $lifeline: build first (ninja -C $build)" >&2; exit 1; }
exec python3 "$here/bench.py" "$lifeline" "${N:-100000}"

#!/bin/bash
# bench/upgrade/run.sh BUILD_DIR: the example server upgraded N times
# (BENCH_ROUNDS, default 100) under load, then the same server restarted N
# times the usual way (stop, then start), in the same run; prints the
# figures and the ratios (bench_upgrade.c says what is measured).
set -euo pipefail
build=${1:?usage: bench/upgrade/run.sh BUILD_DIR}
bench=$build/bench/upgrade/bench_upgrade
[ -x "$bench" ] && [ -x "$build/examples/upgrade/upgrade-server-v2" ] ||
	{ echo "run.sh: build $build first (ninja -C $build)" >&2; exit 1; }
exec "$bench" "$build/examples/upgrade" "${BENCH_ROUNDS:-100}"

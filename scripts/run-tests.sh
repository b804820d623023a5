#!/bin/bash
# run-tests.sh: build the plain and the ASan+UBSan configurations, run every
# test in both, then build the libFuzzer targets (clang, ASan+UBSan:
# build-fuzz) and run each over its committed corpus for 30 s (the 'fuzz'
# suite, each target one test), and compile the release build the benchmarks
# use (counted as one test: -O3 warnings are errors there); restore the global state tests may touch,
# and print the closing line "N passed, N failed" (skips are counted apart).
# LL_TEST_CONFIGS="build build-asan" leaves the fuzz targets and the release build out.
set -uo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
# Tests never read the caller's stdin; CI may start us with none at all, and a
# closed fd 0 would be reused by the first file a test opens.
exec </dev/null

# Tests restore what they change; this is the belt to their braces.
saved_pattern=$(cat /proc/sys/kernel/core_pattern)
saved_pipe_limit=$(cat /proc/sys/kernel/core_pipe_limit)
saved_suid=$(cat /proc/sys/fs/suid_dumpable)
restore() {
	printf '%s\n' "$saved_pattern" >/proc/sys/kernel/core_pattern 2>/dev/null || true
	printf '%s\n' "$saved_pipe_limit" >/proc/sys/kernel/core_pipe_limit 2>/dev/null || true
	printf '%s\n' "$saved_suid" >/proc/sys/fs/suid_dumpable 2>/dev/null || true
}
trap restore EXIT INT TERM

passed=0 failed=0 skipped=0
configs=("build" "build-asan" "build-fuzz" "build-release")
[ -n "${LL_TEST_CONFIGS:-}" ] && read -r -a configs <<<"$LL_TEST_CONFIGS"

for dir in "${configs[@]}"; do
	opts=()
	mult=1
	cc=
	suite=()
	targets=()
	if [ "$dir" = build-asan ]; then
		opts=(-Db_sanitize=address,undefined -Db_lundef=false)
		mult=3
	elif [ "$dir" = build-fuzz ]; then
		# the library and the targets only (the unit tests ran above)
		opts=(-Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Dtests=false)
		cc=clang
		# only the targets (the library they link, not the CLI, examples
		# and benchmarks a third time): keeps the added time small
		suite=(--suite fuzz --no-rebuild)
		for f in fuzz/fuzz_*.c; do
			[ "$f" = fuzz/fuzz_util.c ] || targets+=("fuzz/$(basename "$f" .c)")
		done
	elif [ "$dir" = build-release ]; then
		# what ./dev.sh bench builds: compiled (-O3 warns of things -O2
		# does not, and -Werror makes them errors), its tests not run again
		opts=(-Dbuildtype=release)
	fi
	echo "=== $dir: configure and build"
	if [ ! -f "$dir/build.ninja" ] && ! env ${cc:+CC=$cc} meson setup "$dir" "${opts[@]}"; then
		echo "=== $dir: configure FAILED"
		failed=$((failed + 1))
		continue
	fi
	if ! ninja -C "$dir" "${targets[@]}"; then
		echo "=== $dir: build FAILED"
		failed=$((failed + 1))
		continue
	fi
	if [ "$dir" = build-release ]; then
		echo "=== $dir: built (benchmarks' build; its tests are the ones above)"
		passed=$((passed + 1))
		continue
	fi
	echo "=== $dir: tests"
	log=$(mktemp)
	meson test -C "$dir" --print-errorlogs -t "$mult" "${suite[@]}" ${LL_TEST_ARGS:-} 2>&1 | tee "$log"
	ok=$(awk '/^Ok:/ {print $2}' "$log")
	bad=$(awk '/^(Fail|Unexpected Pass|Timeout):/ {s += $NF} END {print s + 0}' "$log")
	skip=$(awk '/^Skipped:/ {print $2}' "$log")
	passed=$((passed + ${ok:-0}))
	failed=$((failed + ${bad:-0}))
	skipped=$((skipped + ${skip:-0}))
	if [ -z "$ok" ]; then
		echo "=== $dir: meson test printed no summary"
		failed=$((failed + 1))
	fi
	rm -f "$log"
	restore
done

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

#!/bin/bash
# bench/spawn/run.sh BUILD_DIR: (1) the spawn benchmark, from a parent with
# 2 GiB of touched memory and 10,000 descriptors; (2) `lifeline fds` against
# `lsof -n -P -p` on a process holding 19,000 descriptors (a tenth of them
# sockets), both measured here in the same run; prints the ratios.
set -euo pipefail
build=${1:?usage: bench/spawn/run.sh BUILD_DIR}
bench=$build/bench/spawn/bench_spawn
lifeline=$build/src/cli/lifeline
[ -x "$bench" ] && [ -x "$lifeline" ] || { echo "run.sh: build $build first (ninja -C $build)" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"

echo "== spawn: per spawn of /bin/true"
"$bench" --mem-mib "${BENCH_MEM_MIB:-2048}" --fds "${BENCH_FDS:-10000}"

echo
echo "== lifeline fds vs lsof -n -P -p, a process with ${BENCH_HOLD:-19000} descriptors"
if ! command -v lsof >/dev/null; then
	echo "lsof is not installed (apt-get install lsof): skipped"
	exit 0
fi
rm -f "$build/bench-hold.out"
"$bench" --hold "${BENCH_HOLD:-19000}" </dev/null >"$build/bench-hold.out" &
holder=$!
trap 'kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null || true' EXIT
for _ in $(seq 200); do grep -q ready "$build/bench-hold.out" 2>/dev/null && break; sleep 0.05; done
pid=$(awk '/ready/ {print $2}' "$build/bench-hold.out")
[ -n "$pid" ] || { echo "run.sh: the descriptor holder did not start" >&2; exit 1; }
echo "target: $(cat "$build/bench-hold.out")"

# wall time in ms of one run of a command (output discarded)
wall_ms() {
	local s e
	s=$(date +%s%N)
	"$@" >/dev/null
	e=$(date +%s%N)
	echo $(((e - s) / 1000))
}
median() { sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'; }
lines_l=$("$lifeline" fds "$pid" | wc -l)
lines_s=$(lsof -n -P -p "$pid" | wc -l)
# interleaved rounds: a change in the (shared) machine's load hits all alike
a=() b=() c=()
for _ in $(seq "${BENCH_ROUNDS:-7}"); do
	a+=("$(wall_ms lsof -n -P -p "$pid")")
	b+=("$(wall_ms "$lifeline" fds "$pid")")
	c+=("$(wall_ms "$lifeline" fds --json "$pid")")
done
t_lsof=$(printf '%s\n' "${a[@]}" | median)
t_fds=$(printf '%s\n' "${b[@]}" | median)
t_json=$(printf '%s\n' "${c[@]}" | median)
echo "lsof -n -P -p:        ${t_lsof} ms ($lines_s lines)"
echo "lifeline fds:         ${t_fds} ms ($lines_l lines)"
echo "lifeline fds --json:  ${t_json} ms"
awk -v a="$t_lsof" -v b="$t_fds" -v c="$t_json" 'BEGIN {
	r = a / b; printf "lifeline fds is %.1fx faster than lsof (goal >= 5x): %s\n", r, ((r >= 5) ? "met" : "NOT met");
	printf "lifeline fds --json is %.1fx faster than lsof\n", a / c }'

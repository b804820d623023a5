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
fifo=$(mktemp -u)
mkfifo "$fifo"
exec 7<>"$fifo"
rm -f "$fifo"
"$bench" --hold "${BENCH_HOLD:-19000}" <&7 >"$build/bench-hold.out" &
holder=$!
trap 'exec 7>&-; wait $holder 2>/dev/null || true' EXIT
for _ in $(seq 200); do grep -q ready "$build/bench-hold.out" 2>/dev/null && break; sleep 0.05; done
pid=$(awk '/ready/ {print $2}' "$build/bench-hold.out")
echo "target: $(cat "$build/bench-hold.out")"

# median wall time in ms of N runs of a command (output discarded)
median_ms() {
	local n=$1
	shift
	local t=()
	for _ in $(seq "$n"); do
		local s e
		s=$(date +%s%N)
		"$@" >/dev/null
		e=$(date +%s%N)
		t+=($(((e - s) / 1000)))
	done
	printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}
lines_l=$("$lifeline" fds "$pid" | wc -l)
lines_s=$(lsof -n -P -p "$pid" | wc -l)
t_lsof=$(median_ms 5 lsof -n -P -p "$pid")
t_fds=$(median_ms 5 "$lifeline" fds "$pid")
t_json=$(median_ms 5 "$lifeline" fds --json "$pid")
echo "lsof -n -P -p:        ${t_lsof} ms ($lines_s lines)"
echo "lifeline fds:         ${t_fds} ms ($lines_l lines)"
echo "lifeline fds --json:  ${t_json} ms"
awk -v a="$t_lsof" -v b="$t_fds" -v c="$t_json" 'BEGIN {
	r = a / b; printf "lifeline fds is %.1fx faster than lsof (goal >= 5x): %s\n", r, ((r >= 5) ? "met" : "NOT met");
	printf "lifeline fds --json is %.1fx faster than lsof\n", a / c }'

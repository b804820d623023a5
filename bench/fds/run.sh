#!/bin/bash
# bench/fds/run.sh BUILD_DIR: `lifeline fds` on a process holding 19,000
# descriptors (a tenth of them TCP/UDP sockets, the rest dups of /dev/null:
# bench_spawn --hold), against `lsof -n -P -p PID` and `ls -l /proc/PID/fd`
# (the floor: a getdents, then an lstat and a readlink per descriptor), all
# measured here in the same run, interleaved (median of BENCH_ROUNDS, wall
# and CPU time). Goal (issue 12): >= 5x faster than lsof, within 2x of ls -l.
# With strace installed, also the syscalls per descriptor of each.
set -euo pipefail
build=${1:?usage: bench/fds/run.sh BUILD_DIR}
bench=$build/bench/spawn/bench_spawn
lifeline=$build/src/cli/lifeline
[ -x "$bench" ] && [ -x "$lifeline" ] || { echo "run.sh: build $build first (ninja -C $build)" >&2; exit 1; }
command -v lsof >/dev/null || { echo "lsof is not installed (apt-get install lsof): skipped"; exit 0; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is not installed (apt-get install time): skipped"; exit 0; }
ulimit -n "$(ulimit -Hn)"
nfds=${BENCH_HOLD:-19000}
work=$(mktemp -d /tmp/ll-bench-fds.XXXXXX)
"$bench" --hold "$nfds" </dev/null >"$work/hold.out" &
holder=$!
trap 'kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 200); do grep -q ready "$work/hold.out" 2>/dev/null && break; sleep 0.05; done
pid=$(awk '/ready/ {print $2}' "$work/hold.out")
[ -n "$pid" ] || { echo "run.sh: the descriptor holder did not start" >&2; exit 1; }
echo "== lifeline fds vs lsof and ls -l: $(cat "$work/hold.out"); load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"

# "WALL CPU" (seconds) of one run, output discarded
run() { /usr/bin/time -f "%e %U %S" -o "$work/t" "$@" >/dev/null; awk '{printf "%s %.3f\n", $1, $2 + $3}' "$work/t"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
names=(lsof ls lifeline json)
cmds=("lsof -n -P -p $pid" "ls -l /proc/$pid/fd" "$lifeline fds $pid" "$lifeline fds --json $pid")
for r in $(seq "${BENCH_ROUNDS:-7}"); do
	for k in 0 1 2 3; do
		run ${cmds[$k]} >>"$work/${names[$k]}"
	done
done
declare -A wall cpu
for k in 0 1 2 3; do
	wall[${names[$k]}]=$(cut -d' ' -f1 "$work/${names[$k]}" | median)
	cpu[${names[$k]}]=$(cut -d' ' -f2 "$work/${names[$k]}" | median)
done
printf '  %-24s %8s %8s  %s\n' tool wall CPU lines
printf '  %-24s %7.3fs %7.3fs  %s\n' "lsof -n -P -p" "${wall[lsof]}" "${cpu[lsof]}" "$(lsof -n -P -p "$pid" | wc -l)"
printf '  %-24s %7.3fs %7.3fs  %s\n' "ls -l /proc/PID/fd" "${wall[ls]}" "${cpu[ls]}" "$(ls -l "/proc/$pid/fd" | wc -l)"
printf '  %-24s %7.3fs %7.3fs  %s\n' "lifeline fds" "${wall[lifeline]}" "${cpu[lifeline]}" "$("$lifeline" fds "$pid" | wc -l)"
printf '  %-24s %7.3fs %7.3fs\n' "lifeline fds --json" "${wall[json]}" "${cpu[json]}"
awk -v l="${wall[lsof]}" -v s="${wall[ls]}" -v f="${wall[lifeline]}" -v j="${wall[json]}" \
    -v lc="${cpu[lsof]}" -v sc="${cpu[ls]}" -v fc="${cpu[lifeline]}" 'BEGIN {
	r = l / f; printf "  lifeline fds vs lsof: %.1fx faster (wall; CPU %.1fx) (goal >= 5x): %s\n", r, lc / fc, (r >= 5) ? "met" : "NOT met";
	q = f / s; printf "  lifeline fds vs ls -l: %.2fx its time (wall; CPU %.2fx) (goal <= 2x): %s\n", q, fc / sc, (q <= 2) ? "met" : "NOT met";
	printf "  lifeline fds --json vs lsof: %.1fx faster (wall)\n", l / j }'
if command -v strace >/dev/null; then
	for k in 0 1 2; do
		strace -f -c -o "$work/strace" ${cmds[$k]} >/dev/null 2>&1 || true
		awk -v n="$nfds" -v who="${names[$k]}" '$NF == "total" {printf "  syscalls per descriptor, %-9s %.2f\n", who ":", $(NF-2) / n}' "$work/strace"
	done
fi

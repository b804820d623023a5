#!/bin/bash
# bench/coredump/run.sh BUILD_DIR [MIB]: the core_pattern helper against the
# classic helpers, on one realistic ELF core (default 1024 MiB).
#
# 1. core-filler fills MIB of memory with text records, pointers, random
#    bytes and zero runs and crashes; core_pattern points at a plain file in
#    a temp dir for that one crash (the previous value is restored on exit,
#    even on failure).
# 2. The core is piped (cat core | tool, as the kernel pipes it) into
#    `lifeline coredump` (invoked directly with fake %-arguments and a temp
#    store), `gzip -` and `zstd -1 -T1`, each under /usr/bin/time -v,
#    interleaved, LL_BENCH_REPEAT times (default 2); the best wall time of
#    each is kept (the machine is shared and noisy).
# 3. Prints wall time, throughput, output size and peak RSS of each, and the
#    ratios against the goals (>= 10x gzip's throughput, >= 0.95x zstd's
#    with output no larger, peak RSS < 32 MiB), then checks the stored core
#    decompresses to the original.
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR [MIB]}
mib=${2:-1024}
lifeline="$build/src/cli/lifeline"
filler="$build/bench/coredump/core-filler"
for f in "$lifeline" "$filler"; do
	[ -x "$f" ] || { echo "missing $f: build with ninja -C $build first" >&2; exit 2; }
done
for t in gzip zstd /usr/bin/time; do
	command -v "$t" >/dev/null || { echo "missing $t (apt-get install gzip zstd time)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "needs root (core_pattern)" >&2; exit 2; }

tmp=$(mktemp -d /var/tmp/lifeline-bench-coredump.XXXXXX)
chmod 755 "$tmp"
saved_pattern=$(cat /proc/sys/kernel/core_pattern)
restore() {
	printf '%s\n' "$saved_pattern" >/proc/sys/kernel/core_pattern
	rm -rf "$tmp"
}
trap restore EXIT INT TERM

echo "== making a ${mib} MiB core (core-filler)"
# Other test runs on this machine may set core_pattern too: check that the
# core landed, and retry a few times if it did not.
core=
for attempt in 1 2 3 4 5; do
	echo "$tmp/core" >/proc/sys/kernel/core_pattern
	(ulimit -c unlimited; "$filler" "$mib" || true) 2>&1 | grep -v "Segmentation fault" || true
	printf '%s\n' "$saved_pattern" >/proc/sys/kernel/core_pattern
	core=$(ls "$tmp"/core* 2>/dev/null | head -1 || true) # core.PID with kernel.core_uses_pid=1
	# A complete core holds at least the filled memory; a dump cut short
	# (the process got a fatal signal meanwhile) is smaller.
	if [ -n "$core" ] && [ "$(stat -c %s "$core")" -ge $((mib * 1048576)) ]; then
		break
	fi
	echo "no complete core in $tmp (core_pattern changed under us, or the dump was cut short):" \
		"attempt $attempt failed, retrying"
	rm -f "$tmp"/core*
	core=
done
[ -n "$core" ] || { echo "no core was written to $tmp/core after 5 attempts" >&2; exit 1; }
size=$(stat -c %s "$core")
echo "core: $size bytes ($(file -b "$core" | cut -c1-60))"
cat "$core" >/dev/null # page cache: every tool reads from memory

cat >"$tmp/bench.conf" <<CONF
[Coredump]
MaxUse=infinity
KeepFree=0
RateLimitBurst=0
CONF

# run NAME OUTFILE CMD...: cat core | CMD > OUTFILE under time -v; keeps the
# best wall time and the largest peak RSS over the calls for NAME (the
# machine is shared: each tool runs $repeat times, interleaved, best kept).
declare -A wall rss out
run() {
	local name=$1 outfile=$2; shift 2
	local log="$tmp/$name.time" e w r
	cat "$core" | /usr/bin/time -v -o "$log" "$@" >"$outfile"
	e=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
	w=$(awk -v t="$e" 'BEGIN { n = split(t, a, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + a[i]; print s }')
	r=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
	if [ -z "${wall[$name]:-}" ] || awk -v a="$w" -v b="${wall[$name]}" 'BEGIN { exit !(a < b) }'; then
		wall[$name]=$w
	fi
	if [ -z "${rss[$name]:-}" ] || [ "$r" -gt "${rss[$name]}" ]; then
		rss[$name]=$r
	fi
	echo "   $name: ${w}s, peak RSS ${r} KiB"
}
repeat=${LL_BENCH_REPEAT:-2}

for round in $(seq "$repeat"); do
	echo "== round $round: lifeline coredump, gzip -, zstd -1 -T1"
	rm -rf "$tmp/store"
	run lifeline /dev/null "$lifeline" coredump --store "$tmp/store" --config "$tmp/bench.conf" \
		999999 0 0 11 "$(date +%s)" 18446744073709551615 benchhost core-filler
	stored=$(ls "$tmp"/store/*.zst)
	out[lifeline]=$(stat -c %s "$stored")
	run gzip "$tmp/core.gz" gzip -
	out[gzip]=$(stat -c %s "$tmp/core.gz")
	rm -f "$tmp/core.gz"
	run zstd "$tmp/core.zst" zstd -1 -T1 -q -c -
	out[zstd]=$(stat -c %s "$tmp/core.zst")
	rm -f "$tmp/core.zst"
done
echo
printf '%-18s %9s %10s %14s %8s %11s\n' tool wall_s MB/s output_bytes ratio peak_RSS
for n in lifeline gzip zstd; do
	awk -v n="$n" -v w="${wall[$n]}" -v s="$size" -v o="${out[$n]}" -v r="${rss[$n]}" 'BEGIN {
		printf "%-18s %9.2f %10.1f %14d %8.2f %7.1f MiB\n", n, w, s / 1e6 / (w > 0 ? w : 0.001), o, s / o, r / 1024 }'
done
echo "(systemd-coredump: not run; it needs systemd as PID 1 to store anything here, see ../shared/field-notes.md)"
echo
awk -v lw="${wall[lifeline]}" -v gw="${wall[gzip]}" -v zw="${wall[zstd]}" \
    -v lo="${out[lifeline]}" -v zo="${out[zstd]}" -v lr="${rss[lifeline]}" 'BEGIN {
	if (lw <= 0) lw = 0.001
	tg = gw / lw; tz = zw / lw; so = lo / zo; r = lr / 1024
	printf "throughput vs gzip -:     %6.2fx  (goal >= 10x)    %s\n", tg, (tg >= 10 ? "MET" : "MISSED")
	printf "throughput vs zstd -1:    %6.2fx  (goal >= 0.95x)  %s\n", tz, (tz >= 0.95 ? "MET" : "MISSED")
	printf "output size vs zstd -1:   %7.4fx (goal <= 1.0x)   %s\n", so, (so <= 1.0 ? "MET" : "MISSED")
	printf "peak RSS of the helper:   %6.1f MiB (goal < 32)   %s\n", r, (r < 32 ? "MET" : "MISSED")
}'

echo
echo "== check: the stored core decompresses to the original"
"$lifeline" cores dump --store "$tmp/store" -o "$tmp/back" >/dev/null
if cmp -s "$tmp/back" "$core"; then echo "round trip: identical ($size bytes)"; else echo "round trip: DIFFERENT"; exit 1; fi

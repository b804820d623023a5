#!/bin/bash
# campaign.sh: a long fuzzing run of one target, at the lowest CPU priority
# (nice 19: everything else on the machine goes first), in chunks of at most
# CHUNK seconds until the target has used CPU_SECONDS of CPU time or the wall
# clock reaches DEADLINE (a `date -d` time). A crash, leak or timeout (kept
# in OUT/NAME/artifacts) ends a chunk early and the next chunk starts; the
# corpus grows in OUT/NAME/new, never in fuzz/corpus. OUT/NAME/log has
# libFuzzer's output, OUT/NAME/cpu one line "wall user sys" per chunk.
#   fuzz/campaign.sh NAME CPU_SECONDS DEADLINE [OUT]   (after ./dev.sh fuzz NAME 1)
#   fuzz/campaign.sh --summary [OUT]   a Markdown table of every target in OUT:
#     CPU time, executions, libFuzzer's last cov/ft, findings
set -uo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
if [ "${1:-}" = --summary ]; then
	out=${2:-build-fuzz/campaign}
	echo "| target | CPU time | executions | cov | ft | corpus (inputs) | findings |"
	echo "|---|---|---|---|---|---|---|"
	for dir in "$out"/*/; do
		dir=${dir%/}
		cpu=$(awk '{ s += $2 + $3 } END { printf "%d min %02d s", s / 60, s % 60 }' "$dir/cpu")
		execs=$(awk '/^stat::number_of_executed_units:/ { s += $2 } END { print s + 0 }' "$dir/log")
		last=$(grep -E '^#[0-9]+.*cov: [0-9]+ ft: [0-9]+' "$dir/log" | tail -n 1)
		cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
		ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
		found=$(cd "$dir/artifacts" && ls | grep -v '^slow-unit' | sed 's/-.*//' | sort | uniq -c |
			awk '{ printf "%s%d %s", (NR > 1 ? ", " : ""), $1, $2 }')
		echo "| $(basename "$dir") | $cpu | $execs | ${cov:-?} | ${ft:-?} | $(ls "$dir/new" | wc -l) | ${found:-none} |"
	done
	exit 0
fi
name=${1#fuzz_} budget=$2 deadline=$(date -d "$3" +%s) out=${4:-build-fuzz/campaign}
chunk=${CHUNK:-600}
bin=build-fuzz/fuzz/fuzz_$name dir=$out/$name
dictarg=()
[ -f "fuzz/dict/$name.dict" ] && dictarg=(-dict="fuzz/dict/$name.dict")
mkdir -p "$dir/new" "$dir/artifacts"
used() { awk '{ s += $2 + $3 } END { printf "%d\n", s }' "$dir/cpu" 2>/dev/null || echo 0; }
touch "$dir/cpu"
while :; do
	now=$(date +%s)
	left=$((deadline - now))
	[ "$left" -le 10 ] && break
	[ "$(used)" -ge "$budget" ] && break
	t=$((left < chunk ? left : chunk))
	echo "=== $(date -u +%T) chunk of ${t}s (cpu so far $(used)s of ${budget}s)" >>"$dir/log"
	/usr/bin/time -f '%e %U %S' -a -o "$dir/cpu" nice -n 19 "$bin" \
		-max_total_time="$t" -timeout=25 -rss_limit_mb=2048 \
		-close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
		"${dictarg[@]}" "$dir/new" "fuzz/corpus/$name" >>"$dir/log" 2>&1
	# a binary being relinked: wait rather than spin
	[ $(($(date +%s) - now)) -lt 5 ] && sleep 5
done
echo "=== $(date -u +%T) done: cpu $(used)s" >>"$dir/log"

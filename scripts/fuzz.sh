#!/bin/bash
# fuzz.sh: run one libFuzzer target of fuzz/: its committed corpus is replayed
# first, then the target fuzzes until SECONDS have passed in all. New inputs
# go to SCRATCH/new and crash, leak and timeout inputs to SCRATCH/artifacts:
# never into the committed corpus. Exit status: libFuzzer's (0: no finding).
#   scripts/fuzz.sh [--fresh] BINARY CORPUS_DIR SECONDS SCRATCH [libFuzzer flags...]
# --fresh empties SCRATCH/new first (the test suite: a run that depends only
# on the committed corpus). Used by `./dev.sh fuzz` and fuzz/meson.build.
set -euo pipefail
fresh=0
if [ "${1:-}" = --fresh ]; then
	fresh=1
	shift
fi
if [ $# -lt 4 ]; then
	echo "usage: scripts/fuzz.sh [--fresh] BINARY CORPUS_DIR SECONDS SCRATCH [libFuzzer flags...]" >&2
	exit 2
fi
bin=$1 corpus=$2 secs=$3 scratch=$4
shift 4
if [ ! -d "$corpus" ]; then
	echo "fuzz.sh: $corpus: no such corpus directory (seeds live in fuzz/corpus/NAME)" >&2
	exit 2
fi
[ "$fresh" = 1 ] && rm -rf "$scratch/new"
# fuzz/dict/NAME.dict, when there is one: the format's keywords
dict=$(dirname "$corpus")/../dict/$(basename "$corpus").dict
dictarg=()
[ -f "$dict" ] && dictarg=(-dict="$dict")
mkdir -p "$scratch/new" "$scratch/artifacts"
# -close_fd_mask=3: the targets' own stdout/stderr (CLI output, error
# messages for bad input) is noise; libFuzzer's and the sanitizers' reports
# still go to stderr. -timeout: one input taking this long is a finding.
exec "$bin" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 -close_fd_mask=3 \
	-print_final_stats=1 -artifact_prefix="$scratch/artifacts/" "${dictarg[@]}" "$@" "$scratch/new" "$corpus"

#!/bin/bash
# bench.sh NAME: run one benchmark of bench/ (symbolize, plugin, spawn,
# coredump, store, upgrade) from the release build. Each prints ratios against its peers.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
name=${1:-}
if [ -z "$name" ] || [ ! -d "bench/$name" ]; then
	echo "usage: ./dev.sh bench NAME   (NAME: $(ls bench | grep -v meson.build | tr '\n' ' '))" >&2
	exit 2
fi
exec "bench/$name/run.sh" "$PWD/build-release"

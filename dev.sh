#!/bin/bash
# dev.sh: the two set-up commands of the README.
#   ./dev.sh demo   install missing Debian packages, build, run `lifeline demo`
#   ./dev.sh test   install missing Debian packages, build (plain and
#                   ASan+UBSan), run every test; ends with "N passed, N failed"
# Other modes: build (just build), bench NAME (run bench/NAME),
#   fuzz NAME SECONDS (build the libFuzzer targets with clang, ASan+UBSan in
#   build-fuzz, run fuzz_NAME over fuzz/corpus/NAME for SECONDS; new inputs
#   and findings go to build-fuzz/fuzz/scratch/NAME, see fuzz/README.md).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
mode=${1:-}
case "$mode" in
demo | test | build | bench | fuzz) ;;
*)
	echo "usage: ./dev.sh demo|test|build|bench NAME|fuzz NAME SECONDS" >&2
	exit 2
	;;
esac

# Packages: build ones always, test ones for test/bench/fuzz.
want=$(awk -v m="$mode" '!/^#/ && NF { if ($2 == "build" || m == "test" || m == "bench" || m == "fuzz") print $1 }' scripts/packages.txt)
missing=()
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "dev.sh: installing missing Debian packages: ${missing[*]}"
	if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

setup() { # dir [meson options...]
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir" >/dev/null
}

case "$mode" in
build)
	setup build
	;;
demo)
	setup build
	exec build/src/cli/lifeline demo
	;;
test)
	exec scripts/run-tests.sh
	;;
bench)
	setup build-release -Dbuildtype=release
	exec scripts/bench.sh "${2:-}"
	;;
fuzz)
	name=${2:-}
	name=${name#fuzz_}
	secs=${3:-60}
	if [ -z "$name" ] || [ ! -f "fuzz/fuzz_$name.c" ] || ! [[ "$secs" =~ ^[0-9]+$ ]]; then
		echo "usage: ./dev.sh fuzz NAME SECONDS; NAME one of:" $(cd fuzz && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//' | grep -v '^util$') >&2
		exit 2
	fi
	if [ ! -f build-fuzz/build.ninja ]; then
		CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
			-Dtests=false >/dev/null
	fi
	ninja -C build-fuzz "fuzz/fuzz_$name" >/dev/null
	exec scripts/fuzz.sh "build-fuzz/fuzz/fuzz_$name" "fuzz/corpus/$name" "$secs" "build-fuzz/fuzz/scratch/$name"
	;;
esac

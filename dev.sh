#!/bin/bash
# dev.sh: the two set-up commands of the README.
#   ./dev.sh demo   install missing Debian packages, build, run `lifeline demo`
#   ./dev.sh test   install missing Debian packages, build (plain and
#                   ASan+UBSan), run every test; ends with "N passed, N failed"
# Other modes: build (just build), bench NAME (run bench/NAME).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
mode=${1:-}
case "$mode" in
demo | test | build | bench) ;;
*)
	echo "usage: ./dev.sh demo|test|build|bench NAME" >&2
	exit 2
	;;
esac

# Packages: build ones always, test ones for test/bench.
want=$(awk -v m="$mode" '!/^#/ && NF { if ($2 == "build" || m == "test" || m == "bench") print $1 }' scripts/packages.txt)
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
esac

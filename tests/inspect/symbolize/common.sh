# common.sh: shared by the symbolize test scripts (sourced, not run).
# Builds the test program of prog/ with -g -O2 into $T (a temporary
# directory removed at exit) and gives small assertion helpers.
set -u
LIFELINE=${LIFELINE:?run through meson test}
SRC=${LL_SOURCE_ROOT:?run through meson test}/tests/inspect/symbolize
CC_TEST=${CC_TEST:-gcc}
T=$(mktemp -d "${TMPDIR:-/tmp}/ll-symtest.XXXXXX")
trap 'rm -rf "$T"' EXIT
# The test binaries are plain (never sanitized) even in the ASan build.
unset LD_PRELOAD
# The index cache of these runs lives in the temporary directory.
mkdir -m 700 "$T/cache"
export LIFELINE_CACHE_DIR=$T/cache
# A sanitizer report must not pass for the "1" of a bad item: make it 86.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=86"

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
need() { command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed (scripts/packages.txt lists it)"; }

# build_prog NAME EXTRA-CFLAGS...: the test program, with libsymtest.so.
build_prog() {
	local name=$1; shift
	[ -e "$T/libsymtest.so" ] || $CC_TEST -g -O2 -fPIC -shared -Wl,--build-id -o "$T/libsymtest.so" "$SRC/prog/lib.c" ||
		fail "building libsymtest.so"
	$CC_TEST -g -O2 -Wl,--build-id "$@" -o "$T/$name" "$SRC/prog/main.c" "$SRC/prog/hash.c" \
		"$SRC/prog/sort.c" -L"$T" -lsymtest -Wl,-rpath,"$T" || fail "building $name"
}

# text_addrs FILE STEP: every STEP-th address of FILE's .text, one per line.
text_addrs() {
	local addr size a
	read -r addr size < <(readelf -SW "$1" | sed 's/^ *\[ *[0-9]*\]//' |
		awk '$1 == ".text" { print $3, $5; exit }')
	[ -n "$addr" ] || return 0
	for ((a = 16#$addr; a < 16#$addr + 16#$size; a += $2)); do printf '0x%x\n' "$a"; done
}

# basenames: turn every "/dir/file:line" into "file:line" (addr2line and
# lifeline may join DWARF directories differently).
basenames() { sed -E 's#^(\?\?|/[^:]*/)?([^/:]*):#\2:#'; }

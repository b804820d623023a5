#!/bin/bash
# sym-debugfile.sh: a stripped binary symbolizes through a separate debug
# file found by build-id (in a private debug root given with --debug-dir or
# $LIFELINE_DEBUG_DIRS) and by .gnu_debuglink (beside it and in .debug/);
# without any debug file it still gives module+offset and says
# "no symbols; install debug info", exit status 1.
. "$(dirname "$0")/common.sh"
need addr2line
need objcopy
need readelf

build_prog full -fPIE -pie
text_addrs "$T/full" 5 > "$T/addrs"
addr2line -a -f -i -e "$T/full" < "$T/addrs" | basenames > "$T/want"

check() { # LABEL LIFELINE-ARGS... (reads $T/addrs)
	local label=$1; shift
	local rc=0
	# Padding between functions is "not covered" (status 1); anything else is wrong.
	"$LIFELINE" symbolize --addr2line --addresses "$@" < "$T/addrs" > "$T/got.raw" 2>"$T/err" || rc=$?
	[ $rc -le 1 ] || { cat "$T/err" >&2; fail "$label: exit status $rc"; }
	basenames < "$T/got.raw" > "$T/got"
	if ! cmp -s "$T/want" "$T/got"; then
		diff "$T/want" "$T/got" | head -20 >&2
		fail "$label: differs from addr2line on the unstripped binary"
	fi
	echo "ok: $label"
}

# 1. by build-id, in a private debug root.
bid=$(readelf -n "$T/full" | awk '/Build ID/{print $3}')
[ -n "$bid" ] || fail "no build-id in the test program"
mkdir -p "$T/dbgroot/.build-id/${bid:0:2}"
objcopy --only-keep-debug "$T/full" "$T/dbgroot/.build-id/${bid:0:2}/${bid:2}.debug"
mkdir -p "$T/bin"
objcopy --strip-all "$T/full" "$T/bin/stripped"
readelf -SW "$T/bin/stripped" | grep -q '\.symtab' && fail "strip left a .symtab"
check "build-id via --debug-dir" --debug-dir "$T/dbgroot" --exe "$T/bin/stripped"
LIFELINE_DEBUG_DIRS="/nonexistent:$T/dbgroot" check "build-id via LIFELINE_DEBUG_DIRS" --exe "$T/bin/stripped"
"$LIFELINE" symbolize --json --debug-dir "$T/dbgroot" --exe "$T/bin/stripped" "$(head -1 "$T/addrs")" > "$T/json"
grep -Eq '"build_id": ?"'"$bid"'"' "$T/json" || fail "JSON lacks the build-id: $(cat "$T/json")"
grep -Eq '"debug_found_by": ?"build-id"' "$T/json" || fail "JSON: debug file not found by build-id: $(cat "$T/json")"

# 2. by .gnu_debuglink: beside the binary, then in .debug/ (no build-id
#    root knows this one: the debug file of another build-id would be refused).
mkdir -p "$T/dl"
objcopy --only-keep-debug "$T/full" "$T/dl/prog.debug"
objcopy --strip-all --add-gnu-debuglink="$T/dl/prog.debug" "$T/full" "$T/dl/prog"
check "debuglink beside the binary" --exe "$T/dl/prog"
mkdir -p "$T/dl/.debug"
mv "$T/dl/prog.debug" "$T/dl/.debug/prog.debug"
check "debuglink in .debug/" --exe "$T/dl/prog"
"$LIFELINE" symbolize --json --exe "$T/dl/prog" "$(head -1 "$T/addrs")" > "$T/json"
grep -Eq '"debug_found_by": ?"debuglink"' "$T/json" || fail "debuglink: not used: $(cat "$T/json")"

# 3. a debuglink file of a different build is refused (build-ids differ).
build_prog other -fPIE -pie -DOTHER_BUILD=1 -O1
objcopy --only-keep-debug "$T/other" "$T/dl/.debug/prog.debug"
if "$LIFELINE" symbolize --exe "$T/dl/prog" "$(sed -n 20p "$T/addrs")" > "$T/out" 2>"$T/err"; then
	grep -q ' at .*\.c:' "$T/out" && fail "used the debug file of another build: $(cat "$T/out")"
fi
echo "ok: a debug file of another build is refused"

# 4. no debug info anywhere: module+offset, the message, exit status 1.
objcopy --strip-all "$T/full" "$T/bare"
a=$(sed -n 10p "$T/addrs")
rc=0
"$LIFELINE" symbolize --exe "$T/bare" "$a" > "$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] || fail "stripped without debug info: exit status $rc, want 1"
grep -q "no symbols; install debug info" "$T/err" || fail "stripped: message missing: $(cat "$T/err")"
grep -q "bare+$a" "$T/out" || fail "stripped: module+offset missing: $(cat "$T/out")"
echo "ok: stripped binary without debug info: $(head -1 "$T/err")"

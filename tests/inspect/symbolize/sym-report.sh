#!/bin/bash
# sym-report.sh: `lifeline symbolize` reads a crash report (lifeline's
# crash reporter frame lines), sanitizer-style `(PATH+0xOFF)` frames and
# glibc backtrace_symbols' `PATH(+0xOFF) [0xADDR]` / `PATH(func+0xOFF)
# [0xADDR]`, from stdin or --report FILE: those lines are echoed with
# file:line and inline frames added, every other line passes through
# unchanged, in order.
. "$(dirname "$0")/common.sh"
need addr2line
need readelf

build_prog pie -fPIE -pie
exe=$T/pie lib=$T/libsymtest.so
sym() { readelf -sW "$1" | awk -v n="$2" '$8 == n {print $2; exit}'; }
h=$(sym "$exe" st_hash_words); s=$(sym "$exe" st_sort_and_sum); l=$(sym "$lib" st_lib_entry)
[ -n "$h" ] && [ -n "$s" ] && [ -n "$l" ] || fail "symbols of the test program not found"
# An offset into each function whose address is in inlined code.
inl_off() { # FILE HEXADDR
	local o
	for ((o = 4; o < 300; o++)); do
		[ "$(addr2line -f -i -e "$1" "$(printf '0x%x' $((16#$2 + o)))" | wc -l)" -gt 2 ] &&
			{ echo $o; return; }
	done
	echo 4
}
ho=$(inl_off "$exe" "$h"); so=$(inl_off "$exe" "$s"); lo=$(inl_off "$lib" "$l")
hx=$(printf '%x' $((16#$h + ho))); sx=$(printf '%x' $((16#$s + so))); lx=$(printf '%x' $((16#$l + lo)))

cat > "$T/report" <<R
*** lifeline: crash report ***
signal 11 (SIGSEGV), SEGV_MAPERR: address not mapped (fault address 0x0)
backtrace:
  #0  0x000055d0e2a01$hx $exe+0x$hx (st_hash_words+$(printf 0x%x $ho))
  #1  0x00007f1234567$lx $lib+0x$lx (st_lib_entry+$(printf 0x%x $lo))
    #2 0x55d0e2a01000 in ?? ($exe+0x$sx)
$exe(+0x$sx) [0x55d0e2a01$sx]
$exe(st_sort_and_sum+$(printf 0x%x $so)) [0x55d0e2a01$sx]
/nonexistent/libgone.so+0x1234
just a line with a+0x12 and /not/absolute path
memory map:
55d0e2a00000-55d0e2a01000 r--p 00000000 08:01 123 $exe
R

check_output() { # FILE
	local out=$1
	# Every input line is there, in order.
	grep -vE '^        ' "$out" > "$T/echoed"
	diff "$T/report" "$T/echoed" >&2 || fail "lines were not passed through unchanged"
	# Frames after the frame lines.
	local key n
	for key in "#0 " "#1 " "#2 " "$exe(+0x$sx)" "$exe(st_sort_and_sum+"; do
		n=$(grep -nF -- "$key" "$out" | head -1 | cut -d: -f1)
		[ -n "$n" ] || fail "line '$key' missing"
		sed -n "$((n + 1))p" "$out" | grep -qE '^        [^ ].* at .*\.[ch]:[0-9]+' ||
			fail "no frame under the line holding '$key'"
	done
	# The frames equal addr2line's for the same module+offset.
	for m in "$exe 0x$hx" "$lib 0x$lx" "$exe 0x$sx"; do
		set -- $m
		want=$(addr2line -f -i -e "$1" "$2" | paste - - | head -1 | awk '{print $1}')
		grep -A1 -F -- "$1+$2" "$out" | grep -q "        $want at " ||
			fail "first frame of $1+$2 is not $want: $(grep -A3 -F -- "$1+$2" "$out")"
	done
	# Inline frames are shown (st_hash_words+0x18 is in inlined code).
	for key in "#0 " "#1 " "$exe(st_sort_and_sum+"; do
		grep -A1 -F -- "$key" "$out" | tail -1 | grep -q "(inlined)" || fail "no inline frame under '$key'"
	done
}

rc=0
"$LIFELINE" symbolize < "$T/report" > "$T/out1" 2>"$T/err" || rc=$?
cat "$T/out1"
check_output "$T/out1"
[ $rc -eq 1 ] || fail "status $rc: the missing module must make it 1"
grep -q "/nonexistent/libgone.so: no such file" "$T/err" || fail "missing module not reported: $(cat "$T/err")"
echo "ok: report on stdin"

rc=0
"$LIFELINE" symbolize --report "$T/report" > "$T/out2" 2>/dev/null || rc=$?
check_output "$T/out2"
cmp -s "$T/out1" "$T/out2" || fail "--report FILE differs from stdin"
echo "ok: --report FILE"

# Only good lines: status 0. JSON keeps every line.
grep -v nonexistent "$T/report" > "$T/good"
"$LIFELINE" symbolize --report "$T/good" > /dev/null || fail "good report: status $?"
"$LIFELINE" symbolize --json --report "$T/good" > "$T/json" || fail "json report: status $?"
[ "$(grep -cE '"(line|input)": ?"' "$T/json")" -eq "$(wc -l < "$T/good")" ] || fail "JSON does not hold every line"
echo "ok: JSON report"

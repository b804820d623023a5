#!/bin/bash
# sym-pid.sh: `lifeline symbolize --pid` on a live process: runtime
# addresses in its PIE executable and in a shared library loaded at a random
# base resolve (through the maps module) to the right module, ELF address,
# function and the same file:line chain addr2line gives for that ELF
# address; the module is found again after its file was deleted; an address
# outside every mapping and a nonexistent pid get a clear message.
. "$(dirname "$0")/common.sh"
need addr2line

build_prog pie -fPIE -pie
cp "$T/pie" "$T/pie-deleted"

start() { # PROGRAM: start it waiting; sets PID and $T/addrs.out
	"$1" wait > "$T/addrs.out" &
	PID=$!
	for _ in $(seq 100); do
		grep -q st_lib_entry "$T/addrs.out" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "the test program did not start"
}
cleanup() { kill "${PID:-}" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

check_process() { # LABEL
	local label=$1 fn addr elf mod
	for fn in st_hash_words st_sort_and_sum st_lib_entry; do
		addr=$(awk -v f=$fn '$1 == f {print $2}' "$T/addrs.out")
		[ -n "$addr" ] || fail "$label: no address printed for $fn"
		# The function start and a few bytes into it (inlined code).
		for off in 0 16 40; do
			a=$(printf '0x%x' $((addr + off)))
			"$LIFELINE" symbolize --json --pid "$PID" "$a" > "$T/json" 2>"$T/err" ||
				fail "$label: $fn+$off: status $?: $(cat "$T/err")"
			grep -Eq '"symbol": ?"'$fn'"' "$T/json" || fail "$label: $a is not in $fn: $(cat "$T/json")"
			elf=$(sed -nE 's/.*"elf_address": ?"(0x[0-9a-f]+)".*/\1/p' "$T/json")
			mod=$(sed -nE 's/.*"module": ?"([^"]+)".*/\1/p' "$T/json")
			case $fn in
			st_lib_entry) [ "$mod" = "$T/libsymtest.so" ] || fail "$label: module of $fn is '$mod'" ;;
			esac
			[ "$off" -ne 0 ] || [ "$(printf '%d' "$elf")" -ne "$((addr))" ] ||
				fail "$label: $fn: ELF address equals the runtime address (not relocated?)"
			addr2line -f -i -e "$mod" "$elf" | basenames > "$T/want"
			"$LIFELINE" symbolize --addr2line --pid "$PID" "$a" | basenames > "$T/got"
			cmp -s "$T/want" "$T/got" ||
				{ diff "$T/want" "$T/got" >&2; fail "$label: $fn+$off differs from addr2line on $mod $elf"; }
		done
	done
	echo "ok: $label: PIE and shared-library addresses equal addr2line's"
}

start "$T/pie"
check_process "live process"

# Items that fail do not stop the others; status 1 at the end.
a=$(awk '$1 == "st_hash_words" {print $2}' "$T/addrs.out")
rc=0
"$LIFELINE" symbolize --pid "$PID" 0x10 "$a" zzz > "$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] || fail "bad items: status $rc, want 1"
grep -q "0x10: outside every mapping of process $PID" "$T/err" || fail "no 'outside every mapping': $(cat "$T/err")"
grep -q "'zzz': not an address" "$T/err" || fail "no 'not an address': $(cat "$T/err")"
grep -q "st_hash_words+0x0" "$T/out" || fail "the good address was not answered: $(cat "$T/out")"
echo "ok: outside every mapping / garbage items reported, the others answered"
kill "$PID"; wait "$PID" 2>/dev/null

# A module deleted after it was mapped is read through /proc/PID/map_files.
start "$T/pie-deleted"
rm -f "$T/pie-deleted"
a=$(awk '$1 == "st_sort_and_sum" {print $2}' "$T/addrs.out")
"$LIFELINE" symbolize --pid "$PID" "$a" > "$T/out" 2>"$T/err" || fail "deleted module: $(cat "$T/err")"
grep -q "st_sort_and_sum+0x0" "$T/out" || fail "deleted module not symbolized: $(cat "$T/out")"
grep -q "sort.c:" "$T/out" || fail "deleted module: no line: $(cat "$T/out")"
echo "ok: deleted module symbolized through map_files"
kill "$PID"; wait "$PID" 2>/dev/null

# A pid that does not exist.
rc=0
"$LIFELINE" symbolize --pid 2147483647 0x1000 > "$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] || fail "nonexistent pid: status $rc, want 1"
grep -q "no such process" "$T/err" || fail "nonexistent pid: $(cat "$T/err")"
echo "ok: nonexistent pid: $(cat "$T/err")"

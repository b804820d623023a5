#!/bin/bash
# sym-badinput.sh: bad input to `lifeline symbolize` gets a clear message
# naming the item, the other items are still answered, the exit status is 1
# (2 for usage errors), and nothing crashes: a non-ELF file, a truncated
# ELF, a directory, a missing file, garbage on stdin, addresses outside the
# module, a zero-length file.
. "$(dirname "$0")/common.sh"

build_prog pie -fPIE -pie
good=$(readelf -sW "$T/pie" | awk '$8 == "st_checksum" {print "0x" $2; exit}')
[ -n "$good" ] || fail "no st_checksum symbol"

expect() { # WANT-STATUS MESSAGE-REGEX -- ARGS... (stdin from $T/in)
	local want=$1 msg=$2 rc=0; shift 3
	"$LIFELINE" symbolize "$@" < "$T/in" > "$T/out" 2>"$T/err" || rc=$?
	[ $rc -eq "$want" ] || fail "symbolize $*: status $rc, want $want; stderr: $(cat "$T/err")"
	[ $rc -lt 128 ] || fail "symbolize $*: crashed"
	grep -Eq -- "$msg" "$T/err" || fail "symbolize $*: message '$msg' missing: $(cat "$T/err")"
	echo "ok: $* -> $(head -1 "$T/err")"
}
: > "$T/in"

printf 'hello, not an ELF\n' > "$T/text"
expect 1 "text: not an ELF file" -- --exe "$T/text" 0x10
head -c 3000 "$T/pie" > "$T/trunc"
rc=0; "$LIFELINE" symbolize --exe "$T/trunc" "$good" > "$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] || fail "truncated ELF: status $rc"
echo "ok: truncated ELF -> $(head -1 "$T/err")"
: > "$T/empty"
expect 1 "empty: not an ELF file" -- --exe "$T/empty" 0x10
expect 1 "no such file" -- --exe "$T/missing" 0x10
expect 1 "not a regular file" -- --exe /dev/null 0x10
expect 1 "is a directory" -- --exe "$T" 0x10

# Garbage among addresses on stdin: reported, the rest answered.
printf '%s\nzzz\n\n0xZZ\n%s\n%s\n' "$good" "$(head -c 300 /dev/urandom | tr -d '\n\0' | head -c 200)" "$good" > "$T/in"
expect 1 "'zzz': not an address" -- --exe "$T/pie"
grep -q "'0xZZ': not an address" "$T/err" || fail "0xZZ not reported"
[ "$(grep -c 'st_checksum+0x0' "$T/out")" -eq 2 ] || fail "good addresses not both answered: $(cat "$T/out")"
: > "$T/in"

# An address past every section: reported, the good one still answered.
expect 1 "0xfffffffffff0: .*no symbol or line information" -- --exe "$T/pie" 0xfffffffffff0 "$good"
grep -q "st_checksum+0x0" "$T/out" || fail "good address not answered"

# Usage errors.
expect 2 "not a process id" -- --pid abc 0x10
expect 2 "not both" -- --pid 1 --exe "$T/pie" 0x10
expect 2 "need --exe" -- 0x1234
expect 2 "give a count" -- --disasm 0 --exe "$T/pie" 0x10

# Random bytes as a report: passed through, no crash, status 0.
head -c 65536 /dev/urandom > "$T/in"
rc=0; "$LIFELINE" symbolize > /dev/null 2>&1 < "$T/in" || rc=$?
[ $rc -le 1 ] || fail "random report: status $rc"
echo "ok: random bytes as a report"

# Random bytes with an ELF header as a module.
{ head -c 64 "$T/pie"; head -c 20000 /dev/urandom; } > "$T/fake"
for a in 0x0 0x1000 0x1040 "$good"; do
	rc=0; "$LIFELINE" symbolize --disasm 5 --exe "$T/fake" "$a" > /dev/null 2>&1 || rc=$?
	[ $rc -le 1 ] || fail "ELF header + random bytes: status $rc at $a"
done
echo "ok: ELF header + random bytes"

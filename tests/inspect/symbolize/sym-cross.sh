#!/bin/bash
# sym-cross.sh: a binary of another architecture (cross-compiled for
# AArch64 and little-endian MIPS32) symbolizes and disassembles on this
# x86_64 machine: the architecture comes from its ELF header. Skipped when
# neither cross compiler is installed.
. "$(dirname "$0")/common.sh"
need readelf
need addr2line

ran=0
cross() { # LABEL COMPILER ARCH MNEMONIC-REGEX
	local label=$1 cc=$2 arch=$3 mn=$4 addr
	if ! command -v "$cc" >/dev/null 2>&1; then
		echo "note: $cc missing, $label not checked"
		return 0
	fi
	# Without the cross libc (a Recommends of the compiler), link bare.
	"$cc" -g -O2 -static -o "$T/tiny-$label" "$SRC/cross/tiny.c" 2>"$T/cc.err" ||
		"$cc" -g -O2 -nostdlib -static -Wl,-e,tiny_sum -o "$T/tiny-$label" "$SRC/cross/tiny.c" \
			2>>"$T/cc.err" ||
		fail "$label: cross compile failed: $(cat "$T/cc.err")"
	addr=$(readelf -sW "$T/tiny-$label" | awk '$8 == "tiny_sum" {print "0x" $2; exit}')
	[ -n "$addr" ] || fail "$label: no tiny_sum symbol"
	a=$(printf '0x%x' $((addr + 8)))
	"$LIFELINE" symbolize --disasm 9 --exe "$T/tiny-$label" "$a" > "$T/out" 2>"$T/err" ||
		fail "$label: status $?: $(cat "$T/err")"
	cat "$T/out"
	grep -q "tiny_sum+0x8" "$T/out" || fail "$label: function not named"
	grep -q "tiny.c:" "$T/out" || fail "$label: no file:line"
	grep -Eq "^ *=> 0x0*${a#0x} " "$T/out" || fail "$label: the address's instruction is not marked"
	grep -Eq "  ($mn) " "$T/out" || fail "$label: no $arch mnemonics in the disassembly"
	[ "$(grep -c '^ *\(=> \)\?0x' "$T/out")" -ge 9 ] || fail "$label: fewer than 9 instructions"
	"$LIFELINE" symbolize --json --disasm 3 --exe "$T/tiny-$label" "$a" | grep -Eq '"arch": ?"'$arch'"' ||
		fail "$label: JSON arch is not $arch"
	# Every instruction of tiny_sum: the same chain as addr2line's.
	size=$(readelf -sW "$T/tiny-$label" | awk '$8 == "tiny_sum" {print $3; exit}')
	for ((o = 0; o < size; o += 4)); do printf '0x%x\n' $((addr + o)); done > "$T/xa"
	addr2line -a -f -i -e "$T/tiny-$label" < "$T/xa" | basenames > "$T/want"
	"$LIFELINE" symbolize --addr2line --addresses --exe "$T/tiny-$label" < "$T/xa" 2>/dev/null |
		basenames > "$T/got"
	cmp -s "$T/want" "$T/got" || { diff "$T/want" "$T/got" | head >&2; fail "$label: differs from addr2line"; }
	echo "ok: $label: named, file:line (= addr2line on $(wc -l < "$T/xa") addresses), $arch disassembly"
	ran=$((ran + 1))
}

cross aarch64 aarch64-linux-gnu-gcc aarch64 'ldr|ldp|add|adrp|ret|cmp|madd|asr|mov|str|stp|ldrsw|b\.[a-z]+|cbz|cbnz'
cross mipsel mipsel-linux-gnu-gcc mips32el 'lw|addu|addiu|sll|sra|jr|beqz|bnez|move|lui|nop|sw|slt|subu|bne|beq'
# An architecture capstone 4 cannot decode (RISC-V): symbolized, and the
# disassembly says why not, status 1. (e_machine patched to EM_RISCV.)
build_prog host -fPIE -pie
cp "$T/host" "$T/riscv"
printf '\xf3\x00' | dd of="$T/riscv" bs=1 seek=18 conv=notrunc status=none
a=$(readelf -sW "$T/host" | awk '$8 == "st_checksum" {print "0x" $2; exit}')
rc=0
"$LIFELINE" symbolize --disasm 5 --exe "$T/riscv" "$a" > "$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] || fail "riscv: status $rc, want 1"
grep -q "st_checksum+0x0" "$T/out" || fail "riscv: not symbolized: $(cat "$T/out")"
grep -q "capstone 4 has no RISC-V support" "$T/err" || fail "riscv: no clear message: $(cat "$T/err")"
echo "ok: RISC-V: $(cat "$T/err")"

[ $ran -gt 0 ] || skip "no cross compiler (gcc-aarch64-linux-gnu, gcc-mipsel-linux-gnu) installed"

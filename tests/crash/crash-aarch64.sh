#!/bin/bash
# crash-aarch64.sh: the crash reporter on aarch64, under qemu-user.
#
# Cross-compiles crashme-linked and the crash module from the source tree
# with aarch64-linux-gnu-gcc and runs three crashes under qemu-aarch64.
# Checks the report: signal and si_code, the aarch64 register dump, the
# first frame naming the crashing function (CFI unwinding through the aarch64
# signal frame), the stack-overflow diagnosis, and that addr2line (binutils
# reads aarch64 ELF) names the same function at the printed module offset.
# The exit status is not checked: qemu-user 7.2 itself trips an internal
# assertion when the guest re-raises the signal from its handler.
# Skipped (77) when the cross compiler or qemu-aarch64 is not installed
# (Debian packages gcc-aarch64-linux-gnu and qemu-user).
set -u
src=${LL_SOURCE_ROOT:?LL_SOURCE_ROOT not set}
for tool in aarch64-linux-gnu-gcc qemu-aarch64 addr2line; do
	if ! command -v "$tool" >/dev/null; then
		echo "skipped: $tool not installed (Debian: gcc-aarch64-linux-gnu, qemu-user, binutils)"
		exit 77
	fi
done
sysroot=/usr/aarch64-linux-gnu
[ -d "$sysroot/lib" ] || { echo "skipped: no aarch64 sysroot in $sysroot"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/ll_config.h"
if ! aarch64-linux-gnu-gcc -std=c17 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror \
	-I"$tmp" -I"$src/include" -I"$src/src" -DLL_CRASHME_LINKED \
	"$src/examples/crash/crashme.c" "$src"/src/crash/*.c \
	-o "$tmp/crashme-linked" -lpthread -ldl 2>"$tmp/cc.log"; then
	echo "FAIL: the crash module does not build for aarch64:"
	cat "$tmp/cc.log"
	exit 1
fi

fail=0
check() { # kind signal-line-fragment function [extra fragment]
	local kind=$1 sig=$2 func=$3 extra=${4:-} out frame mod off a2l
	out=$(cd "$tmp" && LIFELINE_CRASH_MAPS=0 qemu-aarch64 -L "$sysroot" ./crashme-linked "$kind" 2>&1)
	printf '%s\n' "---- $kind ----" "$out" | head -40
	grep -q '^==== lifeline crash report ====' <<<"$out" || { echo "FAIL $kind: no report"; fail=1; return; }
	grep -q "^Signal: .*$sig" <<<"$out" || { echo "FAIL $kind: signal line lacks '$sig'"; fail=1; }
	grep -qE '^  sp +0x[0-9a-f]{16}  pc +0x[0-9a-f]{16}' <<<"$out" || { echo "FAIL $kind: no aarch64 sp/pc registers"; fail=1; }
	grep -qE ' x29 +0x[0-9a-f]{16}' <<<"$out" || { echo "FAIL $kind: no x29 register"; fail=1; }
	[ -z "$extra" ] || grep -q "$extra" <<<"$out" || { echo "FAIL $kind: report lacks '$extra'"; fail=1; }
	frame=$(grep -m1 -E '^  #[0-9]+ +0x[0-9a-f]+ [^ ]*/crashme-linked\+0x' <<<"$out")
	[[ "$frame" == *"($func+0x"* ]] || { echo "FAIL $kind: first own frame is '$frame', not $func"; fail=1; return; }
	mod=$(awk '{print $3}' <<<"$frame")
	off=${mod##*+}
	a2l=$(addr2line -f -e "$tmp/crashme-linked" "$off" | head -1)
	[ "${a2l%%.*}" = "$func" ] || { echo "FAIL $kind: addr2line says '$a2l' at $off, report says $func"; fail=1; }
}
check null "SIGSEGV (11), si_code 1 SEGV_MAPERR" crash_null_deref "NULL pointer dereference"
check stack "SIGSEGV (11)" recurse_forever "STACK OVERFLOW"
check abort "SIGABRT (6), si_code -6 SI_TKILL" crash_abort "Sender:"
rm -f "$tmp"/qemu_*.core
[ $fail -eq 0 ] && echo "aarch64: all checks passed"
exit $fail

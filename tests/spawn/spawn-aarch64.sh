#!/bin/bash
# spawn-aarch64.sh: the spawn module's vfork child on aarch64.
#
# ll_spawn's child makes raw system calls with inline `svc 0` on aarch64
# (src/spawn/spawn.c, child_sys). This cross-compiles spawn.c with
# aarch64-linux-gnu-gcc (-Werror) and checks in the disassembly that the
# child's functions (child_main and what it calls) contain no call (`bl`)
# to anything: no PLT, no libc wrapper, in the child. Not run under qemu:
# qemu-user turns CLONE_VM|CLONE_VFORK into a plain fork, so the child's
# errno hand-over could not be observed there.
# Skipped (77) when the cross tools are missing (Debian: gcc-aarch64-linux-gnu).
set -u
src=${LL_SOURCE_ROOT:?LL_SOURCE_ROOT not set}
for tool in aarch64-linux-gnu-gcc aarch64-linux-gnu-objdump; do
	if ! command -v "$tool" >/dev/null; then
		echo "skipped: $tool not installed (Debian: gcc-aarch64-linux-gnu)"
		exit 77
	fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "#define LL_SANITIZED 0" >"$tmp/ll_config.h"
if ! aarch64-linux-gnu-gcc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror \
	-I"$tmp" -I"$src/include" -I"$src/src" -c "$src/src/spawn/spawn.c" -o "$tmp/spawn.o" 2>"$tmp/cc.log"; then
	echo "FAIL: src/spawn/spawn.c does not build for aarch64:"
	cat "$tmp/cc.log"
	exit 1
fi
aarch64-linux-gnu-objdump -dr "$tmp/spawn.o" >"$tmp/dis.txt"
fail=0
child_fns="child_main close_gaps_range close_gaps_procfs close_gaps_loop close_others apply_fd_map reset_signals kept in_set"
for fn in $child_fns; do
	body=$(awk -v f="<$fn>:" '$2 == f {p=1; next} p && /^$/ {p=0} p' "$tmp/dis.txt")
	[ -n "$body" ] || continue   # inlined into child_main
	# Targets of calls and branches to other symbols: a `bl`/`b` to <name>,
	# or a CALL26/JUMP26 relocation naming one. Only the child's own
	# functions are allowed.
	targets=$( (grep -oE '\sb?l?\s+[0-9a-f]+ <[^>+]+' <<<"$body" | sed 's/.*<//';
		    grep -oE 'R_AARCH64_(CALL|JUMP)26\s+\S+' <<<"$body" | awk '{print $2}') | sort -u)
	bad=""
	for t in $targets; do
		t=${t%%[-+]*}
		[ "$t" = "$fn" ] && continue
		case " $child_fns " in *" $t "*) ;; *) bad="$bad $t" ;; esac
	done
	if [ -n "$bad" ]; then
		echo "FAIL: $fn (runs in the vfork child) calls out to:$bad"
		fail=1
	else
		echo "$fn: $(grep -c 'svc' <<<"$body") svc, calls only child functions"
	fi
done
grep -q '<child_main>:' "$tmp/dis.txt" || { echo "FAIL: child_main not found"; fail=1; }
[ $fail -eq 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $fail

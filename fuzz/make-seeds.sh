#!/bin/bash
# make-seeds.sh: (re)make the seed corpora of fuzz/corpus/ from real files:
# cores and store records of real crashes (the core_pattern helper stores
# them, so the kernel's own cores and the helper's own records), real ELF
# files of three architectures, real /proc files of live processes, real
# crash reports (lifeline's crash reporter, glibc backtrace_symbols,
# AddressSanitizer) and the shipped coredump.conf example.
#   fuzz/make-seeds.sh LIFELINE_BUILD_DIR   (e.g. build: a plain build)
# Root only: it points core_pattern at the helper for a moment, under the
# shared lock /tmp/lifeline-global.lock, and puts it back on every path.
# Seeds stay small (coredump_filter keeps the cores to the stack and the
# written pages): a few KB to a few hundred KB each.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
build=$(readlink -f "${1:?usage: fuzz/make-seeds.sh LIFELINE_BUILD_DIR}")
lifeline=$build/src/cli/lifeline
preload=$build/src/preload/crash/liblifeline-crash.so
[ -x "$lifeline" ] || { echo "make-seeds.sh: no $lifeline (build first)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "make-seeds.sh: needs root (core_pattern)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/lifeline-seeds.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
C=${CORPUS:-corpus} # CORPUS=DIR: write the seeds elsewhere
mkdir -p $C/helper $C/core $C/record $C/config $C/report $C/procinfo $C/fds $C/elf

gcc -O1 -g -pthread -o "$tmp/crash" seeds/crash.c
gcc -O2 -g -static -nostdlib -o "$tmp/tiny" seeds/tiny.c
aarch64-linux-gnu-gcc -O2 -g -static -nostdlib -o "$tmp/tiny-aarch64" seeds/tiny.c
mipsel-linux-gnu-gcc -O2 -g -static -nostdlib -o "$tmp/tiny-mipsel" seeds/tiny.c

# --- cores and records, through the real helper -------------------------
mkdir -m 0755 "$tmp/store"
(
	exec 9>/tmp/lifeline-global.lock
	flock 9
	old_pattern=$(cat /proc/sys/kernel/core_pattern)
	old_limit=$(cat /proc/sys/kernel/core_pipe_limit)
	restore() {
		printf '%s\n' "$old_pattern" >/proc/sys/kernel/core_pattern
		printf '%s\n' "$old_limit" >/proc/sys/kernel/core_pipe_limit
	}
	trap restore EXIT
	printf '|%s coredump --store %s %%P %%u %%g %%s %%t %%c %%h %%e %%F %%d\n' "$lifeline" "$tmp/store" \
		>/proc/sys/kernel/core_pattern
	echo 4 >/proc/sys/kernel/core_pipe_limit
	# ulimit -s: a thread's stack is RLIMIT_STACK big, 8 MiB of core by default
	for how in segv threads abort; do
		(cd "$tmp" && sh -c 'echo 0x11 >/proc/self/coredump_filter; ulimit -c unlimited; ulimit -s 128; exec ./crash "$1"' sh "$how") \
			>/dev/null 2>&1 || true
	done
	(cd "$tmp" && sh -c 'echo 0x11 >/proc/self/coredump_filter; ulimit -c unlimited; exec ./tiny') >/dev/null 2>&1 || true
	sleep 2 # the helper finishes after the crashed process is reaped
)
for rec in "$tmp"/store/*.json; do
	id=$(basename "$rec" .json)
	comm=$(jq -r .comm "$rec")
	sig=$(jq -r .signal_name "$rec" | tr 'A-Z' 'a-z')
	name=$comm-$(jq -r '.cmdline[1] // "main"' "$rec")-$sig
	zst=$tmp/store/$id.zst maps=$tmp/store/$id.maps
	[ -f "$maps" ] || maps=/dev/null
	# record: <id>.json NUL <id>.maps [NUL <id>.zst when small]
	{ cat "$rec"; printf '\0'; cat "$maps"; } >$C/record/$name
	[ -f "$zst" ] && [ "$(stat -c %s "$zst")" -le 8192 ] &&
		{ cat "$rec"; printf '\0'; cat "$maps"; printf '\0'; cat "$zst"; } >$C/record/$name-zst
	if [ -f "$zst" ]; then
		zstd -qdc "$zst" >"$tmp/$name.core"
		# core: the record as the analysis gets it (maps merged back) NUL the core
		{ jq -c -s '.[0] + {maps: (.[1].maps // .[0].maps)}' "$rec" "$maps" 2>/dev/null || cat "$rec"
		  printf '\0'; cat "$tmp/$name.core"; } >$C/core/$name
		# the helper's stream and build-id reader: the core as the kernel sends it
		case $name in crash-segv-* | tiny-*) cp "$tmp/$name.core" $C/helper/core-$name ;; esac
	fi
done
# a core cut short (the kernel stopped writing) and one without its record
big=$tmp/crash-segv-sigsegv.core
head -c 65536 "$big" >$C/helper/core-cut-64k
head -c 40000 "$big" >$C/core/core-cut-no-record
# files the crashing process maps: build-ids of three architectures and classes
cp "$tmp/tiny" $C/helper/elf-x86_64
cp "$tmp/tiny-mipsel" $C/helper/elf-mipsel32
cp "$tmp/tiny-aarch64" $C/helper/elf-aarch64
strip -o "$tmp/crash-stripped" "$tmp/crash" && cp "$tmp/crash-stripped" $C/helper/elf-pie-stripped

# --- ELF and DWARF for the symbolizer ----------------------------------
cp "$tmp/tiny" $C/elf/x86_64-static-g
cp "$tmp/tiny-aarch64" $C/elf/aarch64-static-g
cp "$tmp/tiny-mipsel" $C/elf/mipsel-static-g
cp "$tmp/crash" $C/elf/x86_64-pie-g

# --- /proc of live processes -------------------------------------------
proc_seed() { # pid out
	(cd /proc/$1 && for f in status stat auxv cmdline cgroup limits maps; do
		printf '==> %s <==\n' "$f"; head -c 65536 "$f"; printf '\n'
	done
	printf '==> exe <==\n%s\n\n==> cwd <==\n%s\n' "$(readlink exe)" "$(readlink cwd)") >"$2"
}
fds_seed() { # pid out
	(cd /proc/$1 && printf '==> stat <==\n' && cat stat && printf '\n' &&
	for f in $(ls fd | sort -n); do printf '==> fd/%s <==\n%s\n\n' "$f" "$(readlink fd/$f)"; done &&
	for f in $(ls fdinfo | sort -n); do printf '==> fdinfo/%s <==\n' "$f"; cat fdinfo/$f; printf '\n'; done &&
	for f in tcp tcp6 udp udp6 unix; do printf '==> net/%s <==\n' "$f"; head -n 24 net/$f; printf '\n'; done) >"$2"
}
cp /bin/sleep "$tmp/a) b (c"
"$tmp/a) b (c" 30 &
odd=$!
sleep 0.2
proc_seed $odd $C/procinfo/comm-with-parens
proc_seed self $C/procinfo/self
kill $odd
python3 - "$tmp" >/dev/null 2>&1 <<'PY' &
import os, socket, sys, time
t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen()
c = socket.create_connection(t.getsockname()); a, _ = t.accept()
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.bind(("::1", 0))
x = socket.socket(socket.AF_UNIX); x.bind(sys.argv[1] + "/sock with spaces"); x.listen()
r, w = os.pipe(); ev = os.eventfd(0) if hasattr(os, "eventfd") else None
f = open("/etc/hostname"); time.sleep(30)
PY
py=$!
sleep 1
fds_seed $py $C/fds/python-sockets
fds_seed $$ $C/fds/shell
kill $py

# --- crash reports ------------------------------------------------------
(cd "$tmp" && LD_PRELOAD=$preload ./crash segv) 2>$C/report/lifeline-crash-reporter || true
(cd "$tmp" && LD_PRELOAD=$preload ./crash threads) 2>$C/report/lifeline-crash-reporter-threads || true
cat >"$tmp/bt.c" <<'C'
#include <execinfo.h>
#include <unistd.h>
int main(void) { void *v[16]; int n = backtrace(v, 16); backtrace_symbols_fd(v, n, 2); return 0; }
C
gcc -O0 -g -rdynamic -o "$tmp/bt" "$tmp/bt.c" && "$tmp/bt" 2>$C/report/glibc-backtrace-symbols
cat >"$tmp/uaf.c" <<'C'
#include <stdlib.h>
int main(void) { char *p = malloc(8); free(p); return p[1]; }
C
gcc -O0 -g -fsanitize=address -o "$tmp/uaf" "$tmp/uaf.c" && { "$tmp/uaf" 2>$C/report/asan-use-after-free || true; }
# the JSON the two formats start with: odd first byte = --json
for f in $C/report/*; do
	case $f in *.json) continue ;; esac
	{ printf 'j'; cat "$f"; } >"$f.json"
	{ printf 't'; cat "$f"; } >"$f.tmp" && mv "$f.tmp" "$f"
done

# --- the configuration file ----------------------------------------------
cp ../docs/coredump.conf.example $C/config/example
printf '[Coredump]\nStorage=external\nCompress=yes\nProcessSizeMax=2G\nExternalSizeMax=512M\nMaxUse=4G\nKeepFree=1G\nRateLimitBurst=5\nRateLimitIntervalSec=5min\nIdleTimeoutSec=30s\nTimeoutSec=1h\nMaxAgeSec=30d\n' >$C/config/every-key
printf '# a comment\n[Coredump]\n; another\nStorage = none\nCompressionLevel = 19\n' >$C/config/none
du -sh $C/* | sort -h

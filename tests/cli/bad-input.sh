#!/bin/bash
# bad-input.sh: what an operator gets from bad input to maps, symbolize,
# install, stale and fds: a clear message naming the item, the documented
# exit status (1 an item failed, 2 usage error), never a crash, a sanitizer
# report, a hang or raw control bytes on the terminal; --json output that is
# valid JSON (and valid UTF-8) or nothing; output errors (a full disk, a
# closed stdout) reported, and a closed pipe ending us quietly.
set -u
L=${LIFELINE:?LIFELINE not set}
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
out=$tmp/out err=$tmp/err

# run [stdin-file] -- args...: runs lifeline (10 s at most) into $out/$err, sets $rc.
run() {
	local in=/dev/null
	if [ "$1" != "--" ]; then in=$1; shift; fi
	shift
	timeout 10 "$L" "$@" <"$in" >"$out" 2>"$err"
	rc=$?
}
bad() { echo "FAIL: $*"; sed 's/^/    err: /' "$err" | head -5 | cat -v; fail=1; }
# sane: no crash, no sanitizer report, no hang, no raw control byte on stderr.
sane() {
	local what=$1
	if [ "$rc" -ge 124 ]; then bad "$what: killed or hung (exit $rc)"; return 1; fi
	if grep -Eq 'runtime error|AddressSanitizer|LeakSanitizer|Segmentation' "$err"; then
		bad "$what: sanitizer report or crash"; return 1
	fi
	if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$err"; then bad "$what: raw control bytes on stderr"; return 1; fi
	return 0
}
# expect STATUS PHRASE [stdin] -- ARGS...: the status and a phrase of stderr.
expect() {
	local want=$1 phrase=$2
	shift 2
	run "$@"
	[ "$1" = "--" ] || shift
	shift
	local what
	what=$(printf 'lifeline %s' "$*" | tr '\n' ' ' | cut -c1-90 | cat -v)
	sane "$what" || return
	if [ "$rc" != "$want" ]; then bad "$what: exit $rc, expected $want"; return; fi
	if [ -n "$phrase" ] && ! grep -qF -- "$phrase" "$err"; then bad "$what: stderr lacks '$phrase'"; return; fi
	echo "ok: $what"
}
# json_ok: stdout is empty or one valid JSON document in valid UTF-8.
json_ok() {
	local what=$1
	[ -s "$out" ] || { echo "ok: $what: nothing on stdout"; return; }
	if ! iconv -f UTF-8 -t UTF-8 "$out" >/dev/null 2>&1; then bad "$what: JSON output is not UTF-8"; return; fi
	if command -v jq >/dev/null && ! jq -e . "$out" >/dev/null 2>&1; then bad "$what: invalid JSON"; return; fi
	echo "ok: $what: valid JSON"
}

sleep 300 & live=$!; pids+=($live)
(sleep 0.1 & exec sleep 300) & zombie_parent=$!; pids+=($zombie_parent)
gone=4000000 # above pid_max's default ceiling: never a process
kthread=2    # kthreadd
mkfifo "$tmp/fifo"
: >"$tmp/empty"
ln -s "$tmp/loop" "$tmp/loop"
mkdir "$tmp/dir"
cp /bin/true "$tmp/true.so"
esc=$'\e[31mred\e]0;title\a'

echo "== options, for every command"
for cmd in maps symbolize install stale fds; do
	expect 2 "unknown option '--no-such-option'" -- "$cmd" --no-such-option 1 2
	expect 2 "unknown option '-Q'" -- "$cmd" -Q 1 2
	expect 2 "option '--help' takes no value" -- "$cmd" --help=yes
done
expect 2 "option '--json' takes no value" -- maps --json=1 1
expect 2 "option '--exe' needs a value" -- symbolize --exe
expect 2 "option '--pid' needs a value" -- symbolize --pid
expect 2 "option '--report' needs a value" -- symbolize --report
expect 2 "option '--disasm' needs a value" -- symbolize --exe /bin/true --disasm
expect 2 "option '--port' needs a value" -- fds --port
expect 2 "negative number" -- maps -5
expect 2 "negative number" -- stale -5
expect 2 "negative number" -- fds -5
expect 2 "negative number" -- symbolize --exe /bin/true -5

echo "== missing and extra arguments"
expect 2 "give one or more PIDs" -- maps
expect 2 "no PID given" -- fds
expect 2 "expected SRC and DST" -- install
expect 2 "expected SRC and DST" -- install a
expect 2 "expected SRC and DST" -- install a b c
expect 2 "addresses need --exe FILE" -- symbolize 0x10
expect 2 "not both" -- symbolize --exe /bin/true --pid 1 0x10
expect 2 "--report takes no" -- symbolize --report x --exe /bin/true
expect 2 "--port takes no PID" -- fds --port 80 1
expect 2 "the path is empty" -- symbolize --exe "" 0x10
expect 2 "the path is empty" -- symbolize --report ""
expect 2 "SRC is an empty path" -- install "" x
expect 2 "DST is an empty path" -- install /bin/true ""

echo "== garbage numbers"
for n in 12abc 0 99999999999 0x "" " 1"; do
	expect 1 "is not a process id" -- maps "$n"
	expect 2 "is not a process id" -- stale "$n"
	expect 2 "invalid PID" -- fds "$n"
	expect 2 "not a process id" -- symbolize --pid "$n" 0x10
	expect 2 "invalid port" -- fds --port "$n"
done
expect 2 "give a count of instructions" -- symbolize --exe /bin/true --disasm 12abc 0x10
expect 2 "give a count of instructions" -- symbolize --exe /bin/true --disasm 0 0x10
expect 2 "invalid port" -- fds --port 65536
expect 1 "not an address" -- symbolize --exe /bin/true 12xyz
expect 1 "not an address" -- symbolize --exe /bin/true 0x
expect 1 "not an address" -- symbolize --exe /bin/true 0x11112222333344445
# one bad pid among good ones: the others are still answered
run -- maps "$live" 12abc "$live"
sane "maps good bad good" && [ "$rc" = 1 ] && [ "$(grep -c "^pid $live" "$out")" = 2 ] &&
	echo "ok: maps answers the good pids around a bad one" || bad "maps good bad good: exit $rc"

echo "== processes: exited, kernel thread, zombie, pid 1"
zombie=$(ps -o pid= --ppid "$zombie_parent" | tr -d ' ')
expect 1 "pid $gone: no such process" -- maps "$gone"
expect 1 "no such process" -- stale "$gone"
expect 1 "PID $gone" -- fds "$gone"
expect 1 "process $gone: no such process" -- symbolize --pid "$gone" 0x10
expect 0 "" -- maps "$kthread"
grep -q "has no mappings" "$out" || bad "maps of a kernel thread does not say it has no mappings"
expect 0 "" -- stale "$kthread"
expect 0 "" -- fds "$kthread"
expect 1 "has no memory mappings" -- symbolize --pid "$kthread" 0x10
if [ -n "$zombie" ]; then
	expect 0 "" -- maps "$zombie"
	expect 0 "" -- fds "$zombie"
	expect 0 "" -- stale "$zombie"
	expect 1 "has no memory mappings" -- symbolize --pid "$zombie" 0x10
else
	echo "note: no zombie could be made; zombie cases skipped"
fi
for cmd in maps stale fds; do
	run -- "$cmd" 1
	sane "$cmd 1" && { [ "$rc" = 0 ] || [ "$rc" = 1 ]; } && echo "ok: $cmd 1 (exit $rc)" || bad "$cmd 1: exit $rc"
done

echo "== paths: directories, FIFOs (no hang), devices, empty, symlink loops, missing, too long"
expect 1 "is a directory" -- symbolize --exe "$tmp/dir" 0x10
expect 1 "not a regular file" -- symbolize --exe "$tmp/fifo" 0x10
expect 1 "not a regular file" -- symbolize --exe /dev/zero 0x10
expect 1 "not a regular file" -- symbolize --exe /dev/null 0x10
expect 1 "not an ELF file" -- symbolize --exe "$tmp/empty" 0x10
expect 1 "symbolic link loop" -- symbolize --exe "$tmp/loop" 0x10
expect 1 "no such file" -- symbolize --exe "$tmp/missing" 0x10
expect 2 "no such directory" -- symbolize --exe /bin/true --debug-dir "$tmp/missing" 0x10
expect 2 "not a directory" -- symbolize --exe /bin/true --debug-dir "$tmp/fifo" 0x10
printf '#0 %s+0x10\n#1 /dev/zero+0x10\n#2 %s+0x10\n' "$tmp/fifo" "$tmp/dir" >"$tmp/oddreport"
expect 1 "is a directory" "$tmp/oddreport" -- symbolize # modules named in a report: no hang either
grep -q "fifo: not a regular file" "$err" && grep -q "/dev/zero: not a regular file" "$err" ||
	bad "report naming a FIFO and /dev/zero as modules"
expect 1 "is a directory" -- symbolize --report "$tmp/dir"
expect 0 "" -- symbolize --report "$tmp/fifo" # nobody writes: an empty report, at once
expect 1 "not a regular file or a pipe" -- symbolize --report /dev/zero
expect 1 "symbolic link loop" -- symbolize --report "$tmp/loop"
expect 1 "no such file" -- symbolize --report "$tmp/missing"
expect 1 "source is not a regular file" -- install "$tmp/dir" "$tmp/x"
expect 1 "source is not a regular file" -- install "$tmp/fifo" "$tmp/x"
expect 1 "source is not a regular file" -- install /dev/zero "$tmp/x"
expect 1 "Too many levels of symbolic links" -- install "$tmp/loop" "$tmp/x"
expect 1 "check the SRC path" -- install "$tmp/missing" "$tmp/x"
expect 1 "destination is a symbolic link" -- install "$tmp/true.so" "$tmp/loop"
expect 1 "destination is not a regular file" -- install "$tmp/true.so" "$tmp/fifo"
expect 1 "destination is not a regular file" -- install "$tmp/true.so" /dev/null
expect 1 "create DST's directory first" -- install "$tmp/true.so" "$tmp/missing/x"
long=$tmp/$(printf 'a%.0s' $(seq 1 5000))
expect 2 "path too long" -- install "$tmp/true.so" "$long"
expect 1 "File name too long" -- install "$long" "$tmp/x"
expect 1 "path too long" -- symbolize --exe "$long" 0x10
[ -e "$tmp/x" ] && bad "a failed install created its destination"

echo "== names with control bytes are printed escaped"
expect 1 'is not a process id' -- maps "$esc"
grep -qF '\x1b[31mred' "$err" || bad "maps: the bad pid is not shown escaped"
expect 2 'is not a process id' -- stale "$esc"
expect 2 'invalid PID' -- fds "$esc"
expect 1 'not an address' -- symbolize --exe /bin/true "$esc"
LC_ALL=C grep -q $'\e' "$out" && bad "symbolize: raw escape byte in the answer"
expect 1 'check the SRC path' -- install "$tmp/a$esc"$'\n' "$tmp/dir/"
grep -qF '\x1b[31mred\x1b]0;title\x07\x0a' "$err" || bad "install: SRC not shown escaped"
cp /bin/sleep "$tmp/sl$esc"
"$tmp/sl$esc" 300 & odd=$!; pids+=($odd)
for i in $(seq 50); do grep -q "sl" "/proc/$odd/maps" 2>/dev/null && break; sleep 0.1; done
rm -f "$tmp/sl$esc"
for args in "maps $odd" "stale $odd" "fds $odd"; do
	run -- $args
	sane "$args" || continue
	LC_ALL=C grep -q $'\e' "$out" && { bad "$args: raw escape byte on stdout"; continue; }
	grep -qF 'sl\x1b[31mred' "$out" && echo "ok: $args shows the odd name escaped" ||
		{ [ "${args%% *}" = fds ] && echo "ok: $args" || bad "$args: odd name not shown escaped"; }
	run -- ${args%% *} --json $odd
	json_ok "${args%% *} --json (odd name)"
done

echo "== stdin: huge lines, binary garbage"
head -c 10000000 /dev/zero | tr '\0' a >"$tmp/bigline" # 10 MB, no newline
expect 1 "not an address" "$tmp/bigline" -- symbolize --exe /bin/true
n=$(grep -c "not an address" "$err")
[ "$n" = 1 ] && echo "ok: a 10 MB line is one bad item" || bad "a 10 MB line gave $n errors, not 1"
run "$tmp/bigline" -- symbolize
sane "symbolize < 10 MB line" && [ "$rc" = 0 ] && [ "$(wc -c <"$out")" = 10000001 ] &&
	echo "ok: a 10 MB report line is passed through whole" || bad "report mode, 10 MB line: exit $rc"
if ! LC_ALL=C grep -aq __asan_init "$L"; then # memory limits do not mix with ASan's shadow memory
	n=$(ulimit -v 300000; head -c 400000000 /dev/zero | tr '\0' a | "$L" symbolize 2>"$err" | wc -c)
	rc=$?
	sane "symbolize < 400 MB line (300 MB of address space)" && [ "$n" = 400000001 ] &&
		echo "ok: report reading is bounded in memory" || bad "report mode, 400 MB line: exit $rc"
	(ulimit -v 300000; head -c 400000000 /dev/zero | tr '\0' a | "$L" symbolize --exe /bin/true \
		>/dev/null 2>"$err"); rc=$?
	sane "symbolize --exe < 400 MB line" && [ "$rc" = 1 ] &&
		echo "ok: address reading is bounded in memory" || bad "address mode, 400 MB line: exit $rc"
fi
head -c 300000 /dev/urandom >"$tmp/garbage"
expect 1 "not an address" "$tmp/garbage" -- symbolize --exe /bin/true
run "$tmp/garbage" -- symbolize --json
sane "symbolize --json < garbage" && json_ok "symbolize --json < binary garbage"
run "$tmp/garbage" -- symbolize --exe /bin/true --json
sane "symbolize --exe --json < garbage" && json_ok "symbolize --exe --json < binary garbage"
printf '#0 /no/such\xff\x1b+0x10\n' >"$tmp/report"
expect 1 'no such file' "$tmp/report" -- symbolize
grep -qF '/no/such\xff\x1b' "$err" || bad "report mode: the module path is not shown escaped"

echo "== --json on failing paths: valid JSON or nothing on stdout, the error on stderr"
expect 1 "no such process" -- maps --json "$gone"; json_ok "maps --json gone"
expect 1 "no such process" -- maps --json "$live" "$gone"; json_ok "maps --json live gone"
expect 1 "no such process" -- stale --json "$gone"; json_ok "stale --json gone"
expect 1 "PID $gone" -- fds --json "$gone"; json_ok "fds --json gone"
expect 1 "no such process" -- symbolize --json --pid "$gone" 0x10; json_ok "symbolize --json --pid gone"
expect 1 "no such file" -- symbolize --json --report "$tmp/missing"; json_ok "symbolize --json --report missing"
expect 1 "not an address" -- symbolize --json --exe /bin/true zz; json_ok "symbolize --json bad address"
expect 1 "check the SRC path" -- install --json "$tmp/missing" "$tmp/x"; json_ok "install --json missing"

echo "== output: a full disk and a closed stdout are errors; a closed pipe ends us quietly"
for args in "maps $live" "maps --json $live" "stale $live" "stale --json $live" "fds $live" \
	    "fds --json $live" "symbolize --report $tmp/report" "install --json $tmp/true.so $tmp/dir/"; do
	timeout 10 "$L" $args >/dev/full 2>"$err"; rc=$?
	sane "$args >/dev/full" && [ "$rc" = 1 ] && grep -q "writing the output failed\|writing the answers" "$err" &&
		echo "ok: $args >/dev/full" || bad "$args >/dev/full: exit $rc"
	timeout 10 "$L" $args >&- 2>"$err"; rc=$?
	sane "$args >&-" && [ "$rc" = 1 ] && echo "ok: $args >&-" || bad "$args >&-: exit $rc"
done
for args in "maps $live" "stale" "fds $live"; do
	timeout 10 "$L" $args 2>"$err" | head -c 1 >/dev/null; rc=${PIPESTATUS[0]}
	grep -v "could not be read" "$err" >"$tmp/err2" # stale's note on processes not ours to read
	{ [ "$rc" = 0 ] || [ "$rc" = 141 ]; } && [ ! -s "$tmp/err2" ] && echo "ok: $args | head" ||
		bad "$args | head: exit $rc or messages"
done
seq 1 200000 | sed 's/^/0x/' >"$tmp/addrs"
timeout 20 "$L" symbolize --exe /bin/true <"$tmp/addrs" 2>/dev/null | head -c 1 >/dev/null; rc=${PIPESTATUS[0]}
{ [ "$rc" = 1 ] || [ "$rc" = 141 ]; } && echo "ok: symbolize | head" || bad "symbolize | head: exit $rc"

# closed descriptors: no file we open may become our stdin or stdout
timeout 10 "$L" symbolize --exe /bin/true <&- >"$out" 2>"$err"; rc=$?
sane "symbolize <&-" && [ "$rc" = 2 ] && grep -q "stdin is closed" "$err" && [ ! -s "$out" ] &&
	echo "ok: symbolize with stdin closed" || bad "symbolize <&-: exit $rc (read a module as its input?)"
timeout 10 "$L" install /bin/true "$tmp/closed-out" >&- 2>"$err"; rc=$?
sane "install >&-" && [ "$rc" = 1 ] && cmp -s /bin/true "$tmp/closed-out" &&
	echo "ok: install with stdout closed: reported, the installed file intact" ||
	bad "install >&-: exit $rc, or the installed file differs"

echo "== without privileges"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	cp /bin/true "$tmp/secret"; chmod 600 "$tmp/secret"; chmod 755 "$tmp"
	for args in "maps $live" "fds $live" "stale $live" "symbolize --pid $live 0x10" \
		    "symbolize --exe $tmp/secret 0x10"; do
		timeout 10 "${nobody[@]}" "$L" $args >"$out" 2>"$err"; rc=$?
		sane "nobody: $args" && [ "$rc" = 1 ] && grep -qi "permission denied" "$err" &&
			echo "ok: nobody: $args" || bad "nobody: $args: exit $rc"
	done
	timeout 60 "${nobody[@]}" "$L" stale >"$out" 2>"$err"; rc=$?
	sane "nobody: stale" && [ "$rc" = 0 ] && grep -q "could not be read" "$err" &&
		echo "ok: nobody: stale says what it could not scan" || bad "nobody: stale: exit $rc"
else
	echo "note: not root or no setpriv: unprivileged cases skipped"
fi

exit $fail

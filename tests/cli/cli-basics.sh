#!/bin/bash
# cli-basics.sh: what a user sees first: --help, --version, exit codes for
# unknown commands, and --help on every subcommand.
set -u
L=${LIFELINE:?LIFELINE not set}
fail=0
check() { # description, expected status, command...
	local what=$1 want=$2
	shift 2
	"$@" >/tmp/cli-basics.$$ 2>&1
	local got=$?
	if [ "$got" != "$want" ]; then
		echo "FAIL: $what: exit $got, expected $want"
		sed 's/^/    /' /tmp/cli-basics.$$ | head -20
		fail=1
	else
		echo "ok: $what"
	fi
}
check "lifeline --help" 0 "$L" --help
check "lifeline --version" 0 "$L" --version
"$L" --version | grep -Eq '^lifeline [0-9]+\.[0-9]+\.[0-9]+$' || { echo "FAIL: --version format"; fail=1; }
check "no arguments is a usage error" 2 "$L"
check "unknown command is a usage error" 2 "$L" frobnicate
"$L" frobnicate 2>&1 | grep -q "unknown command 'frobnicate'" || { echo "FAIL: unknown command message"; fail=1; }
for cmd in maps symbolize install stale fds coredump cores demo; do
	check "lifeline $cmd --help" 0 "$L" "$cmd" --help
	"$L" --help | grep -q "^  $cmd " || { echo "FAIL: $cmd missing from lifeline --help"; fail=1; }
done
check "unknown option is a usage error" 2 "$L" maps --no-such-option
rm -f /tmp/cli-basics.$$
exit $fail

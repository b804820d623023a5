#!/bin/bash
# headers.sh: every public header compiles on its own, in strict C17 (with
# only _POSIX_C_SOURCE) and as C++, and links from C++ (extern "C"): what a
# user including <lifeline/X.h> in a C or C++ server gets.
set -u
src=${LL_SOURCE_ROOT:?}
inc="$src/include"
flags=$(pkg-config --cflags json-c liburcu-bp 2>/dev/null)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
cxx=$(command -v g++ || command -v c++ || true)
for h in $(cd "$inc" && find lifeline -name '*.h' | sort); do
	printf '#include <%s>\n#include <%s>\nint main(void) { return 0; }\n' "$h" "$h" >"$tmp/t.c"
	if cc -std=c17 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -pedantic-errors -Wno-variadic-macros \
		-fsyntax-only -I"$inc" $flags "$tmp/t.c" 2>"$tmp/err"; then
		echo "ok: $h (C17)"
	else
		echo "FAIL: $h does not compile alone in strict C17:"; sed 's/^/    /' "$tmp/err" | head -10; fail=1
	fi
	if [ -n "$cxx" ]; then
		cp "$tmp/t.c" "$tmp/t.cc"
		if "$cxx" -std=c++17 -Wall -Wextra -Werror -fsyntax-only -I"$inc" $flags "$tmp/t.cc" 2>"$tmp/err"; then
			echo "ok: $h (C++17)"
		else
			echo "FAIL: $h does not compile as C++17:"; sed 's/^/    /' "$tmp/err" | head -10; fail=1
		fi
		if ! grep -q '__cplusplus' "$inc/$h" && grep -q '^[a-z].* ll_[a-z_]*(' "$inc/$h"; then
			echo "FAIL: $h declares functions without extern \"C\": C++ callers cannot link them"; fail=1
		fi
	fi
done
[ -n "$cxx" ] || echo "note: no C++ compiler; C++ checks skipped"
exit $fail

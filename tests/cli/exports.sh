#!/bin/bash
# exports.sh LIBLIFELINE CRASH_SO SAFE_SPAWN_SO: the shared libraries export
# only their public API.
#  - liblifeline.so: every exported (dynamic, defined) symbol is an ll_*
#    name declared in a public header (include/lifeline/**.h), in the
#    version node LIFELINE_0.1; and every function those headers declare is
#    exported (a module built without the public-API header would lose them).
#  - liblifeline-crash.so, liblifeline-safe-spawn.so: only the libc functions
#    they interpose.
set -u
src=${LL_SOURCE_ROOT:?}
lib=$1 crash=$2 spawn=$3
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# Exported: defined dynamic symbols, without the version-node definition
# itself (readelf lists it as an ABS object named after the node).
exported() { nm -D --defined-only "$1" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u; }

# Declared: identifiers ll_* followed by '(' in the public headers, comments
# stripped; those of a declaration starting a line are the functions.
declared_names() {
	find "$src/include/lifeline" -name '*.h' -print0 | xargs -0 cat |
		sed 's://.*$::' | perl -0pe 's:/\*.*?\*/::gs' | grep -oE '\bll_[a-z0-9_]+\b' | sort -u
}
declared_functions() {
	find "$src/include/lifeline" -name '*.h' -print0 | xargs -0 cat | perl -0pe 's:/\*.*?\*/::gs' |
		grep -E '^[A-Za-z][A-Za-z0-9_ ]*[ *]+ll_[a-z0-9_]+\(' | grep -vE '^(static|typedef)\b' |
		grep -oE 'll_[a-z0-9_]+\(' | tr -d '(' | sort -u
}

exported "$lib" >/tmp/exports.$$.so
declared_names >/tmp/exports.$$.h
trap 'rm -f /tmp/exports.$$.*' EXIT
n=$(wc -l </tmp/exports.$$.so)
echo "liblifeline.so exports $n symbols"
extra=$(comm -23 /tmp/exports.$$.so /tmp/exports.$$.h)
[ -z "$extra" ] || bad "liblifeline.so exports symbols no public header declares:" $extra
missing=$(declared_functions | comm -23 - /tmp/exports.$$.so)
[ -z "$missing" ] || bad "functions declared in include/lifeline/ but not exported (a header added" \
	"since meson last configured? 'meson setup --reconfigure' regenerates ll_public_api.h):" $missing
unversioned=$(objdump -T "$lib" | awk '$2 == "g" && $4 != "*UND*" && $(NF-1) != "LIFELINE_0.1" && $NF != "LIFELINE_0.1" { print $NF }')
[ -z "$unversioned" ] || bad "symbols outside the version node LIFELINE_0.1:" $unversioned
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = liblifeline.so.0 ] || bad "soname is '$soname', not liblifeline.so.0"
[ $fail = 0 ] && echo "ok: liblifeline.so exports only the public API ($n symbols, node LIFELINE_0.1, soname $soname)"

check_only() {
	local so=$1; shift
	local got want
	got=$(exported "$so" | tr '\n' ' ')
	want=$(printf '%s\n' "$@" | sort -u | tr '\n' ' ')
	if [ "$got" = "$want" ]; then
		echo "ok: $(basename "$so") exports only $want"
	else
		bad "$(basename "$so") exports '$got', expected '$want'"
	fi
}
check_only "$crash" pthread_create
check_only "$spawn" system popen pclose
exit $fail

#!/bin/bash
# sym-cxx.sh: C++ names are demangled wherever `lifeline symbolize` prints
# them, exactly as c++filt does, on a real C++ program (-g -O2: a namespace,
# a class template, a lambda, an always-inlined method;
# examples/coredump/analysis-cxx.cc):
#   - every name of --addr2line over the whole .text equals the mangled
#     output (--no-demangle) run through c++filt;
#   - the template, the namespace function, the lambda and the inlined
#     method are named in full;
#   - JSON gives the demangled name and the mangled one as linkage_name;
#   - the crash report of the preloaded reporter keeps the mangled names
#     (the handler cannot allocate) and says that symbolize demangles them;
#     `symbolize < report` does.
. "$(dirname "$0")/common.sh"
need g++
need c++filt
need addr2line
need readelf

CXX_SRC=$LL_SOURCE_ROOT/examples/coredump/analysis-cxx.cc
g++ -g -O2 -Wl,--build-id -o "$T/cxx" "$CXX_SRC" || fail "building $CXX_SRC"
exe=$T/cxx

# 1. Every address of .text: demangled = c++filt(mangled) = addr2line -C.
text_addrs "$exe" 1 > "$T/addrs"
"$LIFELINE" symbolize --no-cache --no-demangle --addr2line --addresses --exe "$exe" < "$T/addrs" \
	> "$T/mangled" 2>/dev/null
"$LIFELINE" symbolize --no-cache --addr2line --addresses --exe "$exe" < "$T/addrs" > "$T/got" 2>/dev/null
grep -q '^_Z' "$T/mangled" || fail "no mangled name at all with --no-demangle"
c++filt < "$T/mangled" > "$T/want"
cmp -s "$T/want" "$T/got" || { diff "$T/want" "$T/got" | head -20 >&2; fail "demangled names differ from c++filt's"; }
grep -q '^_Z' "$T/got" && fail "a mangled name is left in the default output"
echo "ok: $(wc -l < "$T/addrs") addresses: every name equals c++filt's"

# 2. The kinds of names a C++ server has, in full.
for name in \
	'srv::handle(std::vector<srv::Conn, std::allocator<srv::Conn> >&, int)' \
	'srv::Pool<int>::get(unsigned long) const' \
	'srv::handle(std::vector<srv::Conn, std::allocator<srv::Conn> >&, int)::{lambda(srv::Conn const&)#1}::operator()(srv::Conn const&) const'; do
	grep -qxF "$name" "$T/got" || fail "not named: $name"
done
grep -q '^srv::Pool<int>::weight(int) const$' "$T/got" || fail "the inlined method Pool<int>::weight is not among the frames"
lambda=$(readelf -sW "$exe" | awk '$8 ~ /^_ZZN3srv6handle.*clE/ {print $2; exit}')
[ -n "$lambda" ] || fail "the lambda's symbol is not in $exe"
out=$("$LIFELINE" symbolize --exe "$exe" "0x$lambda")
echo "$out" | head -1 | grep -qF ' srv::handle(std::vector<srv::Conn, std::allocator<srv::Conn> >&, int)::{lambda(srv::Conn const&)#1}::operator()(srv::Conn const&) const+0x0' ||
	fail "text header without the demangled lambda: $out"
echo "ok: namespace, template, lambda and inlined method named in full"

# 3. JSON: name and linkage_name.
j=$("$LIFELINE" symbolize --json --exe "$exe" "0x$lambda")
echo "$j" | jq -e '.[0].symbol | startswith("srv::handle(")' > /dev/null || fail "JSON symbol not demangled: $j"
echo "$j" | jq -e '.[0].symbol_linkage_name | startswith("_ZZN3srv6handle")' > /dev/null ||
	fail "JSON symbol_linkage_name missing: $j"
echo "$j" | jq -e '.[0].frames[-1].function | startswith("srv::handle(")' > /dev/null || fail "JSON frame: $j"
echo "$j" | jq -e '.[0].frames[-1].linkage_name == "'"$(readelf -sW "$exe" | awk '$8 ~ /^_ZZN3srv6handle.*clE/ {print $8; exit}')"'"' \
	> /dev/null || fail "JSON frame linkage_name: $j"
j=$("$LIFELINE" symbolize --json --no-demangle --exe "$exe" "0x$lambda")
echo "$j" | jq -e '(.[0].symbol | startswith("_ZZN3srv")) and (.[0].symbol_linkage_name == null)' > /dev/null ||
	fail "--no-demangle JSON: $j"
echo "ok: JSON gives the demangled name and the mangled linkage_name"

# 4. The crash report: mangled names, the hint, and symbolize demangles them.
"$LIFELINE" --version > /dev/null
preload=$LL_BUILD_ROOT/src/preload/crash/liblifeline-crash.so
if ldd "$preload" 2>/dev/null | grep -q libasan; then
	echo "SKIP part 4: the sanitizer build's liblifeline-crash.so cannot be preloaded into a plain program"
	exit 0
fi
(ulimit -c 0; LD_PRELOAD=$preload "$exe" crash) 2> "$T/report" && fail "analysis-cxx crash did not crash"
grep -q '(_ZZN3srv6handle.*clES6_+0x' "$T/report" || { cat "$T/report" >&2; fail "the report's frame #0 is not the mangled lambda"; }
grep -q 'and demangle C++ names: lifeline symbolize < report' "$T/report" || fail "no demangling hint in the report"
"$LIFELINE" symbolize < "$T/report" > "$T/sym"
grep -qF '        srv::handle(std::vector<srv::Conn, std::allocator<srv::Conn> >&, int)::{lambda(srv::Conn const&)#1}::operator()(srv::Conn const&) const at ' "$T/sym" ||
	{ cat "$T/sym" >&2; fail "symbolize < report does not demangle the lambda frame"; }
echo "ok: the crash report keeps mangled names and symbolize < report demangles them"

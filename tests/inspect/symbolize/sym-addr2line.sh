#!/bin/bash
# sym-addr2line.sh: function names and file:line inline chains of
# `lifeline symbolize --addr2line` equal `addr2line -f -i -e`'s, address by
# address, on a -g -O2 program with inlined helpers spread over several
# compile units: PIE, non-PIE, DWARF 4, and the shared library it uses.
. "$(dirname "$0")/common.sh"
need addr2line
need readelf

build_prog pie -fPIE -pie
build_prog nopie -fno-pie -no-pie
build_prog dwarf4 -gdwarf-4 -fPIE -pie
# zlib-compressed debug sections, as distributions ship them (libc6-dbg):
# the index leaves the sections it never reads compressed.
build_prog gz -gz=zlib -fPIE -pie
readelf -S -W "$T/gz" | grep -q '\.debug_info .* C ' || readelf -t "$T/gz" | grep -qi compressed ||
	fail "$T/gz: -gz=zlib did not compress .debug_info"

compare() { # FILE STEP
	local f=$1 n
	text_addrs "$f" "$2" > "$T/addrs"
	n=$(wc -l < "$T/addrs")
	[ "$n" -ge 200 ] || fail "$f: only $n addresses in .text (want >= 200)"
	addr2line -a -f -i -e "$f" < "$T/addrs" | basenames > "$T/want"
	"$LIFELINE" symbolize --no-cache --addr2line --addresses --exe "$f" < "$T/addrs" 2>"$T/err" |
		basenames > "$T/got"
	# Inline chains must really be there for the comparison to mean something.
	[ "$(grep -c '^0x' "$T/want")" -lt "$(grep -vc '^0x' "$T/want")" ] || fail "$f: no frames?"
	if ! cmp -s "$T/want" "$T/got"; then
		echo "first mismatch for $f (addr2line vs lifeline):" >&2
		diff "$T/want" "$T/got" | head -20 >&2
		fail "$f differs from addr2line -f -i"
	fi
	local inl=$(awk '/^0x/{if (n > 2) k++; n = 0; next} {n++} END{if (n > 2) k++; print k + 0}' "$T/want")
	echo "ok: $f: $n addresses ($inl with inline chains) equal addr2line -f -i"
	[ "$inl" -gt 20 ] || fail "$f: only $inl addresses with inlined frames"
}

compare "$T/pie" 1
compare "$T/nopie" 2
compare "$T/dwarf4" 3
compare "$T/gz" 2
compare "$T/libsymtest.so" 1

# A big shuffled batch (answered in address order, printed in input order).
for _ in 1 2 3; do text_addrs "$T/pie" 1; done | shuf --random-source=<(yes) > "$T/big"
addr2line -a -f -i -e "$T/pie" < "$T/big" | basenames > "$T/want"
"$LIFELINE" symbolize --no-cache --addr2line --addresses --exe "$T/pie" < "$T/big" 2>/dev/null |
	basenames > "$T/got"
cmp -s "$T/want" "$T/got" || { diff "$T/want" "$T/got" | head >&2; fail "shuffled batch differs"; }
echo "ok: batch of $(wc -l < "$T/big") shuffled addresses: equal to addr2line, in input order"

# The index cache: a big batch writes it; read back, the answers are the
# same; a damaged cache file is refused (and rewritten), never trusted.
ls "$T/cache"/*.idx > /dev/null 2>&1 && fail "--no-cache wrote an index cache file"
"$LIFELINE" symbolize --addr2line --exe "$T/pie" < "$T/big" > /dev/null 2>&1
ls "$T/cache"/*.idx > /dev/null 2>&1 || fail "no index cache file written after a big batch"
"$LIFELINE" symbolize --json --exe "$T/pie" "$(head -1 "$T/big")" | grep -Eq '"index_from_cache": ?true' ||
	fail "the index was not read from the cache"
"$LIFELINE" symbolize --addr2line --addresses --exe "$T/pie" < "$T/big" 2>/dev/null |
	basenames > "$T/got"
cmp -s "$T/want" "$T/got" || { diff "$T/want" "$T/got" | head >&2; fail "answers from the index cache differ"; }
for damage in truncate flip; do
	f=$(ls "$T/cache"/*.idx)
	case $damage in
	truncate) truncate -s $(($(stat -c %s "$f") / 2)) "$f" ;;
	flip) printf '\xff\xff\xff\xff\xff\xff\xff\xff' | dd of="$f" bs=1 seek=900 conv=notrunc status=none ;;
	esac
	"$LIFELINE" symbolize --addr2line --addresses --exe "$T/pie" < "$T/big" 2>/dev/null | basenames > "$T/got"
	cmp -s "$T/want" "$T/got" || fail "wrong answers with a damaged ($damage) index cache"
done
# A rebuilt module (new build-id, same path) is not answered from the old index.
cp "$T/pie" "$T/pie.old"
build_prog pie -fPIE -pie -DREBUILT=1 -O1
"$LIFELINE" symbolize --json --exe "$T/pie" "$(head -1 "$T/big")" | grep -q index_from_cache &&
	fail "a rebuilt module was answered from the old index"
echo "ok: index cache: used, same answers, damaged files refused, rebuilt modules not confused"

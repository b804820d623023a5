#!/bin/bash
# demo-installed.sh: the demo ships apart from the tool and finds what it
# runs relative to itself. Installs the build into a scratch DESTDIR (a
# tree at a path the build never knew), checks that neither installed
# program names the build tree in its data, and runs two demo parts from
# the installed copies only.
set -u
root=${LL_BUILD_ROOT:?LL_BUILD_ROOT not set}
dest=$(mktemp -d /tmp/lifeline-demo-installed.XXXXXX)
trap 'rm -rf "$dest"' EXIT
fail=0
if ! meson install -C "$root" --no-rebuild --destdir "$dest" >"$dest.log" 2>&1; then
	echo "FAIL: meson install into $dest"; tail -20 "$dest.log"; rm -f "$dest.log"; exit 1
fi
rm -f "$dest.log"
cli=$(find "$dest" -path '*/bin/lifeline' -type f | head -1)
demo=$(find "$dest" -path '*/libexec/lifeline/lifeline-demo' -type f | head -1)
[ -n "$cli" ] && [ -n "$demo" ] || { echo "FAIL: lifeline or lifeline-demo not installed"; exit 1; }
echo "ok: installed $cli and $demo"
for prog in "$cli" "$demo"; do
	if readelf -p .rodata "$prog" | grep -qF "$root"; then
		echo "FAIL: $prog names the build tree $root in its data"
		fail=1
	else
		echo "ok: $(basename "$prog") does not name the build tree"
	fi
done
for part in spawn inspect; do
	out=$("$demo" --cli "$cli" "$part" 2>&1)
	if [ $? -eq 0 ] && grep -q -- "---- $part: ok" <<<"$out"; then
		echo "ok: installed lifeline-demo $part"
	else
		echo "FAIL: installed lifeline-demo $part:"; sed 's/^/    /' <<<"$out" | tail -20
		fail=1
	fi
	# (source file names in DWARF, BUILD/../examples/*.c, are not programs)
	if grep -F "$root/" <<<"$out" | grep -vqF "$root/../"; then
		echo "FAIL: the installed $part part ran something from the build tree:"
		grep -F "$root/" <<<"$out" | grep -vF "$root/../" | head -5
		fail=1
	fi
done
"$demo" --cli "$cli" no-such-part >/dev/null 2>&1
[ $? -eq 2 ] && echo "ok: an unknown part is a usage error" || { echo "FAIL: unknown part status"; fail=1; }
exit $fail

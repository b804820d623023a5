#!/bin/bash
# check-man.sh: the man pages in docs/ render cleanly and say what the CLI does.
#
# For every page docs/*.[1-8]:
#   - groff (-man -ww -Tutf8) and man-db (`man --warnings=w -l`) render it
#     without a single warning;
#   - .TH names the file (NAME and section) and the version `lifeline
#     --version` prints; a NAME section is there; docs/meson.build installs it;
#   - every lifeline page it cites in SEE ALSO or the text exists.
# For `lifeline` and each of its commands (the list comes from `lifeline
# --help`), against lifeline.1 / lifeline-CMD.1:
#   - every long option that `lifeline CMD --help` prints has its own .TP
#     entry in the page's OPTIONS section, with the short form and the
#     argument name that --help gives it; and every option documented by an
#     OPTIONS .TP entry is one that --help prints (--help itself excepted:
#     every command takes it);
#   - subcommands (`lifeline cores list|info|...`) and demo parts too;
#   - every command has a page, and every lifeline-CMD.1 page a command;
#   - the `lifeline CMD` lines of the EXAMPLES use only options CMD has.
# The keys of coredump.conf that src/coredump/config.c parses against the
# entries of lifeline-coredump.conf.5, both ways; the LIFELINE_* variables
# read in src/ against those the pages name, both ways.
# Run by meson (suite docs) with $LIFELINE and $LL_SOURCE_ROOT set, or by
# hand: LIFELINE=build/src/cli/lifeline tests/docs/check-man.sh
# Exit 0 all good, 1 some check failed (each failure is printed), 77 groff is
# not installed (dev.sh installs groff-base and man-db).
set -uo pipefail

src=${LL_SOURCE_ROOT:-$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)}
docs=$src/docs
lifeline=${LIFELINE:-}
if [ -z "$lifeline" ] || [ ! -x "$lifeline" ]; then
	echo "check-man: set LIFELINE to the built lifeline binary (e.g. build/src/cli/lifeline)" >&2
	exit 1
fi
if ! command -v groff >/dev/null; then
	echo "check-man: SKIP: groff is not installed (apt-get install groff-base man-db)"
	exit 77
fi
export LC_ALL=C.UTF-8 MANWIDTH=80 NO_COLOR=1

failures=0
checks=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# The tag lines of a page's .TP entries, one a line, as plain text: roff
# escapes for hyphens and fonts removed, macro name and quotes dropped.
# With a second argument (an awk regex), only the entries of the sections
# (.SH) whose title matches it.
tags() {
	awk -v want_sh="${2:-.}" '
	     /^\.SH/ { title = $0; sub(/^\.SH +/, "", title); gsub(/"/, "", title)
	               in_sh = (title ~ want_sh); want = 0; next }
	     /^\.TP/ { want = in_sh; next }
	     want && /^\.\\"/ { next }
	     want { print; want = 0 }' "$1" |
		sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\[&%~]//g' \
		    -e 's/^\.[A-Z][A-Z]* //' -e 's/"//g'
}

# Long options in text (stdin), sorted, unique.
longopts() {
	grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

version=$("$lifeline" --version | awk '{print $2}')
[ -n "$version" ] || fail "'lifeline --version' printed no version"

# ---------------------------------------------------------------- every page
shopt -s nullglob
pages=("$docs"/*.[1-8])
[ ${#pages[@]} -gt 0 ] || fail "no man page in $docs"
for page in "${pages[@]}"; do
	base=$(basename "$page")
	sect=${base##*.}
	name=${base%.*}
	checks=$((checks + 1))

	out=$(groff -man -ww -z -Tutf8 "$page" 2>&1)
	[ -z "$out" ] || fail "$base: groff -man -ww warns:"$'\n'"$out"
	if command -v man >/dev/null; then
		out=$(man --warnings=w -l -Tutf8 "$page" 2>&1 >/dev/null)
		[ -z "$out" ] || fail "$base: man --warnings=w warns:"$'\n'"$out"
	fi

	th=$(grep -m1 '^\.TH ' "$page")
	upper=$(printf '%s' "$name" | tr '[:lower:]' '[:upper:]')
	read -r _ th_name th_sect _ <<<"$th"
	if [ "$th_name" != "$upper" ] || [ "$th_sect" != "$sect" ]; then
		fail "$base: .TH says '$th_name $th_sect', expected '$upper $sect'"
	fi
	grep -q "\"lifeline $version\"" <<<"$th" ||
		fail "$base: .TH does not name \"lifeline $version\" (lifeline --version)"
	grep -q '^\.SH NAME' "$page" || fail "$base: no NAME section"
	grep -q "'$base'" "$docs/meson.build" || fail "$base: not installed by docs/meson.build"

	# Every lifeline page cited (lifeline\-x (1), liblifeline (3)) exists.
	while read -r ref; do
		rname=${ref% *}
		rsect=${ref#* }
		[ -f "$docs/$rname.$rsect" ] || fail "$base: cites $rname($rsect), but docs/$rname.$rsect does not exist"
	done < <(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$page" |
		grep -oE '\b(lib)?lifeline(-[a-z.]+)? *"?\(([1-8])\)' | sed -E 's/ *"?\((.)\)/ \1/' | sort -u)
done

# ------------------------------------------------- help text against the pages
# check_command LABEL PAGE HELP-TEXT
check_command() {
	local label=$1 page=$2 help=$3 base opt short meta tag word
	base=$(basename "$page")
	checks=$((checks + 1))
	if [ ! -f "$page" ]; then
		fail "'$label' has no man page: write docs/$base"
		return
	fi
	local page_tags all_tags
	page_tags=$(tags "$page" '^OPTIONS$')
	all_tags=$(tags "$page")

	# Each long option of --help: a .TP entry of its own.
	for opt in $(longopts <<<"$help"); do
		tag=$(grep -E -- "(^|[^a-z0-9-])$opt([^a-z0-9-]|\$)" <<<"$page_tags" | head -1)
		if [ -z "$tag" ]; then
			fail "$base: '$label --help' lists $opt, but the page has no .TP entry for it"
			continue
		fi
		# its short form, as --help pairs them ("-e, --exe")
		short=$(grep -oE -- "(^|[[:space:]])-[a-zA-Z], $opt([^a-z0-9-]|\$)" <<<"$help" | head -1 |
			grep -oE -- '-[a-zA-Z],' | tr -d ,)
		if [ -n "$short" ] && ! grep -qE -- "(^|[^a-z0-9-])$short([^a-z0-9-]|\$)" <<<"$tag"; then
			fail "$base: '$label --help' gives $opt the short form $short; the page's entry does not ('$tag')"
		fi
		# its argument names ("--exe FILE")
		while read -r meta; do
			[ -z "$meta" ] || grep -qw -- "$meta" <<<"$tag" ||
				fail "$base: '$label --help' writes '$opt $meta'; the page's entry is '$tag'"
		done < <(grep -oE -- "$opt [A-Z][A-Z_]*\b" <<<"$help" | awk '{print $2}' | sort -u)
	done

	# Each option the page documents: one that --help prints.
	for opt in $(longopts <<<"$page_tags"); do
		[ "$opt" = --help ] && continue
		grep -qE -- "(^|[^a-z0-9-])$opt([^a-z0-9-]|\$)" <<<"$help" ||
			fail "$base: documents $opt, which '$label --help' does not mention (removed or renamed?)"
	done

	# Subcommands from the usage lines ("lifeline cores list ...") and demo
	# parts ("PART: inspect plugin ..."): each a .TP entry.
	local words
	words=$(grep -oE "^(usage: +| +)$label [a-z]+\b" <<<"$help" | awk '{print $NF}')
	words+=" "$(grep -oE 'PART: [a-z ]+' <<<"$help" | sed 's/^PART: //')
	for word in $words; do
		grep -qE "^$word([^a-z]|\$)" <<<"$all_tags" ||
			fail "$base: '$label --help' names '$word', but the page has no .TP entry starting with it"
	done
}

top_help=$("$lifeline" --help) || fail "'lifeline --help' failed"
# (the command list's summaries mention the commands' own options: left out)
check_command lifeline "$docs/lifeline.1" "$(grep -v '^  [a-z]' <<<"$top_help")"

commands=$(awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' <<<"$top_help")
[ -n "$commands" ] || fail "no command list in 'lifeline --help'"
top_tags=$(tags "$docs/lifeline.1" '^COMMANDS$')
for cmd in $commands; do
	grep -qx "$cmd" <<<"$top_tags" || fail "lifeline.1: command '$cmd' has no .TP entry under COMMANDS"
	help=$("$lifeline" "$cmd" --help 2>&1)
	rc=$?
	[ $rc -eq 0 ] || fail "'lifeline $cmd --help' exited $rc"
	check_command "lifeline $cmd" "$docs/lifeline-$cmd.1" "$help"
done
for page in "$docs"/lifeline-*.1; do
	cmd=$(basename "$page" .1)
	cmd=${cmd#lifeline-}
	grep -qx "$cmd" <<<"$commands" ||
		fail "$(basename "$page"): no command '$cmd' in 'lifeline --help' (removed or renamed?)"
done

# ------------------------------------------- the examples use real options
# Every `lifeline CMD ...` line of an example (.EX/.EE, "$ " or "# " prompt
# allowed) names a command that exists and only long options its --help lists.
declare -A helps
for cmd in $commands; do
	helps[$cmd]=$("$lifeline" "$cmd" --help 2>&1)
done
for page in "${pages[@]}"; do
	while read -r cmd rest; do
		if [ -z "${helps[$cmd]+set}" ]; then
			fail "$(basename "$page"): an example runs 'lifeline $cmd', which is not a command"
			continue
		fi
		for opt in $(longopts <<<"$rest"); do
			grep -qE -- "(^|[^a-z0-9-])$opt([^a-z0-9-]|\$)" <<<"${helps[$cmd]}" ||
				fail "$(basename "$page"): an example gives 'lifeline $cmd' $opt, which its --help does not list"
		done
	done < <(awk '/^\.EX/ { on = 1; next } /^\.EE/ { on = 0 } on' "$page" | sed 's/\\-/-/g' |
		sed -nE 's/^([$#] )?lifeline ([a-z].*)/\2/p')
done

# ------------------------------------- coredump.conf keys against the parser
# The keys src/coredump/config.c accepts (its strcasecmp(name, "Key") tests)
# and the OPTIONS entries ("Key=") of lifeline-coredump.conf.5, both ways.
conf_page=$docs/lifeline-coredump.conf.5
conf_src=$src/src/coredump/config.c
if [ -f "$conf_page" ] && [ -f "$conf_src" ]; then
	checks=$((checks + 1))
	src_keys=$(grep -oE 'strcasecmp\(name, "[A-Za-z]+"\)' "$conf_src" | sed -E 's/.*"(.*)".*/\1/' | sort -u)
	page_keys=$(tags "$conf_page" '^OPTIONS$' | grep -oE '^[A-Za-z]+=' | tr -d = | sort -u)
	[ -n "$src_keys" ] || fail "no key found in $conf_src (strcasecmp(name, \"Key\")): update this check"
	for key in $src_keys; do
		# an alias documented in another key's entry (Compress= in CompressionLevel=)
		grep -qx "$key" <<<"$page_keys" || grep -q "^\.B $key=\$" "$conf_page" ||
			fail "lifeline-coredump.conf.5: src/coredump/config.c accepts $key=, but the page has no entry for it"
	done
	for key in $page_keys; do
		grep -qx "$key" <<<"$src_keys" ||
			fail "lifeline-coredump.conf.5: documents $key=, which src/coredump/config.c does not accept"
	done
fi

# ------------------------------------------- environment variables, both ways
# Every LIFELINE_* variable the sources read is documented in some page, and
# every one a page names is still read somewhere.
if [ -d "$src/src" ]; then
	checks=$((checks + 1))
	src_vars=$(grep -rhoE '"LIFELINE_[A-Z0-9_]*[A-Z0-9]"' "$src/src" | tr -d '"' | sort -u)
	page_vars=$(cat "${pages[@]}" | sed 's/\\-/-/g' | grep -oE '\bLIFELINE_[A-Z0-9_]*[A-Z0-9]\b' | sort -u)
	for var in $src_vars; do
		grep -qx "$var" <<<"$page_vars" || fail "\$$var is read in src/ but no man page documents it"
	done
	for var in $page_vars; do
		grep -qx "$var" <<<"$src_vars" || fail "a man page documents \$$var, which nothing in src/ reads"
	done
fi

echo "check-man: $checks pages and commands checked, $failures failure(s)"
[ "$failures" -eq 0 ]

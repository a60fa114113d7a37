#!/bin/bash
# The man pages (docs/man/): each renders without a warning, and they say
# what the programs do:
#
#  1. every page renders with 'man --warnings' (as an operator's man-db
#     does) and with groff -ww (every warning groff has) with nothing on
#     stderr; a page with a bad macro is caught (the check is live);
#  2. every verb 'netmove --help' lists is in netmove(8), and every option
#     any verb's usage names ('netmove VERB --help');
#  3. every option 'netmoved --help' prints is in netmoved(8);
#  4. every member netmove/common/config.c reads (its *_member(&p, "KEY")
#     calls) is in netmoved.json(5), and the page's examples are valid
#     configurations.
set -u -o pipefail
cd "$(dirname "$0")/../.." || exit 1
B=${BUILD:-build}
M=docs/man
fail=0

bad() {
	echo "FAIL: $*"
	fail=1
}

if ! command -v man >/dev/null || ! command -v groff >/dev/null; then
	echo "skip: man (man-db) or groff (groff-base) missing: make deps"
	exit 77
fi
for p in netmove netmoved; do
	[ -x "$B/$p" ] || { echo "missing $B/$p (make all first)"; exit 1; }
done
pages=("$M/netmove.8" "$M/netmoved.8" "$M/netmoved.json.5")
for page in "${pages[@]}"; do
	[ -f "$page" ] || bad "$page: missing"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# render PAGE: no warning from man --warnings nor from groff -ww.
render() {
	local page=$1 out=$tmp/out err=$tmp/err
	LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
		man --warnings -E UTF-8 -l "$page" >"$out" 2>"$err"
	local rc=$?
	if [ $rc -ne 0 ] || [ -s "$err" ] || [ ! -s "$out" ]; then
		echo "$page: man --warnings (exit $rc):"
		sed 's/^/    /' "$err"
		return 1
	fi
	LC_ALL=C.UTF-8 groff -mandoc -Tutf8 -rLL=78n -ww -z "$page" 2>"$err"
	rc=$?
	if [ $rc -ne 0 ] || [ -s "$err" ]; then
		echo "$page: groff -ww (exit $rc):"
		sed 's/^/    /' "$err"
		return 1
	fi
	return 0
}

# 1. Rendering, and that a broken page is caught.
for page in "${pages[@]}"; do
	[ -f "$page" ] || continue
	render "$page" || bad "$page: renders with warnings"
done
sed 's/^\.Sh DESCRIPTION$/.Sh DESCRIPTION\n.Xyzzy broken/' "$M/netmove.8" >"$tmp/broken.8"
if render "$tmp/broken.8" >/dev/null; then
	bad "a page with an unknown macro rendered without a warning: the check is dead"
fi

# 2. netmove(8): the verbs of 'netmove --help' ("  VERB  summary" lines
# after "Subcommands:"; a summary's continuation is indented further).
verbs=$("$B/netmove" --help | awk '/^Subcommands:/ { f = 1; next }
	f && /^$/ { exit }
	f && /^  [a-z]/ { print $1 }')
[ -n "$verbs" ] || bad "netmove --help: no subcommand found"
n=0
for v in $verbs; do
	n=$((n + 1))
	grep -Eq "^\.(It )?Cm $v( |$)" "$M/netmove.8" ||
		bad "netmove.8: subcommand '$v' (netmove --help) is not documented"
	opts=$("$B/netmove" "$v" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u)
	for o in $opts; do
		grep -Eq "Fl -${o#--}( |$)" "$M/netmove.8" ||
			bad "netmove.8: option $o ('netmove $v --help') is not documented"
	done
done
for o in --help --version; do
	grep -Eq "Fl -${o#--}( |$)" "$M/netmove.8" || bad "netmove.8: $o"
done
echo "netmove.8: $n subcommands and their options checked"

# 3. netmoved(8): every option of 'netmoved --help'.
opts=$("$B/netmoved" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u)
[ -n "$opts" ] || bad "netmoved --help: no option found"
for o in $opts; do
	grep -Eq "Fl -${o#--}( |$)" "$M/netmoved.8" ||
		bad "netmoved.8: option $o (netmoved --help) is not documented"
done
echo "netmoved.8: $(echo "$opts" | wc -w) options checked"

# 4. netmoved.json(5): every member the parser reads, as ".It Cm KEY No
# (type...".
keys=$(grep -oE '_member\(&p, "[^"]+"' netmove/common/config.c |
	sed -E 's/.*"(.*)"/\1/' | sort -u)
[ "$(echo "$keys" | wc -w)" -ge 20 ] || bad "config.c: found only: $keys"
for k in $keys; do
	grep -Eq "^\.It Cm $k No \(" "$M/netmoved.json.5" ||
		bad "netmoved.json.5: member '$k' (config.c) is not documented"
done
echo "netmoved.json.5: $(echo "$keys" | wc -w) members checked"

# The examples (each .Bd -literal after .Sh EXAMPLES) are valid: with
# netmoved --check-config where this build has it, else through the
# parser 'netmove verify' runs first (exit 2 is a bad configuration; 1, the
# daemon not reachable, comes after the configuration was read).
awk -v dir="$tmp" '/^\.Sh / { e = ($2 == "EXAMPLES") }
	e && /^\.Bd -literal/ { f = 1; n++; next }
	f && /^\.Ed/ { f = 0; next }
	f { print > (dir "/example" n ".json") }' "$M/netmoved.json.5"
check_config=false
"$B/netmoved" --help | grep -q -- --check-config && check_config=true
n=0
for ex in "$tmp"/example*.json; do
	[ -f "$ex" ] || continue
	n=$((n + 1))
	if $check_config; then
		out=$("$B/netmoved" --check-config --config="$ex" 2>&1)
		rc=$?
		[ $rc -eq 0 ] || bad "netmoved.json.5: example $n: exit $rc: $out"
	else
		out=$("$B/netmove" verify vm1 --config "$ex" --ctl "$tmp/none" 2>&1)
		rc=$?
		[ $rc -eq 1 ] || bad "netmoved.json.5: example $n: exit $rc: $out"
	fi
done
[ $n -ge 2 ] || bad "netmoved.json.5: found $n examples, expected 2"
echo "netmoved.json.5: $n examples valid"

exit $fail

#!/bin/bash
# netmove's bash completion (netmove/cli/netmove.bash-completion), sourced
# in bash and asked as bash asks it (COMP_WORDS, COMP_CWORD, _netmove):
#
#  1. the verbs, a verb's options, a group's sub-verbs and their options,
#     an option's values (files for --svg and --config, kinds), come back;
#  2. cross-check: every verb 'netmove --help' lists is completed, and
#     every option its usage names ('netmove VERB --help'; a group's: those
#     of all its sub-verbs) is among the verb's completed options;
#  3. VM names and peers come from 'netmove status --json' (a stand-in
#     netmove prints what netmoved answers); with no daemon, nothing, at
#     once and silently.
set -u -o pipefail
cd "$(dirname "$0")/../.." || exit 1
B=${BUILD:-build}
C=netmove/cli/netmove.bash-completion
fail=0

bad() {
	echo "FAIL: $*"
	fail=1
}

[ -x "$B/netmove" ] || { echo "missing $B/netmove (make all first)"; exit 1; }
[ -f "$C" ] || { echo "missing $C"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# complete WORD...: what the completion offers for the last WORD, one per
# line, sorted (run in a fresh bash with the file sourced, as bash would).
complete_words() {
	bash -c 'source "$1" || exit 1
		complete -p netmove >/dev/null || exit 1
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_netmove || exit 1
		printf "%s\n" "${COMPREPLY[@]}"' _ "$PWD/$C" "$@" | sort -u
}

# complete_line "WORDS": complete_words with WORDS split at spaces; a
# trailing space is an empty last word (TAB after a space).
complete_line() {
	local -a w
	read -ra w <<<"$1"
	[[ $1 == *" " ]] && w+=("")
	complete_words "${w[@]}"
}

# expect "WORDS" WANTED...: each WANTED is offered for WORDS.
expect() {
	local words=$1 got w
	shift
	got=$(complete_line "$words")
	for w in "$@"; do
		grep -qxF -- "$w" <<<"$got" ||
			bad "'$words': '$w' not offered (got: $(xargs <<<"$got"))"
	done
}

# expect_only "WORDS" WANTED...: exactly those.
expect_only() {
	local words=$1 got want
	shift
	got=$(complete_line "$words" | xargs)
	want=$(printf '%s\n' "$@" | sort -u | xargs)
	[ "$got" = "$want" ] || bad "'$words': got '$got', want '$want'"
}

# 1. What comes back.
expect_only "netmove wa" watch-qmp watch-libvirt
expect_only "netmove --" --help --version
expect_only "netmove prepare --" --from --ip --adopt --vlan-map --json --ctl \
	--help
expect_only "netmove timeline vm1 --" --svg --client --json --id --ctl --help
expect_only "netmove port " export import activate block remove forget
expect_only "netmove port import --d" --db --device-later
expect_only "netmove ct export --" --addr --zone --since --help
expect_only "netmove ct remove --" --addr --zone --help
expect_only "netmove help res" resume
expect "netmove announce --kinds " rarp garp na
mkdir -p "$tmp/files"
: >"$tmp/files/tl-vm1.svg"
: >"$tmp/files/netmoved.json"
expect_only "netmove timeline vm1 --svg $tmp/files/tl" "$tmp/files/tl-vm1.svg"
expect_only "netmove verify vm1 --config $tmp/files/netm" \
	"$tmp/files/netmoved.json"
# An option's value is not an operand: after --ctl PATH, VM comes next.
expect_only "netmove verify --ctl /x --j" --json

# 2. Cross-check with netmove --help.
verbs=$("$B/netmove" --help | awk '/^Subcommands:/ { f = 1; next }
	f && /^$/ { exit }
	f && /^  [a-z]/ { print $1 }')
[ -n "$verbs" ] || bad "netmove --help: no subcommand found"
offered=$(complete_words netmove "")
n=0
for v in $verbs; do
	n=$((n + 1))
	grep -qxF -- "$v" <<<"$offered" || bad "verb '$v' (netmove --help) not completed"
	want=$("$B/netmove" "$v" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u)
	subs=$(bash -c 'source "$1"; _netmove_subverbs "$2"' _ "$PWD/$C" "$v")
	if [ -n "$subs" ]; then
		have=$(for s in $subs; do complete_words netmove "$v" "$s" --; done |
			sort -u)
	else
		have=$(complete_words netmove "$v" --)
	fi
	for o in $want; do
		# A usage's prose names other verbs' options ('netmove resume VM
		# [--from HOST]' in watch-qmp's): those the verb itself takes
		# are in its table; check the table against the verb's own
		# getopt options, the first line(s) of its usage.
		grep -qxF -- "$o" <<<"$have" && continue
		"$B/netmove" "$v" --help | sed -n '/^usage:/,/^$/p' |
			grep -qE -- "$o( |=|]|$)" &&
			bad "netmove $v: option $o (its usage) not completed"
	done
	# And nothing the verb does not take.
	for o in $have; do
		[ "$o" = --help ] || grep -qxF -- "$o" <<<"$want" ||
			bad "netmove $v: $o completed, but not in its usage"
	done
done
echo "$n verbs of netmove --help completed, with their options"

# 3. VMs and peers from netmoved: a netmove that answers status as
# netmoved does (compact JSON, sorted members), and one with no daemon.
cat >"$tmp/netmove" <<'EOF'
#!/bin/sh
[ "$1 $2" = "status --json" ] || exit 2
echo '{"conntrack_events":{},"host":"host2","migrations":[{"id":"m-1","src":"host1","state":"done","vm":"vm1"},{"id":"m-2","src":null,"state":"prepared","vm":"vm2"}],"outgoing":["vm9"],"outgoing_drains":[],"peer_protocol":{"host1":2,"host3":null},"peers":{"host1":true,"host3":false},"site":"a"}'
EOF
chmod +x "$tmp/netmove"
expect_only "$tmp/netmove resume " vm1 vm2 vm9
expect_only "$tmp/netmove status v" vm1 vm2 vm9
expect_only "$tmp/netmove resume vm1 --from " host1 host3
expect_only "$tmp/netmove watch-qmp $tmp/files/tl-vm1.svg v" vm1 vm2 vm9
expect_only "$tmp/netmove confirm vm1 " # one VM only
start=${EPOCHREALTIME/./}
got=$(NETMOVE_CTL=$tmp/none complete_words "$B/netmove" resume "" 2>"$tmp/err")
us=$((${EPOCHREALTIME/./} - start))
[ -z "$got" ] || bad "no daemon: offered '$got'"
[ ! -s "$tmp/err" ] || bad "no daemon: said $(cat "$tmp/err")"
[ $us -lt 1500000 ] || bad "no daemon: took $us us"
echo "VMs and peers from status; none without a daemon ($us us)"

exit $fail

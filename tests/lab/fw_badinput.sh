#!/bin/bash
# Bad input to netmove fw / ct, and batches the kernel refuses: exit 2, a
# message naming the field (or the kernel's reason), and nothing changed
# ('nft list ruleset' and 'conntrack -L' identical before and after).
#
#   client -- fabric --+-- host1: nft inet filter with vm1's tagged chain, set, jump rule
#                      |          (the batch would replace them: delete + add)
#                      +-- host2: nft inet filter, the host's part only
#                                 (the batch would add vm1's objects)
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 1 --firewall >/dev/null
ip4=$(status_get '.vms[0].ipv4')
client=$(status_get '.client.ipv4')
"$LAB" exec host1 conntrack -I -p tcp -s "$ip4" -d "$client" --sport 40000 --dport 5001 \
	--state ESTABLISHED -t 300 >/dev/null 2>&1
"$LAB" exec host1 "$NETMOVE" fw export vm1 >"$TMP/fw.json"
# The one entry injected above (others of the VM's address come and go in
# the dump's order): the document the bad ones are made from.
"$LAB" exec host1 "$NETMOVE" ct export --addr "$ip4" |
	jq -c '.entries |= map(select(.[1] == 6 and .[4] == 40000))' >"$TMP/ct.json"
[ "$(jq '.entries | length' "$TMP/ct.json")" = 1 ] || fail "no conntrack entry to start from"

# The ruleset, and the conntrack entries of the lab's test network
# (198.18.0.0/15; management traffic of other components aside).
state() {
	"$LAB" exec "$1" nft list ruleset
	"$LAB" exec "$1" conntrack -L 2>/dev/null | grep ' src=198\.18\.' |
		sed -E 's/^(\S+ +\S+) +[0-9]+ /\1 /' | sort
}

# expect_bad HOST WANT CMD...: CMD (run on HOST, stdin passed on) exits 2,
# says WANT on stderr, and changes nothing on HOST.
n=0
expect_bad() {
	local host=$1 want=$2 rc=0
	shift 2
	state "$host" >"$TMP/before"
	"$LAB" exec "$host" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
	[ $rc -eq 2 ] || fail "$*: exit $rc, not 2 ($(cat "$TMP/err"))"
	grep -qF -- "$want" "$TMP/err" || fail "$*: message lacks '$want': $(cat "$TMP/err")"
	state "$host" >"$TMP/after"
	diff "$TMP/before" "$TMP/after" >"$TMP/diff" || fail "$*: changed $host: $(cat "$TMP/diff")"
	n=$((n + 1))
}

jqdoc() { jq -c "$1" "$TMP/fw.json"; }

for h in host1 host2; do
	expect_bad $h "document" "$NETMOVE" fw import <<<'{"format": "netmove-firewall",'
	expect_bad $h "document" "$NETMOVE" fw import < <(head -c 700 "$TMP/fw.json")
	expect_bad $h "unknown version 9" "$NETMOVE" fw import < <(jqdoc '.version = 9')
	expect_bad $h "document.format" "$NETMOVE" fw import < <(jqdoc '.format = "iptables-save"')
	expect_bad $h "unknown expression type 'frobnicate'" "$NETMOVE" fw import \
		< <(jqdoc '.tables[0].rules[0].exprs[0].kind = "frobnicate"')
	expect_bad $h "rules[0].exprs[0].attrs" "$NETMOVE" fw import \
		< <(jqdoc '.tables[0].rules[0].exprs[0].attrs = {"1": "zz"}')
	# Issue 10 item 1: immediate data "fdffffff" then a pointer, with a
	# verdict, read as "jump to the chain at 0x4141414141414141" that
	# freeing the rule freed (SIGSEGV).
	expect_bad $h "rules[0].exprs[0].immediate: attribute 'verdict' not allowed with 'data'" \
		"$NETMOVE" fw import < <(jqdoc '.tables[0].rules[0].exprs = [{"kind": "immediate",
			"attrs": {"1": "00000000", "2": "fdffffff000000004141414141414141",
				  "3": "fdffffff"}}]')
	expect_bad $h "tables[0].sets[0].elements[0]: expected an object or a hex key" \
		"$NETMOVE" fw import < <(jqdoc '.tables[0].sets[0].elements[0] = 5001')
	expect_bad $h "tables[0].family" "$NETMOVE" fw import < <(jqdoc '.tables[0].family = "ipx"')
	expect_bad $h "document.vm" "$NETMOVE" fw import < <(jqdoc '.vm = "vm 1"')
	expect_bad $h "is not OLD=NEW with interface names" \
		"$NETMOVE" fw import --rename qbr-vm1=qbr-vm1-renamed-x <"$TMP/fw.json"
	expect_bad $h "expected OLD=NEW" "$NETMOVE" fw import --rename qbr-vm1 <"$TMP/fw.json"
	expect_bad $h "VM: invalid name" "$NETMOVE" fw export 'vm;1'
	expect_bad $h "VM: invalid name" "$NETMOVE" fw remove ''
	expect_bad $h "expected one VM name" "$NETMOVE" fw remove
	# The kernel refuses: the jump rule names a chain nobody creates.
	expect_bad $h "kernel rejected the batch: add rule inet filter forward" \
		"$NETMOVE" fw import < <(jqdoc '(.tables[0].rules[] | select(.chain == "forward")
			| .exprs[] | select(.kind == "immediate") | .attrs["4"]) = "766d2d766d3900"')
	# The kernel refuses: an element of 4 bytes in a set of 2-byte keys.
	expect_bad $h "kernel rejected the batch: add elements to set inet filter vm1-ports" \
		"$NETMOVE" fw import < <(jqdoc '.tables[0].sets[0].elements[0] = "00001389"')

	expect_bad $h "document" "$NETMOVE" ct import <<<'{"format": "netmove-conntrack", "entries": [['
	expect_bad $h "unknown version 2" "$NETMOVE" ct import < <(jq -c '.version = 2' "$TMP/ct.json")
	expect_bad $h "entries[0].src" "$NETMOVE" ct import \
		< <(jq -c '.entries[0][2] = "198.18.1.300"' "$TMP/ct.json")
	expect_bad $h "entries[0].dport" "$NETMOVE" ct import \
		< <(jq -c '.entries[0][5] = 70000' "$TMP/ct.json")
	expect_bad $h "unknown column" "$NETMOVE" ct import \
		< <(jq -c '.columns[0] = "fam"' "$TMP/ct.json")
	# The kernel refuses a TCP state that does not exist.
	expect_bad $h "refused 1 of 1 entries" "$NETMOVE" ct import \
		< <(jq -c '.entries[0][3] = "198.18.0.77" | .entries[0][12] = 200' "$TMP/ct.json")
	expect_bad $h "--addr: \"198.18.1.999\" is not" "$NETMOVE" ct export --addr 198.18.1.999
	expect_bad $h "--zone: \"70000\"" "$NETMOVE" ct export --addr "$ip4" --zone 70000
	expect_bad $h "give at least one --addr or a --zone" "$NETMOVE" ct export
	expect_bad $h "--since: /nonexistent" "$NETMOVE" ct export --addr "$ip4" --since /nonexistent
	expect_bad $h "--since" "$NETMOVE" ct export --addr "$ip4" --since "$TMP/fw.json"
	expect_bad $h "--addr" "$NETMOVE" ct remove --addr fe80::1::2
done
pass "$n bad inputs and refused batches: exit 2, field or kernel reason named, nft ruleset and conntrack unchanged"

# And the good document still applies where the bad ones did not.
"$LAB" exec host2 "$NETMOVE" fw import <"$TMP/fw.json" >/dev/null || fail "good import failed"
"$LAB" exec host2 nft list chain inet filter vm-vm1 >/dev/null || fail "vm1's chain missing after a good import"
pass "the unedited document imports"

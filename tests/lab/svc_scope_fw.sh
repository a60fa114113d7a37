#!/bin/bash
# A source's export that would touch the destination's host objects is
# refused as a whole (issue 10, item 3): host1 holds a rule tagged for vm1
# in a table and base chain of its own that host2 lacks; exported as it is,
# it names that table and chain as containers, which an import for vm1 may
# not create.  netmove prepare fails as bad input naming the table, the VM
# is not moved, and host2's ruleset and conntrack table are unchanged.
#
#   host1 nft: inet filter (host) + vm1's objects
#              + table inet hostonly { chain input { hook input; tagged rule } }
#   host2 nft: inet filter (host)            <- compared before and after
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 1 --firewall >/dev/null
wait_peers host2 host1
"$LAB" exec host1 nft -f - <<-'NFT'
	add table inet hostonly
	add chain inet hostonly input { type filter hook input priority 0; policy accept; }
	add rule inet hostonly input tcp dport 9 drop comment "netmove:vm=vm1"
NFT
"$LAB" exec host2 nft list ruleset >"$TMP/before.nft"
"$LAB" exec host2 conntrack -L -s 198.18.1.1 2>/dev/null | sort >"$TMP/ct-before"

if "$LAB" migrate vm1 host2 --netmove >"$TMP/migrate.out" 2>&1; then
	fail "the move went through: $(cat "$TMP/migrate.out")"
fi
grep -q "table inet hostonly: not tagged netmove:vm=vm1 and not on this host" "$TMP/migrate.out" ||
	fail "refusal not named: $(cat "$TMP/migrate.out")"

"$LAB" exec host2 nft list ruleset >"$TMP/after.nft"
diff -u "$TMP/before.nft" "$TMP/after.nft" >&2 || fail "host2's ruleset changed"
"$LAB" exec host2 conntrack -L -s 198.18.1.1 2>/dev/null | sort >"$TMP/ct-after"
diff -u "$TMP/ct-before" "$TMP/ct-after" >&2 || fail "host2's conntrack table changed for vm1"
"$LAB" down
pass "an export naming a host table host2 lacks: refused ($(grep -o 'table inet hostonly[^;]*' "$TMP/migrate.out" | head -1)), host2's ruleset unchanged"

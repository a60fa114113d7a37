#!/bin/bash
# Every shape of nftables object a VM's firewall may hold survives
# 'netmove fw export | netmove fw import --rename': what 'nft list' shows on
# the destination equals the source's with the interface renamed.  Also: a
# destination without the host's table gets it from the source's definition,
# a VM's whole table replaces only its own, a same-named host table is never
# taken over, and remove leaves the host's objects.
#
#   [ns fws-src-PID]                                [ns fws-dst-PID]
#   veth tap-a                                      veth tap-b
#   table inet filter (host's) + vm7's objects  --> (nothing, then the host's
#   table ip vm7nat (vm7's, whole)                   own table inet filter)
#   table netdev vm7edge (vm7's, ingress on tap-a)
set -eu
. "$(dirname "$0")/lib.bash"

src=fws-src-$$ dst=fws-dst-$$
ip netns add "$src"
ip netns add "$dst"
drop_ns() { ip netns del "$src" 2>/dev/null || true; ip netns del "$dst" 2>/dev/null || true; }
trap 'rc=$?; drop_ns; cleanup; exit $rc' EXIT
ip -n "$src" link add tap-a type veth peer name tap-a-peer
ip -n "$dst" link add tap-b type veth peer name tap-b-peer

ip netns exec "$src" nft -f - <<'NFT'
table inet filter {
	set vm7-ports {
		type inet_service
		comment "netmove:vm=vm7"
		elements = { 22, 5001 }
	}
	set vm7-flows {
		type ipv4_addr
		size 1024
		flags dynamic,timeout
		timeout 1m
		comment "netmove:vm=vm7"
	}
	map vm7-dispatch {
		type ifname : verdict
		comment "netmove:vm=vm7"
		elements = { "tap-a" : jump vm-vm7, "tap-z" : drop }
	}
	set vm7-nets {
		type ipv4_addr
		flags interval
		comment "netmove:vm=vm7"
		elements = { 198.18.1.0/28, 198.18.2.0-198.18.2.9 }
	}
	set vm7-pairs {
		type ifname . ipv4_addr
		comment "netmove:vm=vm7"
		elements = { "tap-a" . 198.18.1.7, "tap-q" . 198.18.1.8 }
	}
	set host-ports {
		type inet_service
		elements = { 80 }
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ct state invalid drop
		iifname vmap @vm7-dispatch comment "netmove:vm=vm7"
		oifname "tap-a" jump vm-vm7 comment "netmove:vm=vm7"
		tcp dport @host-ports accept
	}
	chain vm-vm7 {
		comment "netmove:vm=vm7"
		iifname "tap-a" ip saddr @vm7-nets ct state new add @vm7-flows { ip saddr counter } accept
		oifname "tap-a" tcp dport @vm7-ports ct state new counter accept
		oifname "tap-a" udp dport { 53, 123 } limit rate 10/second accept
		iifname . ip saddr @vm7-pairs accept
		iifname { "tap-a", "tap-x" } meta mark set 0x00000007 log prefix "vm7: " drop
		oifname "tap-a*" goto vm7-tail
		reject with icmpx admin-prohibited
	}
	chain vm7-tail {
		comment "netmove:vm=vm7"
		ip6 daddr 2001:db8:1::7 icmpv6 type echo-request accept
		counter drop
	}
}
table ip vm7nat {
	comment "netmove:vm=vm7"
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "tap-a" ip saddr 198.18.1.7 snat to 198.18.0.9
	}
}
table netdev vm7edge {
	comment "netmove:vm=vm7"
	chain in {
		type filter hook ingress device "tap-a" priority filter; policy accept;
		ether saddr 02:00:00:00:00:07 counter accept
	}
}
table inet other {
	chain c { accept; }
}
NFT

# nft list of everything but the host-only table 'other', counters aside.
listing() {
	ip netns exec "$1" nft list ruleset | awk '/^table inet other/ { skip = 1 } !skip { print } /^}/ { skip = 0 }' |
		sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/; s/ expires [0-9hms.]+//'
}

ip netns exec "$src" "$NETMOVE" fw export vm7 >"$TMP/fw.json"
ip netns exec "$dst" "$NETMOVE" fw import --rename tap-a=tap-b <"$TMP/fw.json" >"$TMP/out" ||
	fail "import failed: $(cat "$TMP/out")"
# The source without the host's own set and rules (which never move), and
# with the interface renamed: what the destination must show.
expected() {
	listing "$src" | awk '/^\tset host-ports \{/ { skip = 1 } !skip { print } skip && /^\t}/ { skip = 2 }
		skip == 2 { skip = 0; getline }' |
		grep -v -e 'ct state established,related accept' -e 'ct state invalid drop' \
			-e 'tcp dport @host-ports accept' | sed 's/"tap-a"/"tap-b"/g; s/device "tap-a"/device "tap-b"/'
}
diff <(expected) <(listing "$dst") >"$TMP/diff" ||
	fail "destination differs from the source after the rename: $(cat "$TMP/diff")"
! ip netns exec "$dst" nft list table inet other >/dev/null 2>&1 || fail "the host's table 'other' moved"
ip netns exec "$dst" nft list table inet filter | grep -q 'host-ports' && fail "the host's set moved"
listing "$dst" | grep -q 'device "tap-b"' || fail "the netdev chain's device was not renamed"
listing "$dst" | grep -q '"tap-a\*"' || fail "a wildcard was rewritten"
pass "anonymous sets, verdict/interval/concatenated maps, dynset, limit, log, reject, goto, NAT and netdev tables equal after --rename tap-a=tap-b"
pass "the destination got table inet filter and chain forward from the source's definition (host rules not copied)"

# Importing again replaces; the VM's objects are the same.
ip netns exec "$dst" "$NETMOVE" fw import --rename tap-a=tap-b <"$TMP/fw.json" >/dev/null
diff <(expected) <(listing "$dst") >"$TMP/diff" || fail "re-import differs: $(cat "$TMP/diff")"
pass "importing again replaces"

# remove: the VM's objects go; the host's table and chain it created stay.
ip netns exec "$dst" nft add rule inet filter forward tcp dport 443 accept
ip netns exec "$dst" "$NETMOVE" fw remove vm7 >/dev/null
! ip netns exec "$dst" nft list ruleset | grep -q 'netmove:vm=vm7' || fail "remove left vm7's objects"
ip netns exec "$dst" nft list chain inet filter forward | grep -q 'dport 443 accept' ||
	fail "remove took the host's rule"
pass "remove deletes vm7's objects only"

# A host table of the name of vm7's whole table is never taken over.
ip netns exec "$dst" nft add table ip vm7nat
ip netns exec "$dst" nft list ruleset >"$TMP/before"
rc=0; ip netns exec "$dst" "$NETMOVE" fw import <"$TMP/fw.json" 2>"$TMP/err" >/dev/null || rc=$?
[ $rc -eq 2 ] && grep -q "table ip vm7nat: the destination already has" "$TMP/err" ||
	fail "import over a host's same-named table: exit $rc: $(cat "$TMP/err")"
ip netns exec "$dst" nft list ruleset | diff "$TMP/before" - >/dev/null || fail "the refused import changed the ruleset"
pass "a host table named like vm7's whole table is refused (exit 2), nothing changed"

#!/bin/bash
# A peer's export is staged only within the destination's configuration
# (version 2, written by the lab: network blue is 198.18.0.0/16 and
# 2001:db8:1::/64, the client's addresses are never announced, VLANs 100/200
# only): a VM whose declared address lies outside the prefixes, or is the
# client's, or whose port carries an unmapped VLAN, is refused at prepare
# (exit 2, the field named), and nothing changes on the destination (its
# OVSDB Port/Interface/QoS/Queue tables, ruleset and conntrack table
# compared before and after).  The same VM with its own address then
# prepares, and aborts.
#
#   client -- fabric -- host1 (vm1, its port's ip-addresses edited)
#                    \-- host2 (destination: prepare refused, unchanged)
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 1
ip4=$(status_get '.vms[0].ipv4') ip6=$(status_get '.vms[0].ipv6')
port=$(status_get '.vms[0].port')
r1=$(status_get '.hosts[0].ovs_rundir') r2=$(status_get '.hosts[1].ovs_rundir')
wait_peers host2 host1
grep -q '"version": 2' "$r2/netmoved.json" || fail "the lab's netmoved.json is not version 2"
grep -q '"prefixes"' "$r2/netmoved.json" || fail "the lab's netmoved.json names no prefixes"

vsctl1() { ovs-vsctl --db="unix:$r1/db.sock" "$@"; }
snapshot() {
	local db=unix:$r2/db.sock
	ovs-vsctl --db="$db" --format=json list-ports br-int
	ovs-vsctl --db="$db" --format=json --columns=_uuid,name,tag,trunks,vlan_mode,interfaces,qos,external_ids,other_config list Port
	ovs-vsctl --db="$db" --format=json --columns=_uuid,name,type,options,external_ids,other_config,ofport list Interface
	ovs-vsctl --db="$db" --format=json list QoS
	ovs-vsctl --db="$db" --format=json list Queue
	"$LAB" exec host2 nft list ruleset
	"$LAB" exec host2 conntrack -L 2>/dev/null | grep -c . || true
}
snapshot >"$TMP/before"

# refused WHAT MESSAGE: prepare of vm1 on host2 exits 2 naming MESSAGE, and
# host2 is as it was.
refused() {
	local what=$1 msg=$2 rc=0
	"$LAB" exec host2 "$NETMOVE" prepare vm1 --from host1 >"$TMP/out" 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || fail "$what: prepare exited $rc, not 2: $(cat "$TMP/out")"
	grep -qF -- "$msg" "$TMP/out" || fail "$what: the refusal does not say '$msg': $(cat "$TMP/out")"
	snapshot >"$TMP/after"
	diff -u "$TMP/before" "$TMP/after" >&2 || fail "$what: host2 changed"
	pass "$what: refused at prepare, exit 2 ('$(grep -oF -- "$msg" "$TMP/out")'), host2 unchanged"
}

vsctl1 set Interface "$port" "external_ids:ip-addresses=198.19.77.7 $ip6"
refused "an address outside the prefixes" \
	"export: port: ip-addresses: 198.19.77.7 is outside the prefixes of every configured network"

vsctl1 set Interface "$port" "external_ids:ip-addresses=$ip4 198.18.0.1"
refused "the client's (gateway's) address" \
	"export: port: ip-addresses: 198.18.0.1 is never-announce in network blue"

vsctl1 set Interface "$port" "external_ids:ip-addresses=$ip4 2001:db8:2::7"
refused "an IPv6 address outside the prefixes" "2001:db8:2::7 is outside the prefixes"

vsctl1 set Interface "$port" "external_ids:ip-addresses=$ip4 $ip6"
vsctl1 set Port "$port" tag=300
refused "an unmapped VLAN" "export: port: ports[0].tag: VLAN 300 is not one of the configuration's networks"
vsctl1 remove Port "$port" tag 300

"$LAB" exec host2 "$NETMOVE" status >/dev/null || fail "netmoved on host2 stopped serving"
"$LAB" exec host2 "$NETMOVE" prepare vm1 --from host1 >/dev/null || fail "vm1 with its own addresses was refused"
ovs-vsctl --db="unix:$r2/db.sock" list-ports br-int | grep -qx "$port" || fail "prepare staged no port"
"$LAB" exec host2 "$NETMOVE" abort vm1 >/dev/null
snapshot >"$TMP/after"
diff -u "$TMP/before" "$TMP/after" >&2 || fail "host2 changed after prepare and abort"
pass "vm1 with its own addresses (inside the prefixes) prepares; abort leaves host2 as it was"

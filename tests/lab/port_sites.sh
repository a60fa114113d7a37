#!/bin/bash
# A move across sites: network blue is VLAN 100 at site a and VLAN 200 at
# site b.  vm1's port is exported at site a (tag 100) and imported at site b
# with --vlan-map 100=200: the imported port carries tag 200 (ovs-vsctl),
# its frames cross site b's trunk tagged 200 (tshark), and the client at
# site a reaches it.  Without the map the port would keep tag 100 and stay
# unreachable: checked first, then fixed by a second import (in place).
#
#   client (access, VLAN 100)
#     |
#   fabric-a: OVS fab ==isl== fabric-b: xlate (100<->200) -- OVS fab
#     | h1 (trunk)                                              | h2 (trunk) <- capture
#   host1 OVS (site a)                                        host2 OVS (site b)
#     tap-vm1 tag 100      ---- vm1 moves ---->                 tap-vm1 tag 200
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 2 --sites 2 >/dev/null
R1=$(status_get '.hosts[0].ovs_rundir')
R2=$(status_get '.hosts[1].ovs_rundir')
[ "$(status_get '.vms[0].vlan')" = 100 ] || fail "vm1 is not on VLAN 100 at site a"
vs2() { ovs-vsctl --db="unix:$R2/db.sock" "$@"; }
reachable() {
	"$LAB" exec vm1 arping -q -U -c 1 -I eth0 198.18.1.1 || true
	[ "$(pings client 198.18.1.1 3)" = 3 ]
}

OVS_RUNDIR=$R1 "$NETMOVE" port export vm1 >"$TMP/vm1.json"
grep -q '"tag": 100' "$TMP/vm1.json" || fail "exported document lacks tag 100"
"$LAB" migrate vm1 host2 --no-port >/dev/null

# Without the map: site a's VLAN id at site b, and vm1 is cut off.
OVS_RUNDIR=$R2 "$NETMOVE" port import <"$TMP/vm1.json" >/dev/null || fail "import failed"
[ "$(vs2 get Port tap-vm1 tag)" = 100 ] || fail "unmapped import changed the tag"
reachable && fail "vm1 reachable on the wrong VLAN: the map would prove nothing"
uuid=$(vs2 get Port tap-vm1 _uuid)
pass "without --vlan-map: tag 100 at site b, vm1 unreachable"

# With the map: tag 200, same record, reachable, tagged 200 on site b's trunk.
OVS_RUNDIR=$R2 "$NETMOVE" port import --vlan-map 100=200 --vlan-map 300=301 \
	<"$TMP/vm1.json" >"$TMP/out" || fail "mapped import failed"
grep -q changed "$TMP/out" || fail "mapped import said: $(cat "$TMP/out")"
[ "$(vs2 get Port tap-vm1 tag)" = 200 ] || fail "tag is $(vs2 get Port tap-vm1 tag), not 200"
[ "$(vs2 get Port tap-vm1 _uuid)" = "$uuid" ] || fail "the map replaced the port record"
capture fabric-b h2 "$TMP/b.pcap"
reachable || fail "client cannot reach vm1 at site b"
capture_stop
vb=$(tshark -r "$TMP/b.pcap" -Y "icmp && eth.addr == 02:00:00:00:00:01" -T fields -e vlan.id 2>/dev/null | sort -u | tr '\n' ' ')
[ "$vb" = "200 " ] || fail "vm1's ICMP on site b's trunk carried VLAN(s) '$vb', expected 200"
pass "--vlan-map 100=200: tag 200 in place, reachable, tshark sees VLAN 200 on site b's trunk"

# Trunks are mapped too (a trunk port of VLANs 100 and 300).
sed 's/"trunks": \[\]/"trunks": [100, 300]/; s/"tag": 100,//' "$TMP/vm1.json" |
	OVS_RUNDIR=$R2 "$NETMOVE" port import --vlan-map 100=200 --vlan-map 300=301 >/dev/null ||
	fail "trunk import failed"
[ "$(vs2 get Port tap-vm1 trunks)" = "[200, 301]" ] || fail "trunks are $(vs2 get Port tap-vm1 trunks)"
[ "$(vs2 get Port tap-vm1 tag)" = "[]" ] || fail "tag not cleared"
pass "trunks [100, 300] mapped to [200, 301]"

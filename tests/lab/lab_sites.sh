#!/bin/bash
# Two sites: network blue is VLAN 100 at site a and VLAN 200 at site b.
# Traffic crosses the inter-site trunk, each side carries its own VLAN id,
# and a VM moved across sites gets the destination site's tag.
#
#   client (access, VLAN 100)
#     |
#   fabric-a: OVS fab ==isl== fabric-b: xlate (100<->200) -- OVS fab
#     | h1 (trunk)                                              | h2 (trunk)
#   host1 OVS, vm1 tag 100                                    host2 OVS, vm2 tag 200
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 2 --sites 2
[ "$(status_get '.vms[1].vlan')" = 200 ] || fail "vm2 is not on VLAN 200"
db2="unix:$(status_get '.hosts[1].ovs_rundir')/db.sock"
[ "$(ovs-vsctl --db="$db2" get Port tap-vm2 tag)" = 200 ] || fail "vm2's port is not tagged 200"

capture fabric-a h1 "$TMP/a.pcap"
capture fabric-b h2 "$TMP/b.pcap"
[ "$(pings client 198.18.1.1 3)" -eq 3 ] || fail "client cannot reach vm1 (site a)"
[ "$(pings client 198.18.1.2 3)" -eq 3 ] || fail "client cannot reach vm2 (site b) across sites"
capture_stop
va=$(tshark -r "$TMP/a.pcap" -Y icmp -T fields -e vlan.id 2>/dev/null | sort -u | tr '\n' ' ')
vb=$(tshark -r "$TMP/b.pcap" -Y icmp -T fields -e vlan.id 2>/dev/null | sort -u | tr '\n' ' ')
[ "$va" = "100 " ] || fail "site a trunk carried VLAN(s) '$va', expected 100"
[ "$vb" = "200 " ] || fail "site b trunk carried VLAN(s) '$vb', expected 200"
pass "traffic crosses sites; tshark sees VLAN 100 at a, 200 at b"

"$LAB" migrate vm1 host2
[ "$(ovs-vsctl --db="$db2" get Port tap-vm1 tag)" = 200 ] || fail "moved port not tagged with site b's VLAN"
"$LAB" exec vm1 arping -q -U -c 1 -I eth0 198.18.1.1 || true
wait_until 5 sh -c "[ \"\$(NETMOVE_LAB=$NETMOVE_LAB $LAB exec client ping -c1 -W1 198.18.1.1 >/dev/null && echo y)\" = y ]" ||
	fail "vm1 unreachable at site b"
pass "vm1 moved to site b: tag 200, reachable from site a"

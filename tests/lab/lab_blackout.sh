#!/bin/bash
# After a migration with no announcement the fabric still sends the VM's
# frames to the old host: the client cannot reach the VM until a frame is sent
# from the VM's new location.  The VM itself sends nothing during the move.
#
#          client (198.18.0.1)
#             |
#   fabric br0 (learning, 300 s) --h1-- host1 OVS --tap-vm1-- vm1   (before)
#                                \-h2-- host2 OVS --tap-vm1-- vm1   (after)
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 2
mac=$(status_get '.vms[0].mac') ip4=$(status_get '.vms[0].ipv4')
fabric=$(status_get '.fabrics[0].netns')
[ "$(pings client "$ip4" 5)" -eq 5 ] || fail "client cannot reach vm1 before the move"
ip netns exec "$fabric" bridge fdb show br br0 | grep -q "$mac dev h1 " ||
	fail "fabric did not learn vm1 on h1"

# A TCP stream opened before the move, and every frame the VM sends.
bg "$LAB" probe vm1 --duration 8 --ready "$TMP/ready" --json >"$TMP/probe.json"
wait_until 10 test -f "$TMP/ready" || fail "probe did not start"
# Any frame the VM sends from its new host enters the fabric at h2.
capture fabric h2 "$TMP/h2.pcap" ether src "$mac"

"$LAB" migrate vm1 host2
[ "$(ovs-vsctl --db="unix:$(status_get '.hosts[1].ovs_rundir')/db.sock" get Interface tap-vm1 external_ids:vm-id)" = vm1 ] ||
	fail "port not on host2 with its external_ids"

# Stale fabric: nothing gets through, for a whole second.
[ "$(pings client "$ip4" 50)" -eq 0 ] || fail "client reached vm1 although no frame announced the move"
ip netns exec "$fabric" bridge fdb show br br0 | grep -q "$mac dev h1 " ||
	fail "fabric forgot the old port by itself"
frames=$(tcpdump -r "$TMP/h2.pcap" -nn 2>/dev/null | wc -l)
[ "$frames" -eq 0 ] || fail "the VM sent $frames frame(s) during the move: the lab would measure side effects"
pass "blackout: client cut off, fabric stale, VM silent"

# One frame from the new location (arping stands in for netmove here).
"$LAB" exec vm1 arping -q -U -c 1 -I eth0 "$ip4" || true
wait_until 5 sh -c "ip netns exec $fabric bridge fdb show br br0 | grep -q '$mac dev h2 '" ||
	fail "fabric did not relearn vm1 on h2"
[ "$(pings client "$ip4" 5)" -eq 5 ] || fail "client cannot reach vm1 after the announcement"
pass "one gratuitous ARP from the new location restores reachability"

capture_stop
wait_until 20 sh -c "jq -e .tcp '$TMP/probe.json'" || fail "probe did not finish"
jq -e '.tcp.survived' "$TMP/probe.json" >/dev/null ||
	fail "TCP connection opened before the move did not survive: $(cat "$TMP/probe.json")"
pass "TCP connection opened before the move survived: $(jq -c '{lost: .ping.lost, gap_ms: .ping.longest_gap_ms, tcp_gap_ms: .tcp.longest_gap_ms}' "$TMP/probe.json")"

#!/bin/bash
# A move across sites through netmoved: network blue is VLAN 100 at site a
# and VLAN 200 at site b; the destination port carries 200, the announcements
# leave host2 on VLAN 200 (tshark on the site-b trunk), the client at site a
# reaches the VM again and its TCP stream survives.
#
#   client(VLAN 100) - fabric-a ==isl/xlate 100<->200== fabric-b
#                        | h1 trunk                         | h2 trunk
#                      host1 (site a, tag 100)            host2 (site b, tag 200)
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 1 --sites 2
mac=$(status_get '.vms[0].mac') r2=$(status_get '.hosts[1].ovs_rundir')
wait_peers host2 host1
capture fabric-b h2 "$TMP/b.pcap"
bg "$LAB" probe vm1 --duration 4 --ready "$TMP/ready" --json >"$TMP/probe.json"
probe=$(last_bg)
wait_until 10 test -f "$TMP/ready" || fail "probe did not start"

# No drain: no announcement at the pause, the resume's are the first.
"$LAB" migrate vm1 host2 --netmove --no-drain >/dev/null
[ "$(ovs-vsctl --db="unix:$r2/db.sock" get Port tap-vm1 tag)" = 200 ] ||
	fail "the port on host2 is not tagged with site b's VLAN"
ofport=$(ovs-vsctl --db="unix:$r2/db.sock" get Interface tap-vm1 ofport)
"$LAB" exec host2 env OVS_RUNDIR="$r2" ovs-appctl fdb/show br-int | awk -v m="$mac" -v p="$ofport" '$3 == m && $1 == p && $2 == 200' | grep -q . ||
	fail "host2's bridge has not learned $mac on tap-vm1 (ofport $ofport) in VLAN 200"
pass "port on host2 tagged 200 (was 100 at site a); its bridge learned $mac there, VLAN 200"

wait "$probe" || true
capture_stop
vlans=$(tshark -r "$TMP/b.pcap" -Y "eth.src == $mac && (arp || icmpv6.type == 136)" -T fields -e vlan.id 2>/dev/null | sort -u | tr '\n' ' ')
[ "$vlans" = "200 " ] || fail "announcements on site b's trunk carried VLAN(s) '$vlans', expected 200"
n=$(tshark -r "$TMP/b.pcap" -Y "eth.src == $mac && arp.opcode == 3" 2>/dev/null | wc -l)
[ "$n" -ge 1 ] || fail "no RARP from vm1 on site b's trunk"
[ "$("$LAB" exec host2 "$NETMOVE" status vm1 | jq '.migrations[0].first_seen_vlan')" = 200 ] ||
	fail "netmoved did not see its announcements leave on VLAN 200"
pass "announcements on VLAN 200 at site b ($n RARP), as netmoved saw them leave"
# Round 0 twice, tagged 200: straight out of host2's uplink, then flooded.
t0=$(tshark -r "$TMP/b.pcap" -Y "eth.src == $mac && arp.opcode == 3" -T fields -e frame.time_epoch 2>/dev/null | head -1)
n0=$(tshark -r "$TMP/b.pcap" -Y "eth.src == $mac && eth.dst == ff:ff:ff:ff:ff:ff && arp.opcode == 3 && vlan.id == 200 && frame.time_epoch < $t0 + 0.025" 2>/dev/null | wc -l)
[ "$n0" -eq 2 ] || fail "round 0's RARP reached site b's trunk $n0 time(s) on VLAN 200 within 25 ms, expected 2"
pass "round 0 on VLAN 200 out of the uplink first, then flooded (2 RARPs in 25 ms)"

jq -e '.tcp.survived' "$TMP/probe.json" >/dev/null || fail "TCP broke: $(cat "$TMP/probe.json")"
pass "client at site a: TCP survived, $(jq -c '{pings_lost: .ping.lost, gap_ms: .ping.longest_gap_ms}' "$TMP/probe.json")"

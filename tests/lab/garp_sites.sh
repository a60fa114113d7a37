#!/bin/bash
# Announcing across sites: vm1 moves from site a (VLAN 100) to site b
# (VLAN 200).  Sent through host2's OVS from the VM's port, the frames leave
# on host2's trunk with VLAN 200 (OVS applies the port's tag); sent raw on the
# trunk, they carry the tag and priority netmove was given.  netmove capture
# on the trunk reports what it saw and who answers for the addresses, and
# calls out a duplicate when a second MAC claims the VM's IPv4 address.
#
#   client (access, VLAN 100)
#     |
#   fabric-a: OVS fab ==isl== fabric-b: xlate (100<->200) -- OVS fab
#     | h1 (trunk)                                              | h2 (trunk)
#   host1 OVS, vm1 tag 100   --- vm1 moves --->            host2 OVS, tap-vm1 tag 200
#                                                          up0 (trunk uplink)
set -eu
NETMOVE_LAB=gas$(printf '%x' $(($$ % 256)))
export NETMOVE_LAB
. "$(dirname "$0")/lib.bash"
[ -x "$NETMOVE" ] || skip "build/netmove not built"

"$LAB" up --hosts 2 --vms 1 --sites 2
mac=$(status_get '.vms[0].mac') ip4=$(status_get '.vms[0].ipv4')
ip6=$(status_get '.vms[0].ipv6')
db2="unix:$(status_get '.hosts[1].ovs_rundir')/db.sock"

# count FILE FILTER: how many frames FILTER selects.
count() { tshark -r "$1" -Y "$2" 2>/dev/null | wc -l; }
# ncap NAME ARGS...: netmove capture in fabric-b, in the background, JSON
# into $TMP/NAME.json; returns once it is capturing.
ncap() {
	local name=$1
	shift
	bg "$LAB" exec fabric-b "$NETMOVE" capture --dev h2 --json "$@" \
		>"$TMP/$name.json" 2>"$TMP/$name.err"
	wait_until 5 grep -q '^capturing on' "$TMP/$name.err" ||
		fail "netmove capture did not start: $(cat "$TMP/$name.err")"
}

wait_until 10 "$LAB" exec client ping -n -q -c 1 -W 1 "$ip4" || fail "client cannot reach vm1 before the move"
"$LAB" migrate vm1 host2
[ "$(ovs-vsctl --db="$db2" get Port tap-vm1 tag)" = 200 ] || fail "moved port not tagged 200"
[ "$(pings client "$ip4" 20)" -eq 0 ] || fail "client reached vm1 after the move with no announcement"
pass "vm1 moved to site b (tag 200) and is cut off"

# --- Through host2's OVS: VLAN 200 on the trunk, from the port's tag. ---
capture fabric-b h2 "$TMP/bridge.pcap"
ncap bridge --mac "$mac" --duration 60000
"$LAB" exec host2 "$NETMOVE" announce --mac "$mac" --ip "$ip4" --ip "$ip6" \
	--bridge br-int --port tap-vm1 --rounds 2 --initial 10 >/dev/null
wait_until 10 "$LAB" exec client ping -n -q -c 1 -W 1 "$ip4" || fail "client cannot reach vm1 across sites after the announcement"
capture_stop
p=$TMP/bridge.pcap
# (RARP by its opcode: behind a tag eth.type is 0x8100.)
ours="eth.src == $mac && (arp.opcode == 3 || arp.dst.proto_ipv4 == $ip4 || icmpv6.nd.na.target_address == $ip6)"
[ "$(count "$p" "$ours")" -eq 6 ] || fail "expected 6 announcements on host2's trunk, saw $(count "$p" "$ours")"
[ "$(count "$p" "$ours && vlan.id == 200")" -eq 6 ] || fail "announcements on the trunk not all VLAN 200"
pass "announce --bridge: client reaches vm1 across sites; tshark: 6 frames on the trunk, all VLAN 200"

# netmove capture saw the same, parsed on its own.
j=$TMP/bridge.json
jq -e . "$j" >/dev/null || fail "netmove capture printed no JSON: $(cat "$TMP/bridge.err")"
[ "$(jq '[.seen[] | select(.vlan == 200 and (.type == "rarp" or .type == "garp-request" or .type == "na-unsolicited"))] | length' "$j")" -eq 6 ] ||
	fail "netmove capture: $(jq -c '[.seen[] | {type, vlan}]' "$j")"
[ "$(jq -r --arg a "$ip4" '.owners[] | select(.addr == $a) | .macs | join(",")' "$j")" = "$mac" ] ||
	fail "netmove capture: owner of $ip4: $(jq -c .owners "$j")"
pass "netmove capture on the trunk: 6 announcements on VLAN 200, $ip4 owned by $mac alone"

# --- Raw on host2's trunk uplink with an explicit tag and priority. ---
capture fabric-b h2 "$TMP/dev.pcap"
"$LAB" exec host2 "$NETMOVE" announce --mac "$mac" --ip "$ip4" --ip "$ip6" \
	--dev up0 --vlan 200 --pcp 5 --rounds 1 >/dev/null
wait_until 5 sh -c "[ \$(tshark -r '$TMP/dev.pcap' -Y 'eth.src == $mac' 2>/dev/null | wc -l) -ge 3 ]" ||
	fail "raw announcements not captured on the trunk"
capture_stop
p=$TMP/dev.pcap
[ "$(count "$p" "$ours && vlan.id == 200 && vlan.priority == 5")" -eq 3 ] ||
	fail "raw: expected 3 frames tagged VLAN 200 PCP 5, saw $(tshark -r "$p" -Y "$ours" -T fields -e vlan.id -e vlan.priority 2>/dev/null | tr '\n' ' ')"
[ "$(count "$p" "$ours && vlan && frame.len >= 64")" -eq 3 ] || fail "tagged frames shorter than 64 bytes"
pass "announce --dev up0 --vlan 200 --pcp 5: tshark sees 3 frames, VLAN 200, priority 5, >= 64 bytes"

# --- A second MAC claims vm1's address: netmove capture calls it out. ---
capture fabric-b h2 "$TMP/dup.pcap"
ncap dup --ip "$ip4" --duration 60000
"$LAB" exec host2 "$NETMOVE" announce --mac 02:00:00:00:ee:01 --ip "$ip4" \
	--dev up0 --vlan 200 --rounds 1 --kinds garp >/dev/null
"$LAB" exec host2 "$NETMOVE" announce --mac "$mac" --ip "$ip4" \
	--dev up0 --vlan 200 --rounds 1 --kinds garp >/dev/null
# Once tcpdump has both, netmove capture has them too (it reads what is
# left when it stops).
wait_until 5 sh -c "[ \$(tshark -r '$TMP/dup.pcap' -Y 'arp.dst.proto_ipv4 == $ip4' 2>/dev/null | wc -l) -ge 2 ]" ||
	fail "the two claims were not captured"
capture_stop
j=$TMP/dup.json
[ "$(jq -r --arg a "$ip4" '.owners[] | select(.addr == $a) | .duplicate' "$j")" = true ] ||
	fail "netmove capture did not call out the duplicate: $(jq -c .owners "$j")"
[ "$(jq -r --arg a "$ip4" '.owners[] | select(.addr == $a) | .macs | sort | join(",")' "$j")" = "02:00:00:00:00:01,02:00:00:00:ee:01" ] ||
	fail "duplicate owners: $(jq -c .owners "$j")"
pass "netmove capture: $ip4 claimed by two MACs -> duplicate"

#!/bin/bash
# The addresses a VM uses without anyone declaring them: netmoved on its
# host learns them from the VM's own ARP and ND, and the VM's move carries
# them (the destination announces them).  An ARP is only a claim: before
# the export, the source asks who answers for each learned address, and
# drops the one another MAC answers for (vm1 claimed vm2's address once):
# it is left out of the export (the list the destination announces and the
# source picks conntrack entries by) and no frame from the destination
# claims it.  A learned address survives a restart of the source's
# netmoved.
#
#            client
#              |
#   fabric ---h1--- host1: netmoved, OVS   vm1 (declared .1.1, uses .1.201
#          |                                and 2001:db8:1::201 too)
#          \--h2--- host2: netmoved, OVS   vm2 (198.18.1.2)
#   mgmt: host1 <-- JSON-RPC over mutual TLS --> host2
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 2
r1=$(status_get '.hosts[0].ovs_rundir') r2=$(status_get '.hosts[1].ovs_rundir')
wait_peers host2 host1
vm2_ip=$(status_get '.vms[1].ipv4') vm2_mac=$(status_get '.vms[1].mac')
extra4=198.18.1.201 extra6=2001:db8:1::201

# vm1 starts using two more addresses (it announces them, as a guest's
# stack does), and claims vm2's address once (a gratuitous ARP from an
# address it then drops: a spoof, or a stale configuration).
"$LAB" exec vm1 ip addr add "$extra4/16" dev eth0
"$LAB" exec vm1 ip addr add "$extra6/64" dev eth0 nodad
"$LAB" exec vm1 arping -q -U -c 1 -I eth0 -s "$extra4" "$extra4" || true
"$LAB" exec vm1 ndisc6 -q -n -s "$extra6" -1 2001:db8:1::ffff eth0 >/dev/null 2>&1 || true
"$LAB" exec vm1 ip addr add "$vm2_ip/32" dev eth0
"$LAB" exec vm1 arping -q -U -c 1 -I eth0 -s "$vm2_ip" "$vm2_ip" || true
"$LAB" exec vm1 ip addr del "$vm2_ip/32" dev eth0
# That claim misled the client's neighbour cache; vm2 sets it right again.
"$LAB" exec vm2 arping -q -U -c 1 -I eth0 -s "$vm2_ip" "$vm2_ip" || true
wait_until 5 sh -c "NETMOVE_LAB=$NETMOVE_LAB $LAB exec client ip neigh show $vm2_ip | grep -q $vm2_mac" ||
	fail "the client's entry for $vm2_ip did not come back to vm2"

# Learned on host1 (and saved: a restart of netmoved keeps them).
learned_file=$r1/netmove/learned-addresses.json
has_learned() { jq -e --arg a "$1" '[.ifaces[].addrs[].ip] | index($a) != null' "$learned_file"; }
wait_until 10 has_learned "$extra4" || fail "host1 did not learn $extra4: $(cat "$learned_file" 2>/dev/null)"
wait_until 10 has_learned "$extra6" || fail "host1 did not learn $extra6: $(cat "$learned_file" 2>/dev/null)"
has_learned "$vm2_ip" >/dev/null || fail "host1 did not learn vm1's claim of $vm2_ip"
"$LAB" netmoved host1 stop
"$LAB" netmoved host1 start
wait_peers host2 host1
pass "vm1's own ARP/ND taught host1 $extra4, $extra6 (and its claim of $vm2_ip); kept across a restart"

# The move: the extra addresses follow vm1, vm2's does not.
capture host2 up0 "$TMP/up0.pcap" arp or rarp or icmp6
# No drain: no announcement at the pause, the resume's are the first.
"$LAB" migrate vm1 host2 --netmove --no-drain --json >"$TMP/m.json"
jq -e '.hook_rc == 0' "$TMP/m.json" >/dev/null || fail "the move failed: $(cat "$TMP/m.json")"
ips=$(jq -c '.addresses[0].ips' "$LAB_STATE/vm1.resume.json")
echo "$ips" | jq -e --arg a "$extra4" --arg b "$extra6" 'index($a) != null and index($b) != null' >/dev/null ||
	fail "vm1's learned addresses did not arrive: $ips"
if echo "$ips" | jq -e --arg a "$vm2_ip" 'index($a) != null' >/dev/null; then
	fail "vm2's address, answered by vm2, was exported as vm1's: $ips"
fi
grep -q "$vm2_ip, learned on tap-vm1, is answered by $vm2_mac" "$r1/netmoved.log" ||
	fail "host1's log does not say why $vm2_ip was dropped: $(grep -i answered "$r1/netmoved.log")"
# Read back with tshark: a GARP from host2 for the learned address (waited
# for in the capture: tcpdump -U writes each frame), none for vm2's.
garp_seen() { tshark -r "$TMP/up0.pcap" -Y "arp.src.proto_ipv4 == $extra4 && arp.isgratuitous" 2>/dev/null | grep -q .; }
wait_until 5 garp_seen || fail "no GARP for $extra4 left host2"
capture_stop
if tshark -r "$TMP/up0.pcap" -Y "arp.src.proto_ipv4 == $vm2_ip && eth.src != $vm2_mac" 2>/dev/null | grep -q .; then
	fail "host2 announced vm2's address $vm2_ip for vm1"
fi
# Round 0 left twice: first straight out of up0, then in the bridge's
# flood (a NORMAL flood alone sends it once before round 1, 50 ms later);
# the frame that taught host2's bridge vm1's MAC on tap-vm1 (a RARP to
# itself, which OVS sends where the MAC was until it has learned) came after
# the uplink's; the bridge has vm1's MAC on vm1's port.
mac=$(status_get '.vms[0].mac')
rarps() { tshark -r "$TMP/up0.pcap" -Y "eth.src == $mac && arp.opcode == 3 $1" -T fields -e frame.time_epoch -e eth.dst 2>/dev/null; }
t0=$(rarps "" | awk '{print $1; exit}')
first_dst=$(rarps "" | awk '{print $2; exit}')
[ "$first_dst" = ff:ff:ff:ff:ff:ff ] || fail "the first RARP on up0 went to $first_dst, not broadcast (the uplink's round 0)"
n0=$(rarps "&& eth.dst == ff:ff:ff:ff:ff:ff && frame.time_epoch < $t0 + 0.025" | wc -l)
[ "$n0" -eq 2 ] || fail "round 0's RARP left up0 $n0 time(s) within 25 ms, expected 2 (uplink, then flood)"
ofport=$(ovs-vsctl --db="unix:$r2/db.sock" get Interface tap-vm1 ofport)
"$LAB" exec host2 env OVS_RUNDIR="$r2" ovs-appctl fdb/show br-int | awk -v m="$mac" -v p="$ofport" '$3 == m && $1 == p && $2 == 0' | grep -q . ||
	fail "host2's bridge has not learned $mac on tap-vm1 (ofport $ofport): $("$LAB" exec host2 env OVS_RUNDIR="$r2" ovs-appctl fdb/show br-int | grep "$mac")"
pass "round 0 out of up0 first, then flooded (2 RARPs in 25 ms); host2's bridge learned $mac on tap-vm1"
[ "$(pings client "$extra4" 10)" -ge 9 ] || fail "$extra4 not reachable after the move"
[ "$(pings client "$vm2_ip" 10)" -ge 9 ] || fail "vm2 not reachable after vm1's move"
"$LAB" exec client ip neigh show "$vm2_ip" | grep -q "$vm2_mac" || fail "the client's entry for $vm2_ip is not vm2's MAC"
pass "learned addresses followed vm1 (announced from host2); $vm2_ip, answered by vm2, was dropped: vm2 unharmed"

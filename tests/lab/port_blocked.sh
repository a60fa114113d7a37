#!/bin/bash
# Staged activation: a port imported with --blocked is wired (it has an
# OpenFlow port) but passes no frame either way until 'netmove port
# activate'; then it passes traffic.  Frames are counted with tcpdump/tshark
# on the VM's eth0 and on the fabric port towards host2.
#
#                     client
#                        |
#      +------------ fabric br0 ------------+
#      | h1                              h2 |  <- capture (fabric side)
#   host1 OVS br-int              host2 OVS br-int
#   (vm1's old port)               tap-vm1 (imported --blocked)  tap-vm2
#                                     |                          |
#                                    vm1 eth0 <- capture        vm2
#
# vm2 pings vm1 (ARP broadcast, then unicast to vm1's MAC through a static
# neighbour entry) and vm1 sends gratuitous ARPs and pings the client: while
# blocked, nothing reaches vm1 and nothing from vm1 reaches the fabric.
set -eu
. "$(dirname "$0")/lib.bash"

MAC1=02:00:00:00:00:01
"$LAB" up --hosts 2 --vms 2 >/dev/null
R1=$(status_get '.hosts[0].ovs_rundir')
R2=$(status_get '.hosts[1].ovs_rundir')

OVS_RUNDIR=$R1 "$NETMOVE" port export vm1 >"$TMP/vm1.json"
"$LAB" migrate vm1 host2 --no-port >/dev/null
OVS_RUNDIR=$R2 "$NETMOVE" port import --blocked <"$TMP/vm1.json" >"$TMP/out" ||
	fail "import --blocked: $(cat "$TMP/out")"
ofport=$(ovs-vsctl --db="unix:$R2/db.sock" get Interface tap-vm1 ofport)
[ "$ofport" -gt 0 ] || fail "blocked port has no ofport"

# The block, read back with ovs-ofctl: our cookie, in_port and dl_dst drops,
# no_forward on the port.
flows=$(OVS_RUNDIR=$R2 ovs-ofctl dump-flows br-int "cookie=$(printf '0x6e6d%012x' "$ofport")/-1")
echo "$flows" | grep -q "priority=65000,in_port=$ofport actions=drop" || fail "no in_port drop flow: $flows"
echo "$flows" | grep -q "priority=65000,dl_dst=$MAC1 actions=drop" || fail "no dl_dst drop flow: $flows"
OVS_RUNDIR=$R2 ovs-ofctl show br-int | grep -A1 "(tap-vm1)" | grep -q NO_FWD || fail "tap-vm1 lacks no_forward"
pass "blocked: ofport $ofport, drop flows with netmove's cookie, no_forward"

capture vm1 eth0 "$TMP/vm1.pcap"
capture fabric h2 "$TMP/h2.pcap"
# To vm1: a broadcast ARP (flooding) and unicast frames to its MAC.
[ "$(pings vm2 198.18.1.1 3)" = 0 ] || fail "vm2 reached blocked vm1"
"$LAB" exec vm2 ip neigh replace 198.18.1.1 lladdr $MAC1 dev eth0 nud permanent
[ "$(pings vm2 198.18.1.1 3)" = 0 ] || fail "vm2 reached blocked vm1 by unicast"
# From vm1: gratuitous ARP and pings.
"$LAB" exec vm1 arping -q -U -c 3 -w 1 -I eth0 198.18.1.1 || true
[ "$(pings vm1 198.18.0.1 3)" = 0 ] || fail "blocked vm1 reached the client"
capture_stop
# The host kernel's own frames on its end of the veth (IPv6 autoconf of
# tap-vm1 in host2) never cross OVS: only the switch's frames count.
TAPMAC=$("$LAB" exec host2 cat /sys/class/net/tap-vm1/address)
in_vm=$(tshark -r "$TMP/vm1.pcap" -Y "eth.src != $MAC1 && eth.src != $TAPMAC" 2>/dev/null | wc -l)
out_vm=$(tshark -r "$TMP/vm1.pcap" -Y "eth.src == $MAC1" 2>/dev/null | wc -l)
at_fabric=$(tshark -r "$TMP/h2.pcap" -Y "eth.src == $MAC1 || eth.dst == $MAC1" 2>/dev/null | wc -l)
[ "$out_vm" -gt 0 ] || fail "vm1 sent nothing: the test proves nothing"
[ "$in_vm" = 0 ] || fail "$in_vm frame(s) reached blocked vm1"
[ "$at_fabric" = 0 ] || fail "$at_fabric frame(s) of vm1 crossed the fabric while blocked"
pass "blocked: vm1 sent $out_vm frame(s), none left the port; none reached it"

# Activate: exactly our flows go, no_forward is cleared, traffic flows.
OVS_RUNDIR=$R2 "$NETMOVE" port activate vm1 || fail "activate failed"
left=$(OVS_RUNDIR=$R2 ovs-ofctl dump-flows br-int | grep -c 'cookie=0x6e6d' || true)
[ "$left" = 0 ] || fail "$left netmove flow(s) left after activate"
OVS_RUNDIR=$R2 ovs-ofctl dump-flows br-int | grep -q 'actions=NORMAL' || fail "activate removed the NORMAL flow"
OVS_RUNDIR=$R2 ovs-ofctl show br-int | grep -A1 "(tap-vm1)" | grep -q NO_FWD && fail "no_forward still set"

capture vm1 eth0 "$TMP/vm1b.pcap"
capture fabric h2 "$TMP/h2b.pcap"
"$LAB" exec vm1 arping -q -U -c 1 -I eth0 198.18.1.1 || true
[ "$(pings vm2 198.18.1.1 3)" = 3 ] || fail "vm2 cannot reach activated vm1"
wait_until 5 sh -c "[ \"\$(NETMOVE_LAB=$NETMOVE_LAB $LAB exec client ping -c1 -W1 198.18.1.1 >/dev/null && echo y)\" = y ]" ||
	fail "client cannot reach activated vm1"
capture_stop
in_vm=$(tshark -r "$TMP/vm1b.pcap" -Y "icmp.type == 8" 2>/dev/null | wc -l)
at_fabric=$(tshark -r "$TMP/h2b.pcap" -Y "eth.src == $MAC1" 2>/dev/null | wc -l)
[ "$in_vm" -ge 3 ] || fail "only $in_vm echo request(s) reached activated vm1"
[ "$at_fabric" -gt 0 ] || fail "nothing from activated vm1 on the fabric"
pass "activated: flows gone, $in_vm echo requests reached vm1, $at_fabric of its frames on the fabric"

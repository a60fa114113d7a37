#!/bin/bash
# The drain's source side (issue 11): `netmove paused vm1 --to host2` on
# host1 returns once host1's bridge catches every unicast frame to vm1's MAC
# (the relay flow, cookie 0x6e6d72...); frames the client then sends to vm1
# go to host1's netmoved, are counted and relayed to host2, and none
# reaches vm1's tap on host1; the catch is released on netmoved's own timer
# (here the 10 s failsafe: nothing announces vm1 elsewhere) and the journal
# records the counters ("drained").
#
#            client
#              |
#   fabric ---h1--- host1: netmoved, OVS  (source: catches vm1's frames)
#          \--h2--- host2: netmoved, OVS  (destination, prepared)
#   mgmt: host1 <-- JSON-RPC over mutual TLS --> host2
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 1
ip4=$(status_get '.vms[0].ipv4') mac=$(status_get '.vms[0].mac')
r1=$(status_get '.hosts[0].ovs_rundir')
wait_peers host2 host1
nm() { local h=$1; shift; "$LAB" exec "$h" "$NETMOVE" "$@"; }
catch_flows() { "$LAB" exec host1 ovs-ofctl dump-flows br-int "cookie=0x6e6d720000000000/0xffffff0000000000" | grep -c "dl_dst=$mac" || true; }

[ "$(pings client "$ip4" 5)" -ge 4 ] || fail "vm1 does not answer before the pause"
nm host2 prepare vm1 --from host1 >/dev/null || fail "prepare of vm1 on host2 failed"

t0=$(date +%s%N)
nm host1 paused vm1 --to host2 >"$TMP/paused.out" 2>&1 || fail "paused: $(cat "$TMP/paused.out")"
t1=$(date +%s%N)
# (a) The catch is in the switch when `paused` returns.
[ "$(catch_flows)" -ge 1 ] || fail "no catch flow for $mac on host1 after paused returned"
pass "paused returned in $(( (t1 - t0) / 1000000 )) ms with the catch in host1's switch: $(cat "$TMP/paused.out")"

capture host1 tap-vm1 "$TMP/tap.pcap" icmp
"$LAB" exec client ping -n -q -c 50 -i 0.01 -W 1 "$ip4" >/dev/null 2>&1 || true
sleep 0.3
capture_stop
[ "$(catch_flows)" -ge 1 ] || fail "the catch went before the failsafe (nothing announced vm1 elsewhere)"

# (b) Counted and relayed.
nm host1 status >"$TMP/status.json"
jq -e '.outgoing_drains.vm1.caught >= 50 and .outgoing_drains.vm1.relayed_frames >= 50
       and .outgoing_drains.vm1.dropped_frames == 0 and .outgoing_drains.vm1.t_catch_synced > 0' \
	"$TMP/status.json" >/dev/null || fail "drain counters: $(jq -c .outgoing_drains "$TMP/status.json")"
pass "host1 relayed the client's frames: $(jq -c '.outgoing_drains.vm1 | {caught, relayed_frames, relayed_bytes, requests, refused_frames, relay_latency_avg_us, relay_latency_max_us}' "$TMP/status.json")"

# (c) None reached vm1's tap on host1.
n=$(tshark -r "$TMP/tap.pcap" -Y "eth.dst == $mac && icmp.type == 8" 2>/dev/null | grep -c . || true)
[ "$n" -eq 0 ] || fail "$n echo requests reached tap-vm1 on host1 during the drain"
pass "no echo request reached tap-vm1 on host1 while caught"

# (d) Released on netmoved's own timer (the failsafe, 10 s after the
# pause: nothing announced vm1 elsewhere), with the counters journaled.
wait_until 12 sh -c "! NETMOVE_LAB=$NETMOVE_LAB $LAB exec host1 ovs-ofctl dump-flows br-int cookie=0x6e6d720000000000/0xffffff0000000000 | grep -q dl_dst=$mac" ||
	fail "the catch is still on host1 past the failsafe"
nm host1 status | jq -e '.outgoing_drains.vm1.state == "failsafe" and .outgoing_drains.vm1.t_released > 0' >/dev/null ||
	fail "drain state after release: $(nm host1 status | jq -c .outgoing_drains)"
grep -rq '"step":"drained"' "$r1/netmove" || fail "no 'drained' record in host1's journal"
[ "$(pings client "$ip4" 5)" -ge 4 ] || fail "vm1 (still on host1) does not answer after the release"
pass "released by the failsafe; journal 'drained'; vm1 answers again on host1"

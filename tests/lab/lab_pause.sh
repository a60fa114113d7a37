#!/bin/bash
# The lab's pause is a hypervisor's (issue 11): between pause and resume the
# VM's nm-vif (its "QEMU") reads nothing.  Frames that reach the source's tap
# during the pause die with it at resume (lost); frames sent to the
# destination's tap, made and opened at prepare, wait in its queue and reach
# the VM after resume (delayed).  lab migrate reports the real pause, as
# nm-vif measured it.  No netmove here: the fabric is pointed at the
# destination with a gratuitous ARP injected on host2's new port (--at-pause).
#
#          client (198.18.0.1, pings every 2 ms)
#             |
#   fabric br0 --h1-- host1 OVS --tap-vm1 ==[nm-vif]== nic0 [eth0] vm1
#              \-h2-- host2 OVS --tap-vm1 (made at prepare, queues)
#
# B: host2 -> fabric learns vm1 on h2 just before the pause: every ping is
#    delayed, none lost, the gap between replies is the pause.
# A: back to host1 with no announcement: the pings of the pause reach host2's
#    tap and die there at resume; the VM never sees them.
# C: --fail: the VM runs on its source again, the destination's tap is gone.
# D: a batch pauses together; each VM's own pause is reported.
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 3
mac=$(status_get '.vms[0].mac') ip4=$(status_get '.vms[0].ipv4')
fabric=$(status_get '.fabrics[0].netns')
[ "$(pings client "$ip4" 5)" -eq 5 ] || fail "client cannot reach vm1 before the move"
# Both ends are taps (IFF_TAP|IFF_NO_PI), with a reader (carrier up).
for n in vm1:nic0 host1:tap-vm1; do
	f=$("$LAB" exec "${n%:*}" cat "/sys/class/net/${n#*:}/tun_flags") || fail "$n: not a tun device"
	[ $((f & 0x1003)) -eq $((0x1002)) ] || fail "$n: tun_flags $f, not a tap without PI"
	[ "$("$LAB" exec "${n%:*}" cat "/sys/class/net/${n#*:}/carrier")" = 1 ] || fail "$n: no reader (carrier down)"
done

# A gratuitous ARP from vm1, as the destination's announcement would send it.
hexmac=${mac//:/}
hexip=$(printf '%02x' ${ip4//./ })
garp="ffffffffffff${hexmac}08060001080006040001${hexmac}${hexip}000000000000${hexip}"
garp+=$(printf '0%.0s' $(seq 36))

# within ACTUAL WANTED: ACTUAL (ms) within 10% + 2 ms of WANTED.
within() { awk -v a="$1" -v w="$2" 'BEGIN { d = a - w; if (d < 0) d = -d; exit !(d <= w / 10 + 2) }'; }
# echo_times PCAP: the wall time (µs) of each echo request the VM received.
echo_times() {
	tcpdump -r "$1" -tt -nn 'icmp[icmptype] == icmp-echo' 2>/dev/null |
		awk '{ split($1, t, "."); printf "%s%06d\n", t[1], t[2] }'
}
# count_between FILE FROM TO: how many times in FILE are in [FROM, TO).
count_between() { awk -v f="$2" -v t="$3" '$1 >= f && $1 < t { n++ } END { print n + 0 }' "$1"; }
probe() {
	bg "$LAB" exec client "$TOP/build/nm-probe" run --ping "$ip4" --interval-us 2000 \
		--duration-ms "$1" --grace-ms 1000 --ready "$TMP/ready.$2" >"$TMP/probe.$2.json"
	wait_until 10 test -f "$TMP/ready.$2" || fail "probe $2 did not start"
}

# --- B: fabric on host2 before the pause: delayed, not lost ---
capture vm1 eth0 "$TMP/b.pcap" -s 128 -B 16384 "icmp[icmptype] == icmp-echo"
probe 1500 b
# The GARP goes out again every 5 ms for 0.4 s from the background: vm1
# still answers pings from host1 until the pause, and each answer teaches
# the fabric host1 again (once, under load, the fabric was back on h1 when
# the pause came).
at_pause="garp() { ip netns exec \$NETMOVE_DST_NETNS env OVS_RUNDIR=\$NETMOVE_DST_OVS_RUNDIR \
ovs-ofctl packet-out br-int 'in_port=tap-vm1 packet=$garp actions=NORMAL'; }
garp || exit 1
( for i in \$(seq 80); do garp; sleep 0.005; done ) >/dev/null 2>&1 &
for i in \$(seq 100); do ip netns exec $fabric bridge fdb show br br0 | grep -q '$mac dev h2 ' && exit 0; sleep 0.01; done; exit 1"
sleep 0.3
"$LAB" migrate vm1 host2 --downtime 200 --at-pause "$at_pause" --json >"$TMP/b.json" ||
	fail "migrate: $(cat "$TMP/b.json")"
wait "$(last_bg)" || true
sleep 0.3
capture_stop
grep -qx '0 packets dropped by kernel' "$TMP/b.pcap.log" || fail "B: the capture dropped frames: $(cat "$TMP/b.pcap.log")"
jq -e '.failed == false and .at_pause_rc == 0 and .requested_ms == 200' "$TMP/b.json" >/dev/null ||
	fail "B: $(cat "$TMP/b.json")"
down=$(jq .downtime_ms "$TMP/b.json") paused=$(jq .paused_us "$TMP/b.json") resumed=$(jq .resumed_us "$TMP/b.json")
within "$down" 200 || fail "B: downtime_ms $down is not 200 ms within 10% + 2 ms"
[ $((resumed - paused)) -ge 190000 ] || fail "B: paused_us/resumed_us $paused/$resumed"
echo_times "$TMP/b.pcap" >"$TMP/b.times"
during=$(count_between "$TMP/b.times" $((paused + 1000)) "$resumed")
after=$(count_between "$TMP/b.times" "$resumed" $((resumed + 30000)))
[ "$during" -eq 0 ] || fail "B: the paused VM received $during echo requests"
[ "$after" -ge 90 ] || fail "B: only $after echo requests reached the VM within 30 ms of resume (want >= 90: the pause's)"
# The pause's ~100 pings are asserted above ('after'); a few may still go to
# host1: between a reply vm1 sends from host1 just before the pause and
# the next of the background GARPs (every 5 ms, each an ovs-ofctl process
# on a loaded machine) the fabric points at host1, and a ping sent then
# dies with host1's tap (3 of 750 once in a make check).  A lost the 100.
jq -e '.ping.lost <= 3' "$TMP/probe.b.json" >/dev/null ||
	fail "B: pings lost although the destination's tap held them: $(jq -c .ping "$TMP/probe.b.json")"
gap=$(jq .ping.longest_gap_ms "$TMP/probe.b.json")
# The burst at resume (the pause's ~100 echo requests answered at once) and
# a loaded machine add to the gap: 16.1 ms once on CI's 2 cores.  A lost
# ping is caught above; this catches a queue that did not wait (gap far
# below the pause) or a resume that came late.
awk -v g="$gap" -v d="$down" 'BEGIN { exit !(g >= d - 4 && g <= d + 30) }' ||
	fail "B: longest gap between replies $gap ms, the pause $down ms"
pass "B: pause $down ms (asked 200), $(jq .ping.lost "$TMP/probe.b.json") of $(jq .ping.sent "$TMP/probe.b.json") pings lost, $after delivered after resume, reply gap $gap ms"

# --- A: back to host1, fabric left on host2: the source tap's frames die ---
capture vm1 eth0 "$TMP/a.pcap" -s 128 -B 16384 "icmp[icmptype] == icmp-echo"
probe 1500 a
sleep 0.3
"$LAB" migrate vm1 host1 --downtime 200 --json >"$TMP/a.json" || fail "migrate: $(cat "$TMP/a.json")"
wait "$(last_bg)" || true
capture_stop
down=$(jq .downtime_ms "$TMP/a.json") paused=$(jq .paused_us "$TMP/a.json") resumed=$(jq .resumed_us "$TMP/a.json")
within "$down" 200 || fail "A: downtime_ms $down is not 200 ms within 10% + 2 ms"
echo_times "$TMP/a.pcap" >"$TMP/a.times"
# A queue that survived would reach the VM as one burst at the resume (B:
# ~100 in a few ms); after it, a frame of the VM's own (an ARP probe) may
# teach the fabric host1 again and let new pings in, one every 2 ms.
got=$(count_between "$TMP/a.times" "$paused" $((resumed + 3000)))
[ "$got" -le 1 ] || fail "A: $got echo requests sent to the source's tap reached the VM: its queue did not die"
[ "$(count_between "$TMP/a.times" $((paused - 100000)) "$paused")" -ge 30 ] ||
	fail "A: the VM received no pings before the pause (setup)"
lost=$(jq .ping.lost "$TMP/probe.a.json")
[ "$lost" -ge 95 ] || fail "A: only $lost pings lost"
pass "A: pause $down ms, the pings of the pause died with host2's tap ($lost lost, 0 reached the VM)"

# Reachable again: one frame from host1 (arping stands in for netmove).
"$LAB" exec vm1 arping -q -U -c 1 -I eth0 "$ip4" || true
wait_until 5 sh -c "ip netns exec $fabric bridge fdb show br br0 | grep -q '$mac dev h1 '" ||
	fail "fabric did not relearn vm1 on h1"
[ "$(pings client "$ip4" 5)" -eq 5 ] || fail "client cannot reach vm1 on host1"

# --- C: the migration fails after the pause: vm1 runs on host1 again ---
"$LAB" migrate vm1 host2 --downtime 50 --fail --json >"$TMP/c.json" || fail "migrate --fail: $(cat "$TMP/c.json")"
jq -e '.failed == true' "$TMP/c.json" >/dev/null || fail "C: $(cat "$TMP/c.json")"
within "$(jq .downtime_ms "$TMP/c.json")" 50 || fail "C: downtime $(jq .downtime_ms "$TMP/c.json") ms, asked 50"
[ "$(status_get '.vms[0].host')" = host1 ] || fail "C: vm1 is on $(status_get '.vms[0].host')"
[ "$(pings client "$ip4" 5)" -eq 5 ] || fail "C: vm1 unreachable on host1 after the failed migration"
"$LAB" exec host2 test ! -e /sys/class/net/tap-vm1 || fail "C: host2's tap-vm1 left behind"
ovs-vsctl --db="unix:$(status_get '.hosts[1].ovs_rundir')/db.sock" list-ports br-int | grep -qx tap-vm1 &&
	fail "C: host2's port tap-vm1 left behind"
pass "C: --fail: vm1 on host1 again, reachable, host2 clean"

# --- D: a batch pauses together, each VM's pause reported ---
"$LAB" migrate vm1,vm3 host2 --downtime 100 --json >"$TMP/d.json" || fail "batch: $(cat "$TMP/d.json")"
jq -e '(.each | length) == 2 and ([.each[].vm] == ["vm1", "vm3"])' "$TMP/d.json" >/dev/null ||
	fail "D: $(cat "$TMP/d.json")"
for i in 0 1; do
	within "$(jq ".each[$i].downtime_ms" "$TMP/d.json")" 100 || fail "D: $(jq -c ".each[$i]" "$TMP/d.json")"
done
jq -e '(.each[0].paused_us - .each[1].paused_us | fabs) < 5000' "$TMP/d.json" >/dev/null ||
	fail "D: the batch did not pause together: $(jq -c .each "$TMP/d.json")"
pass "D: batch: $(jq -c '[.each[] | {vm, downtime_ms}]' "$TMP/d.json")"

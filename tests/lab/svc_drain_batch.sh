#!/bin/bash
# Issue 12, item 4: the drain for a batch.  Eight VMs pause together
# (`lab migrate vm1,...,vm8 host2 --netmove --downtime 100`: ONE
# `netmove paused vm1 ... vm8` on the source just before the pause, as a
# host evacuation pauses them), in the firewall layout:
#   - the one `paused` call returns once every VM's catch is in the switch,
#     and host1 holds one catch per VM on its one relay connection;
#   - the client pings each VM at 500 Hz through the move: none lost;
#   - per VM, what host1 relayed host2 received and delivered once, none
#     dropped (netmove status --json, "drain" on both hosts);
#   - the relay flows are gone from host1 once the drains end.
#
#            client
#              |
#   fabric --h1-- host1 (vm1..vm8; netmoved)   source
#          \-h2-- host2 (netmoved)             destination
set -eu
. "$(dirname "$0")/lib.bash"

PROBE=$TOP/build/nm-probe
N=8
RELAY_FLOWS='cookie=0x6e6d720000000000/0xffffff0000000000'
relay_flows() { "$LAB" exec "$1" ovs-ofctl dump-flows br-int "$RELAY_FLOWS" | grep -c 'cookie=' || true; }
released() { [ "$(relay_flows "$1")" -eq 0 ]; }

"$LAB" up --hosts 2 --vms $((2 * N)) --firewall >/dev/null
wait_peers host1 host2
wait_peers host2 host1
vms=$(status_get '[.vms[] | select(.host == "host1") | .name] | join(",")')
[ "$(echo "$vms" | tr ',' '\n' | grep -c .)" -eq $N ] || fail "the lab put $vms on host1, not $N VMs"

# The source's relay flows while the batch is paused, as the switch itself
# reports them: a flow monitor prints every flow added and deleted, so the
# count of relay flows held at once does not depend on sampling a window of
# ~100 ms from a loaded machine (a sampler once saw none in CI).
monitor_flows() { awk '/cookie=0x6e6d72/ { if (/event=ADDED/) n++; else if (/event=DELETED/) n--; if (n > max) max = n }
	END { print max + 0 }' "$TMP/monitor"; }

# The client's echo requests and replies, to say where a lost ping was.
capture client eth0 "$TMP/client.pcap" -s 64 -B 16384 icmp
# Every VM answers before the probes start (a probe counts from its start).
for ip in $(status_get '.vms[] | select(.host == "host1") | .ipv4'); do
	wait_until 10 "$LAB" exec client ping -c 1 -W 1 -q "$ip" || fail "$ip does not answer before the move"
done
i=0 probes=() ips=()
for ip in $(status_get '.vms[] | select(.host == "host1") | .ipv4'); do
	i=$((i + 1))
	ips[$i]=$ip
	rm -f "$TMP/ready.$i"
	bg "$LAB" exec client "$PROBE" run --ping "$ip" --interval-us 2000 --duration-ms 5000 \
		--ready "$TMP/ready.$i" >"$TMP/p.$i"
	probes+=("$(last_bg)")
done
for k in $(seq $N); do
	wait_until 10 test -f "$TMP/ready.$k" || fail "the probe of the ${k}th VM got no reply before the move"
done
bg "$LAB" exec host1 ovs-ofctl monitor br-int watch: >"$TMP/monitor" 2>&1
wait_until 5 grep -q NXST_FLOW_MONITOR "$TMP/monitor" || fail "no flow monitor on host1's br-int"
sleep 0.3
"$LAB" migrate "$vms" host2 --netmove --downtime 100 --json >"$TMP/m" ||
	fail "migrate: $(cat "$TMP/m")"
[ "$(jq -r .at_pause_rc "$TMP/m")" = 0 ] || fail "the batch's netmove paused failed"
[ "$(jq -r .vms "$TMP/m")" -eq $N ] || fail "the lab moved $(jq -r .vms "$TMP/m") VMs, not $N"
k=0
for p in "${probes[@]}"; do
	k=$((k + 1))
	wait "$p" || fail "the probe of the ${k}th VM failed: $(cat "$TMP/p.$k")"
done
maxflows=$(monitor_flows)
# Each paused VM: one catch and one watch (ovs/relay.c), all at once.
[ "$maxflows" -ge $((2 * N)) ] ||
	fail "host1 held at most $maxflows relay flows during the pause: not a catch and a watch for each of the $N VMs at once"
pass "the batch's one 'netmove paused' put a catch and a watch for each of the $N VMs in host1's switch at once ($maxflows flows)"

sleep 0.2
kill -INT "${_bg_pids[0]}" 2>/dev/null || true
# gaps IP: the reply gaps from IP over 20 ms, as "start+length" in ms from
# the pause.
gaps() {
	tcpdump -r "$TMP/client.pcap" -nn -tt "src $1 and icmp[icmptype] == icmp-echoreply" 2>/dev/null |
		awk -v p="$(jq -r .paused_us "$TMP/m")" '{split($1, t, "."); us = t[1] * 1000000 + t[2];
			if (last && us - last > 20000) printf "%+.1f+%.1f ", (last - p) / 1000, (us - last) / 1000; last = us}'
}
lost=0 sent=0 bad=""
# The probes' VMs by number: they are on host2 now.
[ "${#ips[@]}" -eq $N ] || fail "probed ${#ips[@]} VMs, not $N"
for k in $(seq $N); do
	ip=${ips[$k]}
	l=$(jq -r .ping.lost "$TMP/p.$k") s=$(jq -r .ping.sent "$TMP/p.$k")
	# 5 s at 500 Hz: a probe that stopped early would count few losses.
	[ "$s" -ge 2400 ] || fail "the probe of $ip sent $s pings, not ~2500"
	lost=$((lost + l)) sent=$((sent + s))
	[ "$l" -eq 0 ] || bad+="$ip lost $l of $s (reply gaps, ms from the pause: $(gaps "$ip")); "
done
[ -z "$bad" ] || fail "pings lost across the $(jq -r .downtime_ms "$TMP/m") ms pause: $bad"
pass "$N VMs paused together for $(jq -r .downtime_ms "$TMP/m") ms: 0 of $sent pings lost"

# Per VM: relayed == received, delivered == received + held, none dropped.
# host1's own counters: its status while it knows the migration, its
# journal's "drained" record once the confirm made it forget.
d1=$("$LAB" exec host1 "$NETMOVE" status --json | jq -c '.outgoing_drains // {}')
r1=$(status_get '.hosts[] | select(.name == "host1") | .ovs_rundir')
j1=$(find "$r1/netmove" -name '*.jsonl' -exec cat {} + 2>/dev/null | grep -a '"step":"drained"' |
	jq -sc 'map({key: .vm, value: .drain}) | from_entries')
d1=$(jq -nc --argjson a "$j1" --argjson b "$d1" '$a + $b')
d2=$("$LAB" exec host2 "$NETMOVE" status --json | jq -c '[.migrations[]? | select(.drain) | {vm, d: .drain}]')
relayed_total=0
for vm in ${vms//,/ }; do
	r=$(echo "$d1" | jq -r --arg v "$vm" '.[$v].relayed_frames // empty')
	rc=$(echo "$d2" | jq -r --arg v "$vm" '.[] | select(.vm == $v) | .d.relayed_received // empty')
	dl=$(echo "$d2" | jq -r --arg v "$vm" '.[] | select(.vm == $v) | .d.delivered_frames // empty')
	h=$(echo "$d2" | jq -r --arg v "$vm" '.[] | select(.vm == $v) | .d.held_direct // empty')
	[ -n "$r" ] && [ -n "$rc" ] && [ -n "$dl" ] && [ -n "$h" ] ||
		fail "$vm: no drain counters on both hosts (host1: $d1; host2: $d2)"
	[ "$r" -eq "$rc" ] || fail "$vm: host1 relayed $r frames, host2 received $rc"
	[ "$dl" -eq $((rc + h)) ] || fail "$vm: host2 delivered $dl frames for $rc relayed and $h held"
	relayed_total=$((relayed_total + r))
done
drops=$( (echo "$d1" | jq '[.[] | to_entries[] | select(.key | test("^dropped")) | .value | numbers] | add // 0';
	echo "$d2" | jq '[.[].d | to_entries[] | select(.key | test("^dropped")) | .value | numbers] | add // 0') |
	awk '{s += $1} END {print s}')
[ "$drops" -eq 0 ] || fail "the batch's drains dropped $drops frames"
pass "per VM, what host1 relayed host2 received and delivered once ($relayed_total frames for $N VMs), none dropped"

wait_until 12 released host1 ||
	fail "host1 still holds $(relay_flows host1) relay flows after the drains' bound"
pass "host1's relay flows are gone once the drains ended"

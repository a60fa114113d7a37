#!/bin/bash
# The netmove service, measured in the lab, side by side with what an
# operator would otherwise have.  Figures, not pass/fail.
#
# 1. Resume hook to the first announcement on the fabric (pcap timestamps on
#    the destination's fabric port against the hook's own start): through
#    netmoved (netmove resume) vs a fresh `netmove announce` process.
# 2. Client blackout for one VM (1 kHz ping + TCP stream): the 5 RARPs QEMU
#    sends at resume (`netmove announce --kinds rarp`, QEMU's schedule) vs the
#    netmove service (prepare + resume through netmoved).
# 3. 100 VMs moved in one batch (host evacuation), in the hybrid layout (the
#    VIFs exist on the destination before resume, as QEMU's taps do): per VM,
#    the time from the resume to the first ping reply the client gets (pings
#    every 5 ms): a hook that loops a RARP announcement per VM vs netmove's
#    batch resume; and netmoved's own timings (first frame, port active).
#
#            client
#              |
#   fabric --h1-- host1 (netmoved, OVS)   source
#          \-h2-- host2 (netmoved, OVS)   destination
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
LAB=$TOP/netns-lab/lab
NETMOVE_LAB=bsv$(printf "%x" $(($$ % 4096)))
export NETMOVE_LAB
TMP=$(mktemp -d /tmp/netmove-bench.XXXXXX)
LAB_STATE=/run/netmove-lab/$NETMOVE_LAB
RUNS=${RUNS:-5}
SECTIONS=${SECTIONS:-123}        # which of the three to run
trap '"$LAB" down >/dev/null 2>&1 || true; rm -rf "$TMP"' EXIT

wait_peers() {
	for _ in $(seq 250); do
		"$LAB" exec host1 "$TOP/build/netmove" status 2>/dev/null | jq -e '.peers.host2' >/dev/null &&
			"$LAB" exec host2 "$TOP/build/netmove" status 2>/dev/null | jq -e '.peers.host1' >/dev/null && return 0
		sleep 0.02
	done
	echo "bench: peers never connected" >&2
	exit 1
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print "-"}'; }
ms() { awk '{printf "%.2f\n", $1 / 1000}'; }

# ---- 1. hook to first frame ----
case $SECTIONS in *1*) ;; *) false ;; esac && {
echo "1. resume hook -> first announcement on the fabric ($RUNS moves each way; ms, median [min-max])"
"$LAB" up --hosts 2 --vms 1 >/dev/null
wait_peers
mac=$("$LAB" status --json | jq -r '.vms[0].mac')
fabric=$("$LAB" status --json | jq -r '.fabrics[0].netns')
first_frame() {     # first_frame PCAP SINCE_US: first RARP from the VM after SINCE
	tcpdump -r "$1" -nn -tt 2>/dev/null | awk -v s="$2" '{split($1, t, "."); us = t[1] * 1000000 + t[2]; if (us >= s) {printf "%.0f\n", us; exit}}'
}
for way in service announce; do
	: >"$TMP/$way.lat"
	for i in $(seq "$RUNS"); do
		[ $((i % 2)) -eq 1 ] && dst=host2 dport=h2 || dst=host1 dport=h1
		rm -f "$TMP/start"
		ip netns exec "$fabric" tcpdump -i "$dport" -nn -U --immediate-mode -w "$TMP/f.pcap" \
			"ether src $mac and (rarp or arp)" 2>/dev/null &
		td=$!
		sleep 0.3
		if [ $way = service ]; then
			# netmove's own hooks, timed from the resume hook's start.
			hook="bash -c 'echo \${EPOCHREALTIME/./} > $TMP/start; exec netmove resume >/dev/null'"
			"$LAB" migrate vm1 $dst --no-port --hook "$hook" \
				--prepare 'netmove prepare "$NETMOVE_VM" --from "$NETMOVE_SRC_HOST" >/dev/null' >/dev/null 2>&1 || true
		else
			hook="bash -c 'echo \${EPOCHREALTIME/./} > $TMP/start; exec netmove announce --mac \$NETMOVE_MAC --ip \$NETMOVE_IPV4 --ip \$NETMOVE_IPV6 --bridge br-int --port \$NETMOVE_DST_PORT --rounds 1 >/dev/null'"
			"$LAB" migrate vm1 $dst --hook "$hook" >/dev/null 2>&1 || true
		fi
		sleep 0.3
		kill -INT $td 2>/dev/null; wait $td 2>/dev/null || true
		start=$(cat "$TMP/start" 2>/dev/null || echo 0)
		f=$(first_frame "$TMP/f.pcap" "$start")
		[ -n "$f" ] && [ "$start" -gt 0 ] && echo $((f - start)) >>"$TMP/$way.lat"
	done
done
printf '   %-44s %s [%s-%s] ms (%d runs)\n' "netmove resume (through netmoved)" \
	"$(ms <"$TMP/service.lat" | median)" "$(ms <"$TMP/service.lat" | sort -n | head -1)" \
	"$(ms <"$TMP/service.lat" | sort -n | tail -1)" "$(wc -l <"$TMP/service.lat")"
printf '   %-44s %s [%s-%s] ms (%d runs)\n' "netmove announce (a new process per hook)" \
	"$(ms <"$TMP/announce.lat" | median)" "$(ms <"$TMP/announce.lat" | sort -n | head -1)" \
	"$(ms <"$TMP/announce.lat" | sort -n | tail -1)" "$(wc -l <"$TMP/announce.lat")"
"$LAB" down >/dev/null
}

# ---- 2. one VM's blackout ----
case $SECTIONS in *2*) ;; *) false ;; esac && {
echo
echo "2. one VM moved under a 1 kHz ping and a TCP stream ($RUNS runs each; median)"
blackout() {    # blackout NAME LAB-UP-OPTION|- MIGRATE-ARGS...
	local name=$1 upopt=$2
	shift 2
	: >"$TMP/$name.gap"; : >"$TMP/$name.tcp"; : >"$TMP/$name.down"
	for i in $(seq "$RUNS"); do
		if [ "$upopt" = - ]; then "$LAB" up --hosts 2 --vms 1 >/dev/null; else "$LAB" up --hosts 2 --vms 1 "$upopt" >/dev/null; fi
		wait_peers
		rm -f "$TMP/ready"
		"$LAB" probe vm1 --duration 4 --ready "$TMP/ready" --json >"$TMP/p.json" &
		local p=$!
		for _ in $(seq 250); do [ -f "$TMP/ready" ] && break; sleep 0.02; done
		sleep 0.5
		"$LAB" migrate vm1 host2 "$@" --json >"$TMP/m.json" 2>/dev/null || true
		wait $p || true
		jq -r '.ping.longest_gap_ms' "$TMP/p.json" >>"$TMP/$name.gap"
		jq -r 'if .tcp.survived then .tcp.longest_gap_ms else 99999 end' "$TMP/p.json" >>"$TMP/$name.tcp"
		jq -r '.downtime_ms' "$TMP/m.json" >>"$TMP/$name.down"
		"$LAB" down >/dev/null
	done
}
rarp_hook='netmove announce --mac "$NETMOVE_MAC" --kinds rarp --bridge br-int --port "$NETMOVE_DST_PORT" >/dev/null'
blackout rarp - --hook "$rarp_hook"
blackout service - --netmove
blackout rarp_fw --firewall --hook "$rarp_hook"
blackout service_fw --firewall --netmove
printf '   %-44s %14s %14s %16s\n' "" "ping gap (ms)" "TCP stall (ms)" "VM paused (ms)"
printf '   %-44s %14s %14s %16s\n' "QEMU-style 5 RARPs at resume" "$(median <"$TMP/rarp.gap")" \
	"$(median <"$TMP/rarp.tcp")" "$(median <"$TMP/rarp.down")"
printf '   %-44s %14s %14s %16s\n' "netmove service" "$(median <"$TMP/service.gap")" \
	"$(median <"$TMP/service.tcp")" "$(median <"$TMP/service.down")"
printf '   %-44s %14s %14s %16s\n' "firewall layout: QEMU-style RARPs" "$(median <"$TMP/rarp_fw.gap")" \
	"$(median <"$TMP/rarp_fw.tcp")" "$(median <"$TMP/rarp_fw.down")"
printf '   %-44s %14s %14s %16s\n' "firewall layout: netmove service" "$(median <"$TMP/service_fw.gap")" \
	"$(median <"$TMP/service_fw.tcp")" "$(median <"$TMP/service_fw.down")"
echo "   (99999: the TCP connection broke.  The ping gap includes the pause of the lab's switch-over;"
echo "    with the firewall, only what netmove moves lets the VM's flows through on the destination.)"
}

# ---- 3. 100 VMs in one batch ----
case $SECTIONS in *3*) ;; *) false ;; esac && {
echo
echo "3. 100 VMs moved in one batch, host1 -> host2: per VM, resume -> first ping reply at the client (ms)"
batch() {       # batch NAME MIGRATE-ARGS...
	local name=$1 vms ips
	shift
	"$LAB" up --hosts 2 --vms 200 --firewall >/dev/null
	wait_peers
	vms=$("$LAB" status --json | jq -r '[.vms[] | select(.host == "host1") | .name] | join(",")')
	ips=$("$LAB" status --json | jq -r '.vms[] | select(.host == "host1") | .ipv4')
	local cl
	cl=$("$LAB" status --json | jq -r '.client.netns')
	ip netns exec "$(ip netns list | awk '{print $1}' | grep "^$NETMOVE_LAB-fabric$")" \
		tcpdump -i client -nn -tt -U --immediate-mode -w "$TMP/b.pcap" "icmp[icmptype] == icmp-echoreply" 2>/dev/null &
	local td=$! pids=()
	sleep 0.3
	for ip in $ips; do
		ip netns exec "$cl" ping -q -n -i 0.005 -w 70 "$ip" >/dev/null 2>&1 &
		pids+=($!)
	done
	sleep 2
	"$LAB" migrate "$vms" host2 "$@" --json >"$TMP/b.json" 2>/dev/null || true
	if [ "$name" = service ]; then
		jq -r '.migrations[] | .timings.resume_to_first_frame_ms' "$LAB_STATE/batch.resume.json" >"$TMP/first"
		jq -r '.migrations[] | .timings.resume_to_activated_ms' "$LAB_STATE/batch.resume.json" >"$TMP/active"
	fi
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	kill -INT $td 2>/dev/null; wait $td 2>/dev/null || true
	local resumed
	resumed=$(jq -r .resumed_us "$TMP/b.json")
	# Per VM: the first reply at or after the resume.
	tcpdump -r "$TMP/b.pcap" -nn -tt 2>/dev/null |
		awk -v r="$resumed" '{split($1, t, "."); us = t[1] * 1000000 + t[2]; src = $3;
			if (us >= r && !(src in first)) first[src] = us - r}
			END {for (s in first) print first[s] / 1000}' >"$TMP/$name.batch"
	echo "$(wc -l <"$TMP/$name.batch") $(jq -r .downtime_ms "$TMP/b.json")" >"$TMP/$name.meta"
	"$LAB" down >/dev/null
}
batch loop --hook 'for vm in $NETMOVE_VMS; do k=${vm#vm}; netmove announce --mac "$(printf "02:00:00:00:%02x:%02x" $((k >> 8)) $((k & 255)))" --kinds rarp --bridge br-int --port "qvo-$vm" --rounds 1 >/dev/null; done'
batch service --netmove
printf '   %-44s %10s %10s %10s %12s %12s\n' "" "median" "p90" "max" "VMs back" "paused (ms)"
for n in loop service; do
	read -r back down <"$TMP/$n.meta"
	label=$([ $n = loop ] && echo "hook looping netmove announce per VM" || echo "netmove service (one batch)")
	printf '   %-44s %10s %10s %10s %12s %12s\n' "$label" "$(median <"$TMP/$n.batch")" \
		"$(sort -n "$TMP/$n.batch" | awk '{a[NR]=$1} END {print a[int(NR * 0.9 + 0.5)]}')" \
		"$(sort -n "$TMP/$n.batch" | tail -1)" "$back/100" "$down"
done
echo "   (resume = when the lab resumed the last VM of the batch; pings every 5 ms per VM.)"
printf '   netmoved, per VM after the resume call: first frame median %s ms, last %s ms; port active median %s ms, last %s ms\n' \
	"$(median <"$TMP/first")" "$(sort -n "$TMP/first" | tail -1)" "$(median <"$TMP/active")" "$(sort -n "$TMP/active" | tail -1)"
}

#!/bin/bash
# A batch's announcements: the resume call to the last VM's first frame on
# the fabric (tcpdump on the destination's fabric port against the resume
# call's time, which netmoved gives: first_frame_wall_us minus
# resume_to_first_frame_ms), for 1, 10 and 100 VMs moved in one batch, side
# by side for two builds of the tree (e.g. main, where round 0 is flooded
# through the bridge, and this one, where it leaves straight out of the
# uplink first).  Figures, not pass/fail.  No drain (--no-drain): the
# pause's announcements would be on the fabric too.
#
#   tests/bench/announce_bench.sh [NAME=TREE]...     default: this tree only
#   SIZES="1 10 100" VMS=240 (host1 has VMS/2: enough for every size)
#
#            client
#              |
#   fabric --h1-- host1 (netmoved, OVS)   source
#          \-h2-- host2 (netmoved, OVS)   destination (tcpdump on h2)
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
NETMOVE_LAB=ban$(printf "%x" $(($$ % 4096)))
export NETMOVE_LAB
TMP=$(mktemp -d /tmp/netmove-bench.XXXXXX)
LAB_STATE=/run/netmove-lab/$NETMOVE_LAB
SIZES=${SIZES:-1 10 100}
VMS=${VMS:-240}
LAB=
trap '[ -z "$LAB" ] || "$LAB" down >/dev/null 2>&1 || true; rm -rf "$TMP"' EXIT
[ $# -gt 0 ] || set -- "this=$TOP"

wait_peers() {
	local tree=$1
	for _ in $(seq 500); do
		"$LAB" exec host1 "$tree/build/netmove" status 2>/dev/null | jq -e '.peers.host2' >/dev/null &&
			"$LAB" exec host2 "$tree/build/netmove" status 2>/dev/null | jq -e '.peers.host1' >/dev/null && return 0
		sleep 0.02
	done
	echo "bench: peers never connected" >&2
	exit 1
}

for arg in "$@"; do
	name=${arg%%=*} tree=${arg#*=}
	LAB=$tree/netns-lab/lab
	"$LAB" up --hosts 2 --vms "$VMS" --firewall >/dev/null
	wait_peers "$tree"
	fabric=$("$LAB" status --json | jq -r '.fabrics[0].netns')
	"$LAB" status --json | jq -r '.vms[] | select(.host == "host1") | "\(.name) \(.mac)"' >"$TMP/host1"
	from=1
	for n in $SIZES; do
		sed -n "${from},$((from + n - 1))p" "$TMP/host1" >"$TMP/batch"
		from=$((from + n))
		vms=$(awk '{print $1}' "$TMP/batch" | paste -sd,)
		ip netns exec "$fabric" tcpdump -i h2 -nn -e -tt -s 128 -B 16384 -U --immediate-mode \
			-w "$TMP/f.pcap" "rarp or arp or icmp6" 2>"$TMP/td.log" &
		td=$!
		for _ in $(seq 100); do grep -q listening "$TMP/td.log" && break; sleep 0.05; done
		rm -f "$LAB_STATE/batch.resume.json"
		"$LAB" migrate "$vms" host2 --netmove --no-drain --json >"$TMP/m.json" 2>"$TMP/m.err" || true
		sleep 2
		kill -INT $td 2>/dev/null; wait $td 2>/dev/null || true
		result=$LAB_STATE/batch.resume.json
		[ "$n" -gt 1 ] || result=$LAB_STATE/$(awk '{print $1}' "$TMP/batch").resume.json
		# The resume call's wall time; per VM, its first frame on the fabric
		# at or after it.
		jq -r '(.migrations // [.])[] | select(.first_frame_wall_us > 0)
			| "\(.vm) \(.first_frame_wall_us - (.timings.resume_to_first_frame_ms * 1000) | floor) \(.timings.resume_to_first_frame_ms) \(.timings.resume_to_activated_ms)"' \
			"$result" >"$TMP/nm" 2>/dev/null || : >"$TMP/nm"
		call=$(awk 'NR == 1 || $2 < m {m = $2} END {printf "%.0f\n", m}' "$TMP/nm")
		tcpdump -r "$TMP/f.pcap" -nn -e -tt 2>/dev/null |
			awk -v c="$call" 'NR == FNR {mac[$2] = 1; next}
				{split($1, t, "."); us = t[1] * 1000000 + t[2]; src = $2
				 if (us >= c && (src in mac) && !(src in first)) first[src] = us - c}
				END {for (s in first) print first[s] / 1000}' "$TMP/batch" - | sort -n >"$TMP/fab"
		dropped=$(grep -o '[0-9]* packets dropped by kernel' "$TMP/td.log" | awk '{print $1}')
		f1=$(head -1 "$TMP/fab") fl=$(tail -1 "$TMP/fab")
		l1=$(awk '{print $3}' "$TMP/nm" | sort -n | tail -1) l2=$(awk '{print $4}' "$TMP/nm" | sort -n | tail -1)
		printf '%s %s %s %s %s %s %s %s\n' "$name" "$n" "$(wc -l <"$TMP/nm")" "$(wc -l <"$TMP/fab")" \
			"${f1:--}" "${fl:--}" "${l1:--}" "${l2:--}" >>"$TMP/rows"
		[ "${dropped:-0}" -eq 0 ] || echo "   ($name, $n VMs: tcpdump dropped $dropped frames)"
	done
	"$LAB" down >/dev/null
	LAB=
done

echo "resume call -> first frame on the fabric (destination's fabric port), batch of N VMs, no drain (ms)"
printf '   %-8s %5s %9s %9s %11s %11s %16s %14s\n' tree N resumed on-fabric first-VM last-VM "netmoved: last" "port active"
while read -r name n nm fab first last nmlast act; do
	printf '   %-8s %5s %9s %9s %11s %11s %16s %14s\n' "$name" "$n" "$nm/$n" "$fab/$n" \
		"${first:--}" "${last:--}" "${nmlast:--}" "${act:--}"
done <"$TMP/rows"
echo "   (resumed: VMs netmoved resumed with a first frame; on-fabric: VMs seen on the fabric after the"
echo "    resume call; netmoved: last = the last VM's first frame by netmoved's own clock; port active:"
echo "    the last VM's activation after the resume call.)"

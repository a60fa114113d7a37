#!/bin/bash
# Benchmark of garp/ (prints figures; not a pass/fail test), side by side with
# what a user would otherwise run, measured in the same run:
#   1. time from the call to the first frame on the wire (libpcap timestamps
#      against CLOCK_REALTIME taken just before the call), inside a running
#      process (build/garp_bench) and from a cold start (netmove announce vs
#      arping -U -c 1);
#   2. frames per second for 10k VMs x 3 kinds (RARP, GARP, NA) through each
#      sender: raw pcap_inject on a veth, OpenFlow packet-out through the lab's
#      OVS; vs arping (one process per address) and ovs-ofctl packet-out.
#
#   namespace gbnN:  gb0 (sender) <-veth-> gb1 (capture)
#   lab gblN host1:  build/garp_bench -> br-int.mgmt -> OVS br-int
#                    (in_port=tap-vm1, NORMAL) -> up0 (capture)
set -eu
cd "$(dirname "$0")/../.."
TOP=$PWD
LAB=$TOP/netns-lab/lab
BENCH=$TOP/build/garp_bench
NETMOVE=$TOP/build/netmove
export NETMOVE_LAB=gbl$(printf '%x' $(($$ % 256)))
NS=gbn$(printf '%x' $(($$ % 256)))
TMP=$(mktemp -d /tmp/garp-bench.XXXXXX)
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	ip netns del "$NS" 2>/dev/null || true
	"$LAB" down >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || { echo "garp_bench: needs root"; exit 77; }
[ -x "$BENCH" ] && [ -x "$NETMOVE" ] || { echo "garp_bench: run make first"; exit 77; }

# median FILE: the median of the numbers in FILE, one a line.
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "-" }'; }
# field LINE KEY: the value of KEY=... in a garp_bench line.
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# best_fps LINES: the highest fps= of several rate lines.
best_fps() { echo "$1" | tr ' ' '\n' | sed -n 's/^fps=//p' | sort -n | tail -1; }
# tcap NS IFACE FILE: tcpdump in NS until killed; returns once it listens.
tcap() {
	ip netns exec "$1" tcpdump -i "$2" -nn -U --immediate-mode -B 65536 -w "$3" 2>"$3.log" &
	pids+=($!)
	local i
	for i in $(seq 250); do grep -qs 'listening on' "$3.log" && return 0; sleep 0.02; done
	echo "tcpdump did not start: $(cat "$3.log")"; exit 1
}
tcap_stop() {
	local p
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	pids=()
}

ip netns add "$NS"
ip -n "$NS" link add gb0 type veth peer name gb1
ip -n "$NS" link set gb0 up
ip -n "$NS" link set gb1 up
"$LAB" up --hosts 1 --vms 1 >/dev/null
RUNDIR=$("$LAB" status --json | jq -r '.hosts[0].ovs_rundir')

echo "garp benchmark, $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# ---- 1. first frame after the call ----------------------------------------
echo "== first frame on the wire after the call (pcap timestamp - CLOCK_REALTIME before the call)"
lat_raw=$(ip netns exec "$NS" "$BENCH" latency --dev gb0 --cap gb1 --trials 200)
lat_of=$("$LAB" exec host1 "$BENCH" latency --bridge br-int --port tap-vm1 --cap up0 --trials 200)
echo "  $lat_raw"
echo "  $lat_of"

# Cold starts: a new process per announcement, each timed from just before
# its exec (inside the namespace) to its frame in the capture.
tcap "$NS" gb1 "$TMP/cold.pcap"
ip netns exec "$NS" bash -c '
	for i in $(seq 20); do
		echo "arping 198.18.151.$i ${EPOCHREALTIME/./}" >>'"$TMP"'/t0
		arping -q -U -c 1 -I gb0 198.18.151.$i &
		echo "netmove 198.18.152.$i ${EPOCHREALTIME/./}" >>'"$TMP"'/t0
		'"$NETMOVE"' announce --mac 02:00:00:cc:00:$(printf %02x $i) --ip 198.18.152.$i --dev gb0 --rounds 1 --kinds garp >/dev/null
	done
	wait'
tcap_stop
tshark -r "$TMP/cold.pcap" -Y arp -T fields -e arp.src.proto_ipv4 -e frame.time_epoch 2>/dev/null |
	awk '{ split($2, t, "."); printf "%s %s%s\n", $1, t[1], substr(t[2] "000000", 1, 6) }' >"$TMP/seen"
for tool in arping netmove; do
	awk -v tool=$tool 'NR == FNR { if ($1 == tool) t0[$2] = $3; next }
		($1 in t0) && !($1 in done) { print $2 - t0[$1]; done[$1] = 1 }' "$TMP/t0" "$TMP/seen" >"$TMP/cold.$tool"
done
cold_arping=$(median "$TMP/cold.arping") cold_netmove=$(median "$TMP/cold.netmove")
echo "  cold start, raw, median of $(wc -l <"$TMP/cold.netmove") (us): netmove announce --dev $cold_netmove, arping -U -c 1 $cold_arping"

# The same through OVS: netmove announce --bridge/--port vs ovs-ofctl
# packet-out, each a new process, in host1's namespace; captured on up0.
tcap "$("$LAB" status --json | jq -r '.hosts[0].netns')" up0 "$TMP/coldof.pcap"
"$LAB" exec host1 bash -c '
	for i in $(seq 20); do
		ip=$(printf "c6129b%02x" $i) mac=$(printf "020d000000%02x" $i)
		echo "ofctl 198.18.155.$i ${EPOCHREALTIME/./}" >>'"$TMP"'/t0of
		ovs-ofctl packet-out unix:$OVS_RUNDIR/br-int.mgmt tap-vm1 NORMAL \
			ffffffffffff${mac}08060001080006040001${mac}${ip}000000000000${ip}$(printf %036d 0)
		echo "netmove 198.18.154.$i ${EPOCHREALTIME/./}" >>'"$TMP"'/t0of
		'"$NETMOVE"' announce --mac 02:00:00:cd:00:$(printf %02x $i) --ip 198.18.154.$i \
			--bridge br-int --port tap-vm1 --rounds 1 --kinds garp >/dev/null
	done'
tcap_stop
tshark -r "$TMP/coldof.pcap" -Y arp -T fields -e arp.src.proto_ipv4 -e frame.time_epoch 2>/dev/null |
	awk '{ split($2, t, "."); printf "%s %s%s\n", $1, t[1], substr(t[2] "000000", 1, 6) }' >"$TMP/seenof"
for tool in ofctl netmove; do
	awk -v tool=$tool 'NR == FNR { if ($1 == tool) t0[$2] = $3; next }
		($1 in t0) && !($1 in done) { print $2 - t0[$1]; done[$1] = 1 }' "$TMP/t0of" "$TMP/seenof" >"$TMP/coldof.$tool"
done
coldof_ofctl=$(median "$TMP/coldof.ofctl") coldof_netmove=$(median "$TMP/coldof.netmove")
echo "  cold start, OVS, median of $(wc -l <"$TMP/coldof.netmove") (us): netmove announce --bridge --port $coldof_netmove, ovs-ofctl packet-out $coldof_ofctl"
echo

# ---- 2. frames per second, 10k VMs x 3 kinds -------------------------------
echo "== frames per second: 10000 VMs x (RARP + GARP + NA) = 30000 frames, all due at once"
rate_raw=$(ip netns exec "$NS" "$BENCH" rate --dev gb0 --cap gb1 --vms 10000 --runs 3)
echo "$rate_raw" | sed 's/^/  /'
rate_of=$("$LAB" exec host1 "$BENCH" rate --bridge br-int --port tap-vm1 --cap up0 --vms 10000 --runs 3)
echo "$rate_of" | sed 's/^/  /'

# arping: one process per address (GARP only: no stock tool sends RARP or an
# unsolicited NA).  Each waits 1 s for replies, so a user runs them in
# parallel: 256 addresses, 64 at a time, timed, extrapolated to 30000 frames.
t0=${EPOCHREALTIME/./}
seq 256 | ip netns exec "$NS" xargs -P 64 -I{} sh -c 'arping -q -U -c 1 -I gb0 198.18.153.$(({} % 250 + 1)) || true'
t1=${EPOCHREALTIME/./}
arping_fps=$(awk -v n=256 -v us=$((t1 - t0)) 'BEGIN { printf "%.0f", n * 1e6 / us }')
echo "  arping -U -c 1, 256 addresses, xargs -P 64: $(((t1 - t0) / 1000)) ms -> $arping_fps frames/s"

# ovs-ofctl packet-out: one process per frame (sample of 200), and 1000
# frames per invocation (its legacy multi-packet form), 30 invocations.
awk 'BEGIN { for (i = 0; i < 30000; i++) {
	mac = sprintf("020c0000%02x%02x", int(i / 256) % 256, i % 256)
	ip = sprintf("c612%02x%02x", 160 + int(i / 250) % 64, i % 250 + 1)
	printf "ffffffffffff%s08060001080006040001%s%s000000000000%s%036d\n", mac, mac, ip, ip, 0 } }' >"$TMP/frames.hex"
mgmt=unix:$RUNDIR/br-int.mgmt
t0=${EPOCHREALTIME/./}
head -200 "$TMP/frames.hex" | while read -r f; do
	"$LAB" exec host1 ovs-ofctl packet-out "$mgmt" tap-vm1 NORMAL "$f"
done
t1=${EPOCHREALTIME/./}
ofctl1_fps=$(awk -v n=200 -v us=$((t1 - t0)) 'BEGIN { printf "%.0f", n * 1e6 / us }')
echo "  ovs-ofctl packet-out, 1 frame per call, 200 calls: $(((t1 - t0) / 1000)) ms -> $ofctl1_fps frames/s"
split -l 1000 "$TMP/frames.hex" "$TMP/batch."
t0=${EPOCHREALTIME/./}
for b in "$TMP"/batch.*; do
	# shellcheck disable=SC2046
	"$LAB" exec host1 ovs-ofctl packet-out "$mgmt" tap-vm1 NORMAL $(cat "$b")
done
t1=${EPOCHREALTIME/./}
ofctl1k_fps=$(awk -v n=30000 -v us=$((t1 - t0)) 'BEGIN { printf "%.0f", n * 1e6 / us }')
echo "  ovs-ofctl packet-out, 1000 frames per call, 30 calls: $(((t1 - t0) / 1000)) ms -> $ofctl1k_fps frames/s"
echo

# ---- side by side ------------------------------------------------------------
raw_fps=$(best_fps "$rate_raw") of_fps=$(best_fps "$rate_of")
printf '%-48s %14s %14s\n' "summary" "netmove/garp" "reference"
printf '%-48s %14s %14s\n' "first frame, running process, raw (us, median)" \
	"$(field "$lat_raw" first_frame_us_median)" "-"
printf '%-48s %14s %14s\n' "first frame, running process, OVS (us, median)" \
	"$(field "$lat_of" first_frame_us_median)" "-"
printf '%-48s %14s %14s\n' "first frame, cold CLI, raw (us, median)" \
	"$cold_netmove" "$cold_arping (arping)"
printf '%-48s %14s %14s\n' "first frame, cold CLI, OVS (us, median)" \
	"$coldof_netmove" "$coldof_ofctl (ofctl)"
printf '%-48s %14s %14s\n' "frames/s raw, 30000 frames (best of 3)" \
	"$raw_fps" "$arping_fps (arping)"
printf '%-48s %14s %14s\n' "frames/s OVS packet-out, 30000 (best of 3)" \
	"$of_fps" "$ofctl1k_fps (ofctl)"
printf '%-48s %14s %14s\n' "  ovs-ofctl one frame per call" "" "$ofctl1_fps"
echo "(targets: first frame within 1000 us of the call in a running process; >= 300000 frames/s raw)"

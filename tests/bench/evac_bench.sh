#!/bin/bash
# A host evacuated, measured in the lab (--hosts 2 --vms 200 --firewall)
# while the client pings every moving VM at 100 Hz: N of host1's VMs move to
# host2 (N = 1, 10, 100) in ONE batch (`lab migrate VM,VM,... host2
# --netmove`) and as N CONCURRENT single-VM migrations (N `lab migrate`
# processes started together, as libvirt migrates domain by domain), with and
# without the drain (`--no-drain`), each with the binaries of a BASE revision
# (default main's f0c6c68) and of this tree, side by side in one run.
# Figures, not pass/fail.  Per case:
#
#   moved       VMs on host2 afterwards / N (a failed case shows FAIL, and
#               no figures)
#   prepare     the prepare hook (`netmove prepare` of the batch; concurrent:
#               the slowest one's), lab's prepare_ms
#   1st frame   resume call (the resume hook's start) -> the VM's first frame
#               from its MAC on the fabric port of host2 (pcap): the last VM's,
#               and the median
#   gap         per VM, the client's longest interval between two ping
#               replies minus the VM's own pause (nm-vif): median, p90, max
#   lost        pings never answered, all VMs together
#   cpu src/dst netmoved's utime+stime on host1 / host2 over the migration
#   busy        the machine's CPU use over the migration (2 cores: 100% is
#               both; a figure beside >= 90% is bound by the machine)
#
#   RUNS=1 (figures of the last run; median over runs is not worth the time
#   of 20 labs here), SECTIONS=bc (b: one batch, c: concurrent),
#   SIZES="1 10 100", DRAINS="drain nodrain", BUILDS="base tree",
#   BASE_REV=f0c6c68, BASE_DIR=/var/tmp/netmove-base-REV (built once: the
#   tree at BASE_REV from `git archive`, its build/ovs linked to ours).
#
#            client (ping -i 0.01 per VM)
#              |
#   fabric --h1-- host1 (netmoved, OVS, nft)   source
#          \-h2-- host2 (netmoved, OVS, nft)   destination (pcap here)
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
LAB=$TOP/netns-lab/lab
NETMOVE_LAB=bev$(printf "%x" $(($$ % 4096)))
export NETMOVE_LAB
TMP=$(mktemp -d /tmp/netmove-evac.XXXXXX)
LAB_STATE=/run/netmove-lab/$NETMOVE_LAB
RUNS=${RUNS:-1}
SECTIONS=${SECTIONS:-bc}
SIZES=${SIZES:-1 10 100}
DRAINS=${DRAINS:-drain nodrain}
BUILDS=${BUILDS:-base tree}
LAB_VMS=${LAB_VMS:-200}
BASE_REV=${BASE_REV:-f0c6c68}
BASE_DIR=${BASE_DIR:-/var/tmp/netmove-base-$BASE_REV}
PAUSE_MS=${PAUSE_MS:-0}
trap '"$LAB" down >/dev/null 2>&1 || true; kill $(jobs -p) 2>/dev/null || true; rm -rf "$TMP"' EXIT

# ---- the BASE build ----
base_build() {
	[ -x "$BASE_DIR/build/netmoved" ] && [ -x "$BASE_DIR/build/nm-vif" ] && return 0
	echo "bench: building $BASE_REV in $BASE_DIR (make all, a few minutes)"
	rm -rf "$BASE_DIR.tmp"
	mkdir -p "$BASE_DIR.tmp/build"
	git -C "$TOP" archive "$BASE_REV" | tar -x -C "$BASE_DIR.tmp"
	ln -s "$(readlink -f "$TOP/build/ovs")" "$BASE_DIR.tmp/build/ovs"
	make -C "$BASE_DIR.tmp" -j2 all >"$BASE_DIR.log" 2>&1 ||
		{ echo "bench: $BASE_REV does not build ($BASE_DIR.log)" >&2; return 1; }
	mv "$BASE_DIR.tmp" "$BASE_DIR"
}
build_dir() { if [ "$1" = base ]; then echo "$BASE_DIR/build"; else echo "$TOP/build"; fi; }

# ---- the lab ----
LAB_BUILD=""
lab_up() {      # lab_up BUILD: a fresh lab running BUILD's binaries
	"$LAB" down >/dev/null 2>&1 || true
	NETMOVE_BUILD=$(build_dir "$1") "$LAB" up --hosts 2 --vms "$LAB_VMS" --firewall >/dev/null
	LAB_BUILD=$1
	local nm
	nm=$(build_dir "$1")/netmove
	for _ in $(seq 250); do
		"$LAB" exec host1 "$nm" status 2>/dev/null | jq -e '.peers.host2' >/dev/null &&
			"$LAB" exec host2 "$nm" status 2>/dev/null | jq -e '.peers.host1' >/dev/null && return 0
		sleep 0.02
	done
	echo "bench: peers never connected" >&2
	return 1
}
# on_host1 N: N VMs still on host1 that no case moved, or nothing.
on_host1() {
	"$LAB" status --json | jq -r --argjson n "$1" \
		'[.vms[] | select(.host == "host1") | .name] | if length >= $n then .[:$n] | join(" ") else "" end'
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$(cat "$LAB_STATE/$1/netmoved.pid")/stat" 2>/dev/null || echo 0; }
cpu_machine() { awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat; }

# run_case BUILD MODE(batch|conc) DRAIN N: one evacuation, figures in $TMP/res/KEY.
run_case() {
	local build=$1 mode=$2 drain=$3 n=$4 vms key out
	key=$mode.$drain.$build.$n out=$TMP/res/$key
	mkdir -p "$TMP/res" "$TMP/c"
	rm -rf "$TMP/c"/*
	[ "$LAB_BUILD" = "$build" ] && vms=$(on_host1 "$n") || vms=""
	if [ -z "$vms" ]; then lab_up "$build" || { echo "moved=lab-failed" >"$out"; return; }; vms=$(on_host1 "$n"); fi
	local fab cl k ip
	fab=$NETMOVE_LAB-fabric cl=$NETMOVE_LAB-client
	ip netns exec "$fab" tcpdump -i h2 -nn -s 64 -B 32768 -U --immediate-mode -w "$TMP/c/f.pcap" \
		'ether[6:4] == 0x02000000' 2>"$TMP/c/tcpdump.err" &
	local td=$! pids=()
	"$LAB" status --json >"$TMP/c/status.json"
	for vm in $vms; do
		k=${vm#vm}
		ip=$(jq -r --arg v "$vm" '.vms[] | select(.name == $v) | .ipv4' "$TMP/c/status.json")
		ip netns exec "$cl" ping -D -n -i 0.01 -w 600 "$ip" >"$TMP/c/ping.$k" 2>&1 &
		pids+=($!)
	done
	sleep 1.5
	local c0s c0d m0 m1 c1s c1d opts=(--netmove --json) rc=0
	[ "$drain" = drain ] || opts+=(--no-drain)
	[ "$PAUSE_MS" -eq 0 ] || opts+=(--downtime "$PAUSE_MS")
	c0s=$(cpu_ticks host1) c0d=$(cpu_ticks host2) m0=$(cpu_machine)
	if [ "$mode" = batch ]; then
		NETMOVE_BUILD=$(build_dir "$build") "$LAB" migrate "${vms// /,}" host2 "${opts[@]}" \
			>"$TMP/c/m.batch.json" 2>"$TMP/c/m.err" || rc=$?
	else
		local mp=()
		for vm in $vms; do
			NETMOVE_BUILD=$(build_dir "$build") "$LAB" migrate "$vm" host2 "${opts[@]}" \
				>"$TMP/c/m.$vm.json" 2>"$TMP/c/m.$vm.err" &
			mp+=($!)
		done
		for p in "${mp[@]}"; do wait "$p" || rc=$?; done
	fi
	c1s=$(cpu_ticks host1) c1d=$(cpu_ticks host2) m1=$(cpu_machine)
	sleep 1.5
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	sleep 0.5
	kill -INT $td 2>/dev/null || true
	wait $td 2>/dev/null || true

	# Moved: the lab's own record of where each VM is now.
	local moved
	moved=$("$LAB" status --json | jq -r --arg l "$vms" \
		'($l | split(" ")) as $w | [.vms[] | select(.host == "host2" and (.name | IN($w[])))] | length')
	{
		echo "moved=$moved/$n rc=$rc"
		# The JSON of each migration: hook start (per VM), pause per VM, prepare.
		jq -s -r '.[] | .hook_start_us as $h | .each[] | "\(.vm | ltrimstr("vm")) \($h) \(.downtime_ms)"' \
			"$TMP/c"/m.*.json 2>/dev/null >"$TMP/c/vm.times" || true
		echo "prepare=$(jq -s -r '[.[].prepare_ms] | max // "-"' "$TMP/c"/m.*.json 2>/dev/null || echo -)"
		echo "pause=$(jq -s -r '[.[].downtime_ms] | max // "-"' "$TMP/c"/m.*.json 2>/dev/null || echo -)"
		# Resume call -> each VM's first frame on host2's fabric port.
		tcpdump -r "$TMP/c/f.pcap" -e -nn -tt 2>/dev/null | awk '
			function hex(s,  i, v) {v = 0; for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v}
			{t = $1; sub(/\./, "", t); print hex(substr($2, 13, 2) substr($2, 16, 2)), t}' >"$TMP/c/frames" || true
		awk 'NR == FNR {h[$1] = $2; next} ($1 in h) && !($1 in f) && $2 >= h[$1] {f[$1] = $2 - h[$1]}
			END {for (k in f) print f[k] / 1000}' "$TMP/c/vm.times" "$TMP/c/frames" | sort -n >"$TMP/c/first"
		echo "first_n=$(wc -l <"$TMP/c/first")"
		echo "first_med=$(median <"$TMP/c/first")"
		echo "first_last=$(tail -n 1 "$TMP/c/first" | grep . || echo -)"
		# The client: per VM, the longest reply gap beyond its pause; lost pings.
		: >"$TMP/c/gaps"
		local lost=0 l
		while read -r k _ pause; do
			awk -v p="$pause" '/bytes from/ {t = substr($1, 2, length($1) - 2) * 1000; s = $0;
					sub(/.*icmp_seq=/, "", s); sub(/ .*/, "", s); s += 0; if (!(s in seq)) u++; seq[s] = 1; n++
					if (s < lo || n == 1) lo = s; if (s > hi) hi = s
					if (prev && t - prev > g) g = t - prev; prev = t}
				END {printf "%.1f %d\n", g - p, (n ? hi - lo + 1 - u : 0)}' "$TMP/c/ping.$k" >>"$TMP/c/gaps"
		done <"$TMP/c/vm.times"
		for l in $(awk '{print $2}' "$TMP/c/gaps"); do lost=$((lost + l)); done
		awk '{print $1}' "$TMP/c/gaps" | sort -n >"$TMP/c/gap"
		echo "gap_med=$(median <"$TMP/c/gap")"
		echo "gap_p90=$(p90 <"$TMP/c/gap")"
		echo "gap_max=$(tail -n 1 "$TMP/c/gap" | grep . || echo -)"
		echo "lost=$lost"
		echo "cpu_src=$(((c1s - c0s) * 10))"
		echo "cpu_dst=$(((c1d - c0d) * 10))"
		echo "busy=$(echo "$m0 $m1" | awk '{t = $3 - $1; i = $4 - $2; printf "%d", t ? 100 * (t - i) / t : 0}')"
	} >"$out"
	if [ "${moved%%/*}" != "$n" ] || [ "$rc" -ne 0 ]; then
		cp "$TMP/c"/m.*err "$TMP/res/$key.err" 2>/dev/null || cat "$TMP/c"/m.*.err >"$TMP/res/$key.err" 2>/dev/null || true
		# A failed case leaves the lab in no known state: the next starts afresh.
		LAB_BUILD=""
	fi
}

median() { awk '{a[NR]=$1} END {if (NR) print (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print "-"}'; }
p90() { awk '{a[NR]=$1} END {i = int(NR * 0.9 + 0.5); if (i < 1) i = 1; if (NR) print a[i]; else print "-"}'; }
get() {         # get KEY FIELD: a figure, "fail" for a case that failed
	local f=$TMP/res/$1 moved rc v
	[ -f "$f" ] || { echo "."; return; }
	read -r moved rc < <(sed -n 's/^moved=\([^ ]*\) rc=\(.*\)/\1 \2/p' "$f")
	if [ "$2" = moved ]; then
		v=$moved
		if [ "${moved%%/*}" != "${moved##*/}" ]; then v="FAIL:$moved"; elif [ "${rc:-0}" != 0 ]; then v="$moved,rc$rc"; fi
		echo "$v"
		return
	fi
	if [ "${moved%%/*}" != "${moved##*/}" ] || [ "${rc:-0}" != 0 ]; then echo fail; return; fi
	v=$(sed -n "s/^$2=//p" "$f" | head -n 1)
	echo "${v:--}"
}

base_build
case $SECTIONS in *b*) modes=batch ;; *) modes="" ;; esac
case $SECTIONS in *c*) modes="$modes conc" ;; esac
# Cases ordered so that one lab serves the small ones (42 VMs) of a build.
for r in $(seq "$RUNS"); do
	for build in $BUILDS; do
		LAB_BUILD=""
		for n in $SIZES; do
			for drain in $DRAINS; do
				for mode in $modes; do
					[ "$mode" = conc ] && [ "$n" -le 1 ] && continue
					echo "bench: run $r: $build, $mode of $n, $drain" >&2
					run_case "$build" "$mode" "$drain" "$n"
				done
			done
		done
	done
done
"$LAB" down >/dev/null 2>&1 || true

echo "Host evacuation, host1 -> host2, lab --hosts 2 --vms $LAB_VMS --firewall, client pings each moving VM every 10 ms"
echo "base = $BASE_REV ($(git -C "$TOP" log -1 --format=%h "$BASE_REV" 2>/dev/null)), tree = $(git -C "$TOP" log -1 --format=%h HEAD)$(git -C "$TOP" diff --quiet HEAD || echo '+changes')"
figs="moved pause prepare first_last first_med first_n gap_med gap_p90 gap_max lost cpu_src cpu_dst busy"
label() {
	case $1 in
	moved) echo "VMs moved" ;;
	pause) echo "VMs' pause, longest (ms)" ;;
	prepare) echo "prepare (ms)" ;;
	first_last) echo "resume -> last VM's 1st frame (ms)" ;;
	first_med) echo "resume -> 1st frame, median (ms)" ;;
	first_n) echo "VMs seen on the fabric" ;;
	gap_med) echo "gap beyond pause, median (ms)" ;;
	gap_p90) echo "gap beyond pause, p90 (ms)" ;;
	gap_max) echo "gap beyond pause, max (ms)" ;;
	lost) echo "pings lost (all VMs)" ;;
	cpu_src) echo "netmoved CPU, source (ms)" ;;
	cpu_dst) echo "netmoved CPU, destination (ms)" ;;
	busy) echo "machine busy (% of 2 cores)" ;;
	esac
}
for mode in $modes; do
	for drain in $DRAINS; do
		echo
		echo "$([ "$mode" = batch ] && echo "one batch" || echo "concurrent single-VM migrations"), $([ "$drain" = drain ] && echo "with the drain" || echo "--no-drain")"
		printf '  %-36s' ""
		for build in $BUILDS; do printf ' | %-36s' "$build: $(echo $SIZES | sed 's/ / -> /g')"; done
		echo
		for f in $figs; do
			printf '  %-36s' "$(label "$f")"
			for build in $BUILDS; do
				row=""
				for n in $SIZES; do
					if [ "$mode" = conc ] && [ "$n" -le 1 ]; then v="="; else v=$(get "$mode.$drain.$build.$n" "$f"); fi
					row+="$(printf ' %11s' "$v")"
				done
				printf ' | %-36s' "$row"
			done
			echo
		done
	done
done
echo
echo "(=: one VM is the batch of one.  fail: that case did not move all its VMs (see 'VMs moved';"
echo " FAIL:k/N = k of N moved).  busy >= 90%: the figures beside are bound by this 2-core machine."
echo " Concurrent: N 'lab migrate' processes (shell, ip, ovs-vsctl) share the 2 cores with netmoved;"
echo " prepare is the slowest one's.)"
for f in "$TMP"/res/*.err; do
	[ -s "$f" ] || continue
	echo "  $(basename "$f" .err): $(grep -v '^$' "$f" | cut -c1-120 | sort | uniq -c | sort -rn | head -n 3 | tr -s ' ' | tr '\n' ';')"
done

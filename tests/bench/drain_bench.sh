#!/bin/bash
# Issue 11's measurement: what a client of one VM sees while the VM moves,
# three ways side by side, in both layouts, for three pauses.  Figures, not
# pass/fail (tests/lab/svc_drain.sh asserts the outcome).
#
# How long: one lab per run, about 17 s each (up, probes, move, down):
# RUNS=1 is 2 layouts x 3 pauses x 3 ways = 18 runs, about 5 minutes; the
# default RUNS=3 about 15 (make bench's limit per benchmark is 20).  LAYOUTS, PAUSES and WAYS narrow it (e.g. WAYS="b c").
#
# Ways:
#   a  QEMU-style: 5 RARPs at resume (`netmove announce --kinds rarp` from the
#      destination, QEMU's schedule), no netmoved.  Firewall layout: the VM's
#      firewall objects are copied to the destination before the move, as a
#      cloud's agent installs them when it plugs the port; conntrack is not
#      moved (nothing moves it), so an established TCP flow may not survive.
#   b  netmove announcing at resume (prepare + resume through netmoved;
#      `lab migrate --netmove --no-drain`, today's `--netmove`).
#   c  netmove with the drain and announce-at-pause (`lab migrate --netmove`,
#      which calls `netmove paused` on the source just before the pause).
#      Skipped, and said so, while the lab has no `--no-drain`.
#
# Per run, from the client (198.18.0.1) to vm1 and back, all at 1 kHz:
#   pings lost     ICMP echoes sent every 1 ms (nm-probe run) never answered
#   gap-pause      longest gap between ping replies minus the VM's pause as
#                  `lab migrate --json` reports it (downtime_ms)
#   rtx c>v        TcpRetransSegs (nstat) in the client's namespace, diffed
#                  around the run, for an 8-byte-record stream client -> VM
#                  (the sparse flow's own retransmissions taken out)
#   rtx v>c        the same in the VM's namespace, stream VM -> client
#   spur c/v       TcpExtTCPSpuriousRTOs, client / VM namespace
#   dsack c/v      TcpExtTCPDSACKRecv, client / VM namespace
#   sparse         one request on an established, idle connection sent in the
#                  middle of the pause (nm-probe sparse, signalled by the
#                  lab's at-pause command, sent pause/2 later): ms from the resume
#                  to its answer at the client ("np": the request did not
#                  leave during the pause; "none": never answered)
# A "!" after rtx: that stream broke (records lost or out of order, or no
# report).  Medians of RUNS runs.
#
#            client
#              |
#   fabric --h1-- host1 (netmoved, OVS)   source
#          \-h2-- host2 (netmoved, OVS)   destination
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
LAB=$TOP/netns-lab/lab
PROBE=$TOP/build/nm-probe
NETMOVE_LAB=bdr$(printf "%x" $(($$ % 4096)))
export NETMOVE_LAB
TMP=$(mktemp -d /tmp/netmove-bench.XXXXXX)
RUNS=${RUNS:-3}
LAYOUTS=${LAYOUTS:-plain firewall}
PAUSES=${PAUSES:-50 100 300}
WAYS=${WAYS:-a b c}
bgp=()
cleanup() {
	local p
	for p in "${bgp[@]}"; do kill "$p" 2>/dev/null || true; done
	"$LAB" down >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT

[ -x "$PROBE" ] && [ -x "$TOP/build/netmove" ] || { echo "bench: build first (make)" >&2; exit 1; }
# The lab's pause model of issue 11 brings --no-drain; before it, --netmove
# is way (b) and way (c) cannot run.
has_drain=0
grep -q -- '--no-drain' "$LAB" && has_drain=1

nsn() { echo "$NETMOVE_LAB-$1"; }
wait_peers() {
	for _ in $(seq 250); do
		"$LAB" exec host1 "$TOP/build/netmove" status 2>/dev/null | jq -e '.peers.host2' >/dev/null &&
			"$LAB" exec host2 "$TOP/build/netmove" status 2>/dev/null | jq -e '.peers.host1' >/dev/null && return 0
		sleep 0.02
	done
	echo "bench: peers never connected" >&2
	return 1
}
wait_file() { for _ in $(seq 250); do [ -s "$1" ] && return 0; sleep 0.02; done; return 1; }
listening() {   # listening NS PORT
	for _ in $(seq 100); do
		ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		sleep 0.02
	done
	return 1
}
# counters NS: the TCP counters of a namespace, absolute, "NAME VALUE" lines.
counters() { ip netns exec "$1" nstat -asz 2>/dev/null | awk '!/^#/ {print $1, $2}'; }
delta() {       # delta BEFORE AFTER NAME
	awk -v n="$3" 'FNR == NR {if ($1 == n) b = $2; next} $1 == n {a = $2} END {print a - b}' "$1" "$2"
}
median() {      # numbers on stdin (others ignored) -> median, or "-"
	grep -E '^-?[0-9.]+$' | sort -g | awk '{a[NR]=$1} END {if (!NR) print "-"; else if (NR % 2) print a[(NR+1)/2]; else printf "%g\n", (a[NR/2]+a[NR/2+1])/2}'
}
# col_of: the median of a column, or the most frequent non-numeric value of a column (np, none), for
# columns where no run gave a number.
col_of() {      # column FILE N -> the median, or the tag the runs gave
	local m
	m=$(awk -v n="$2" '{print $n}' "$1" | median)
	if [ "$m" = - ]; then awk -v n="$2" '{print $n}' "$1" | sort | uniq -c | sort -rn | awk 'NR == 1 {print $2}'; else
		# A broken stream in any run marks the median.
		if awk -v n="$2" '$n ~ /!$/ {f = 1} END {exit !f}' "$1"; then echo "$m!"; else echo "$m"; fi
	fi
}

rarp_hook='netmove announce --mac "$NETMOVE_MAC" --kinds rarp --bridge br-int --port "$NETMOVE_DST_PORT" >/dev/null'

# one_run LAYOUT PAUSE WAY: one lab, one move of vm1 host1 -> host2 under the
# probes; appends one line of figures to $TMP/LAYOUT.PAUSE.WAY.
one_run() {
	local layout=$1 pause=$2 way=$3 out=$TMP/$1.$2.$3
	local -a up=(--hosts 2 --vms 1) mig=()
	[ "$layout" = plain ] || up+=(--firewall)
	"$LAB" up "${up[@]}" >/dev/null
	wait_peers
	local vm_ip cl_ip cns vns
	vm_ip=$("$LAB" status --json | jq -r '.vms[0].ipv4')
	cl_ip=$("$LAB" status --json | jq -r '.client.ipv4')
	cns=$(nsn client) vns=$(nsn vm1)
	case $way in
	a)
		mig=(--hook "$rarp_hook")
		if [ "$layout" = firewall ]; then
			# The cloud's agent: the VM's rules on the destination before
			# the move (no conntrack).
			{
				"$LAB" exec host1 nft list set inet filter vm1-ports
				"$LAB" exec host1 nft list chain inet filter vm-vm1
				echo 'add rule inet filter forward iifname "qbr-vm1" jump vm-vm1'
			} | "$LAB" exec host2 nft -f -
		fi
		;;
	b) mig=(--netmove); [ $has_drain -eq 0 ] || mig+=(--no-drain) ;;
	c) mig=(--netmove) ;;
	esac

	rm -f "$TMP"/r.* "$TMP"/sparse.pid
	ip netns exec "$vns" "$PROBE" serve --port 5001 --max-seconds 60 & bgp+=($!)
	local sv=$!
	ip netns exec "$cns" "$PROBE" serve --port 5001 --max-seconds 60 & bgp+=($!)
	local sc=$!
	listening "$vns" 5001 && listening "$cns" 5001 || { echo "bench: probe servers did not listen" >&2; return 1; }
	ip netns exec "$cns" "$PROBE" sparse --tcp "$vm_ip:5001" --delay-ms $((pause / 2)) \
		--grace-ms 5000 --max-seconds 30 --ready "$TMP/sparse.pid" >"$TMP/r.sparse" & bgp+=($!)
	local sp=$!
	wait_file "$TMP/sparse.pid" || { echo "bench: sparse flow did not connect" >&2; return 1; }
	counters "$cns" >"$TMP/c0"; counters "$vns" >"$TMP/v0"
	local dur=$((3000 + pause))
	ip netns exec "$cns" "$PROBE" run --ping "$vm_ip" --tcp "$vm_ip:5001" --interval-us 1000 \
		--duration-ms $dur --ready "$TMP/r.cready" >"$TMP/r.c" & bgp+=($!)
	local pc=$!
	ip netns exec "$vns" "$PROBE" run --tcp "$cl_ip:5001" --interval-us 1000 \
		--duration-ms $dur --ready "$TMP/r.vready" >"$TMP/r.v" & bgp+=($!)
	local pv=$!
	for _ in $(seq 250); do [ -f "$TMP/r.cready" ] && [ -f "$TMP/r.vready" ] && break; sleep 0.02; done
	sleep 0.5
	# The sparse flow's clock starts just before the pause: in the lab's
	# at-pause command (way c: after `netmove paused`, which is the lab's
	# own at-pause command, repeated here), or before it has one, in the
	# prepare hook (after netmove's prepare).
	local go
	go="kill -USR1 $(cat "$TMP/sparse.pid")"
	if [ $has_drain -eq 0 ]; then
		mig+=(--prepare "$go")
	elif [ "$way" = c ]; then
		mig+=(--at-pause "r=0; for v in \$NETMOVE_VMS; do netmove paused \"\$v\" --to \"\$NETMOVE_DST_HOST\" >/dev/null || r=1; done; $go; exit \$r")
	else
		mig+=(--at-pause "$go")
	fi
	"$LAB" migrate vm1 host2 "${mig[@]}" --downtime "$pause" --json >"$TMP/r.m" 2>"$TMP/r.merr" ||
		echo "bench: $layout/$pause/$way: migrate failed: $(tail -1 "$TMP/r.merr")" >&2
	wait $pc || true; wait $pv || true; wait $sp || true
	counters "$cns" >"$TMP/c1"; counters "$vns" >"$TMP/v1"
	kill $sv $sc 2>/dev/null || true
	wait $sv $sc 2>/dev/null || true
	"$LAB" down >/dev/null
	bgp=()

	local down paused resumed lost gap rcv rvc sparse x
	down=$(jq -r '.downtime_ms // empty' "$TMP/r.m" 2>/dev/null || true)
	[ -n "$down" ] || { echo "- - - - - - - -" >>"$out"; return 0; }
	resumed=$(jq -r '.resumed_us' "$TMP/r.m")
	paused=$(jq -r --arg d "$down" '.paused_us // (.resumed_us - ($d | tonumber) * 1000 | floor)' "$TMP/r.m")
	lost=$(jq -r '.ping.lost' "$TMP/r.c")
	gap=$(jq -r --arg d "$down" '.ping.longest_gap_ms - ($d | tonumber) | . * 100 | round / 100' "$TMP/r.c")
	rcv=$(($(delta "$TMP/c0" "$TMP/c1" TcpRetransSegs) - $(jq -r '.retrans // 0' "$TMP/r.sparse")))
	jq -e '.tcp.survived' "$TMP/r.c" >/dev/null || rcv="$rcv!"
	rvc=$(delta "$TMP/v0" "$TMP/v1" TcpRetransSegs)
	jq -e '.tcp.survived' "$TMP/r.v" >/dev/null || rvc="$rvc!"
	sparse=$(jq -r --argjson p "$paused" --argjson r "$resumed" '
		if .triggered != true then "np"
		elif .sent_us < $p or .sent_us > $r then "np"
		elif .answered_us == null then "none"
		else (.answered_us - $r) / 10 | round / 100 end' "$TMP/r.sparse" 2>/dev/null || echo none)
	x="$lost $gap $rcv $rvc"
	x+=" $(delta "$TMP/c0" "$TMP/c1" TcpExtTCPSpuriousRTOs)/$(delta "$TMP/v0" "$TMP/v1" TcpExtTCPSpuriousRTOs)"
	x+=" $(delta "$TMP/c0" "$TMP/c1" TcpExtTCPDSACKRecv)/$(delta "$TMP/v0" "$TMP/v1" TcpExtTCPDSACKRecv)"
	# Way (c) whose `netmove paused` failed ran without the drain: marked.
	[ "$(jq -r '.at_pause_rc // 0' "$TMP/r.m")" = 0 ] || down="$down!"
	echo "$x $sparse $down" >>"$out"
}

t_start=$SECONDS
n=0
for l in $LAYOUTS; do for p in $PAUSES; do for w in $WAYS; do
	[ "$w" != c ] || [ $has_drain -eq 1 ] || continue
	n=$((n + RUNS))
done; done; done
echo "drain: one VM moved under 1 kHz pings, two 1 kHz TCP streams and a sparse request ($RUNS run(s) each, $n runs; median)"
[ $has_drain -eq 1 ] || echo "  (the lab has no --no-drain yet: way (c) skipped, (b) is --netmove)"
for l in $LAYOUTS; do for p in $PAUSES; do for w in $WAYS; do
	[ "$w" != c ] || [ $has_drain -eq 1 ] || continue
	for _ in $(seq "$RUNS"); do one_run "$l" "$p" "$w" || echo "- - - - - - - - -" >>"$TMP/$l.$p.$w"; done
done; done; done

printf '\n  %-8s %5s %3s %6s %9s %7s %7s %8s %8s %9s %8s\n' layout pause way "lost" "gap-pause" "rtx c>v" "rtx v>c" \
	"spur c/v" "dsack c/v" "sparse" "paused"
printf '  %-8s %5s %3s %6s %9s %7s %7s %8s %8s %9s %8s\n' "" ms "" "pings" ms "" "" "" "" "ms" "ms"
for l in $LAYOUTS; do for p in $PAUSES; do for w in $WAYS; do
	f=$TMP/$l.$p.$w
	[ -f "$f" ] || continue
	sc() { awk '{print $5}' "$f" | sort | uniq -c | sort -rn | awk 'NR == 1 {print $2}'; }
	sd() { awk '{print $6}' "$f" | sort | uniq -c | sort -rn | awk 'NR == 1 {print $2}'; }
	printf '  %-8s %5s %3s %6s %9s %7s %7s %8s %8s %9s %8s\n' "$l" "$p" "$w" "$(col_of "$f" 1)" \
		"$(col_of "$f" 2)" "$(col_of "$f" 3)" "$(col_of "$f" 4)" "$(sc)" "$(sd)" \
		"$(col_of "$f" 7)" "$(col_of "$f" 8)"
done; done; done
echo "  (spur and dsack: the most frequent value over the runs.  paused: the VM's pause as the lab reports it;"
echo "   \"!\" after it: the at-pause command (way c: netmove paused) failed in a run.  \"!\" after rtx: a stream broke."
echo "   Goal for (c): 0 lost, gap-pause <= 5 ms, sparse <= 5 ms, 0 rtx under a 150 ms pause.)"
echo "  took $((SECONDS - t_start)) s"

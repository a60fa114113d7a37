#!/bin/bash
# Issue 11's drain with the real migrators: a real guest (QEMU under TCG,
# the lab's busybox guest) moved while the client pings it at 1 kHz, two
# ways side by side in one run.  Figures, not pass/fail
# (tests/lab/libvirt_migrate.sh, part "drain", asserts the outcome).
#
# How long: one lab (~25 s up), then per run ~10 s (libvirt) or ~12 s
# (QEMU: each run boots a fresh guest).  RUNS=1 took 93 s here; the default
# RUNS=2 (libvirt 2 ways x 2, QEMU 2 holds x 2 ways x 2) about 3 minutes.  PARTS="libvirt qemu",
# HOLDS="100 300" (QEMU's switch-over held, ms), WAYS="a c" narrow it.
#
# libvirt (virsh migrate --live, libvirt 9.0; its pause is its own, ~200 ms):
#   a  QEMU's own RARPs at resume only: netmove's hook off on both hosts
#      (libvirt restarted without it), nothing told at the pause.
#   c  netmove's hook on both hosts (prepare --adopt, resume at the
#      destination) plus `netmove watch-libvirt GUEST --source` on the
#      source: `paused` at SUSPENDED MIGRATED (the drain).
# QEMU alone (QMP migrate, `pause-before-switchover`: the source stopped
# for HOLD ms before `migrate-continue`, the long stop-and-copy of a busy
# guest; the destination resumes by itself):
#   a  QEMU's own RARPs only: no netmove.
#   c  `netmove prepare --adopt` on the destination, `netmove watch-qmp
#      --source` on a monitor of the source QEMU (`paused` at its STOP),
#      `netmove watch-qmp` on the destination's (resume at its RESUME).
#
# Columns: pings sent and lost (1 ms apart, nm-probe), the longest gap
# between replies, the pause as the migrator reports it (libvirt:
# domjobinfo's total downtime; QEMU: from the source's STOP event to the
# destination's RESUME event, QEMU's own timestamps), STOP -> `paused`
# answered (way c: netmove's own t_paused -> t_catch_synced, plus the
# event's latency from QEMU's STOP), and the drain's counters: the source's
# caught/relayed (its journal's 'drained'), the destination's
# relayed_received/delivered_frames/held_direct/dropped (all dropped_*).
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
LAB=$TOP/netns-lab/lab
NM=$TOP/build/netmove
PROBE=$TOP/build/nm-probe
NETMOVE_LAB=brl$(printf "%x" $(($$ % 4096)))
export NETMOVE_LAB
STATE=/run/netmove-lab/$NETMOVE_LAB
TMP=$(mktemp -d /tmp/netmove-bench.XXXXXX)
RUNS=${RUNS:-2}
PARTS=${PARTS:-libvirt qemu}
HOLDS=${HOLDS:-100 300}
WAYS=${WAYS:-a c}
bgp=()
cleanup() {
	local p
	for p in "${bgp[@]}"; do kill "$p" 2>/dev/null || true; done
	"$LAB" down >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT

command -v qemu-system-x86_64 >/dev/null && command -v libvirtd >/dev/null && command -v socat >/dev/null ||
	{ echo "bench: needs qemu-system-x86_64, libvirtd, socat (make deps)" >&2; exit 1; }
[ -x "$PROBE" ] && [ -x "$NM" ] || { echo "bench: build first (make)" >&2; exit 1; }
"$TOP/netns-lab/guest/mkguest" >/dev/null || { echo "bench: cannot build the guest" >&2; exit 1; }

nsn() { echo "$NETMOVE_LAB-$1"; }
lvd() { echo "$STATE/$1/libvirt"; }
in_lv() { local h=$1; shift; nsenter -t "$(cat "$(lvd "$h")/anchor.pid")" -m -n -u "$@"; }
rundir() { "$LAB" status --json | jq -r ".hosts[] | select(.name == \"$1\") | .ovs_rundir"; }
wait_for() {    # wait_for SECONDS CMD...
	local end=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $end ] || return 1; sleep 0.02; done
}
peers_up() {
	"$NM" status --ctl "$(rundir host1)/netmoved.ctl" | jq -e '.peers.host2' &&
		"$NM" status --ctl "$(rundir host2)/netmoved.ctl" | jq -e '.peers.host1'
}
median() {
	grep -E '^-?[0-9.]+$' | sort -g | awk '{a[NR]=$1} END {if (!NR) print "-"; else if (NR % 2) print a[(NR+1)/2]; else printf "%g\n", (a[NR/2]+a[NR/2+1])/2}'
}
# drained HOST: the source's last 'drained' counters (journal), or {}.
drained() { grep -rah '"step":"drained"' "$(rundir "$1")/netmove" 2>/dev/null |
	jq -sc '[.[] | [.. | objects | select(has("relayed_frames"))][0] | objects] | max_by(.t_paused) // {}' 2>/dev/null || echo '{}'; }
# stop_us EVENTS-FILE EVENT: the first EVENT's QEMU timestamp (us).
ev_us() { jq -r "select(.event == \"$2\") | .timestamp.seconds * 1000000 + .timestamp.microseconds" "$1" 2>/dev/null | head -n 1; }
# observe SOCKET FILE: a QMP monitor's events into FILE (background).
observe() {
	echo '{"execute": "qmp_capabilities"}' >"$TMP/caps.json"
	socat STDIO,ignoreeof "UNIX-CONNECT:$1" <"$TMP/caps.json" >"$2" 2>/dev/null & bgp+=($!)
	wait_for 5 grep -q '"return"' "$2"
}
# record FILE: one line of figures from the run's files in $TMP/r.*:
# sent lost gap pause window caught relayed received delivered held dropped
record() {
	local out=$1 pause=$2 window=$3 src dst
	src=$(cat "$TMP/r.src" 2>/dev/null || echo '{}')
	dst=$(cat "$TMP/r.dst" 2>/dev/null || echo 'null')
	jq -rn --argjson p "$(cat "$TMP/r.probe" 2>/dev/null || echo '{}')" --argjson s "$src" --argjson d "$dst" \
		--arg pause "$pause" --arg w "$window" '
		def v(x): if x == null then "-" else x end;
		[v($p.ping.sent), v($p.ping.lost), v($p.ping.longest_gap_ms), $pause, $w,
		 v($s.caught), v($s.relayed_frames), v($d.relayed_received), v($d.delivered_frames),
		 v($d.held_direct),
		 (if $d == null then "-" else ([$d | to_entries[] | select(.key | startswith("dropped_")) | .value] | add) end)]
		| map(tostring) | join(" ")' >>"$out"
}
probe_start() {         # probe_start IP MS
	rm -f "$TMP/r.ready"
	ip netns exec "$(nsn client)" "$PROBE" run --ping "$1" --duration-ms "$2" --ready "$TMP/r.ready" >"$TMP/r.probe" & bgp+=($!)
	PROBE_PID=$!
	wait_for 10 test -f "$TMP/r.ready"
	sleep 0.5
}

"$LAB" up --hosts 2 --vms 0 --libvirt --no-hook >/dev/null
wait_for 10 peers_up || { echo "bench: peers never connected" >&2; exit 1; }
t_start=$SECONDS
echo "drain_real: a real guest moved by libvirt and by QEMU alone under 1 kHz pings ($RUNS run(s) each; median)"

# ---- libvirt ----
lv_run() {      # lv_run WAY: guest1 from its host to the other
	local way=$1 src dst wp="" stop susp
	src=$("$LAB" status --json | jq -r '.guests[0].host')
	[ "$src" = host1 ] && dst=host2 || dst=host1
	rm -f "$TMP"/r.*
	observe "$(lvd "$src")/netmove/qmp/guest1.qmp" "$TMP/r.events" || true
	if [ "$way" = c ]; then
		in_lv "$src" env NETMOVE_CTL=/run/openvswitch/netmoved.ctl "$NM" watch-libvirt guest1 --source \
			--to "$dst" --timeout 60 >"$TMP/r.watch" 2>&1 & bgp+=($!)
		wp=$!
		wait_for 10 grep -q 'waiting for an outgoing migration' "$TMP/r.watch" || true
	fi
	probe_start "$(guest_ip)" 5000
	"$LAB" vmigrate guest1 "$dst" --json >"$TMP/r.mig" 2>"$TMP/r.err" ||
		echo "bench: libvirt/$way: migrate failed: $(tail -1 "$TMP/r.err")" >&2
	wait "$PROBE_PID" || true
	[ -z "$wp" ] || wait "$wp" || true
	local window=- pause
	pause=$(jq -r '.libvirt_downtime_ms // "-"' "$TMP/r.mig" 2>/dev/null || echo -)
	if [ "$way" = c ]; then
		drained "$src" >"$TMP/r.src"
		"$NM" status --ctl "$(rundir "$dst")/netmoved.ctl" --json |
			jq -c '[.migrations[] | select(.vm == "'"$(guest_uuid)"'") | .drain][0]' >"$TMP/r.dst"
		stop=$(ev_us "$TMP/r.events" STOP)
		susp=$(sed -n 's/.*SUSPENDED MIGRATED received at \([0-9.]*\).*/\1/p' "$TMP/r.watch" | awk '{printf "%.0f", $1 * 1000000}')
		# STOP -> the event at the watcher, + netmoved's pause -> catch synced.
		window=$(jq -rn --argjson s "$(cat "$TMP/r.src")" --arg stop "${stop:-}" --arg susp "${susp:-}" '
			if ($s.t_catch_synced // null) == null or $stop == "" or $susp == "" then "-"
			else (($susp | tonumber) - ($stop | tonumber) + $s.t_catch_synced - $s.t_paused) / 100 | round / 10 end')
	fi
	record "$TMP/libvirt.$way" "$pause" "$window"
}
guest_ip() { "$LAB" status --json | jq -r '.guests[0].ipv4'; }
guest_uuid() { "$LAB" status --json | jq -r '.guests[0].uuid'; }

case " $PARTS " in *" libvirt "*)
	"$LAB" guest start host1 guest1 --qmp >/dev/null
	for w in $WAYS; do
		if [ "$w" = c ]; then for h in host1 host2; do "$LAB" libvirt "$h" hook on >/dev/null; done; fi
		for _ in $(seq "$RUNS"); do lv_run "$w"; done
	done
	"$LAB" guest destroy guest1 >/dev/null 2>&1 || true
	;;
esac

# ---- QEMU alone, pause-before-switchover ----
QG=9 QMAC=02:00:00:01:00:09 QIP=198.18.64.9 QVM=qguest9 QTAP=tq9
# qemu_start HOST DIR [ARGS...]: the lab's guest in HOST's namespace, its
# tap on br-int labelled as libvirt labels one; monitors DIR/HOST.{a,b,c}.qmp.
qemu_start() {
	local h=$1 d=$2 n
	shift 2
	n=${h#host}
	ip netns exec "$(nsn "$h")" qemu-system-x86_64 -name "$QVM" -machine pc -m 128 -accel tcg -nodefaults \
		-display none -kernel "$TOP/build/guest/vmlinuz" -initrd "$TOP/build/guest/initrd.img" \
		-append "console=ttyS0 panic=-1 nm.name=$QVM nm.ip4=$QIP/16 nm.port=5001" \
		-serial "file:$d/$h.console" \
		-netdev "tap,id=n0,ifname=$QTAP,script=no,downscript=no" \
		-device "virtio-net-pci,netdev=n0,mac=$QMAC,csum=off,gso=off,guest_csum=off,guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off,host_tso4=off,host_tso6=off,host_ecn=off,host_ufo=off" \
		-qmp "unix:$d/$h.a.qmp,server=on,wait=off" -qmp "unix:$d/$h.b.qmp,server=on,wait=off" \
		-qmp "unix:$d/$h.c.qmp,server=on,wait=off" "$@" >"$d/$h.log" 2>&1 & bgp+=($!)
	wait_for 10 test -S "$d/$h.c.qmp" || return 1
	wait_for 5 ip -n "$(nsn "$h")" link show "$QTAP" || return 1
	ip -n "$(nsn "$h")" link set "$QTAP" up
	ovs-vsctl --db="unix:$(rundir "$h")/db.sock" -- --may-exist add-port br-int "$QTAP" \
		-- set Interface "$QTAP" "external_ids:vm-id=$QVM" "external_ids:attached-mac=$QMAC" \
		"external_ids:iface-id=5e1f0000-0000-4000-8001-0000000000$n$QG" >/dev/null
}
# qmp_migrate SOCKET URI HOLD_MS: migrate with pause-before-switchover, hold
# the switch-over HOLD_MS, continue; prints query-migrate's last answer.
qmp_migrate() {
	python3 - "$@" <<-'EOF'
		import json, socket, sys, time
		s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
		def cmd(c, **a):
		    f.write(json.dumps({"execute": c, "arguments": a} if a else {"execute": c}) + "\n"); f.flush()
		    while True:
		        m = json.loads(f.readline())
		        if "return" in m or "error" in m: return m
		f.readline()
		cmd("qmp_capabilities")
		cmd("migrate-set-capabilities", capabilities=[{"capability": "pause-before-switchover", "state": True},
		                                               {"capability": "events", "state": True}])
		r = cmd("migrate", uri=sys.argv[2])
		if "error" in r: print(json.dumps(r)); sys.exit(1)
		end = time.time() + 60
		while time.time() < end:
		    st = cmd("query-migrate")["return"].get("status")
		    if st == "pre-switchover": break
		    if st in ("failed", "cancelled"): print(json.dumps(st)); sys.exit(1)
		    time.sleep(0.002)
		time.sleep(int(sys.argv[3]) / 1000)
		cmd("migrate-continue", state="pre-switchover")
		while time.time() < end:
		    q = cmd("query-migrate")["return"]
		    if q.get("status") in ("completed", "failed", "cancelled"): break
		    time.sleep(0.01)
		print(json.dumps(q))
	EOF
}
q_run() {       # q_run WAY HOLD
	local way=$1 hold=$2 d=$TMP/q wsrc="" wdst="" pause window=- stop resume
	rm -rf "$d" "$TMP"/r.*
	mkdir -p "$d"
	qemu_start host1 "$d" || { echo "bench: qemu/$way/$hold: source QEMU did not start" >&2; return 1; }
	wait_for 60 ip netns exec "$(nsn client)" ping -n -q -c 1 -W 0.2 "$QIP" ||
		{ echo "bench: qemu/$way/$hold: guest unreachable: $(tail -2 "$d/host1.console")" >&2; return 1; }
	qemu_start host2 "$d" -incoming "tcp:198.19.0.2:4444"
	observe "$d/host1.b.qmp" "$TMP/r.src.events"
	observe "$d/host2.b.qmp" "$TMP/r.dst.events"
	if [ "$way" = c ]; then
		"$NM" prepare "$QVM" --from host1 --adopt --ctl "$(rundir host2)/netmoved.ctl" >"$TMP/r.prep" 2>&1 ||
			echo "bench: qemu/c: prepare: $(tail -1 "$TMP/r.prep")" >&2
		"$NM" watch-qmp "$d/host1.a.qmp" "$QVM" --source --to host2 --ctl "$(rundir host1)/netmoved.ctl" \
			--timeout 60 >"$TMP/r.wsrc" 2>&1 & bgp+=($!)
		wsrc=$!
		"$NM" watch-qmp "$d/host2.a.qmp" "$QVM" --from host1 --ctl "$(rundir host2)/netmoved.ctl" \
			--timeout 60 >"$TMP/r.wdst" 2>&1 & bgp+=($!)
		wdst=$!
	fi
	probe_start "$QIP" $((4000 + hold))
	qmp_migrate "$d/host1.c.qmp" "tcp:198.19.0.2:4444" "$hold" >"$TMP/r.mig" 2>&1 ||
		echo "bench: qemu/$way/$hold: migrate: $(tail -1 "$TMP/r.mig")" >&2
	wait "$PROBE_PID" || true
	[ -z "$wsrc" ] || wait "$wsrc" || true
	[ -z "$wdst" ] || wait "$wdst" || true
	stop=$(ev_us "$TMP/r.src.events" STOP) resume=$(ev_us "$TMP/r.dst.events" RESUME)
	pause=-
	[ -z "$stop" ] || [ -z "$resume" ] || pause=$(((resume - stop) / 1000))
	if [ "$way" = c ]; then
		drained host1 >"$TMP/r.src"
		"$NM" status --ctl "$(rundir host2)/netmoved.ctl" --json |
			jq -c "[.migrations[] | select(.vm == \"$QVM\") | .drain][0]" >"$TMP/r.dst"
		local got
		got=$(sed -n 's/.*STOP at \([0-9.]*\).*received \([0-9]*\) us.*/\2/p' "$TMP/r.wsrc" | head -n 1)
		window=$(jq -rn --argjson s "$(cat "$TMP/r.src")" --arg got "${got:-}" '
			if ($s.t_catch_synced // null) == null or $got == "" then "-"
			else (($got | tonumber) + $s.t_catch_synced - $s.t_paused) / 100 | round / 10 end')
	fi
	record "$TMP/qemu.$hold.$way" "$pause" "$window"
	# Both QEMUs go; the ports too (netmove's confirm removed host1's in way c).
	for p in "${bgp[@]}"; do kill "$p" 2>/dev/null || true; done
	bgp=()
	sleep 0.3
	for h in host1 host2; do
		ovs-vsctl --db="unix:$(rundir "$h")/db.sock" -- --if-exists del-port br-int "$QTAP" >/dev/null 2>&1 || true
	done
}

case " $PARTS " in *" qemu "*)
	for hold in $HOLDS; do for w in $WAYS; do for _ in $(seq "$RUNS"); do
		q_run "$w" "$hold" || echo "- - - - - - - - - - -" >>"$TMP/qemu.$hold.$w"
	done; done; done
	;;
esac

col() { awk -v n="$2" '{print $n}' "$1" | median; }
printf '\n  %-20s %3s %5s %5s %7s %6s %7s %6s %7s %8s %9s %4s %7s\n' migrator way sent lost gap pause "STOP->" caught relayed received delivered held dropped
printf '  %-20s %3s %5s %5s %7s %6s %7s %6s %7s %8s %9s %4s %7s\n' "" "" "" pings ms ms caught "" "" "" "" "" ""
for f in "$TMP"/libvirt.* "$TMP"/qemu.*; do
	[ -f "$f" ] || continue
	b=${f##*/}
	case $b in
	libvirt.*) name="libvirt (virsh)" w=${b#libvirt.} ;;
	qemu.*) h=${b#qemu.}; w=${h#*.}; name="QEMU hold ${h%%.*} ms" ;;
	esac
	printf '  %-20s %3s %5s %5s %7s %6s %7s %6s %7s %8s %9s %4s %7s\n' "$name" "$w" "$(col "$f" 1)" "$(col "$f" 2)" \
		"$(col "$f" 3)" "$(col "$f" 4)" "$(col "$f" 5)" "$(col "$f" 6)" "$(col "$f" 7)" "$(col "$f" 8)" \
		"$(col "$f" 9)" "$(col "$f" 10)" "$(col "$f" 11)"
done
echo "  (pause: libvirt's domjobinfo downtime; QEMU: source STOP -> destination RESUME, QEMU's timestamps."
echo "   STOP->caught: QEMU's STOP -> the event at the watcher -> netmoved's catch synced (way c).  caught, relayed:"
echo "   the source's journal; received, delivered (relayed + held), held, dropped (sum of dropped_*): the destination.)"
echo "  took $((SECONDS - t_start)) s"

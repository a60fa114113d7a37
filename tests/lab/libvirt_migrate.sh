#!/bin/bash
# A real libvirt live migration (virsh migrate --live, QEMU under TCG) of a
# real guest while the client pings it at 1 kHz: first without netmove's
# hook, then with netmove/hooks/libvirt-qemu installed on both hosts as an
# operator installs it, talking to each host's netmoved.  Asserts what
# libvirt must do (the port it makes, the domain moving); prints the
# client's view of both runs side by side, and netmove's outcome.
#
#              client 198.18.0.1   (nm-probe: 1 kHz ping)
#                 |
#   fabric br0 ---+---h1---------------------+---h2-------------------+
#                     | up0                      | up0
#   host1: OVS br-int, vnetN <- QEMU guest1     host2: OVS br-int, (guest2), vnetM
#          libvirtd + virtlogd + netmoved              libvirtd + virtlogd + netmoved
#          /etc/libvirt/hooks/qemu (run 2)             /etc/libvirt/hooks/qemu (run 2)
#   mgmt:  198.19.0.1 <-- libvirt qemu+tcp, QEMU migration, netmoved TLS --> 198.19.0.2
#
# Then, on the same lab (part "drain", was tests/lab/libvirt_drain.sh):
# issue 11's drain with a real migrator: a real guest live-migrated by
# libvirt 9.0 (virsh migrate --live, QEMU under TCG) while the client pings
# it at 1 kHz, netmove's libvirt hook on both hosts and `netmove
# watch-libvirt guest5 --source` on the source (HOOKS.md "The source's
# moment": `paused` at SUSPENDED MIGRATED).  Asserts that the drain worked:
#   - the source's watcher called `paused` and netmoved answered it (the
#     catch in host1's switch);
#   - the source caught and relayed frames during libvirt's pause (its
#     journal's 'drained' record), the destination received as many as the
#     source said it relayed (drain-end), delivered every one of them plus
#     the direct frames it held, dropped none, refused no duplicate;
#   - fewer pings lost than a quarter of the pause (each 1 kHz ping of a
#     pause of P ms is lost without the drain: P/4 is a generous bound, not
#     a timing race).
# Prints the window between QEMU's STOP (its QMP event's timestamp, on a
# monitor of the source QEMU's own) and `paused` answered, beside the pings
# lost: frames reaching the source's tap in that window die with QEMU.
#
#   client 198.18.0.1 (nm-probe, 1 kHz ping) --- fabric --- host1 / host2
#   host1: libvirtd, QEMU guest5 (vnetN on br-int), netmoved, watch-libvirt --source
#   host2: libvirtd (hook: prepare --adopt, watch-qmp for the resume), netmoved
set -eu
. "$(dirname "$0")/lib.bash"

command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 missing (make deps)"
qemu-system-x86_64 -accel help 2>/dev/null | grep -qx tcg || skip "this QEMU has no TCG"
command -v libvirtd >/dev/null || fail "libvirtd missing (make deps)"
command -v socat >/dev/null || fail "socat missing (make deps)"
[ -x "$TOP/build/netmoved" ] || fail "build/netmoved missing (make)"
"$TOP/netns-lab/guest/mkguest" >/dev/null || fail "cannot build the guest (make deps)"

"$LAB" up --hosts 2 --vms 0 --libvirt --no-hook >/dev/null
wait_peers host2 host1

part_migrate() {
	r1=$(status_get '.hosts[0].ovs_rundir') r2=$(status_get '.hosts[1].ovs_rundir')
	"$LAB" guest start host1 guest1 >"$TMP/start.out" || fail "guest1 did not start: $(cat "$TMP/start.out")"
	g() { status_get ".guests[] | select(.name == \"guest1\") | .$1"; }
	ip4=$(g ipv4) ip6=$(g ipv6) mac=$(g mac) uuid=$(g uuid) iface=$(g iface_id)
	echo "  $(cat "$TMP/start.out")"

	# The port libvirt made for <virtualport type='openvswitch'/> (ovs-vsctl).
	port_of() { ovs-vsctl --db="unix:$1/db.sock" --bare --columns=name find Interface "external_ids:attached-mac=\"$mac\""; }
	ext() { ovs-vsctl --db="unix:$1/db.sock" get Interface "$2" "external_ids:$3" 2>/dev/null | tr -d '"'; }
	p1=$(port_of "$r1")
	[ -n "$p1" ] || fail "no port with attached-mac $mac on host1"
	[ "$(ext "$r1" "$p1" vm-id)" = "$uuid" ] || fail "port $p1: vm-id is not the domain UUID $uuid"
	[ "$(ext "$r1" "$p1" iface-id)" = "$iface" ] || fail "port $p1: iface-id is not the interfaceid $iface"
	[ -z "$(ext "$r1" "$p1" ip-addresses)" ] || fail "port $p1: libvirt set ip-addresses?"
	pass "libvirt's port on host1: $p1, vm-id = domain UUID, iface-id, attached-mac, no ip-addresses"

	# migrate RUN DST: virsh migrate --live while the client pings guest1 at
	# 1 kHz for 8 s; the lab's and the probe's JSON in $TMP/RUN.*.json.
	migrate() {
		local run=$1 dst=$2 src probe
		src=$(g host)
		rm -f "$TMP/$run.ready"
		bg "$LAB" exec client "$TOP/build/nm-probe" run --ping "$ip4" --duration-ms 8000 \
			--ready "$TMP/$run.ready" >"$TMP/$run.probe.json"
		probe=$(last_bg)
		wait_until 10 test -f "$TMP/$run.ready" || fail "$run: the probe did not start"
		sleep 1        # a second of pings before the migration: the baseline
		"$LAB" vmigrate guest1 "$dst" --json >"$TMP/$run.migrate.json" ||
			fail "$run: virsh migrate failed: $(cat "$TMP/$run.migrate.json")"
		wait "$probe" || fail "$run: the probe failed"
		# The domain runs on the destination, and is gone from the source.
		[ "$("$LAB" virsh "$dst" domstate guest1 2>/dev/null | head -n 1)" = running ] ||
			fail "$run: guest1 is not running on $dst"
		if "$LAB" virsh "$src" list --all --name | grep -qx guest1; then
			fail "$run: guest1 is still defined on $src"
		fi
		[ "$(g host)" = "$dst" ] || fail "$run: the lab did not record guest1 on $dst"
	}

	# summary RUN: one line, the client's view and libvirt's.
	summary() {
		jq -rs '"\(.[0].from) -> \(.[0].to): libvirt downtime \(.[0].libvirt_downtime_ms) ms (migration \(.[0].libvirt_elapsed_ms) ms, virsh \(.[0].lab_ms | floor) ms); client: \(.[1].ping.lost)/\(.[1].ping.sent) pings lost, longest gap \(.[1].ping.longest_gap_ms) ms; dst tap \(.[0].dst_tap), port \(.[0].dst_port)"' \
			"$TMP/$1.migrate.json" "$TMP/$1.probe.json"
	}

	# --- run 1: without the hook.  QEMU's own RARP announcements at resume
	# teach the fabric; libvirt makes the port on host2 and removes host1's.
	migrate nohook host2
	p2=$(port_of "$r2")
	[ -n "$p2" ] && [ "$(ext "$r2" "$p2" vm-id)" = "$uuid" ] || fail "nohook: no port for guest1 on host2"
	[ -z "$(port_of "$r1")" ] || fail "nohook: libvirt left guest1's port on host1"
	[ "$(pings client "$ip4" 5)" = 5 ] || fail "nohook: the client does not reach guest1 on host2"
	pass "without the hook: guest1 runs on host2 (port $p2), gone from host1, reached by the client"

	# Back to host1 (unmeasured), then the hook on both hosts (libvirtd reads
	# its hooks when it starts: the lab restarts it; guest1 keeps running).
	"$LAB" vmigrate guest1 host1 >/dev/null
	for h in host1 host2; do "$LAB" libvirt "$h" hook on; done
	[ "$("$LAB" virsh host1 domstate guest1 | head -n 1)" = running ] || fail "guest1 did not survive libvirtd's restart"
	# Other domains on host2 first, as on a busy host: they take tap names
	# there, so that the incoming guest's tap is not named as on host1 (tap
	# names are per host; libvirtd numbers them from vnet0 after its restart):
	# netmove must find the port by the VM's identity, not by its name.
	src_tap=$(status_get '.guests[] | select(.name == "guest1") | .tap')
	for k in 2 3 4; do
		"$LAB" guest start host2 "guest$k" >/dev/null
		[ "$(status_get ".guests[] | select(.name == \"guest$k\") | .tap")" != "$src_tap" ] || break
	done

	# The guest uses both of its addresses (it answers the client's ARP and
	# ND): nobody declares them, netmoved on host1 learns them from those frames.
	"$LAB" exec client ping -n -q -c 2 -W 1 "$ip6" >/dev/null || fail "the client does not reach $ip6"
	"$LAB" exec client ip neigh flush dev eth0
	[ "$(pings client "$ip4" 2)" = 2 ] || fail "the client does not reach $ip4"

	# --- run 2: with the hook, at its default settings (no QMP monitor in the
	# domain, no setting but where netmove and its socket are).  Destination:
	# migrate begin -> 'netmove prepare UUID --adopt'; started -> a detached
	# 'netmove watch-libvirt UUID' -> 'netmove resume UUID' at libvirt's
	# RESUMED MIGRATED; source: release end - (libvirt 9.0) -> 'netmove left
	# UUID', the source's own evidence, without which the destination's confirm
	# removes nothing there.
	migrate hook host2
	log2=$LAB_STATE/host2/libvirt/log/netmove-hook.log
	log1=$LAB_STATE/host1/libvirt/log/netmove-hook.log
	# The watcher's output is in /run/netmove/hook/guest1.watch until it exits,
	# then in the log.
	hook2() { cat "$log2" "$LAB_STATE/host2/libvirt/netmove/hook/guest1.watch" 2>/dev/null; }
	grep -q "migrate begin -: netmove prepare $uuid --adopt" "$log2" ||
		fail "hook: no prepare at 'migrate': $(hook2)"
	if grep -q "netmove prepare exited" "$log2"; then fail "hook: prepare failed: $(hook2)"; fi
	wait_until 30 grep -q "netmove watch-libvirt $uuid exited 0" "$log2" ||
		fail "hook: the destination's watcher did not call resume and exit 0: $(hook2)"
	grep -q "watch-libvirt: .*resume called" "$log2" || fail "hook: no resume call: $(hook2)"
	wait_until 10 grep -q "release end .*netmove left $uuid" "$log1" ||
		fail "hook: the source's hook did not give its evidence (left): $(cat "$log1" 2>/dev/null)"
	if grep -q "netmove left exited" "$log1"; then fail "hook: left failed: $(cat "$log1")"; fi
	pass "with the hook (defaults): prepare --adopt at 'migrate', watch-libvirt called resume at RESUMED MIGRATED and exited 0, the source's hook gave 'left'"

	# netmove's outcome: the migration done, the port libvirt made adopted (one
	# port for the VM, whatever its tap name), open, nothing left on host1.
	"$LAB" exec host2 "$NETMOVE" status "$uuid" --json >"$TMP/status2.json" ||
		fail "netmove status on host2: $(cat "$TMP/status2.json")"
	jq -e '.migrations[0] | .state == "done" and .adopt == true and .adopt_pending == false' \
		"$TMP/status2.json" >/dev/null || fail "host2's migration: $(jq -c '.migrations[0]' "$TMP/status2.json")"
	p2=$(port_of "$r2")
	[ "$(echo "$p2" | grep -c .)" = 1 ] || fail "host2 has $(echo "$p2" | grep -c .) ports for guest1: $p2"
	[ "$(ext "$r2" "$p2" vm-id)" = "$uuid" ] || fail "host2's port $p2 is not guest1's"
	[ "$p2" != "$src_tap" ] || fail "the tap on host2 has the source's name $src_tap: the test proves nothing"
	if "$LAB" exec host2 ovs-ofctl dump-flows br-int | grep -q 'cookie=0x6e6d'; then
		fail "netmove's blocking flows are still on host2"
	fi
	[ -z "$(port_of "$r1")" ] || fail "guest1's port left on host1"
	[ "$(pings client "$ip4" 5)" = 5 ] || fail "the client does not reach guest1 on host2 after the move"
	pass "netmove: migration done, libvirt's port $p2 adopted on host2 (the source's was $src_tap), open, one port; nothing left on host1"

	# Its addresses followed it although nobody declared them: learned on
	# host1 from its ARP and ND, carried in the export, announced by host2
	# (GARP and unsolicited NA seen leaving host2's uplink).
	jq -e --arg a "$ip4" --arg b "$ip6" '.migrations[0].addresses[0].ips | index($a) != null and index($b) != null' \
		"$TMP/status2.json" >/dev/null || fail "guest1's addresses not learned: $(jq -c '.migrations[0].addresses' "$TMP/status2.json")"
	seen() { "$LAB" exec host2 "$NETMOVE" status "$uuid" --json | jq -e '.migrations[0].announcements_seen | (.["garp-request"] // 0) > 0 and (.["na-unsolicited"] // 0) > 0'; }
	wait_until 15 seen || fail "no GARP and NA for guest1 seen on host2's uplink: $("$LAB" exec host2 "$NETMOVE" status "$uuid" --json | jq -c '.migrations[0].announcements_seen')"
	pass "guest1's undeclared addresses ($ip4, $ip6) learned on host1 and announced from host2 (GARP, NA)"

	echo "  client's view, side by side (1 kHz ping, 8 s):"
	echo "    without hook: $(summary nohook)"
	echo "    with hook:    $(summary hook)   (source tap was $src_tap)"
	jq -r '.migrations[0] | "  netmove on host2: \(.timings | to_entries | map("\(.key) \(.value)") | join(", "))"' "$TMP/status2.json"
	grep "watch-libvirt: .*resume called" "$log2" | tail -n 1 | cut -c1-300 | sed 's/^/  /'
	# The drain part needs the hook on both hosts: it is.
	touch "$TMP/hooks.on"
}

part_drain() {
	# Its own guest on a quiet host2, as if alone: the migrate part's guests
	# go first (whatever state that part left).
	local g
	for g in $(status_get '.guests[].name'); do "$LAB" guest destroy "$g"; done
	if [ ! -e "$TMP/hooks.on" ]; then
		for h in host1 host2; do "$LAB" libvirt "$h" hook on; done
	fi
	wait_peers host2 host1
	wait_peers host1 host2
	# --qmp: a QMP monitor for netmove beside libvirt's (the hook on the
	# destination follows it for the resume; on the source this test reads
	# QEMU's STOP from it).
	"$LAB" guest start host1 guest5 --qmp >"$TMP/start.out" || fail "guest5 did not start: $(cat "$TMP/start.out")"
	ip4=$(status_get '.guests[] | select(.name == "guest5") | .ipv4') uuid=$(status_get '.guests[] | select(.name == "guest5") | .uuid')
	echo "  $(cat "$TMP/start.out")"
	lvd() { echo "$LAB_STATE/$1/libvirt"; }
	in_lv() { local h=$1; shift; nsenter -t "$(cat "$(lvd "$h")/anchor.pid")" -m -n -u "$@"; }

	# QEMU's own events on the source: STOP's timestamp is the pause.
	echo '{"execute": "qmp_capabilities"}' >"$TMP/caps.json"
	socat STDIO,ignoreeof "UNIX-CONNECT:$(lvd host1)/netmove/qmp/guest5.qmp" <"$TMP/caps.json" >"$TMP/src.events" &
	_bg_pids+=($!)
	wait_until 5 grep -q '"return"' "$TMP/src.events" || fail "no QMP answer from the source QEMU"

	# The source's watcher, as HOOKS.md tells an operator to start it.
	in_lv host1 env NETMOVE_CTL=/run/openvswitch/netmoved.ctl "$NETMOVE" watch-libvirt guest5 --source --to host2 \
		--timeout 120 >"$TMP/src.watch" 2>&1 &
	wpid=$!
	_bg_pids+=("$wpid")
	wait_until 10 grep -q 'waiting for an outgoing migration' "$TMP/src.watch" ||
		fail "the source's watcher did not arm: $(cat "$TMP/src.watch")"

	bg "$LAB" exec client "$TOP/build/nm-probe" run --ping "$ip4" --duration-ms 6000 --ready "$TMP/ready" >"$TMP/probe.json"
	probe=$(last_bg)
	wait_until 10 test -f "$TMP/ready" || fail "the probe did not start"
	sleep 1
	"$LAB" vmigrate guest5 host2 --json >"$TMP/mig.json" || fail "virsh migrate failed: $(cat "$TMP/mig.json")"
	wait "$probe" || fail "the probe failed"
	rc=0
	wait "$wpid" || rc=$?
	[ "$("$LAB" virsh host2 domstate guest5 | head -n 1)" = running ] || fail "guest5 does not run on host2"

	# --- the source's moment ---
	grep -q 'SUSPENDED MIGRATED received at .*paused called' "$TMP/src.watch" ||
		fail "the source's watcher did not call paused at SUSPENDED MIGRATED: $(cat "$TMP/src.watch")"
	grep -q 'paused: recorded; catching' "$TMP/src.watch" ||
		fail "netmoved on host1 did not catch at the pause: $(cat "$TMP/src.watch")"
	grep -q 'left called' "$TMP/src.watch" || fail "the source's watcher did not call left: $(cat "$TMP/src.watch")"
	[ $rc = 0 ] || fail "the source's watcher exited $rc: $(cat "$TMP/src.watch")"
	pass "watch-libvirt --source on host1: paused at SUSPENDED MIGRATED, answered once the catch was in the switch; left at STOPPED MIGRATED; exit 0"

	# --- the drain's counters: destination (status) and source (journal) ---
	"$LAB" exec host2 "$NETMOVE" status "$uuid" --json >"$TMP/dst.json"
	jq -c '.migrations[0].drain' "$TMP/dst.json" >"$TMP/dst.drain"
	[ "$(jq -r '.migrations[0].state' "$TMP/dst.json")" = done ] || fail "host2's migration: $(jq -c '.migrations[0]' "$TMP/dst.json")"
	jq -e 'type == "object"' "$TMP/dst.drain" >/dev/null || fail "no drain on host2: $(jq -c '.migrations[0]' "$TMP/dst.json")"
	r1=$(status_get '.hosts[0].ovs_rundir')
	# (This guest's: the journal also holds the migrate part's records.)
	drained() { grep -rah '"step":"drained"' "$r1/netmove" | grep -F "\"$uuid\""; }
	wait_until 10 drained ||
		fail "no 'drained' record for $uuid in host1's journal ($r1/netmove): $(find "$r1/netmove" -type f)"
	drained | tail -n 1 |
		jq -c '[.. | objects | select(has("relayed_frames"))][0]' >"$TMP/src.drain"
	echo "  source (journal): $(cat "$TMP/src.drain")"
	echo "  destination:      $(cat "$TMP/dst.drain")"
	s() { jq -r ".$1" "$TMP/src.drain"; }
	d() { jq -r ".$1" "$TMP/dst.drain"; }
	relayed=$(s relayed_frames)
	[ "$relayed" -gt 0 ] || fail "the source relayed no frame during libvirt's pause"
	[ "$(s caught)" -ge "$relayed" ] || fail "source: relayed $relayed of $(s caught) caught?"
	[ "$(s dropped_frames)" = 0 ] || fail "source: $(s dropped_frames) frames dropped over its bounds"
	[ "$(d source.frames)" = "$relayed" ] || fail "drain-end said $(d source.frames) frames, the journal $relayed"
	[ "$(d relayed_received)" = "$relayed" ] || fail "host2 received $(d relayed_received) of $relayed relayed frames"
	[ "$(d delivered_frames)" = $((relayed + $(d held_direct))) ] ||
		fail "host2 delivered $(d delivered_frames), expected $relayed relayed + $(d held_direct) held"
	for c in dropped_abort dropped_bound dropped_deadline dropped_output dropped_scope dup_refused; do
		[ "$(d "$c")" = 0 ] || fail "host2: $c = $(d "$c")"
	done
	pass "the drain: host1 caught $(s caught), relayed $relayed; host2 received $relayed, delivered them and $(d held_direct) held directly, dropped none"

	# --- the client's view against the pause ---
	P=$(jq -r '.libvirt_downtime_ms' "$TMP/mig.json")
	lost=$(jq -r '.ping.lost' "$TMP/probe.json")
	gap=$(jq -r '.ping.longest_gap_ms' "$TMP/probe.json")
	[ "$P" -gt 0 ] 2>/dev/null || fail "no downtime from libvirt: $(cat "$TMP/mig.json")"
	[ "$lost" -lt $((P / 4)) ] || fail "$lost pings lost during a pause of $P ms (without the drain: about $P)"
	pass "client: $lost of $(jq -r .ping.sent "$TMP/probe.json") pings lost (< $P/4) across libvirt's $P ms pause; longest gap $gap ms"

	# --- the window: QEMU's STOP -> paused answered ---
	stop_us=$(jq -r 'select(.event == "STOP") | .timestamp.seconds * 1000000 + .timestamp.microseconds' "$TMP/src.events" | head -n 1)
	[ -n "$stop_us" ] || fail "no STOP from the source QEMU: $(cat "$TMP/src.events")"
	susp=$(sed -n 's/.*SUSPENDED MIGRATED received at \([0-9.]*\).*/\1/p' "$TMP/src.watch")
	done_ms=$(sed -n 's/.*paused done in \([0-9]*\) ms.*/\1/p' "$TMP/src.watch")
	susp_us=$(echo "$susp" | awk '{printf "%.0f", $1 * 1000000}')
	echo "  window: QEMU STOP -> SUSPENDED MIGRATED received $(((susp_us - stop_us) / 1000)) ms, -> paused answered $(((susp_us - stop_us) / 1000 + done_ms)) ms; pings lost $lost"
}

part migrate part_migrate
part drain part_drain
parts_end

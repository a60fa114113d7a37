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
set -eu
. "$(dirname "$0")/lib.bash"

command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 missing (make deps)"
qemu-system-x86_64 -accel help 2>/dev/null | grep -qx tcg || skip "this QEMU has no TCG"
command -v libvirtd >/dev/null || fail "libvirtd missing (make deps)"
[ -x "$TOP/build/netmoved" ] || fail "build/netmoved missing (make)"
"$TOP/netns-lab/guest/mkguest" >/dev/null || fail "cannot build the guest (make deps)"

"$LAB" up --hosts 2 --vms 0 --libvirt --no-hook >/dev/null
wait_peers host2 host1
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

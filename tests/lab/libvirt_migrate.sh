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
ip4=$(g ipv4) mac=$(g mac) uuid=$(g uuid) iface=$(g iface_id)
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
# Another domain on host2 first, as on a busy host: it takes a tap name
# there, so the incoming guest's name is not the first free one (tap names
# are per host and libvirt does not reuse a freed number at once; both
# names are printed: netmove must find the port by identity, not name).
"$LAB" guest start host2 guest2 >/dev/null
src_tap=$(status_get '.guests[] | select(.name == "guest1") | .tap')

# --- run 2: with the hook.  Destination: migrate begin (NETMOVE_PREPARE=0:
# nothing), started -> a detached 'netmove watch-qmp' on the domain's extra
# monitor -> 'netmove resume UUID' at QEMU's RESUME; source: release end ->
# 'netmove confirm UUID'.
migrate hook host2
log2=$LAB_STATE/host2/libvirt/log/netmove-hook.log
log1=$LAB_STATE/host1/libvirt/log/netmove-hook.log
# The watcher's output is in /run/netmove/hook/guest1.watch until it exits,
# then in the log.  It may outlive its resume call: see the TODO below.
hook2() { cat "$log2" "$LAB_STATE/host2/libvirt/netmove/hook/guest1.watch" 2>/dev/null; }
wait_until 30 sh -c "cat '$log2' '$LAB_STATE/host2/libvirt/netmove/hook/guest1.watch' 2>/dev/null | grep -q 'resume called'" ||
	fail "hook: the destination's watcher did not call resume: $(hook2)"
hook2 | grep -q "watch-qmp.*RESUME at .* after the incoming migration" ||
	fail "hook: the watcher did not see QEMU's RESUME: $(hook2)"
wait_until 10 grep -q "release end .*netmove confirm $uuid" "$log1" ||
	fail "hook: the source's hook did not call confirm: $(cat "$log1" 2>/dev/null)"
pass "with the hook: libvirtd ran it on both hosts; watch-qmp saw QEMU's RESUME on host2 and called resume; host1 called confirm"

echo "  client's view, side by side (1 kHz ping, 8 s):"
echo "    without hook: $(summary nohook)"
echo "    with hook:    $(summary hook)   (source tap was $src_tap)"
echo "  netmove on host2 (hook log):"
hook2 | grep -E "watch-qmp|RESUME|\"state\"|exited" | tail -n 4 | cut -c1-400 | sed 's/^/    /'
echo "  netmove on host1 (hook log):"
grep -A1 "netmove confirm" "$log1" | tail -n 2 | cut -c1-300 | sed 's/^/    /'
p2=$(port_of "$r2")
echo "  host2's port for guest1 after netmove's resume: '${p2:-none}'$([ -n "$p2" ] && echo " vm-id=$(ext "$r2" "$p2" vm-id) ip-addresses=$(ext "$r2" "$p2" ip-addresses)")"
echo "  client -> guest1 after the move: $(pings client "$ip4" 5)/5 pings answered"

# TODO(issue14): assert once netmoved adopts the port libvirt made on the
# destination (found by vm-id/iface-id/attached-mac, whatever its tap name):
# today its resume fails ("no peer has a port for UUID") and its rollback
# deletes libvirt's port, cutting guest1 off.  Then assert: host2 still has
# port $p2 with vm-id=$uuid; resume's JSON in the hook log says "state":"done";
# the client reaches guest1 (5/5) and lost no more pings than without the
# hook.
# TODO(issue14): assert once 'netmove watch-qmp' exits when its resume call
# fails (today a failed call returns 1, which handle_msg() takes as "go on":
# it waits until --timeout): the hook log says "netmove watch-qmp UUID exited".
# TODO(issue14): assert once netmoved learns the guest's IPs from its ARP/ND
# on the source (libvirt sets no ip-addresses): resume's "addresses" hold
# $ip4 and the guest's IPv6 address, and its announcements carry them.

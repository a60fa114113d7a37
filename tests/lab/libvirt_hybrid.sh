#!/bin/bash
# A real libvirt live migration across two sites, in the hybrid layout that
# OpenStack's os-vif builds (the guest's tap in a Linux bridge qbr-*, a veth
# qvb/qvo to OVS, a stateful nftables firewall with tcp_loose=0 in the path):
# nobody declares the guest's addresses, yet with netmove's hook its
# conntrack entries follow it (learned addresses select them), so an
# established TCP connection survives; its GARP and NA leave the
# destination on that site's VLAN; 'netmove verify' passes there.  The same
# migration without netmove is printed beside it.
#
#              client (site a, VLAN 100)       TCP connection to guest1:5001
#                 |
#   fabric-a ---h1--- host1 (site a, VLAN 100): OVS br-int - qvo-guest1 = qvb - qbr-guest1 - vnetN - guest1
#       | trunk, VLAN 100 <-> 200               nft inet filter forward (ct state), libvirtd, netmoved
#   fabric-b ---h2--- host2 (site b, VLAN 200): the same, plugged by the "cloud" before the migration
#   mgmt: 198.19.0.1 <-- libvirt qemu+tcp, QEMU migration, netmoved TLS --> 198.19.0.2
set -eu
. "$(dirname "$0")/lib.bash"

command -v libvirtd >/dev/null || fail "libvirtd missing (make deps)"
"$TOP/netns-lab/guest/mkguest" >/dev/null || fail "cannot build the guest (make deps)"

"$LAB" up --hosts 2 --vms 0 --sites 2 --firewall --libvirt --no-hook >/dev/null
wait_peers host2 host1
wait_peers host1 host2
"$LAB" guest start host1 guest1 >"$TMP/start.out" || fail "guest1 did not start: $(cat "$TMP/start.out")"
g() { status_get ".guests[] | select(.name == \"guest1\") | .$1"; }
ip4=$(g ipv4) ip6=$(g ipv6) uuid=$(g uuid)
echo "  $(cat "$TMP/start.out")"

# conn RUN: a TCP connection from the client to guest1's echo service,
# opened now and used again once $TMP/RUN.moved exists: "survived" or
# "broken" in $TMP/RUN.conn.
conn() {
	local run=$1
	bg "$LAB" exec client bash -c '
		exec 3<>"/dev/tcp/$1/5001" || exit 3
		echo before >&3
		read -r -t 3 l <&3 && [ "$l" = before ] || exit 4
		touch "$2.open"
		for _ in $(seq 600); do [ -e "$2.moved" ] && break; sleep 0.05; done
		echo after >&3
		if read -r -t 3 l <&3 && [ "$l" = after ]; then echo survived; else echo broken; fi' \
		conn "$ip4" "$TMP/$run" >"$TMP/$run.conn"
	wait_until 10 test -e "$TMP/$run.open" || fail "$run: no TCP connection to guest1"
}

# The guest uses both addresses (answers the client's ARP and ND).
use_addresses() {
	"$LAB" exec client ip neigh flush dev eth0
	# (IPv6 answers once the guest's duplicate address detection is over.)
	wait_until 15 "$LAB" exec client ping -n -q -c 1 -W 1 "$ip6" || fail "the client does not reach $ip6"
	[ "$(pings client "$ip4" 2)" = 2 ] || fail "the client does not reach $ip4"
}

# --- run 1: without netmove.  The cloud's agent installs the guest's rules
# on host2 (--fw-rules), but nobody moves its conntrack entries.
use_addresses
conn nohook
"$LAB" vmigrate guest1 host2 --fw-rules --json >"$TMP/nohook.json" || fail "nohook: migration failed"
touch "$TMP/nohook.moved"
wait_until 10 grep -q . "$TMP/nohook.conn" || fail "nohook: the connection's check did not end"
echo "  without netmove: $(jq -r '"libvirt downtime \(.libvirt_downtime_ms) ms"' "$TMP/nohook.json"); the TCP connection: $(cat "$TMP/nohook.conn")"

# Back (unmeasured), then netmove's hook on both hosts, at its defaults.
"$LAB" vmigrate guest1 host1 --fw-rules >/dev/null
for h in host1 host2; do "$LAB" libvirt "$h" hook on; done

# --- run 2: with netmove.
use_addresses
# Run 1's dead connection left its entry on host1 (nobody removes it without
# netmove): start clean.
"$LAB" exec host1 conntrack -D -d "$ip4" >/dev/null 2>&1 || true
conn hook
"$LAB" exec host1 conntrack -L -d "$ip4" 2>/dev/null | grep 'dport=5001' | grep -q ESTABLISHED ||
	fail "no established conntrack entry for guest1's connection on host1"
"$LAB" vmigrate guest1 host2 --json >"$TMP/hook.json" || fail "hook: migration failed"
log2=$LAB_STATE/host2/libvirt/log/netmove-hook.log
wait_until 30 grep -q "netmove watch-libvirt $uuid exited 0" "$log2" ||
	fail "hook: resume not called: $(cat "$log2")"
touch "$TMP/hook.moved"
wait_until 10 grep -q . "$TMP/hook.conn" || fail "hook: the connection's check did not end"
echo "  with netmove:    $(jq -r '"libvirt downtime \(.libvirt_downtime_ms) ms"' "$TMP/hook.json"); the TCP connection: $(cat "$TMP/hook.conn")"
[ "$(cat "$TMP/hook.conn")" = survived ] || fail "the established TCP connection broke with netmove"

"$LAB" exec host2 "$NETMOVE" status "$uuid" --json >"$TMP/status.json"
jq -e --arg a "$ip4" --arg b "$ip6" '.migrations[0] | .state == "done" and (.addresses[0].ips | index($a) != null and index($b) != null)' \
	"$TMP/status.json" >/dev/null || fail "host2's migration: $(jq -c '.migrations[0]' "$TMP/status.json")"
# (The connection has closed since, its entry is past ESTABLISHED.)
"$LAB" exec host2 conntrack -L -d "$ip4" 2>/dev/null | grep -q 'dport=5001' ||
	fail "guest1's conntrack entry is not on host2"
[ "$("$LAB" exec host1 conntrack -L -d "$ip4" 2>/dev/null | grep -c .)" -eq 0 ] ||
	fail "guest1's conntrack entries left on host1"
"$LAB" exec host2 nft list chain inet filter vm-guest1 | grep -q "netmove:vm=$uuid" ||
	fail "guest1's firewall chain not on host2"
if "$LAB" exec host1 nft list ruleset | grep -q "netmove:vm=$uuid"; then fail "guest1's firewall objects left on host1"; fi
pass "hybrid layout, across sites: the undeclared addresses selected guest1's conntrack entries, which moved with its rules; the TCP connection survived"

seen() { "$LAB" exec host2 "$NETMOVE" status "$uuid" --json | jq -e '.migrations[0] | .first_seen_vlan == 200 and (.announcements_seen | (.["garp-request"] // 0) > 0 and (.["na-unsolicited"] // 0) > 0)'; }
wait_until 15 seen || fail "no GARP and NA on VLAN 200 seen on host2's uplink: $("$LAB" exec host2 "$NETMOVE" status "$uuid" --json | jq -c '.migrations[0] | {announcements_seen, first_seen_vlan}')"
pass "GARP and NA for the learned addresses left host2 on site b's VLAN 200"

"$LAB" exec host2 "$NETMOVE" verify "$uuid" >"$TMP/verify.out" 2>&1 ||
	fail "netmove verify on host2: $(cat "$TMP/verify.out")"
sed 's/^/    /' "$TMP/verify.out"
pass "netmove verify passes on host2"

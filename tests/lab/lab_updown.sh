#!/bin/bash
# lab up/down leaves nothing behind, also after a failed 'up'.
#
#   client -- fabric(br0) -- host1(OVS) -- vm1
#                        \-- host2(OVS) -- vm2
set -eu
. "$(dirname "$0")/lib.bash"

leftovers() {
	{
		ip netns list | awk '{print $1}' | grep "^$NETMOVE_LAB-" || true
		pgrep -f "/run/netmove-lab/$NETMOVE_LAB/" || true
		ip -o link | grep -E ": (h[0-9]|m[0-9]|isl|client)[@:]" || true
		[ ! -e "/run/netmove-lab/$NETMOVE_LAB" ] || echo "/run/netmove-lab/$NETMOVE_LAB"
	}
}

"$LAB" up --hosts 2 --vms 2
[ "$(ip netns list | grep -c "^$NETMOVE_LAB-")" -eq 7 ] || fail "expected 7 namespaces"
[ "$(pgrep -fc "/run/netmove-lab/$NETMOVE_LAB/")" -eq 8 ] || fail "expected 2 ovsdb-server, 2 ovs-vswitchd, 2 netmoved, 2 nm-vif"
[ "$(pings client 198.18.1.2 3)" -eq 3 ] || fail "client cannot reach vm2"
pass "client reaches the VMs"

# vm del stops the VM's "QEMU" (nm-vif) with its devices.
"$LAB" vm del vm2
pgrep -f "/run/netmove-lab/$NETMOVE_LAB/vm/vm2.vif" >/dev/null && fail "vm del left vm2's nm-vif running"
"$LAB" exec host2 test ! -e /sys/class/net/tap-vm2 || fail "vm del left host2's tap-vm2"
pass "vm del stops vm2's nm-vif and removes its tap"

"$LAB" down
[ -z "$(leftovers)" ] || fail "left behind after down: $(leftovers)"
pass "down leaves nothing"

# A namespace left over by someone else: refused, and not touched.
ip netns add "$NETMOVE_LAB-vm2"
if "$LAB" up --hosts 2 --vms 2 2>"$TMP/err"; then
	fail "up succeeded over a left-over namespace"
fi
[ "$(leftovers)" = "$NETMOVE_LAB-vm2" ] || fail "a refused up made or removed something: $(leftovers)"
ip netns del "$NETMOVE_LAB-vm2"
pass "a left-over namespace is refused"

# A failed 'up', half-way (host1 and its OVS made, host2 fails).
if NM_LAB_FAIL_AT=host2 "$LAB" up --hosts 2 --vms 2 2>"$TMP/err"; then
	fail "up succeeded although host2 could not be made"
fi
grep -q "cleaning up" "$TMP/err" || fail "no clean-up message: $(cat "$TMP/err")"
[ -z "$(leftovers)" ] || fail "left behind after a failed up: $(leftovers)"
pass "a failed up leaves nothing"

# Bad input changes nothing.
rc=0; "$LAB" up --hosts x 2>/dev/null || rc=$?
[ $rc -eq 2 ] || fail "--hosts x: exit $rc, expected 2"
[ -z "$(leftovers)" ] || fail "bad input left: $(leftovers)"
pass "bad input: exit 2, nothing made"

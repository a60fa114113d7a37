#!/bin/bash
# The migrator makes the VM's port on the destination itself, after
# netmove's prepare (libvirt does, when it starts QEMU there), with the
# source site's VLAN from the domain XML: netmove adopts that port (found
# by the VM's identity), gives it this site's VLAN, blocks it until resume,
# and never leaves a second port for the VM.  Then the same migrator with
# netmove staging its own port first (prepare without --adopt): the
# migrator's port replaces netmove's, not beside it.
#
#            client (site a, VLAN 100)
#              |
#   fabric-a ---h1--- host1 (site a, VLAN 100): netmoved, OVS
#       |  (trunk, VLAN 100 <-> 200)
#   fabric-b ---h2--- host2 (site b, VLAN 200): netmoved, OVS
#   mgmt: host1 <-- JSON-RPC over mutual TLS --> host2
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 2 --sites 2
r1=$(status_get '.hosts[0].ovs_rundir') r2=$(status_get '.hosts[1].ovs_rundir')
db1="unix:$r1/db.sock" db2="unix:$r2/db.sock"
wait_peers host2 host1
wait_peers host1 host2
ip1=$(status_get '.vms[0].ipv4')

# ports_of DB VM: the names of the ports whose interface carries vm-id VM.
ports_of() {
	ovs-vsctl --db="$1" --bare --columns=name find Interface "external_ids:vm-id=$2" | grep . || true
}

# 1. prepare --adopt: nothing staged in OVSDB until the migrator's port
# comes; it comes tagged 100 (the source's site), netmove makes it 200.
"$LAB" migrate vm1 host2 --port-late \
	--prepare "netmove prepare vm1 --from host1 --adopt --json > $TMP/prep1.json" \
	--hook "netmove resume vm1 --from host1 --json > $TMP/res1.json" --json >"$TMP/m1.json" ||
	fail "the move failed: $(cat "$TMP/m1.json" "$TMP/prep1.json" "$TMP/res1.json" 2>/dev/null; tail -5 "$r2/netmoved.log")"
jq -e '.adopt == true and .state == "prepared"' "$TMP/prep1.json" >/dev/null ||
	fail "prepare --adopt: $(cat "$TMP/prep1.json")"
jq -e '.state == "done" and .adopt_pending == false' "$TMP/res1.json" >/dev/null ||
	fail "resume: $(cat "$TMP/res1.json")"
[ "$(ports_of "$db2" vm1)" = tap-vm1 ] || fail "host2's ports for vm1: $(ports_of "$db2" vm1)"
[ "$(ovs-vsctl --db="$db2" get Port tap-vm1 tag)" = 200 ] ||
	fail "the migrator's port kept VLAN $(ovs-vsctl --db="$db2" get Port tap-vm1 tag), not this site's 200"
if ovs-vsctl --db="$db2" get Port tap-vm1 external_ids:netmove-staged 2>/dev/null; then
	fail "the adopted port is marked as netmove's"
fi
grep -q 'adopted the port the migrator made for vm1' "$r2/netmoved.log" || fail "no adoption in host2's log"
if "$LAB" exec host2 ovs-ofctl dump-flows br-int | grep -q 'cookie=0x6e6d'; then
	fail "netmove's blocking flows are still on host2"
fi
[ -z "$(ports_of "$db1" vm1)" ] || fail "vm1's port left on host1"
[ "$(pings client "$ip1" 20)" -ge 19 ] || fail "vm1 not reachable after the move"
pass "prepare --adopt: the migrator's port adopted (VLAN 100 -> 200), one port, reachable"

# 2. prepare without --adopt stages netmove's own port first; the migrator
# then makes its own (libvirt's del-port + add-port of the same name):
# netmove adopts it, and the migrator's port, not netmove's, is the one left.
ip2=$(status_get '.vms[1].ipv4')
"$LAB" migrate vm2 host1 --port-late \
	--prepare "netmove prepare vm2 --from host2 --json > $TMP/prep2.json" \
	--hook "netmove resume vm2 --from host2 --json > $TMP/res2.json" --json >"$TMP/m2.json" ||
	fail "the second move failed: $(cat "$TMP/m2.json" "$TMP/res2.json" 2>/dev/null; tail -5 "$r1/netmoved.log")"
jq -e '.state == "done"' "$TMP/res2.json" >/dev/null || fail "resume: $(cat "$TMP/res2.json")"
[ "$(ports_of "$db1" vm2)" = tap-vm2 ] || fail "host1's ports for vm2: $(ports_of "$db1" vm2)"
[ "$(ovs-vsctl --db="$db1" get Port tap-vm2 tag)" = 100 ] || fail "vm2's port is not on host1's VLAN 100"
if ovs-vsctl --db="$db1" get Port tap-vm2 external_ids:netmove-staged 2>/dev/null; then
	fail "netmove's staged port is what is left, not the migrator's"
fi
[ "$(pings client "$ip2" 20)" -ge 19 ] || fail "vm2 not reachable after the move"
pass "a port the migrator makes after netmove staged one replaces it: one port, VLAN 100"

# 3. An aborted adoption: prepare --adopt, the migrator's port comes, then
# the migration fails: netmove leaves the migrator's port (its to remove),
# unblocked, and removes nothing else.
"$LAB" exec host1 "$NETMOVE" prepare vm1 --from host2 --adopt --json >"$TMP/prep3.json" ||
	fail "prepare --adopt of vm1 back to host1: $(cat "$TMP/prep3.json")"
mac1=$(status_get '.vms[0].mac')
ovs-vsctl --db="$db1" -- add-port br-int vnet9 -- set Interface vnet9 type=internal \
	"external_ids:vm-id=vm1" "external_ids:attached-mac=$mac1" \
	"external_ids:iface-id=$(status_get '.vms[0].iface_id')"
wait_until 5 sh -c "ovs-vsctl --db=$db1 get Port vnet9 tag | grep -qx 100" ||
	fail "vnet9 not adopted (tag $(ovs-vsctl --db="$db1" get Port vnet9 tag))"
wait_until 5 sh -c "NETMOVE_LAB=$NETMOVE_LAB $LAB exec host1 ovs-ofctl dump-flows br-int | grep -q cookie=0x6e6d" ||
	fail "the adopted port is not blocked before resume"
"$LAB" exec host1 "$NETMOVE" abort vm1 >/dev/null || fail "abort failed"
[ "$(ports_of "$db1" vm1)" = vnet9 ] || fail "abort removed the migrator's port: $(ports_of "$db1" vm1)"
if "$LAB" exec host1 ovs-ofctl dump-flows br-int | grep -q 'cookie=0x6e6d'; then
	fail "abort left blocking flows on host1"
fi
[ "$(ports_of "$db2" vm1)" = tap-vm1 ] || fail "the source lost vm1's port on an abort"
pass "abort: the migrator's port stays, unblocked; the source keeps the VM"

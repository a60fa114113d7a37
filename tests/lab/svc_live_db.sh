#!/bin/bash
# netmoved sees the host as it is, not as it was when it started: VMs are
# created, changed and destroyed while it runs (as on a hypervisor, where
# libvirt plugs every VM it starts), and Open vSwitch restarts under it.
#   1. a VM created after netmoved started is found by its peer (locate
#      and export ask the source's netmoved);
#   2. a VM destroyed is gone for them;
#   3. a VM created later, whose port then changes, moves with --netmove
#      and its current settings arrive;
#   4. after ovsdb-server and ovs-vswitchd restart on both hosts, a VM still
#      moves (netmoved reconnects to OVSDB and to the bridge).
#
#            client
#              |
#   fabric ---h1--- host1: netmoved, OVS   vm1, vm3 (added later)
#          \--h2--- host2: netmoved, OVS   vm2 (deleted later)
#   mgmt: host1 <-- JSON-RPC over mutual TLS --> host2
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 2
r1=$(status_get '.hosts[0].ovs_rundir') r2=$(status_get '.hosts[1].ovs_rundir')
wait_peers host1 host2
wait_peers host2 host1

# 1. vm2 was created after host2's netmoved started (lab up starts netmoved
# first, as a hypervisor boots).  host1 prepares it without --from: its
# netmoved locates vm2 (host2 answers for the VM asked) and host2 exports
# it; then the migration is aborted.
"$LAB" exec host1 "$NETMOVE" prepare vm2 >"$TMP/prep.out" 2>&1 ||
	fail "host2's netmoved does not see vm2, created after it started: $(cat "$TMP/prep.out")"
"$LAB" exec host1 "$NETMOVE" abort vm2 >/dev/null ||
	fail "abort of the prepared vm2 failed"
pass "a VM created after netmoved started is found by its peer (locate, export)"

# 2. Destroyed: gone at once (no restart, no stale snapshot).
"$LAB" vm del vm2
if "$LAB" exec host1 "$NETMOVE" prepare vm2 >"$TMP/locate.out" 2>&1; then
	fail "prepare of a destroyed VM succeeded: $(cat "$TMP/locate.out")"
fi
grep -q 'no peer has' "$TMP/locate.out" || fail "locate of vm2: $(cat "$TMP/locate.out")"
pass "a destroyed VM is gone for locate: $(head -1 "$TMP/locate.out")"

# 3. A VM made now on host1, then its port changed (policing, a label),
# moved at once: the export must be the port as it is after the change.
vm=$("$LAB" vm add host1)
[ "$vm" = vm3 ] || fail "lab vm add made '$vm', not vm3"
db1="unix:$r1/db.sock" db2="unix:$r2/db.sock"
ovs-vsctl --db="$db1" set Interface tap-vm3 ingress_policing_rate=20000 \
	ingress_policing_burst=2000 -- set Port tap-vm3 external_ids:owner=team-blue
"$LAB" migrate vm3 host2 --netmove --json >"$TMP/m3.json"
jq -e '.hook_rc == 0' "$TMP/m3.json" >/dev/null || fail "vm3's move failed: $(cat "$TMP/m3.json")"
[ "$(ovs-vsctl --db="$db2" get Interface tap-vm3 ingress_policing_rate)" = 20000 ] ||
	fail "vm3's policing rate did not arrive"
[ "$(ovs-vsctl --db="$db2" get Port tap-vm3 external_ids:owner)" = team-blue ] ||
	fail "vm3's port label did not arrive"
[ "$(pings client "$(status_get '.vms[] | select(.name == "vm3") | .ipv4')" 20)" -ge 19 ] ||
	fail "vm3 not reachable after its move"
pass "a VM created and changed after netmoved started moved with its current settings"

# 4. Open vSwitch restarts under netmoved on both hosts.
restart_ovs() {
	local node=$1 dir=$2 pid
	for pid in $(cat "$dir/ovs-vswitchd.pid" "$dir/ovsdb-server.pid"); do
		kill "$pid"
		wait_until 5 gone "$pid" || fail "$node: OVS did not stop"
	done
	OVS_RUNDIR=$dir "$LAB" exec "$node" ovsdb-server "$dir/conf.db" \
		--remote="punix:$dir/db.sock" --pidfile="$dir/ovsdb-server.pid" \
		--unixctl="$dir/ovsdb-server.ctl" -vconsole:off \
		--log-file="$dir/ovsdb-server.log" --detach --no-chdir
	OVS_RUNDIR=$dir OVS_DBDIR=$dir OVS_LOGDIR=$dir "$LAB" exec "$node" ovs-vswitchd \
		"unix:$dir/db.sock" --pidfile="$dir/ovs-vswitchd.pid" -vconsole:off \
		--log-file="$dir/ovs-vswitchd.log" --detach --no-chdir
	wait_until 10 ovs-vsctl --db="unix:$dir/db.sock" --timeout=1 wait-until Interface up0 'ofport>0' ||
		fail "$node: ovs-vswitchd did not come back"
}
restart_ovs host1 "$r1"
restart_ovs host2 "$r2"
reachable() { [ "$(pings client "$1" 3)" -ge 1 ]; }
wait_until 10 reachable "$(status_get '.vms[0].ipv4')" ||
	fail "vm1 unreachable after the OVS restarts"
"$LAB" migrate vm1 host2 --netmove --json >"$TMP/m1.json"
jq -e '.hook_rc == 0' "$TMP/m1.json" >/dev/null ||
	fail "vm1's move after the OVS restarts failed: $(cat "$TMP/m1.json"; tail -5 "$r2/netmoved.log")"
jq -e '.timings.resume_to_first_frame_ms > 0' "$LAB_STATE/vm1.resume.json" >/dev/null ||
	fail "no announcement after ovs-vswitchd restarted: $(cat "$LAB_STATE/vm1.resume.json")"
[ "$(ovs-vsctl --db="$db2" get Interface tap-vm1 external_ids:vm-id)" = vm1 ] || fail "vm1's port not on host2"
if ovs-vsctl --db="$db1" list-ports br-int | grep -qx tap-vm1; then fail "vm1's port left on host1"; fi
[ "$(pings client "$(status_get '.vms[0].ipv4')" 20)" -ge 19 ] || fail "vm1 not reachable after its move"
pass "netmoved kept working across ovsdb-server and ovs-vswitchd restarts on both hosts"

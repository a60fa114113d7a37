#!/bin/bash
# Bad input to 'netmove port': exit 2, a message naming the field, and
# nothing changed (ovsdb-client dump identical, no netmove transaction in
# ovsdb-server's log, no flow added).  Operational failures exit 1.
#
#   host1 OVS br-int: tap-vm1 (vm1)        (one host is enough)
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 1 --vms 1 >/dev/null
R1=$(status_get '.hosts[0].ovs_rundir')
export OVS_RUNDIR=$R1
"$NETMOVE" port export vm1 >"$TMP/good.json"
# A second, valid port for the array cases.
sed 's/tap-vm1/tap-x1/g; s/"vm1"/"x1"/g' "$TMP/good.json" >"$TMP/x1.json"

state() {
	ovsdb-client dump "unix:$R1/db.sock"
	ovsdb-tool show-log "$R1/conf.db" | grep -c '"netmove' || true
	ovs-ofctl dump-flows br-int --no-stats
} 2>&1
volatile() { grep -v -E 'statistics|status|link_|cur_cfg|next_cfg|duration|ifindex|mtu |admin_state|link_resets|mac_in_use'; }
state | volatile >"$TMP/before"

# expect2 WANT CMD...: exit 2 and WANT in the message.
n=0
expect2() {
	local want=$1 rc=0
	shift
	"$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
	[ $rc = 2 ] || fail "exit $rc, not 2, for: $* ($(cat "$TMP/err"))"
	grep -qF -- "$want" "$TMP/err" || fail "message '$(cat "$TMP/err")' lacks '$want'"
	n=$((n + 1))
}
edit() { sed "$1" "$TMP/good.json" >"$TMP/bad.json"; }
imp() { "$NETMOVE" port import "$@"; }

expect2 "VM 'nope': no port found" "$NETMOVE" port export nope
expect2 "malformed JSON" sh -c "head -c 40 '$TMP/good.json' | '$NETMOVE' port import"
edit 's/"version": 1/"version": 2/'
expect2 "document: version: unsupported document version 2" imp "$TMP/bad.json"
edit 's/"version": 1,//'
expect2 "document: version: missing" imp "$TMP/bad.json"
edit 's/"vm": "vm1"/"vm": 1/'
expect2 "document: vm: must be a JSON string" imp "$TMP/bad.json"
edit 's/"bridge": "br-int",//'
expect2 "document: ports[0].bridge: missing" imp "$TMP/bad.json"
edit 's/"trunks": \[\]/"trunks": [10, 4096]/'
expect2 "document: ports[0].trunks[1]: 4096 is not a VLAN id (0-4095)" imp "$TMP/bad.json"
edit 's/"trunks": \[\]/"tag": 5000, "trunks": []/'
expect2 "document: ports[0].tag: 5000 is not a VLAN id (0-4095)" imp "$TMP/bad.json"
edit 's/"02:00:00:00:00:01"/"02:00:00:00:00:0g"/'
expect2 "ports[0].interfaces[0].external_ids.attached-mac: '02:00:00:00:00:0g' is not a MAC address" imp "$TMP/bad.json"
edit 's/"name": "tap-vm1",/"name": "tap vm1",/'
expect2 "is not a valid name" imp "$TMP/bad.json"
edit 's/"type": ""/"type": "", "mtu": 1500/'
expect2 "document: ports[0].interfaces[0].mtu: unknown field" imp "$TMP/bad.json"
# In an array (evacuation) the bad document is named by index, and the good
# one before it is not imported either.
{ echo '['; cat "$TMP/x1.json"; echo ','; sed 's/"version": 1/"version": "one"/' "$TMP/good.json"; echo ']'; } >"$TMP/bad.json"
expect2 'document: [1].version: unsupported document version "one"' imp "$TMP/bad.json"
expect2 "bad.json: document: [1].version" imp "$TMP/x1.json" "$TMP/bad.json"
expect2 "--vlan-map: '100=4096': '4096' is not a VLAN id (0-4095)" imp --vlan-map 100=4096 "$TMP/x1.json"
expect2 "--vlan-map: '100' is not A=B" imp --vlan-map 100 "$TMP/x1.json"
expect2 "--vlan-map: VLAN 100 is mapped twice" imp --vlan-map 100=1 --vlan-map 100=2 "$TMP/x1.json"
expect2 "--rename: 'tap-x1' is not OLD=NEW" imp --rename tap-x1 "$TMP/x1.json"
expect2 "--timeout: 'soon' is not a number" imp --timeout soon "$TMP/x1.json"
expect2 "unknown option '--bogus'" imp --bogus "$TMP/x1.json"
expect2 "missing.json: No such file or directory" imp "$TMP/missing.json"
expect2 "which VM?" "$NETMOVE" port activate
expect2 "VM 'nope': no port found" "$NETMOVE" port activate nope
expect2 "unknown command 'frob'" "$NETMOVE" port frob
# The same name twice in one import.
{ echo '['; cat "$TMP/x1.json"; echo ','; cat "$TMP/x1.json"; echo ']'; } >"$TMP/bad.json"
expect2 "name 'tap-x1' appears twice" imp "$TMP/bad.json"

state | volatile >"$TMP/after"
diff -u "$TMP/before" "$TMP/after" >&2 || fail "bad input changed something"
ovs-vsctl --db="unix:$R1/db.sock" list-ports br-int | grep -q tap-x1 && fail "tap-x1 was created"
pass "$n bad inputs: exit 2, field named, ovsdb-client dump, ovsdb log and flows unchanged"

# Operational failures are exit 1: a missing bridge, an unreachable OVSDB.
rc=0
sed 's/"br-int"/"br-nope"/' "$TMP/x1.json" | imp >/dev/null 2>"$TMP/err" || rc=$?
[ $rc = 1 ] && grep -q "bridge 'br-nope' does not exist" "$TMP/err" || fail "missing bridge: exit $rc, $(cat "$TMP/err")"
rc=0
"$NETMOVE" port export --db unix:"$TMP/none.sock" vm1 >/dev/null 2>"$TMP/err" || rc=$?
[ $rc = 1 ] && grep -q "cannot connect to OVSDB" "$TMP/err" || fail "no OVSDB: exit $rc, $(cat "$TMP/err")"
# An interface ovs-vswitchd cannot add: Interface:error is reported.
rc=0
sed 's/tap-vm1/tap-gone/g; s/"vm1"/"gone"/; s/"iface-id": "[^"]*"/"iface-id": "gone"/' "$TMP/good.json" | imp --timeout 3000 >/dev/null 2>"$TMP/err" || rc=$?
[ $rc = 1 ] && grep -q "interface tap-gone: could not open network device tap-gone" "$TMP/err" ||
	fail "failed interface: exit $rc, $(cat "$TMP/err")"
ovs-vsctl --db="unix:$R1/db.sock" list-ports br-int | grep -q tap-gone && fail "failed import left tap-gone behind"
pass "operational failures exit 1: missing bridge, no OVSDB, Interface:error reported and the created port rolled back"

# The same port staged with --device-later: accepted, and ovs-vswitchd adds
# it once the device exists (as when the hypervisor creates the tap).
sed 's/tap-vm1/tap-gone/g; s/"vm1"/"gone"/; s/"iface-id": "[^"]*"/"iface-id": "gone"/' "$TMP/good.json" | imp --device-later >/dev/null ||
	fail "--device-later refused a missing device"
vs() { ovs-vsctl --db="unix:$R1/db.sock" "$@"; }
[ "$(vs get Interface tap-gone ofport)" = -1 ] || fail "staged port has an ofport without a device"
"$LAB" exec host1 ip link add tap-gone type veth peer name tap-gone-p
wait_until 10 sh -c "[ \"\$(ovs-vsctl --db=unix:$R1/db.sock get Interface tap-gone ofport)\" -gt 0 ]" ||
	fail "ovs-vswitchd did not add the staged port when its device appeared"
"$NETMOVE" port remove gone >/dev/null || fail "removing the staged port failed"
pass "--device-later: staged without a device, wired by ovs-vswitchd when the device appeared"

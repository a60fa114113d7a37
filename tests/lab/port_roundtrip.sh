#!/bin/bash
# Export on one host, import on another: the same records (read back with
# ovs-vsctl --format=json on both sides, uuids aside), a working port,
# idempotency (a second import writes nothing and keeps the uuids), MAC
# learning forgotten on the source, removal (twice: the second is a no-op
# and still a success), and a host evacuation (two VMs imported in ONE
# transaction, counted in ovsdb-server's log, and removed in one).
#
#                     client
#                        |
#      +------------ fabric br0 ------------+
#      | h1                              h2 |
#   host1 OVS br-int    -- vm1 moves -->  host2 OVS br-int
#    tap-vm1 (QoS, MTU, policing,          tap-vm1 (imported)   tap-vm2
#     other_config, ofport_request)
#      |                                     |                    |
#     vm1                                   vm1                  vm2
#
# Then vm1 and vm2 both go back to host1 (evacuation of host2).
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 2 >/dev/null
R1=$(status_get '.hosts[0].ovs_rundir')
R2=$(status_get '.hosts[1].ovs_rundir')
vs1() { ovs-vsctl --db="unix:$R1/db.sock" "$@"; }
vs2() { ovs-vsctl --db="unix:$R2/db.sock" "$@"; }

# Give vm1's port every column the document carries.
vs1 -- set Port tap-vm1 other_config:priority-tags=true external_ids:owner=lab \
	-- set Interface tap-vm1 mtu_request=1400 ingress_policing_rate=20000 \
	ingress_policing_burst=2000 ofport_request=20 other_config:tx-steering=hash \
	-- set Port tap-vm1 qos=@q \
	-- --id=@q create QoS type=linux-htb other_config:max-rate=100000000 \
	external_ids:owner=lab queues:0=@q0 queues:7=@q7 \
	-- --id=@q0 create Queue other_config:min-rate=1000 \
	-- --id=@q7 create Queue dscp=10 other_config:max-rate=5000 >/dev/null

# The records of port $2 as JSON, uuids aside.
PORT_COLS=name,tag,trunks,vlan_mode,external_ids,other_config
IF_COLS=name,type,options,external_ids,other_config,mtu_request,ingress_policing_rate,ingress_policing_burst,ofport_request
records() {
	local vs=$1 port=$2 qos k
	$vs --format=json --columns=$PORT_COLS list Port "$port"
	$vs --format=json --columns=$IF_COLS list Interface "$port"
	qos=$($vs get Port "$port" qos)
	$vs --format=json --columns=type,other_config,external_ids list QoS "$qos"
	for k in $($vs get QoS "$qos" queues | tr -d '{}' | tr ',' '\n' | cut -d= -f1); do
		echo "queue $k"
		$vs --format=json --columns=dscp,other_config,external_ids list Queue \
			"$($vs get QoS "$qos" queues:$k)"
	done
}
uuids() {
	local vs=$1 qos
	qos=$($vs get Port tap-vm1 qos)
	echo "$($vs get Port tap-vm1 _uuid) $($vs get Interface tap-vm1 _uuid) $qos $($vs get QoS "$qos" queues)"
}

# vm1 talks on host1, which learns its MAC on tap-vm1.
[ "$(pings vm1 198.18.0.1 2)" = 2 ] || fail "vm1 cannot reach the client (setup)"
OFPORT1=$(vs1 get Interface tap-vm1 ofport)

OVS_RUNDIR=$R1 "$NETMOVE" port export vm1 >"$TMP/vm1.json"
"$LAB" migrate vm1 host2 --no-port >/dev/null
OVS_RUNDIR=$R2 "$NETMOVE" port import <"$TMP/vm1.json" >"$TMP/out" || fail "import: $(cat "$TMP/out")"
grep -q "imported 1 port of 1 VM: changed" "$TMP/out" || fail "import said: $(cat "$TMP/out")"

records vs1 tap-vm1 >"$TMP/src"
records vs2 tap-vm1 >"$TMP/dst"
grep -q '"linux-htb"' "$TMP/src" && grep -q 'queue 7' "$TMP/src" || fail "source records incomplete: $(cat "$TMP/src")"
diff -u "$TMP/src" "$TMP/dst" >&2 || fail "imported records differ from the source's"
[ "$(vs2 get Interface tap-vm1 ofport)" = 20 ] || fail "ofport_request not honoured"
pass "export/import: Port, Interface, QoS and 2 Queues identical on both hosts ($(wc -l <"$TMP/src") lines)"

# MAC learning on the source: host1 learned vm1's MAC on tap-vm1 before the
# move, and nothing vm1 sent since reached host1: a stale entry.
fdb1() { "$LAB" exec host1 env OVS_RUNDIR="$R1" ovs-appctl fdb/show br-int; }
fdb1 | grep -q " $OFPORT1 .*02:00:00:00:00:01" || fail "host1 has not learned vm1's MAC on tap-vm1 (setup): $(fdb1)"
OVS_RUNDIR=$R1 "$NETMOVE" port forget vm1 || fail "forget failed"
fdb1 | grep -q 02:00:00:00:00:01 && fail "host1 still forwards vm1's MAC to its stale port"
pass "forget: vm1's stale entry gone from host1's learning table (ovs-appctl fdb/show)"

# The imported port works: vm1 announces itself and the client reaches it.
"$LAB" exec vm1 arping -q -U -c 1 -I eth0 198.18.1.1 || true
[ "$(pings client 198.18.1.1 5)" = 5 ] || fail "client cannot reach vm1 through its imported port"
pass "client reaches vm1 through the imported port"

# Idempotency: the same import again changes nothing, not even a uuid.
dump() {
	local t
	for t in "Bridge _uuid name ports" \
		"Port _uuid name interfaces tag trunks vlan_mode external_ids other_config qos" \
		"Interface _uuid name type options external_ids other_config mtu_request ingress_policing_rate ingress_policing_burst ofport_request" \
		"QoS _uuid type other_config external_ids queues" \
		"Queue _uuid dscp other_config external_ids"; do
		# shellcheck disable=SC2086
		ovsdb-client dump "unix:$1/db.sock" Open_vSwitch $t
	done
}
before_uuids=$(uuids vs2)
dump "$R2" >"$TMP/dump1"
OVS_RUNDIR=$R2 "$NETMOVE" port import <"$TMP/vm1.json" >"$TMP/out" || fail "second import failed"
grep -q "unchanged" "$TMP/out" || fail "second import said: $(cat "$TMP/out")"
dump "$R2" >"$TMP/dump2"
diff -u "$TMP/dump1" "$TMP/dump2" >&2 || fail "second import changed OVSDB"
[ "$(uuids vs2)" = "$before_uuids" ] || fail "second import changed uuids"
pass "import twice: 'unchanged', same uuids, ovsdb-client dump identical"

# A changed document updates the same records in place.
sed 's/"max-rate": "5000"/"max-rate": "6000"/' "$TMP/vm1.json" |
	OVS_RUNDIR=$R2 "$NETMOVE" port import >/dev/null || fail "update import failed"
[ "$(uuids vs2)" = "$before_uuids" ] || fail "update replaced records"
q7=$(vs2 get QoS "$(vs2 get Port tap-vm1 qos)" queues:7)
[ "$(vs2 get Queue "$q7" other_config:max-rate)" = '"6000"' ] || fail "update not applied"
pass "update in place: queue 7 max-rate 6000, same uuids"

# Removal on the source, then again: nothing there is a success.
OVS_RUNDIR=$R1 "$NETMOVE" port remove vm1 >"$TMP/out" || fail "remove failed"
grep -q "removed 1 port" "$TMP/out" || fail "remove said: $(cat "$TMP/out")"
vs1 list-ports br-int | grep -q tap-vm1 && fail "tap-vm1 still on host1"
[ -z "$(vs1 --columns=_uuid list QoS)" ] || fail "QoS left behind on host1"
[ -z "$(vs1 --columns=_uuid list Queue)" ] || fail "queues left behind on host1"
OVS_RUNDIR=$R1 "$NETMOVE" port remove vm1 >"$TMP/out" || fail "second remove failed (exit $?)"
grep -q "removed 0 ports" "$TMP/out" || fail "second remove said: $(cat "$TMP/out")"
pass "remove: port, QoS and queues gone from host1; removing again exits 0"

# Evacuation of host2: both VMs back to host1 in one transaction.
OVS_RUNDIR=$R2 "$NETMOVE" port export vm1 vm2 >"$TMP/host2.json"
"$LAB" migrate vm1 host1 --no-port >/dev/null
"$LAB" migrate vm2 host1 --no-port >/dev/null
txns() { ovsdb-tool show-log "$1/conf.db" | grep -c "\"netmove: port $2\"" || true; }
n0=$(txns "$R1" import)
OVS_RUNDIR=$R1 "$NETMOVE" port import <"$TMP/host2.json" >"$TMP/out" || fail "evacuation import: $(cat "$TMP/out")"
grep -q "imported 2 ports of 2 VMs: changed" "$TMP/out" || fail "evacuation said: $(cat "$TMP/out")"
[ $(($(txns "$R1" import) - n0)) = 1 ] || fail "evacuation took $(($(txns "$R1" import) - n0)) transactions"
vs1 list-ports br-int | grep -q tap-vm1 && vs1 list-ports br-int | grep -q tap-vm2 || fail "host1 lacks a port"
n0=$(txns "$R2" remove)
OVS_RUNDIR=$R2 "$NETMOVE" port remove vm1 vm2 >"$TMP/out" || fail "evacuation remove failed"
grep -q "removed 2 ports" "$TMP/out" || fail "evacuation remove said: $(cat "$TMP/out")"
[ $(($(txns "$R2" remove) - n0)) = 1 ] || fail "evacuation removal took several transactions"
[ -z "$(vs2 list-ports br-int | grep tap-vm)" ] || fail "host2 still has VM ports"
"$LAB" exec vm2 arping -q -U -c 1 -I eth0 198.18.1.2 || true
[ "$(pings client 198.18.1.2 3)" = 3 ] || fail "client cannot reach evacuated vm2"
pass "evacuation: 2 VMs imported in 1 transaction on host1, removed in 1 from host2"

#!/bin/bash
# A batch of 20 VMs prepared on host2 (their port imports grouped in a few
# OVSDB transactions, their firewall in one nf_tables transaction), and its
# faults:
#  (a) one VM's import fails (host2 already has a port of its name that is
#      another VM's): the batch completes the 19 others (each VM's port,
#      rules and conntrack entries on host2) and reports that one (the
#      prepare's exit status and answer, `netmove status --json`); it stays
#      intact on host1;
#  (b) the source's netmoved is killed while the batch prepares: afterwards
#      every VM is prepared whole on host2 (port, rules, conntrack) or rolled
#      back there, never half; the migrator's abort rolls the prepared ones
#      back; with the source back, the whole batch moves.
#
#   client -- fabric -- host1 (vm1 vm3 ... vm39: the batch) ... host2
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 40 --firewall >/dev/null
r2=$(status_get '.hosts[1].ovs_rundir')
wait_peers host2 host1
vsctl2() { ovs-vsctl --db="unix:$r2/db.sock" "$@"; }

ks=$(seq 1 2 39)
vms=$(for k in $ks; do printf 'vm%s ' "$k"; done)
ip() { echo "198.18.1.$1"; }

# Conntrack entries on host1 for every VM (one ping each: ICMP, 30 s).
touch_ct() {
	local k
	for k in $ks; do "$LAB" exec client ping -n -q -c 1 -W 1 "$(ip "$k")" >/dev/null & done
	wait
}

# state K: what host2 holds of vmK: "port rules ct" flags, e.g. "1 1 1".
state() {
	local k=$1 p=0 r=0 c=0
	vsctl2 list-ports br-int | grep -qx "qvo-vm$k" && p=1
	grep -qE "netmove:vm=vm$k([^0-9]|\$)" "$TMP/ruleset" && r=1
	"$LAB" exec host2 conntrack -L -d "$(ip "$k")" 2>/dev/null | grep -q . && c=1
	echo "$p $r $c"
}
ruleset2() { "$LAB" exec host2 nft list ruleset >"$TMP/ruleset"; }

# ---- (a) one VM's import fails ----
# Host2 has a port named as vm5's will be, another VM's.
vsctl2 --no-wait add-port br-int qvo-vm5 -- set Interface qvo-vm5 \
	external_ids:vm-id=intruder external_ids:iface-id=00000000-0000-4000-8000-00000000beef
touch_ct
rc=0
# shellcheck disable=SC2086
"$LAB" exec host2 "$NETMOVE" prepare $vms --from host1 --json >"$TMP/a.json" 2>"$TMP/a.err" || rc=$?
[ $rc -ne 0 ] || fail "(a) prepare of a batch with a failing VM exited 0"
grep -q "some migrations failed" "$TMP/a.err" || fail "(a) prepare did not say some failed: $(head -c 300 "$TMP/a.err")"
"$LAB" exec host2 "$NETMOVE" status --json >"$TMP/status.json"
st() { jq -r --arg vm "$1" '[.. | objects | select(.vm? == $vm and has("state"))][0].state' "$TMP/status.json"; }
er() { jq -r --arg vm "$1" '[.. | objects | select(.vm? == $vm and has("state"))][0] | (.error // .last_error // "")' "$TMP/status.json"; }
[ "$(st vm5)" = failed ] || fail "(a) status: vm5 is '$(st vm5)', not failed"
er vm5 | grep -q "another VM" || fail "(a) status: vm5's error does not say why: $(er vm5)"
ruleset2
for k in $ks; do
	[ "$k" = 5 ] && continue
	[ "$(st "vm$k")" = prepared ] || fail "(a) vm$k: '$(st "vm$k")', not prepared ($(er "vm$k"))"
	[ "$(state "$k")" = "1 1 1" ] || fail "(a) vm$k on host2 (port rules ct): $(state "$k")"
done
[ "$(vsctl2 get Interface qvo-vm5 external_ids:vm-id | tr -d '"')" = intruder ] || fail "(a) the other VM's port was taken over"
[ "$(state 5 | cut -d' ' -f2-)" = "0 0" ] || fail "(a) vm5's rules or conntrack left on host2: $(state 5)"
[ "$(pings client "$(ip 5)" 3)" -eq 3 ] || fail "(a) vm5 unreachable on host1"
grep -c "in one transaction" "$LAB_STATE/host2/netmoved.log" >"$TMP/n" || true
pass "(a) 19 of 20 prepared whole on host2 (port, rules, conntrack); vm5 refused alone (exit $rc, status: failed, 'belongs to another VM'), the other VM's port untouched, vm5 intact on host1"

# The migrator gives up on the batch: every VM rolled back on host2.
for v in $vms; do "$LAB" exec host2 "$NETMOVE" abort "$v" >/dev/null; done
vsctl2 del-port br-int qvo-vm5
ruleset2
for k in $ks; do
	[ "$(state "$k")" = "0 0 0" ] || fail "(a) vm$k left on host2 after abort: $(state "$k")"
done
pass "(a) abort: nothing of the batch left on host2"

# ---- (b) the source's netmoved dies while the batch prepares ----
touch_ct
: >"$TMP/b.err"
# shellcheck disable=SC2086
bg sh -c "NETMOVE_LAB=$NETMOVE_LAB $LAB exec host2 $NETMOVE prepare $vms --from host1 --json >$TMP/b.json 2>$TMP/b.err; echo \$? >$TMP/b.rc"
n0=$(grep -c "export" "$LAB_STATE/host1/netmoved.log" || true)
wait_until 10 sh -c "[ \$(grep -c export '$LAB_STATE/host1/netmoved.log') -gt $n0 ]" || true
"$LAB" netmoved host1 kill
wait_until 70 test -s "$TMP/b.rc" || fail "(b) prepare did not return"
"$LAB" exec host2 "$NETMOVE" status --json >"$TMP/status.json"
ruleset2
n_prep=0 n_fail=0
for k in $ks; do
	s=$(st "vm$k") h=$(state "$k")
	case $s in
	prepared) [ "$h" = "1 1 1" ] || fail "(b) vm$k prepared but host2 has (port rules ct) $h"; n_prep=$((n_prep + 1)) ;;
	failed) [ "$h" = "0 0 0" ] || fail "(b) vm$k failed but host2 kept (port rules ct) $h"; n_fail=$((n_fail + 1)) ;;
	*) fail "(b) vm$k: state '$s' after the prepare returned" ;;
	esac
done
pass "(b) source killed mid-batch (prepare exit $(cat "$TMP/b.rc")): $n_prep prepared whole, $n_fail rolled back, none half"

# The migrator's failure path: abort; then the source comes back.
for v in $vms; do "$LAB" exec host2 "$NETMOVE" abort "$v" >/dev/null; done
ruleset2
for k in $ks; do
	[ "$(state "$k")" = "0 0 0" ] || fail "(b) vm$k left on host2 after abort: $(state "$k")"
done
"$LAB" netmoved host1 start
wait_peers host2 host1
wait_peers host1 host2
for k in 1 21 39; do
	[ "$(pings client "$(ip "$k")" 3)" -eq 3 ] || fail "(b) vm$k unreachable on host1 after the rollback"
done
pass "(b) abort rolled every VM back on host2; the VMs still answer on host1"

# The whole batch moves once the source is back.
touch_ct
batch=$(echo $vms | tr ' ' ,)
"$LAB" migrate "$batch" host2 --netmove --json >"$TMP/m.json" || fail "the batch did not move: $(cat "$TMP/m.json")"
ruleset2
for k in $ks; do
	[ "$(state "$k" | cut -d' ' -f1-2)" = "1 1" ] || fail "vm$k moved but host2 has (port rules ct) $(state "$k")"
done
for k in 1 21 39; do
	[ "$(pings client "$(ip "$k")" 3)" -eq 3 ] || fail "vm$k unreachable on host2"
done
pass "the batch of 20 moved to host2 (ports, rules), reachable there"

#!/bin/bash
# Abort before resume: the destination is rolled back (no port, firewall
# object or conntrack entry of the VM), the source is exactly as before
# (it changed nothing), and the VM stays reachable where it was.  The
# prepare is called as a libvirt hook calls it, without the source host:
# netmoved finds it among its peers.
#
#   client -- fabric -- host1 (vm1, source) ... host2 (prepared, then aborted)
#                    \-- host3 (a peer that does not have vm1)
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 3 --vms 1 --firewall
ip4=$(status_get '.vms[0].ipv4')
r1=$(status_get '.hosts[0].ovs_rundir') r2=$(status_get '.hosts[1].ovs_rundir')
wait_peers host2 host1 host3
"$LAB" probe vm1 --duration 1 >/dev/null      # leaves conntrack entries on host1

snapshot() {
	ovs-vsctl --db="unix:$r1/db.sock" --format=json --columns=_uuid,name,external_ids,ofport list Interface qvo-vm1
	ovs-vsctl --db="unix:$r1/db.sock" --format=json --columns=_uuid,name,tag,interfaces list Port qvo-vm1
	"$LAB" exec host1 nft list ruleset
	"$LAB" exec host1 conntrack -L -d "$ip4" 2>/dev/null | sed 's/ [0-9]\+ \(ESTABLISHED\|TIME_WAIT\|CLOSE\)/ \1/; s/^\([a-z]*\) *[0-9]* [0-9]* /\1 /' | sort
}
snapshot >"$TMP/before"
[ "$(grep -c "dst=$ip4" "$TMP/before")" -gt 0 ] || fail "no conntrack entry on host1 to keep"

"$LAB" exec host2 "$NETMOVE" prepare vm1 --json >"$TMP/prepare.json"
[ "$(jq -r .src "$TMP/prepare.json")" = host1 ] || fail "prepare located the wrong source: $(cat "$TMP/prepare.json")"
ovs-vsctl --db="unix:$r2/db.sock" list-ports br-int | grep -qx qvo-vm1 || fail "prepare staged no port"
"$LAB" exec host2 nft list ruleset | grep -q 'netmove:vm=vm1' || fail "prepare staged no firewall"
"$LAB" exec host2 conntrack -L -d "$ip4" 2>/dev/null | grep -q . || fail "prepare staged no conntrack entry"
pass "prepare (source located: host1) staged port, firewall objects and conntrack entries on host2"

"$LAB" exec host2 "$NETMOVE" abort vm1 >/dev/null
if ovs-vsctl --db="unix:$r2/db.sock" list-ports br-int | grep -qx qvo-vm1; then fail "port left on host2"; fi
if "$LAB" exec host2 nft list ruleset | grep -q 'netmove:vm=vm1'; then fail "firewall left on host2"; fi
[ "$("$LAB" exec host2 conntrack -L -d "$ip4" 2>/dev/null | grep -c .)" -eq 0 ] || fail "conntrack entries left on host2"
"$LAB" exec host2 nft list chain inet filter forward | grep -q 'ct state established,related accept' ||
	fail "abort removed the host's own (untagged) firewall"
pass "abort: host2 rolled back, its own firewall untouched"

snapshot >"$TMP/after"
diff -u "$TMP/before" "$TMP/after" || fail "the source changed"
[ "$(pings client "$ip4" 5)" -eq 5 ] || fail "vm1 unreachable on host1 after the abort"
"$LAB" exec host1 "$NETMOVE" confirm vm1 >/dev/null || fail "host1 still holds an export of vm1 after the abort"
pass "source unchanged (port, ruleset, conntrack), vm1 reachable, nothing pending"

# After resume, abort is refused: the VM runs there.
"$LAB" migrate vm1 host2 --netmove >/dev/null
rc=0; "$LAB" exec host2 "$NETMOVE" abort vm1 2>"$TMP/err" || rc=$?
[ $rc -eq 1 ] && grep -q "resumed" "$TMP/err" || fail "abort after resume: exit $rc: $(cat "$TMP/err")"
pass "abort after resume is refused (exit 1)"

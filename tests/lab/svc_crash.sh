#!/bin/bash
# kill -9 of the destination's netmoved in the middle of resume, then a
# restart: the migration completes from the journal and nothing is lost.
# "The middle": the VM runs on host2 and is announced, but the source has not
# been told to confirm (host2 cannot reach host1's netmoved: its management
# traffic is cut right after prepare), so the source still holds everything.
#
#   client -- fabric -- host1 (source) ; host2 (destination)
#   mgmt: host2 -X-> host1 (cut after prepare; restored after the kill)
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 1 --firewall
ip4=$(status_get '.vms[0].ipv4')
r1=$(status_get '.hosts[0].ovs_rundir') r2=$(status_get '.hosts[1].ovs_rundir')
wait_peers host2 host1
bg "$LAB" probe vm1 --duration 6 --ready "$TMP/ready" --json >"$TMP/probe.json"
probe=$(last_bg)
wait_until 10 test -f "$TMP/ready" || fail "probe did not start"

cut='nft add table inet nmcut; nft add chain inet nmcut out "{ type filter hook output priority 0; }"; nft add rule inet nmcut out oifname mgmt0 tcp dport 7300 drop; nft add rule inet nmcut out oifname mgmt0 tcp sport 7300 drop'
"$LAB" migrate vm1 host2 --netmove --prepare "$cut" >/dev/null 2>&1 &
migrate=$!
journal="$r2/netmove/journal"
wait_until 10 sh -c "cat $journal/vm1.*.jsonl 2>/dev/null | grep -q '\"step\":\"announced\"'" ||
	fail "host2 never announced vm1"
"$LAB" netmoved host2 kill
pass "host2's netmoved killed after announcing, before the source confirmed"

# Nothing is lost: the source still has all of it.
ovs-vsctl --db="unix:$r1/db.sock" list-ports br-int | grep -qx qvo-vm1 || fail "source lost its port"
"$LAB" exec host1 nft list ruleset | grep -q 'netmove:vm=vm1' || fail "source lost the firewall objects"
"$LAB" exec host1 conntrack -L -d "$ip4" 2>/dev/null | grep -q . || fail "source lost its conntrack entries"
pass "the source still holds port, firewall objects and conntrack entries"
wait $migrate || true

"$LAB" exec host2 nft delete table inet nmcut
"$LAB" netmoved host2 start
wait_until 20 sh -c "ls $r2/netmove/done/vm1.*.jsonl" || fail "the migration did not complete after the restart"
j=$(ls "$r2"/netmove/done/vm1.*.jsonl)
grep -q '"step":"confirmed"' "$j" || fail "completed without the source's confirmation"
pass "after the restart netmoved completed it: $(jq -r .step "$j" | tr '\n' ' ')"

if ovs-vsctl --db="unix:$r1/db.sock" list-ports br-int | grep -qx qvo-vm1; then fail "port left on host1"; fi
if "$LAB" exec host1 nft list ruleset | grep -q 'netmove:vm=vm1'; then fail "firewall left on host1"; fi
"$LAB" exec host2 nft list ruleset | grep -q 'netmove:vm=vm1' || fail "no firewall on host2"
if "$LAB" exec host2 ovs-ofctl dump-flows br-int | grep -q 'cookie=0x6e6d'; then fail "port still blocked on host2"; fi
[ "$(pings client "$ip4" 5)" -eq 5 ] || fail "vm1 unreachable"
wait "$probe" || true
jq -e '.tcp.survived' "$TMP/probe.json" >/dev/null || fail "TCP broke: $(cat "$TMP/probe.json")"
pass "source cleaned, destination complete, vm1 reachable, TCP survived"

#!/bin/bash
# netmove verify proves a move (exit 0, every check PASS) and, on a move
# broken on purpose, exits 1 naming the failing check.
#
#                 client 198.18.0.1 (VLAN 100)        imp: 198.18.1.1 + 2001:db8:1::1,
#                      |                               MAC 02:00:00:00:0b:ad (case 6 only)
#   fabric-a: OVS fab (VLAN 100) --isl/xlate-- fabric-b: OVS fab (VLAN 200)
#        | trunk                                      | trunk
#   host1 (site a) br-int: up0                   host2 (site b) br-int: up0, qvo-vm1 tag 200
#     [stale0: case 3 only]                         qbr-vm1 - tap-vm1 - vm1 198.18.1.1
#   nft inet filter, netmoved                     nft inet filter, netmoved
#   mgmt0 198.19.0.1 ----------- mgmt ----------- mgmt0 198.19.0.2
#
# vm1 holds a TCP connection from the client (port 5001, so conntrack has an
# entry to move) and is migrated host1 -> host2 with --netmove.  Then:
#   0. verify --json --ping 198.19.0.1: exit 0, all 8 checks PASS, each
#      claim read back with ovs-vsctl, ovs-ofctl, nft, conntrack, ovs-appctl;
#   1. port tag set to 300 (ovs-vsctl)            -> port FAIL
#   2. port no-forward again (ovs-ofctl mod-port) -> port FAIL (blocked)
#   3. a static fdb entry for vm1's MAC on a local port of host1's bridge
#      (ovs-appctl fdb/add)                       -> stale-learning FAIL
#  3b. a chain tagged for vm1 left on host1 (nft add chain) -> source FAIL
#   4. --ping to an address nobody has            -> ping FAIL
#   5. a second namespace on site b's fabric answering for vm1's addresses
#      with another MAC                           -> owner FAIL naming both
#   6. vm1's TCP entry deleted on host2 (conntrack -D) -> conntrack FAIL
#   7. a rule of vm1 deleted on host2 (nft delete rule) -> firewall FAIL
#   and bad input exits 2 naming the field.
# Each broken case is undone before the next, and verify passes in between
# for cases 1-5 (only the broken check fails).
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 1 --sites 2 --firewall >/dev/null
ip4=$(status_get '.vms[0].ipv4')
ip6=$(status_get '.vms[0].ipv6')
mac=$(status_get '.vms[0].mac')
client=$(status_get '.client.ipv4')

# A long-lived TCP connection client -> vm1:5001 (vm1's set allows it).
bg "$LAB" exec vm1 socat -u TCP-LISTEN:5001,reuseaddr OPEN:/dev/null
wait_until 5 sh -c "'$LAB' exec vm1 ss -Hltn 'sport = :5001' | grep -q LISTEN" ||
	fail "socat did not listen in vm1"
bg "$LAB" exec client socat -u EXEC:'sleep 300' "TCP:$ip4:5001"
established() { "$LAB" exec "$1" conntrack -L -p tcp --orig-port-dst 5001 2>/dev/null | grep -q ESTABLISHED; }
wait_until 5 established host1 || fail "no conntrack entry for the TCP connection on host1"

"$LAB" migrate vm1 host2 --netmove >/dev/null || fail "migrate --netmove failed"

# verify ARGS...: runs verify --json on host2 into $TMP/v.json; sets $rc.
verify() {
	rc=0
	"$LAB" exec host2 "$NETMOVE" verify vm1 --json "$@" >"$TMP/v.json" 2>"$TMP/v.err" || rc=$?
}
check() { jq -r --arg c "$1" '.checks[] | select(.check == $c) | "\(.pass) \(.why)"' "$TMP/v.json"; }
failing() { jq -r '[.checks[] | select(.pass | not) | .check] | join(",")' "$TMP/v.json"; }
# expect_fail CHECK PATTERN WHAT: exit 1, CHECK (only) FAILs, its reason matches PATTERN.
expect_fail() {
	local only=${4:-$1}
	[ $rc -eq 1 ] || fail "$3: verify exited $rc, not 1: $(cat "$TMP/v.json" "$TMP/v.err")"
	check "$1" | grep -q "^false " || fail "$3: $1 did not fail: $(check "$1")"
	check "$1" | grep -Eq "$2" || fail "$3: $1's reason does not say /$2/: $(check "$1")"
	[ "$only" = any ] || [ "$(failing)" = "$only" ] ||
		fail "$3: failing checks are '$(failing)', expected '$only': $(cat "$TMP/v.json")"
	pass "$3: exit 1, $1 FAIL: $(check "$1" | cut -d' ' -f2-)"
}
expect_pass() {
	[ $rc -eq 0 ] || fail "$1: verify exited $rc: $(cat "$TMP/v.json" "$TMP/v.err")"
	[ "$(jq -r '.pass and ([.checks[] | select(.pass | not)] | length == 0)' "$TMP/v.json")" = true ] ||
		fail "$1: not every check passed: $(cat "$TMP/v.json")"
}

# ---- 0. a good move ----
t0=${EPOCHREALTIME/./}
verify --ping 198.19.0.1
t1=${EPOCHREALTIME/./}
expect_pass "good move"
[ "$(jq -r '[.checks[].check] | join(",")' "$TMP/v.json")" = \
	"port,source,firewall,conntrack,announce,owner,stale-learning,ping" ] ||
	fail "not every check ran: $(cat "$TMP/v.json")"
# The TCP connection's entry and the ICMP one of lab up's reachability
# check; that the TCP one is expected is shown below, when deleting it fails.
check conntrack | grep -Eq "all [1-9][0-9]* exported entries present" ||
	fail "the exported conntrack entries are not all here: $(check conntrack)"
pass "good move: exit 0, 8 checks PASS in $(((t1 - t0) / 1000)) ms"
# The same facts, read back with the reference tools.
vsctl2() { "$LAB" exec host2 ovs-vsctl "$@"; }
[ "$(vsctl2 get Port qvo-vm1 tag)" = 200 ] || fail "host2: qvo-vm1 is not on VLAN 200"
[ "$(vsctl2 get Interface qvo-vm1 external_ids:vm-id | tr -d '"')" = vm1 ] || fail "host2: vm-id"
[ "$(vsctl2 get Interface qvo-vm1 external_ids:attached-mac | tr -d '"')" = "$mac" ] || fail "host2: attached-mac"
[ "$(vsctl2 get Interface qvo-vm1 ofport)" -gt 0 ] || fail "host2: no ofport"
! "$LAB" exec host2 ovs-ofctl dump-flows br-int | grep -q 'cookie=0x6e6d' || fail "host2: block flows left"
! "$LAB" exec host2 ovs-ofctl show br-int | grep -A2 'qvo-vm1' | grep -q NO_FWD || fail "host2: qvo-vm1 no_forward"
established host2 || fail "host2: the TCP entry is not there"
"$LAB" exec host2 nft list chain inet filter vm-vm1 >/dev/null || fail "host2: no chain vm-vm1"
! "$LAB" exec host1 nft list chain inet filter vm-vm1 >/dev/null 2>&1 || fail "host1: chain vm-vm1 left"
! established host1 || fail "host1: the TCP entry is left"
[ -z "$("$LAB" exec host1 ovs-vsctl --if-exists get Port qvo-vm1 name)" ] || fail "host1: port left"
! "$LAB" exec host1 ovs-appctl fdb/show br-int | awk -v m="$mac" '$3 == m && $1 != 1' | grep -q . ||
	fail "host1: vm1's MAC learned on a port other than up0 (1)"
pass "good move: port, flows, nft, conntrack and fdb read back as verify said"

# ---- 1. wrong VLAN ----
vsctl2 set Port qvo-vm1 tag=300
verify
expect_fail port "VLAN tag 300, expected 200" "wrong VLAN" any
vsctl2 set Port qvo-vm1 tag=200
verify
expect_pass "VLAN restored"

# ---- 2. still blocked ----
"$LAB" exec host2 ovs-ofctl mod-port br-int qvo-vm1 no-forward
verify
expect_fail port "still blocked: 0 netmove flow\(s\), no_forward" "port left no_forward" any
"$LAB" exec host2 ovs-ofctl mod-port br-int qvo-vm1 forward
verify
expect_pass "no_forward cleared"

# ---- 3. stale learning on the source ----
"$LAB" exec host1 ovs-vsctl add-port br-int stale0 tag=100 -- set Interface stale0 type=internal
"$LAB" exec host1 ovs-appctl fdb/add br-int stale0 100 "$mac" >/dev/null
"$LAB" exec host1 ovs-appctl fdb/show br-int | grep -q "$mac  static" || fail "fdb/add did not take"
verify
expect_fail stale-learning "forwards $mac to its local port stale0 \(VLAN 100\)" "stale learning entry"
"$LAB" exec host1 ovs-appctl fdb/del br-int 100 "$mac" >/dev/null
"$LAB" exec host1 ovs-vsctl del-port br-int stale0
verify
expect_pass "stale entry removed"

# ---- 3b. the source still holds a firewall object of vm1 ----
"$LAB" exec host1 nft add chain inet filter vm-vm1 '{ comment "netmove:vm=vm1"; }'
verify
expect_fail source "host1: 0 port\(s\), [1-9][0-9]* firewall object\(s\), 0 conntrack entries left there" \
	"firewall object left on the source"
"$LAB" exec host1 nft delete chain inet filter vm-vm1
verify
expect_pass "source's leftover removed"

# ---- 4. ping nobody ----
verify --ping 198.19.0.99
expect_fail ping "198.19.0.99: 0 of 3 echo requests answered" "ping to nobody"

# ---- 5. split brain: another MAC answers for vm1's addresses ----
imp=$NETMOVE_LAB-imp     # 'lab down' removes it with the lab's namespaces
ip netns add "$imp"
ip link add eth0 netns "$imp" address 02:00:00:00:0b:ad type veth peer name imp netns "$NETMOVE_LAB-fabric-b"
ip netns exec "$imp" sysctl -qw net.ipv6.conf.eth0.accept_dad=0 net.ipv6.conf.eth0.router_solicitations=0
ip -n "$imp" addr add "$ip4/16" dev eth0
ip -n "$imp" addr add "$ip6/64" dev eth0 nodad
ip netns exec "$imp" ethtool -K eth0 tx off >/dev/null 2>&1 || true
ip -n "$imp" link set eth0 up
ip -n "$NETMOVE_LAB-fabric-b" link set imp up
"$LAB" exec fabric-b ovs-vsctl add-port fab imp tag=200
verify
expect_fail owner "split brain: $ip4 answered by ($mac and 02:00:00:00:0b:ad|02:00:00:00:0b:ad and $mac)" "split brain"
"$LAB" exec fabric-b ovs-vsctl del-port fab imp
ip netns del "$imp"

# ---- 6. a conntrack entry missing on the destination ----
"$LAB" exec host2 conntrack -D -p tcp --orig-port-dst 5001 >/dev/null 2>&1
! established host2 || fail "conntrack -D left the entry"
verify
expect_fail conntrack "1 of [0-9]+ exported entries missing here, first: tcp $client:[0-9]+ -> $ip4:5001" \
	"missing conntrack entry"

# ---- 7. a firewall rule missing on the destination ----
handle=$("$LAB" exec host2 nft -a list chain inet filter vm-vm1 | sed -n 's/.*tcp dport @vm1-ports.* handle \([0-9]*\)$/\1/p' | tail -1)
[ -n "$handle" ] || fail "no tcp dport rule in vm-vm1 on host2"
"$LAB" exec host2 nft delete rule inet filter vm-vm1 handle "$handle"
verify
expect_fail firewall "differs from the export" "firewall rule deleted" firewall,conntrack

# ---- bad input: exit 2, naming the field ----
bad() {
	local want=$1 out
	shift
	out=$("$LAB" exec host2 "$NETMOVE" verify "$@" 2>&1) && fail "verify $*: exit 0"
	rc=0
	"$LAB" exec host2 "$NETMOVE" verify "$@" >/dev/null 2>&1 || rc=$?
	[ $rc -eq 2 ] || fail "verify $*: exit $rc, not 2: $out"
	echo "$out" | grep -q -- "$want" || fail "verify $*: message does not name $want: $out"
}
bad "VM: 'vm 1'" 'vm 1'
bad "VM: missing" --json
bad "VM: netmoved on host2 knows no migration of 'vm2'" vm2
bad "--ping: '198.19.0.300'" vm1 --ping 198.19.0.300
bad "--wait" vm1 --wait 99999
bad "--config" vm1 --config /nonexistent.json
pass "bad input: exit 2 naming VM, --ping, --wait, --config"

#!/bin/bash
# The hybrid layout puts a stateful nftables firewall in the VM's path:
# allowed ports pass, others are dropped, conntrack tracks the flows, and
# mid-stream TCP without a conntrack entry is invalid (tcp_loose=0).
#
#   client -- fabric -- host1: OVS br-int -- qvo-vm1=qvb-vm1 [qbr-vm1, nft forward] tap-vm1 -- vm1
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 1 --firewall
ip4=$(status_get '.vms[0].ipv4')
[ "$("$LAB" exec host1 sysctl -n net.netfilter.nf_conntrack_tcp_loose)" = 0 ] || fail "tcp_loose is not 0"
"$LAB" exec host1 nft list chain inet filter vm-vm1 | grep -q 'comment "netmove:vm=vm1"' ||
	fail "vm1's chain is not tagged"

"$LAB" probe vm1 --duration 1 --json >"$TMP/p.json"
jq -e '.tcp.survived and .ping.lost == 0' "$TMP/p.json" >/dev/null || fail "allowed traffic blocked: $(cat "$TMP/p.json")"
"$LAB" exec host1 conntrack -L -p tcp --dport 5001 2>/dev/null | grep -q "dst=$ip4" ||
	fail "conntrack has no entry for the probe's flow"
pass "allowed port and ICMP pass, conntrack tracks them"

# A port not in vm1-ports: dropped by the firewall (a timeout), where without
# it the VM's stack would refuse (a reset).
rc=0; "$LAB" exec client timeout 2 bash -c "exec 3<>/dev/tcp/$ip4/22" 2>"$TMP/err" || rc=$?
[ $rc -eq 124 ] || fail "port 22 was not silently dropped (exit $rc: $(cat "$TMP/err"))"
"$LAB" exec host1 nft flush chain inet filter forward
"$LAB" exec host1 nft add rule inet filter forward accept
rc=0; "$LAB" exec client timeout 2 bash -c "exec 3<>/dev/tcp/$ip4/22" 2>"$TMP/err" || rc=$?
[ $rc -eq 1 ] && grep -q refused "$TMP/err" || fail "without the firewall port 22 should be refused (exit $rc)"
pass "other ports dropped by the VM's firewall"

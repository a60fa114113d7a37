#!/bin/bash
# Activation on the VM's first announcement: vm1's port is imported
# --blocked on host2; 'netmove port activate --on-announce vm1' waits.  The
# port stays silent until vm1 sends one gratuitous ARP; then the port is
# unblocked and that very GARP is passed on (tshark sees it at the fabric),
# so the fabric relearns vm1 on host2 and the client reaches it without any
# other announcement.  A VM that stays silent leaves its port blocked
# (exit 1 after --timeout).
#
#                     client
#                        |
#      +------------ fabric br0 ------------+
#      | h1 (vm1 learned here)           h2 | <- capture
#   host1 OVS                        host2 OVS br-int
#                                      tap-vm1 (blocked, triggers -> netmove)  tap-vm2
#                                        |                                       |
#                                       vm1 -- one GARP                          vm2
set -eu
. "$(dirname "$0")/lib.bash"

MAC1=02:00:00:00:00:01
"$LAB" up --hosts 2 --vms 2 >/dev/null
R1=$(status_get '.hosts[0].ovs_rundir')
R2=$(status_get '.hosts[1].ovs_rundir')
export OVS_RUNDIR=$R2
# The fabric learns vm1 at host1 first, as before any migration.
[ "$(pings client 198.18.1.1 2)" = 2 ] || fail "client cannot reach vm1 on host1 (setup)"

OVS_RUNDIR=$R1 "$NETMOVE" port export vm1 >"$TMP/vm1.json"
"$LAB" migrate vm1 host2 --no-port >/dev/null
"$NETMOVE" port import --blocked <"$TMP/vm1.json" >/dev/null || fail "import --blocked failed"
ofport=$(ovs-vsctl --db="unix:$R2/db.sock" get Interface tap-vm1 ofport)
cookie=$(printf '0x6e6d%012x' "$ofport")

# A silent VM: the wait times out and the port stays blocked.
rc=0
"$NETMOVE" port activate --on-announce --timeout 300 vm1 2>"$TMP/err" || rc=$?
[ $rc = 1 ] && grep -q "announced nothing within 300 ms" "$TMP/err" || fail "silent VM: exit $rc, $(cat "$TMP/err")"
ovs-ofctl dump-flows br-int "cookie=$cookie/-1" | grep -q "in_port=$ofport actions=drop" || fail "timeout unblocked the port"
pass "silent VM: exit 1 after 300 ms, port still blocked"

"$NETMOVE" port activate --on-announce --timeout 20000 vm1 >"$TMP/act.out" 2>&1 &
apid=$!
_bg_pids+=("$apid")
triggers() { [ "$(ovs-ofctl dump-flows br-int "cookie=$cookie/-1" | grep -c 'priority=65001.*actions=CONTROLLER')" = 3 ]; }
wait_until 10 triggers || fail "trigger flows (RARP, ARP, NA -> controller) not installed"
# Still blocked while armed: vm2 cannot reach vm1.
[ "$(pings vm2 198.18.1.1 2)" = 0 ] || fail "armed port is not blocked"
kill -0 "$apid" 2>/dev/null || fail "activate returned before any announcement: $(cat "$TMP/act.out")"

capture fabric h2 "$TMP/h2.pcap" arp
"$LAB" exec vm1 arping -q -U -c 1 -I eth0 198.18.1.1 || true
rc=0
for _ in $(seq 250); do kill -0 "$apid" 2>/dev/null || break; sleep 0.02; done
wait "$apid" || rc=$?
[ $rc = 0 ] || fail "activate --on-announce exited $rc: $(cat "$TMP/act.out")"
# The client reaches vm1 at once: the fabric learned from the passed-on GARP.
[ "$(pings client 198.18.1.1 3)" = 3 ] || fail "client cannot reach vm1 after activation"
capture_stop
garps=$(tshark -r "$TMP/h2.pcap" -Y "arp.isgratuitous == 1 && eth.src == $MAC1" 2>/dev/null | wc -l)
[ "$garps" = 1 ] || fail "$garps GARP(s) of vm1 at the fabric, expected exactly the one it sent"
left=$(ovs-ofctl dump-flows br-int | grep -c "cookie=0x6e6d" || true)
[ "$left" = 0 ] || fail "$left netmove flow(s) left after activation"
ovs-ofctl show br-int | grep -A1 "(tap-vm1)" | grep -q NO_FWD && fail "no_forward still set"
pass "first GARP activated the port and reached the fabric (tshark: 1); client reaches vm1; no netmove flow left"

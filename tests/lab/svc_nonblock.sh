#!/bin/bash
# netmoved's loop never waits for OVSDB: while the destination's
# ovsdb-server is stopped (SIGSTOP) in the middle of vm1's prepare (its port
# import sent, unanswered), host2's netmoved answers `netmove status` within
# 200 ms every time and vm3 moves host1 -> host2 to the end (announced,
# active, confirmed: it needs host2's ovs-vswitchd and host1, not host2's
# OVSDB); once the server runs again (SIGCONT), vm1's prepare completes and
# vm1 moves too.  The blocking netmoved (the import's nested poll loop) fails
# this: status waits for the server.
#
#            client
#              |
#   fabric ---h1--- host1: vm1, vm3 (source)
#          \--h2--- host2: netmoved, OVS  <- its ovsdb-server stopped
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 3 --firewall
[ "$("$LAB" status --json | jq -r '.vms[] | select(.name == "vm3") | .host')" = host1 ] ||
	fail "vm3 is not on host1: $("$LAB" status --json | jq -c .vms)"
ip3=$(status_get '.vms[] | select(.name == "vm3") | .ipv4')
r2=$(status_get '.hosts[1].ovs_rundir')
wait_peers host2 host1
ovsdb=$(cat "$r2/ovsdb-server.pid")
cont() { kill -CONT "$ovsdb" 2>/dev/null || true; }
# Never leave it stopped; the lab's cleanup keeps the exit status.
cleanup_cont() {
	local rc=$?
	set +e
	cont
	(exit $rc)
	cleanup
}
trap cleanup_cont EXIT

# status_probe HOST SECONDS: `netmove status` on HOST, again and again for
# SECONDS; prints "CALLS SLOWEST_MS FAILED".
status_probe() {
	"$LAB" exec "$1" bash -c '
		end=$((${EPOCHREALTIME/./} + $1 * 1000000)) n=0 max=0 failed=0
		while [ "${EPOCHREALTIME/./}" -lt $end ]; do
			t0=${EPOCHREALTIME/./}
			timeout 5 "$NETMOVE" status >/dev/null || failed=$((failed + 1))
			dt=$(((${EPOCHREALTIME/./} - t0) / 1000))
			[ $dt -le $max ] || max=$dt
			n=$((n + 1))
		done
		echo "$n $max $failed"' _ "$2"
}

# vm3's migration stops after its prepare (staged on host2 with OVSDB
# running) until the test lets it go on.
bg "$LAB" migrate vm3 host2 --netmove --json \
	--prepare "touch $TMP/vm3-prepared; while [ ! -e $TMP/go ]; do sleep 0.02; done" \
	>"$TMP/vm3.json"
mig3=$(last_bg)
wait_until 20 test -e "$TMP/vm3-prepared" || fail "vm3's prepare did not end"

# Stop host2's OVSDB, then prepare vm1 there: its export comes from host1,
# its port import goes to the stopped server and stays unanswered.
kill -STOP "$ovsdb"
t_stop=${EPOCHREALTIME/./}
bg "$LAB" exec host2 "$NETMOVE" prepare vm1 --from host1 --json >"$TMP/vm1.prepare.json"
prep1=$(last_bg)
wait_until 5 sh -c "NETMOVE_LAB=$NETMOVE_LAB $LAB exec host1 $NETMOVE status | jq -e '.outgoing | index(\"vm1\")'" ||
	fail "host1 did not export vm1"

# Meanwhile: status answers, and vm3 moves.
bg status_probe host2 2 >"$TMP/probe"
probe=$(last_bg)
touch "$TMP/go"
wait "$mig3" || fail "vm3's migration failed: $(cat "$TMP/vm3.json")"
wait "$probe"
read -r calls slowest failed <"$TMP/probe"
jq -e '.state == "done"' "$LAB_STATE/vm3.resume.json" >/dev/null ||
	fail "vm3's resume did not end done: $(cat "$LAB_STATE/vm3.resume.json")"
[ "$(pings client "$ip3" 5)" -eq 5 ] || fail "vm3 unreachable on host2"
state1=$("$LAB" exec host2 "$NETMOVE" status vm1 | jq -r '.migrations[0].state')
stalled_ms=$(((${EPOCHREALTIME/./} - t_stop) / 1000))
[ "$failed" -eq 0 ] && [ "$slowest" -lt 200 ] ||
	fail "with host2's ovsdb-server stopped, netmove status: $calls calls, slowest $slowest ms, $failed failed"
[ "$state1" = preparing ] || fail "vm1 is $state1, not preparing: OVSDB's stop was not in its way"
pass "ovsdb-server stopped ${stalled_ms} ms (vm1 preparing): $calls status calls, slowest $slowest ms; vm3 moved (done, reachable)"

# The server runs again: vm1's prepare completes, and vm1 moves.
cont
wait "$prep1" || fail "vm1's prepare failed: $(cat "$TMP/vm1.prepare.json")"
jq -e '.state == "prepared"' "$TMP/vm1.prepare.json" >/dev/null ||
	fail "vm1's prepare: $(cat "$TMP/vm1.prepare.json")"
"$LAB" migrate vm1 host2 --netmove --json >"$TMP/vm1.json" || fail "vm1's migration failed: $(cat "$TMP/vm1.json")"
jq -e '.state == "done"' "$LAB_STATE/vm1.resume.json" >/dev/null ||
	fail "vm1's resume did not end done: $(cat "$LAB_STATE/vm1.resume.json")"
[ "$(ovs-vsctl --db="unix:$r2/db.sock" get Interface qvo-vm1 ofport)" -gt 0 ] || fail "qvo-vm1 has no ofport on host2"
if "$LAB" exec host2 ovs-ofctl dump-flows br-int | grep -q 'cookie=0x6e6d'; then
	fail "netmove's blocking flows are still on host2"
fi
pass "after SIGCONT: vm1 prepared, then moved (done, port active)"

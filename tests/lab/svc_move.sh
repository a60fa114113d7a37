#!/bin/bash
# One VM moved through netmoved while the client pings it and streams TCP to
# it: no broken connection; the destination has the VM's port (active, its
# external_ids), firewall objects and conntrack entries; the source has none
# of them left; the journal holds every step.
#
#            client
#              |
#   fabric ---h1--- host1: netmoved, OVS, nft   (source)
#          \--h2--- host2: netmoved, OVS, nft   (destination)
#   mgmt: host1 <-- JSON-RPC over mutual TLS --> host2
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 1 --firewall
ip4=$(status_get '.vms[0].ipv4') mac=$(status_get '.vms[0].mac')
r1=$(status_get '.hosts[0].ovs_rundir') r2=$(status_get '.hosts[1].ovs_rundir')
wait_peers host2 host1
# The source too: it drains only for a destination whose hello it has
# heard (the `drain` capability), from the pause on.
wait_peers host1 host2

bg "$LAB" probe vm1 --duration 5 --ready "$TMP/ready" --json >"$TMP/probe.json"
probe=$(last_bg)
wait_until 10 test -f "$TMP/ready" || fail "probe did not start"
"$LAB" exec host1 conntrack -L -d "$ip4" 2>/dev/null | grep -q ESTABLISHED ||
	fail "no established conntrack entry on the source to move"
"$LAB" exec host1 conntrack -L -d "$ip4" -o extended 2>/dev/null | grep -c . >"$TMP/n_ct_src"

"$LAB" migrate vm1 host2 --netmove --json >"$TMP/migrate.json"
jq -e '.hook_rc == 0' "$TMP/migrate.json" >/dev/null || fail "netmove resume failed: $(cat "$TMP/migrate.json")"
jq -e '.state == "done"' "$LAB_STATE/vm1.resume.json" >/dev/null ||
	fail "resume did not end done: $(cat "$LAB_STATE/vm1.resume.json")"

# Destination: port with its external_ids, wired and not blocked.
db2="unix:$r2/db.sock"
[ "$(ovs-vsctl --db="$db2" get Interface qvo-vm1 external_ids:vm-id)" = vm1 ] || fail "no vm1 port on host2"
[ "$(ovs-vsctl --db="$db2" get Interface qvo-vm1 external_ids:attached-mac)" = "\"$mac\"" ] ||
	fail "attached-mac not carried over"
[ "$(ovs-vsctl --db="$db2" get Interface qvo-vm1 ofport)" -gt 0 ] || fail "qvo-vm1 has no ofport"
if "$LAB" exec host2 ovs-ofctl dump-flows br-int | grep -q 'cookie=0x6e6d'; then
	fail "netmove's blocking flows are still on host2"
fi
# Firewall objects and conntrack entries arrived.
"$LAB" exec host2 nft list chain inet filter vm-vm1 | grep -q "tcp dport @vm1-ports" ||
	fail "vm1's firewall chain not on host2"
"$LAB" exec host2 conntrack -L -d "$ip4" 2>/dev/null | grep -q "dport=5001" ||
	fail "the probe's conntrack entry is not on host2"
pass "destination: port (active), firewall chain and set, conntrack entries"

# Source: nothing of the VM left.
if ovs-vsctl --db="unix:$r1/db.sock" list-ports br-int | grep -qx qvo-vm1; then fail "port left on host1"; fi
if "$LAB" exec host1 nft list ruleset | grep -q 'netmove:vm=vm1'; then fail "firewall objects left on host1"; fi
[ "$("$LAB" exec host1 conntrack -L -d "$ip4" 2>/dev/null | grep -c .)" -eq 0 ] || fail "conntrack entries left on host1"
pass "source: no port, no firewall object, no conntrack entry"

wait "$probe" || true
jq -e '.tcp.survived' "$TMP/probe.json" >/dev/null || fail "TCP broke: $(cat "$TMP/probe.json")"
pass "TCP survived; client's view: $(jq -c '{pings_lost: .ping.lost, ping_gap_ms: .ping.longest_gap_ms, tcp_stall_ms: .tcp.longest_gap_ms}' "$TMP/probe.json"); $(jq -c '{downtime_ms}' "$TMP/migrate.json")"
jq -c '{timings, announcements_seen, source_removed}' "$LAB_STATE/vm1.resume.json"

# The journal: every step, in order, and the migration finished once the
# announcements have been seen leaving (the capture ends after the rounds).
wait_until 5 sh -c "ls $r2/netmove/done/vm1.*.jsonl" || fail "the migration's journal never finished"
j=$(ls "$r2"/netmove/done/vm1.*.jsonl)
steps=$(jq -r .step "$j" | tr '\n' ' ')
# The lab's migrator says the pause (netmove paused): the destination
# announced then, and its drain ended once (before or after the resume,
# as the relay's end came); once done, the source's records for the
# timeline (once, after confirmed).
[ "$(echo "$steps" | sed 's/drained //; s/source-records //')" = "prepare-begin prepare-done paused resume-begin announced ct-delta-done confirmed announcements-seen " ] ||
	fail "journal steps: $steps"
[ "$(echo "$steps" | grep -o 'drained' | wc -l)" -eq 1 ] || fail "journal steps: not one 'drained': $steps"
[ "$(echo "$steps" | grep -o 'source-records' | wc -l)" -eq 1 ] || fail "journal steps: not one 'source-records': $steps"
case $steps in *"confirmed "*"source-records "*) ;; *) fail "journal steps: source-records before confirmed: $steps" ;; esac
[ -z "$(ls "$r2/netmove/journal/")" ] || fail "an unfinished journal is left on host2"
pass "journal: $steps"

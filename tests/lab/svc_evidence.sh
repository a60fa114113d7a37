#!/bin/bash
# Who may make the source delete (issue 10, items 6 and 10): an
# authenticated peer's confirm removes nothing on the source until the
# source has its own evidence that the VM left, for that peer ('netmove
# left'); a second destination cannot take over an export in flight; a VM id
# equal to a port's name (the uplink's) finds nothing.
#
#   host1: netmoved (source of vm1)   host2, host3: netmoved (peers)
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 3 --vms 1 --firewall
ip4=$(status_get '.vms[0].ipv4')
r1=$(status_get '.hosts[0].ovs_rundir')
wait_peers host2 host1
wait_peers host3 host1
nm() { local h=$1; shift; "$LAB" exec "$h" "$NETMOVE" "$@"; }
port1() { ovs-vsctl --db="unix:$r1/db.sock" --bare --columns=name find Interface external_ids:vm-id=vm1; }

# Conntrack entries of vm1 on the source.
bg "$LAB" probe vm1 --duration 3 --ready "$TMP/ready" --json >"$TMP/probe.json"
wait_until 10 test -f "$TMP/ready" || fail "probe did not start"
"$LAB" exec host1 conntrack -L -d "$ip4" 2>/dev/null | grep -q . || fail "no conntrack entry of vm1 on host1"
wait "$(last_bg)" || true

# 1. vm=up0 (the uplink's name): nothing found, nothing touched.
if nm host2 prepare up0 --from host1 >"$TMP/up0.out" 2>&1; then
	fail "prepare of vm=up0 (the uplink's name) succeeded: $(cat "$TMP/up0.out")"
fi
ovs-vsctl --db="unix:$r1/db.sock" list-ports br-int | grep -qx up0 || fail "host1 lost its uplink up0"
nm host1 status | jq -e '.outgoing | index("up0") | not' >/dev/null || fail "up0 is outgoing on host1"
pass "an export of vm=up0 (a port's name, no VM identity) finds nothing; the uplink stays"

# 2. host2 prepares vm1: a second export of it, to host3, is refused.
nm host2 prepare vm1 --from host1 >/dev/null || fail "prepare of vm1 on host2 failed"
if nm host3 prepare vm1 --from host1 >"$TMP/p3.out" 2>&1; then
	fail "a second export of vm1 (to host3) replaced the one to host2"
fi
grep -q "being exported to host2" "$TMP/p3.out" || fail "second export: unclear refusal: $(cat "$TMP/p3.out")"
pass "a second export of a VM outgoing to host2 is refused (host3): $(head -1 "$TMP/p3.out")"

# 3. host2 resumes: its confirm is held; nothing goes on host1.
bg nm host2 resume vm1 --from host1 --json >"$TMP/resume.json" 2>&1
resume=$(last_bg)
sleep 6
[ -n "$(port1)" ] || fail "host1 removed vm1's port without its own evidence"
"$LAB" exec host1 nft list ruleset | grep -q 'netmove:vm=vm1' || fail "host1 removed vm1's firewall objects without evidence"
"$LAB" exec host1 conntrack -L -d "$ip4" 2>/dev/null | grep -q . || fail "host1 removed vm1's conntrack entries without evidence"
kill -0 "$resume" 2>/dev/null || fail "resume ended before the source's evidence: $(cat "$TMP/resume.json")"
grep -q "held: this host has no evidence yet" "$r1/netmoved.log" || fail "host1 did not log the held confirm"
pass "host2's confirm without host1's evidence removes nothing (port, nft, conntrack stay), retried"

# 4. Evidence for another destination is refused; the right one completes.
rc=0
nm host1 left vm1 --to host3 >"$TMP/left3.out" 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "left vm1 --to host3 (exported to host2): exit $rc, not 2: $(cat "$TMP/left3.out")"
sleep 1
[ -n "$(port1)" ] || fail "evidence for host3 let host2's confirm remove vm1's port"
nm host1 left vm1 --to host2 >/dev/null || fail "left vm1 --to host2 failed"
wait_until 15 sh -c "! kill -0 $resume 2>/dev/null" || fail "resume did not complete after the evidence"
wait "$resume" || fail "resume failed: $(cat "$TMP/resume.json")"
jq -e '.state == "done"' "$TMP/resume.json" >/dev/null || fail "resume not done: $(cat "$TMP/resume.json")"
[ -z "$(port1)" ] || fail "host1 kept vm1's port after evidence and confirm"
if "$LAB" exec host1 nft list ruleset | grep -q 'netmove:vm=vm1'; then fail "host1 kept vm1's firewall objects"; fi
grep -q '"step":"left"' "$r1"/netmove/done/vm1.*.jsonl 2>/dev/null ||
	grep -rq '"step":"left"' "$r1/netmove" || fail "no 'left' record in host1's journal"
pass "left --to host3 refused (exit 2); left --to host2: the held confirm completes, host1's copy goes"

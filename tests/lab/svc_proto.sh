#!/bin/bash
# The peer protocol's versions (docs/PROTOCOL.md).  Hosts are upgraded one at
# a time, so a host of version 2 moves a VM to and from a host of version 1
# (netmoved --protocol-version=1: no hello, errors as strings): both moves
# succeed.  A host announcing version 99 is refused, by both sides, with a
# message naming both versions: in the failing prepare's error, in
# `netmove status` and in the logs.  On the wire, an error carries its class
# as a JSON-RPC code (-32602 for bad input) to a version-2 peer and as
# version 1's "bad input: ..." string to a version-1 peer; openssl s_client
# plays a bare JSON-RPC peer of each version.
#
#            client
#              |
#   fabric ---h1--- host1: netmoved, version 2 (vm1 starts here)
#          |--h2--- host2: netmoved --protocol-version=1
#          \--h3--- host3: netmoved --protocol-version=99
#   mgmt: every host <-- JSON-RPC over mutual TLS --> every other
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 3 --vms 1 --firewall
ip4=$(status_get '.vms[0].ipv4')
r1=$(status_get '.hosts[0].ovs_rundir') r2=$(status_get '.hosts[1].ovs_rundir')
r3=$(status_get '.hosts[2].ovs_rundir')
pki=$LAB_STATE/pki

"$LAB" netmoved host2 stop
"$LAB" netmoved host2 start --protocol-version=1
"$LAB" netmoved host3 stop
"$LAB" netmoved host3 start --protocol-version=99
wait_peers host1 host2
wait_peers host2 host1

status() { "$LAB" exec "$1" "$NETMOVE" status; }

# ---- the version exchange ----
status host1 >"$TMP/st1.json"
jq -e '.peer_protocol.host2.version == 1
	and (.peer_protocol.host2.capabilities | index("export") and index("confirm"))' \
	"$TMP/st1.json" >/dev/null || fail "host1 does not see host2 speaking version 1: $(cat "$TMP/st1.json")"
grep -q "peer host2 speaks netmove protocol 1 (outbound)" "$r1/netmoved.log" ||
	fail "host1 did not log host2's version"
# host2 answered host1's hello as a host of before the hello does.
wait_until 5 grep -q "host1: unknown method 'hello'" "$r2/netmoved.log" ||
	fail "host2 (version 1) did not answer the hello as an unknown method"
pass "host1 (version 2) and host2 (--protocol-version=1) agreed on version 1"

# ---- host3 announces version 99: refused by both sides ----
msg="peer host3 speaks netmove protocol 99; this host speaks 1-2"
wait_until 10 sh -c "NETMOVE_LAB=$NETMOVE_LAB $LAB exec host1 $NETMOVE status |
	jq -e '.peer_protocol.host3.refused'" || fail "host1 did not refuse host3: $(status host1)"
status host1 >"$TMP/st1.json"
jq -e --arg m "$msg" '.peer_protocol.host3.refused == $m and .peers.host3 == false' "$TMP/st1.json" >/dev/null ||
	fail "host1's status: $(jq -c '{peers, peer_protocol}' "$TMP/st1.json")"
grep -q "refusing peer: $msg" "$r1/netmoved.log" || fail "host1 did not log the refusal"
wait_until 5 grep -q "refusing peer: peer host1 speaks netmove protocol 1-2; this host speaks 99" \
	"$r3/netmoved.log" || fail "host3 did not refuse host1"
rc=0
"$LAB" exec host1 "$NETMOVE" prepare vm9 --from host3 >"$TMP/refused.out" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "prepare from a refused peer: exit $rc: $(cat "$TMP/refused.out")"
grep -qF "source host3: export: $msg" "$TMP/refused.out" ||
	fail "the prepare's error does not name both versions: $(cat "$TMP/refused.out")"
pass "host3 (version 99) refused both ways; status, logs and the failed prepare say: $msg"

# ---- vm1 host1 (v2) -> host2 (v1) -> host1 ----
# moved SRC DST: vm1 left SRC for DST with its port, firewall and conntrack.
moved() {
	local src=$1 dst=$2 rs rd
	rs=$(status_get ".hosts[$((${src#host} - 1))].ovs_rundir")
	rd=$(status_get ".hosts[$((${dst#host} - 1))].ovs_rundir")
	"$LAB" probe vm1 --duration 1 >/dev/null      # conntrack entries to move
	"$LAB" migrate vm1 "$dst" --netmove --json >"$TMP/migrate.json" ||
		fail "$src -> $dst: lab migrate failed: $(cat "$TMP/migrate.json")"
	jq -e '.hook_rc == 0' "$TMP/migrate.json" >/dev/null ||
		fail "$src -> $dst: netmove resume failed: $(cat "$TMP/migrate.json")"
	jq -e '.state == "done"' "$LAB_STATE/vm1.resume.json" >/dev/null ||
		fail "$src -> $dst: resume did not end done: $(cat "$LAB_STATE/vm1.resume.json")"
	ovs-vsctl --db="unix:$rd/db.sock" list-ports br-int | grep -qx qvo-vm1 || fail "$src -> $dst: no port on $dst"
	"$LAB" exec "$dst" nft list chain inet filter vm-vm1 >/dev/null 2>&1 || fail "$src -> $dst: no firewall chain on $dst"
	"$LAB" exec "$dst" conntrack -L -d "$ip4" 2>/dev/null | grep -q "dport=5001" ||
		fail "$src -> $dst: the probe's conntrack entry is not on $dst"
	wait_until 5 sh -c "! ovs-vsctl --db=unix:$rs/db.sock list-ports br-int | grep -qx qvo-vm1" ||
		fail "$src -> $dst: port left on $src"
	if "$LAB" exec "$src" nft list ruleset | grep -q 'netmove:vm=vm1'; then
		fail "$src -> $dst: firewall objects left on $src"
	fi
	[ "$(pings client "$ip4" 5)" -gt 0 ] || fail "$src -> $dst: vm1 unreachable"
}
moved host1 host2
# host2 (the destination) spoke first on its own connection: no hello.
grep -q "peer host2 speaks netmove protocol 1 (inbound)" "$r1/netmoved.log" ||
	fail "host1 did not take host2's first request for version 1"
pass "vm1 host1 (version 2) -> host2 (version 1): done, port, firewall and conntrack moved"
moved host2 host1
pass "vm1 host2 (version 1) -> host1 (version 2): done, port, firewall and conntrack moved"

# ---- errors on the wire, to a peer of each version (host1 answers) ----
# ask REQUESTS...: sends the JSON-RPC requests to host1 as peer host2 and
# prints host1's answers.
ask() {
	printf '%s' "$@" |
		"$LAB" exec host2 timeout 3 openssl s_client -quiet -ign_eof \
		-connect 198.19.0.1:7300 -CAfile "$pki/ca.pem" \
		-cert "$pki/host2-cert.pem" -key "$pki/host2-key.pem" 2>"$TMP/ssl.err" || true
}
bad='{"id":2,"method":"confirm","params":[{"vm":"vm1","id":"nope"}]}'
hello() { printf '{"id":1,"method":"hello","params":[{"version":%d,"min_version":%d,"host":"host2","capabilities":["export"]}]}' "$1" "$1"; }

ask "$bad" >"$TMP/v1.out"
jq -se 'map(select(.id == 2))[0].error == "bad input: no export of vm1 to host2 in migration nope here"' \
	"$TMP/v1.out" >/dev/null || fail "to a version-1 peer: $(cat "$TMP/v1.out") $(cat "$TMP/ssl.err")"
pass "to a version-1 peer (no hello): bad input is version 1's string"

ask "$(hello 2)" "$bad" >"$TMP/v2.out"
jq -se 'map(select(.id == 1))[0].result | .version == 2 and .min_version == 1 and .host == "host1"
	and (.capabilities | index("export"))' "$TMP/v2.out" >/dev/null ||
	fail "host1's hello: $(cat "$TMP/v2.out")"
jq -se 'map(select(.id == 2))[0].error == {"code": -32602, "data": {"host": "host1"},
	"message": "no export of vm1 to host2 in migration nope here"}' "$TMP/v2.out" >/dev/null ||
	fail "to a version-2 peer: $(cat "$TMP/v2.out")"
pass "to a version-2 peer: host1's hello, then bad input as {code: -32602, message, data}"

ask "$(hello 7)" '{"id":3,"method":"locate","params":[{"vm":"vm1"}]}' >"$TMP/v7.out"
jq -se 'map(select(.id == 3))[0].error | .code == -32001
	and .message == "peer host2 speaks netmove protocol 7; this host speaks 1-2"' "$TMP/v7.out" >/dev/null ||
	fail "a version-7 peer was not refused: $(cat "$TMP/v7.out")"
pass "a version-7 peer: its requests refused with code -32001 naming both versions"

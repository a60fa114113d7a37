#!/bin/bash
# A VM's firewall and conntrack entries move with it (netmove fw / ct).
#
#   client 198.18.0.1 -- fabric br0 --+-- host1: nft inet filter, policy drop,
#                                     |     ct established,related accept, ct invalid drop,
#                                     |     jump vm-vm1 + chain vm-vm1 + set vm1-ports
#                                     |     (tagged "netmove:vm=vm1")
#                                     |     OVS br-int - qvo-vm1=qvb-vm1 [qbr-vm1] tap-vm1 - vm1 198.18.1.1
#                                     +-- host2: nft inet filter, the host's part only
#   nf_conntrack_tcp_loose=0 on both hosts.
#
# 1. fw export (host1) | fw import --rename qbr-vm1=qbr-x (host2): vm1's
#    objects on host2 equal host1's after the rename ('nft list', handles and
#    counters aside); importing again replaces, never duplicates; the host's
#    own rules are untouched.
# 2. ct export --addr (host1) | ct import (host2): the entries are equal
#    ('conntrack -L -o extended', timeouts aside); --since carries a change,
#    a new entry and a deleted one; ct remove deletes them.
# 3. A VM-initiated TCP flow (lab probe --reverse) moved host1 -> host2 with
#    its firewall but without its conntrack entry: broken.
# 4. Moved back host2 -> host1 with firewall and conntrack (pre-copy at
#    prepare, delta at resume): it survives; then the source removes vm1's
#    objects and entries, and only those.
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 2 --vms 1 --firewall >/dev/null
ip4=$(status_get '.vms[0].ipv4')
ip6=$(status_get '.vms[0].ipv6')
client=$(status_get '.client.ipv4')
client6=$(status_get '.client.ipv6')
for h in host1 host2; do
	[ "$("$LAB" exec $h sysctl -n net.netfilter.nf_conntrack_tcp_loose)" = 0 ] || fail "$h: tcp_loose is not 0"
done

# vm1's objects as nft lists them, handles and counters aside.
vm_objects() {
	{
		"$LAB" exec "$1" nft list chain inet filter vm-vm1
		"$LAB" exec "$1" nft list set inet filter vm1-ports
		"$LAB" exec "$1" nft list chain inet filter forward | grep 'netmove:vm=vm1'
	} | sed -E 's/ handle [0-9]+//; s/counter packets [0-9]+ bytes [0-9]+/counter/'
}
# The host's own part of table inet filter: without the chains and sets
# tagged "netmove:vm=..." and without tagged rules.
host_part() {
	"$LAB" exec "$1" nft list table inet filter | awk '
		/^\t(chain|set|map) .* \{$/ { inblk = 1; blk = $0 "\n"; tagged = 0; next }
		inblk {
			blk = blk $0 "\n"
			if ($0 ~ /^\t\tcomment "netmove:vm=/) tagged = 1
			if ($0 ~ /^\t}$/) { inblk = 0; if (!tagged) printf "%s", blk }
			next
		}
		{ print }' | grep -v 'comment "netmove:vm=' | grep -v '^$' |
		sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'
}
# conntrack entries of vm1's addresses, timeouts and use counts aside.
ct_entries() {
	"$LAB" exec "$1" conntrack -L -o extended 2>/dev/null |
		grep -F -e "=$ip4 " -e "=$ip6 " | sed -E 's/^(\S+ +\S+ +\S+ +\S+) +[0-9]+ /\1 /; s/ use=[0-9]+//' | sort
}

# ---- 1. the firewall, renamed ----
host2_before=$(host_part host2)
"$LAB" exec host1 "$NETMOVE" fw export vm1 >"$TMP/fw.json"
jq -e '.format == "netmove-firewall" and .version == 1 and .vm == "vm1"' "$TMP/fw.json" >/dev/null ||
	fail "export is not a version 1 firewall document"
"$LAB" exec host2 "$NETMOVE" fw import --rename qbr-vm1=qbr-x <"$TMP/fw.json" >"$TMP/out" ||
	fail "import failed: $(cat "$TMP/out")"
diff <(vm_objects host1 | sed 's/"qbr-vm1"/"qbr-x"/') <(vm_objects host2) >"$TMP/diff" ||
	fail "vm1's objects differ after the rename: $(cat "$TMP/diff")"
vm_objects host2 | grep -q '"qbr-x"' || fail "the rename did not happen"
[ "$(host_part host2)" = "$host2_before" ] || fail "host2's own rules changed"
pass "vm1's chain, set and jump rule on host2 equal host1's after --rename qbr-vm1=qbr-x"

"$LAB" exec host2 "$NETMOVE" fw import <"$TMP/fw.json" >/dev/null
"$LAB" exec host2 "$NETMOVE" fw import <"$TMP/fw.json" >/dev/null
diff <(vm_objects host1) <(vm_objects host2) >"$TMP/diff" || fail "re-import differs: $(cat "$TMP/diff")"
[ "$("$LAB" exec host2 nft list chain inet filter forward | grep -c 'netmove:vm=vm1')" = 1 ] ||
	fail "importing again duplicated the jump rule"
[ "$(host_part host2)" = "$host2_before" ] || fail "host2's own rules changed"
pass "importing again replaces vm1's objects (one jump rule, same chain), host rules untouched"

# ---- 2. conntrack entries, and a delta ----
"$LAB" exec host1 conntrack -I -p tcp -s "$ip4" -d "$client" --sport 40000 --dport 5001 \
	--state ESTABLISHED -u SEEN_REPLY,ASSURED -m 7 -t 300 >/dev/null 2>&1
"$LAB" exec host1 conntrack -I -p udp -s "$ip4" -d "$client" --sport 5353 --dport 53 \
	-t 60 --zone 5 >/dev/null 2>&1
"$LAB" exec host1 conntrack -I -p tcp -s "$client" -d "$ip4" --sport 40001 --dport 5001 \
	--state SYN_RECV -t 50 >/dev/null 2>&1
# SNAT on the way out, and IPv6.
"$LAB" exec host1 conntrack -I -p tcp -s "$ip4" -d "$client" --sport 40003 --dport 5001 \
	--state ESTABLISHED -u SEEN_REPLY,ASSURED -t 300 --src-nat 198.18.0.9 >/dev/null 2>&1
"$LAB" exec host1 conntrack -I -p udp -s "$ip6" -d "$client6" --sport 5353 --dport 53 \
	-t 60 >/dev/null 2>&1
[ "$(ct_entries host1 | wc -l)" -ge 5 ] || fail "could not create conntrack entries on host1"
ct_entries host1 | grep -q 'dst=198.18.0.9 ' || fail "no SNAT entry on host1"
"$LAB" exec host1 "$NETMOVE" ct export --addr "$ip4" --addr "$ip6" >"$TMP/ct.json"
"$LAB" exec host2 "$NETMOVE" ct import <"$TMP/ct.json" >/dev/null
diff <(ct_entries host1) <(ct_entries host2) >"$TMP/diff" || fail "conntrack entries differ: $(cat "$TMP/diff")"
pass "conntrack entries on host2 equal host1's ($(ct_entries host2 | wc -l) entries: state, status, mark, zone, SNAT, IPv6)"

"$LAB" exec host1 conntrack -U -p tcp -s "$ip4" --sport 40000 -m 9 >/dev/null 2>&1
"$LAB" exec host1 conntrack -D -p udp --zone 5 -s "$ip4" >/dev/null 2>&1
"$LAB" exec host1 conntrack -I -p tcp -s "$ip4" -d "$client" --sport 40002 --dport 5001 \
	--state ESTABLISHED -t 300 >/dev/null 2>&1
"$LAB" exec host1 "$NETMOVE" ct export --addr "$ip4" --addr "$ip6" --since "$TMP/ct.json" \
	>"$TMP/delta.json"
jq -e '.delta and (.entries | length) == 2 and (.gone | length) == 1' "$TMP/delta.json" >/dev/null ||
	fail "delta should hold 1 changed, 1 new, 1 gone entry: $(cat "$TMP/delta.json")"
"$LAB" exec host2 "$NETMOVE" ct import <"$TMP/delta.json" >/dev/null
diff <(ct_entries host1) <(ct_entries host2) >"$TMP/diff" || fail "after the delta: $(cat "$TMP/diff")"
pass "--since carries a changed mark, a new entry and a deleted one"

"$LAB" exec host2 "$NETMOVE" ct remove --addr "$ip4" --addr "$ip6" >/dev/null
[ -z "$(ct_entries host2)" ] || fail "ct remove left entries: $(ct_entries host2)"
"$LAB" exec host1 "$NETMOVE" ct remove --addr "$ip4" --addr "$ip6" >/dev/null
pass "ct remove deletes the VM's entries"

# ---- 3. moved without its conntrack entry: the flow breaks ----
# probe_move DST PREPARE HOOK OUT: a VM-initiated TCP stream across a move.
probe_move() {
	rm -f "$TMP/ready"
	"$LAB" probe vm1 --reverse --duration 4 --ready "$TMP/ready" --json >"$4" &
	local probe=$!
	wait_until 10 test -e "$TMP/ready" || fail "probe did not start"
	"$LAB" migrate vm1 "$1" --prepare "$2" --hook "$3" >"$TMP/migrate.out" ||
		fail "migrate failed: $(cat "$TMP/migrate.out")"
	wait $probe || true
	# A receiver whose connection broke waits for it until its own time
	# bound: stop it, so that the next probe can listen.
	local p
	for p in $(ip netns pids "$NETMOVE_LAB-client"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" != nm-probe ] || kill "$p" 2>/dev/null || true
	done
	wait_until 5 sh -c "! '$LAB' exec client ss -Hltn 'sport = :5001' | grep -q ."
}
"$LAB" exec host1 "$NETMOVE" fw export vm1 >"$TMP/fw1.json"
probe_move host2 "netmove fw import <$TMP/fw1.json" "true" "$TMP/p1.json"
jq -e '.tcp.survived == false' "$TMP/p1.json" >/dev/null ||
	fail "the flow survived without its conntrack entry: $(cat "$TMP/p1.json")"
pass "without its conntrack entry the VM-initiated flow breaks ($(jq -c '.tcp' "$TMP/p1.json"))"

# ---- 4. moved with it: the flow survives ----
src_ct="ip netns exec \$NETMOVE_SRC_NETNS netmove ct export --addr \$NETMOVE_IPV4"
prepare="ip netns exec \$NETMOVE_SRC_NETNS netmove fw export vm1 >$TMP/fw2.json &&
	netmove fw import <$TMP/fw2.json && $src_ct >$TMP/pre.json && netmove ct import <$TMP/pre.json"
resume="$src_ct --since $TMP/pre.json >$TMP/resume.json && netmove ct import <$TMP/resume.json"
probe_move host1 "$prepare" "$resume" "$TMP/p2.json"
jq -e '.tcp.survived' "$TMP/p2.json" >/dev/null ||
	fail "the flow broke although its conntrack entry moved: $(cat "$TMP/p2.json")"
jq -e '.entries | length >= 1' "$TMP/pre.json" >/dev/null || fail "the pre-copy held no entry"
pass "with its conntrack entry (pre-copy + delta) the flow survives ($(jq -c '.tcp' "$TMP/p2.json"); migrate: $(cat "$TMP/migrate.out"))"

# The source confirms: vm1's objects and entries go, nothing else.
"$LAB" exec host2 "$NETMOVE" fw remove vm1 >/dev/null
"$LAB" exec host2 "$NETMOVE" ct remove --addr "$ip4" >/dev/null
! "$LAB" exec host2 nft list ruleset | grep -q 'netmove:vm=vm1' || fail "fw remove left vm1's objects"
[ "$(host_part host2)" = "$host2_before" ] || fail "fw remove touched host2's own rules"
[ -z "$(ct_entries host2)" ] || fail "ct remove left entries on host2"
vm_objects host1 | grep -q 'jump vm-vm1' || fail "host1 lost vm1's firewall"
pass "the source removed vm1's objects and entries, and only those"

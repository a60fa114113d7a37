#!/bin/bash
# A hostile peer: host3's netmoved is replaced by tests/lab/hostile_peer.py,
# which holds host3's valid certificate.  As a client it sends host1's
# netmoved requests about VMs that run on host1, about the uplink's name,
# with malformed params, and sprays replies for ids 0..63; as a server it
# answers host1's 'export' (netmove prepare vm3 --from host3) with crafted
# documents (issue 10).  Around every case, host1's nft ruleset, conntrack
# table, OVSDB (Bridge, Port, Interface) and MAC table are read with the
# reference tools: nothing outside vm3, the VM being moved, may change;
# after 'netmove abort vm3' nothing at all; netmoved keeps answering.  Each
# case reports PASS or FAIL; the scenario fails if any did.  At the end a
# legitimate migration (vm2, host2 -> host1) still completes.
#
#   host3: hostile_peer.py (CN host3)  --mgmt, TLS-->  host1: netmoved (target)
#                                      <--mgmt, TLS--  (host1's session to host3)
#   host2: netmoved (an honest peer; vm2's source at the end)
set -eu
. "$(dirname "$0")/lib.bash"

"$LAB" up --hosts 3 --vms 3 --firewall
pki=$LAB_STATE/pki
r1=$(status_get '.hosts[0].ovs_rundir')
db1="unix:$r1/db.sock"
HOSTILE=$TOP/tests/lab/hostile_peer.py
TLS=(--cert "$pki/host3-cert.pem" --key "$pki/host3-key.pem" --ca "$pki/ca.pem")

# A second bridge on host1 (a port document may name it).
ovs-vsctl --db="$db1" --timeout=10 add-br br-ex -- set Bridge br-ex datapath_type=netdev

# ct_baseline: host1's conntrack table holds only entries of its other VMs
# (vm1's, which a document may name), the same before every case, so that
# what one case left does not show in the next.
ct_baseline() {
	"$LAB" exec host1 conntrack -F >/dev/null 2>&1 || true
	"$LAB" exec host1 conntrack -I -p tcp -s 198.18.1.1 -d 198.18.0.1 --sport 40000 --dport 5001 \
		--state ESTABLISHED -t 3600 >/dev/null 2>&1
	"$LAB" exec host1 conntrack -I -p tcp -s 198.18.0.1 -d 198.18.1.1 --sport 40100 --dport 22 \
		--state ESTABLISHED -t 3600 >/dev/null 2>&1
}

# host3 becomes the hostile peer: it listens where host3's netmoved did.
"$LAB" netmoved host3 stop
echo legit >"$TMP/case"
bg "$LAB" exec host3 timeout 600 python3 "$HOSTILE" serve --listen 198.19.0.3:7300 \
	--case-file "$TMP/case" --seconds 590 "${TLS[@]}" >"$TMP/serve.log" 2>&1
wait_until 10 grep -q listening "$TMP/serve.log" || fail "hostile server did not start: $(cat "$TMP/serve.log")"
wait_peers host1 host2 host3

# ---- what host1 holds, read with the reference tools ----

# snap DIR: host1's state, one file per kind, stable lines.
snap() {
	local d=$1
	mkdir -p "$d"
	"$LAB" exec host1 nft -j list ruleset |
		jq -c '.nftables[] | select(has("metainfo") | not)' | sort >"$d/nft"
	# Without timeouts and counters; without the management sessions; without
	# the kernel's IGMPv3 reports of an interface that came up with no IPv4
	# address (0.0.0.0 -> 224.0.0.22: a port the staged import added, at a
	# random delay; once in a make check it landed between two snapshots).
	"$LAB" exec host1 conntrack -L -o extended 2>/dev/null | grep -v '198\.19\.0\.' |
		grep -v ' src=0\.0\.0\.0 dst=224\.0\.0\.22 ' |
		sed -E 's/^(\S+ +\S+ +\S+ +\S+ +)[0-9]+ /\1/; s/ (packets|bytes|use)=[0-9]+//g' |
		sort >"$d/ct" || true
	local t
	for t in Bridge Port Interface; do
		ovs-vsctl --db="$db1" --timeout=10 --format=json list "$t" >"$d/$t.json"
	done
	# Rows by name; uuids replaced by names; volatile columns dropped.
	jq -n -c --slurpfile b "$d/Bridge.json" --slurpfile p "$d/Port.json" \
		--slurpfile i "$d/Interface.json" '
		def v: if type == "array" then
			(if .[0] == "set" then (.[1] | map(v) | sort)
			 elif .[0] == "map" then (.[1] | map({(.[0] | tostring): (.[1] | v)}) | add // {})
			 elif .[0] == "uuid" then .[1] else . end) else . end;
		def rows(t): t[0] as $t | [$t.data[] | [$t.headings, map(v)] | transpose
			| map({(.[0]): .[1]}) | add];
		(rows($i) | map({(._uuid): .name}) | add) as $iname
		| (rows($p) | map({(._uuid): .name}) | add) as $pname
		| def ids(m): if type == "array" then map(m[.] // .) | sort else [m[.] // .] end;
		(rows($b)[] | {t: "bridge", name, ports: (.ports | ids($pname)), fail_mode,
			datapath_type, external_ids, other_config}),
		(rows($p)[] | {t: "port", name, interfaces: (.interfaces | ids($iname)), tag,
			trunks, vlan_mode, external_ids, other_config}),
		(rows($i)[] | {t: "interface", name, type, options, external_ids, ofport,
			other_config})' | sort >"$d/ovs"
	OVS_RUNDIR=$r1 ovs-appctl fdb/show br-int | awk 'NR > 1 { print $1, $2, $3 }' |
		sort >"$d/fdb"
}

# without_vm3 DIR: the snapshot less what belongs to vm3 (its tag, its
# port, its addresses, its MAC).
without_vm3() {
	local d=$1
	mkdir -p "$d.novm3"
	grep -v -e 'netmove:vm=vm3' -e '"chain":"vm-vm3"' -e '"name":"vm-vm3"' "$d/nft" >"$d.novm3/nft" || true
	grep -v -e '198\.18\.1\.3 ' -e '198\.18\.1\.3$' -e '2001:db8:1::3 ' "$d/ct" >"$d.novm3/ct" || true
	# vm3's port goes on br-int, nowhere else.
	grep -v '"name":"qvo-vm3"' "$d/ovs" |
		sed '/"t":"bridge","name":"br-int"/ { s/,"qvo-vm3"//; s/"qvo-vm3",// }' >"$d.novm3/ovs" || true
	grep -v '02:00:00:00:00:03' "$d/fdb" >"$d.novm3/fdb" || true
}

# same A B: no difference between snapshots A and B (the differences
# printed).
same() {
	local k rc=0
	for k in nft ct ovs fdb; do
		if ! diff -u "$1/$k" "$2/$k" >"$TMP/diff.$k"; then
			echo "    $k changed:"
			sed -n '3,40p' "$TMP/diff.$k" | sed 's/^/      /'
			rc=1
		fi
	done
	return $rc
}

alive() { "$LAB" exec host1 timeout 5 "$NETMOVE" status >/dev/null 2>&1; }

results=()
# verdict NAME OK WHY: records a case's outcome.
verdict() {
	if [ "$2" -eq 0 ]; then
		echo "PASS: $1"
		results+=("PASS $1")
	else
		echo "FAIL: $1: $3"
		results+=("FAIL $1")
	fi
}

# server_case NAME: host1 prepares vm3 from host3, which answers NAME's
# document.  While staged, only vm3's objects may have changed; after the
# abort, nothing.
server_case() {
	local name=$1 n=$((${#results[@]} + 1)) bad=0 why=""
	local d=$TMP/s$n
	echo "$name" >"$TMP/case"
	ct_baseline
	snap "$d.before"
	set +e
	"$LAB" exec host1 timeout 30 "$NETMOVE" prepare vm3 --from host3 --json >"$d.prep" 2>&1
	local prc=$?
	set -e
	echo "  $name: prepare exit $prc: $(head -c 300 "$d.prep" | tr '\n' ' ')"
	if ! alive; then
		bad=1 why="netmoved no longer answers (prepare exit $prc)"
		verdict "$name" $bad "$why"
		return 0
	fi
	snap "$d.staged"
	without_vm3 "$d.before"
	without_vm3 "$d.staged"
	if ! same "$d.before.novm3" "$d.staged.novm3"; then
		bad=1 why="changed outside vm3 while staged"
	fi
	if [ "$name" = ip-gateway ] && [ $prc -eq 0 ] && ovs-vsctl --db="$db1" --timeout=5 \
		get Interface qvo-vm3 external_ids:ip-addresses 2>/dev/null | grep -q '198\.18\.0\.1'; then
		bad=1 why="${why:+$why; }vm3 staged with the gateway's address (198.18.0.1)"
	fi
	"$LAB" exec host1 timeout 30 "$NETMOVE" abort vm3 >/dev/null 2>&1 || true
	# The rollback is a step of netmoved's loop: wait for its outcome.
	wait_until 5 sh -c "! ovs-vsctl --db=$db1 list-ports br-int | grep -qx qvo-vm3" || true
	snap "$d.after"
	if ! same "$d.before" "$d.after"; then
		bad=1 why="${why:+$why; }not as before after the abort"
	fi
	case $name in
	vm-other | fw-immediate-jump | port-other-bridge | port-patch | port-vxlan | port-vlan | \
		port-neighbour-name | port-neighbour-identity)
		# A document that is not vm3's own, or that a correct host refuses.
		if [ $prc -eq 0 ]; then
			bad=1 why="${why:+$why; }prepare accepted it"
		fi
		;;
	esac
	alive || { bad=1 why="${why:+$why; }netmoved no longer answers"; }
	verdict "$name" $bad "$why"
}

# client_case NAME [CHECK...]: the hostile peer sends NAME's requests to
# host1; nothing of host1 may change.
client_case() {
	local name=$1 n=$((${#results[@]} + 1)) bad=0 why=""
	local d=$TMP/c$n
	ct_baseline
	snap "$d.before"
	set +e
	"$LAB" exec host3 timeout 60 python3 "$HOSTILE" client --connect 198.19.0.1:7300 \
		--case "$name" --seconds 50 "${TLS[@]}" >"$d.log" 2>&1
	local rc=$?
	set -e
	sed 's/^/    /' "$d.log" | cut -c1-240
	[ $rc -eq 0 ] || { bad=1 why="answers not as expected (hostile_peer.py exit $rc)"; }
	alive || { bad=1 why="${why:+$why; }netmoved no longer answers"; }
	sleep 0.5                  # A confirm's removal is a step of the loop.
	snap "$d.after"
	same "$d.before" "$d.after" || { bad=1 why="${why:+$why; }host1 changed"; }
	verdict "$name" $bad "$why"
}

# The reply spray while host1 waits for host2's answers: host1's prepare
# of vm2 from host2 must get host2's document.
spray_case() {
	local name=spray bad=0 why="" d=$TMP/spray
	ct_baseline
	snap "$d.before"
	"$LAB" exec host3 timeout 20 python3 "$HOSTILE" client --connect 198.19.0.1:7300 \
		--case spray --seconds 6 "${TLS[@]}" >"$d.log" 2>&1 &
	local sp=$!
	local i prc=0
	for i in 1 2 3; do
		"$LAB" exec host1 timeout 20 "$NETMOVE" prepare vm2 --from host2 --json >"$d.prep$i" 2>&1 ||
			{ prc=$?; break; }
		"$LAB" exec host1 timeout 20 "$NETMOVE" abort vm2 >/dev/null 2>&1 || true
		wait_until 5 sh -c "! ovs-vsctl --db=$db1 list-ports br-int | grep -qx qvo-vm2" || true
	done
	wait $sp || true
	sed 's/^/    /' "$d.log" | tail -1
	[ $prc -eq 0 ] || { bad=1 why="prepare of vm2 from host2 failed under the spray: $(head -c 300 "$d.prep$i")"; }
	alive || { bad=1 why="${why:+$why; }netmoved no longer answers"; }
	snap "$d.after"
	same "$d.before" "$d.after" || { bad=1 why="${why:+$why; }host1 changed"; }
	verdict "$name" $bad "$why"
}

echo "== host1 as destination, host3 its hostile source"
for c in fw-immediate-jump fw-untagged port-other-bridge port-patch port-vxlan port-vlan \
	port-neighbour-name port-neighbour-identity ct-others ip-gateway vm-other; do
	server_case "$c"
done
echo silent >"$TMP/case"

echo "== host1 as source, host3 a hostile destination"
client_case export-running
client_case malformed
client_case drain-flood
spray_case
client_case confirm-running
client_case confirm-uplink

# The uplink, if the last case took it: the legitimate migration needs it.
ovs-vsctl --db="$db1" --timeout=10 --may-exist add-port br-int up0

echo "== a legitimate migration afterwards: vm2, host2 -> host1"
if "$LAB" migrate vm2 host1 --netmove --json >"$TMP/migrate.json" 2>&1 &&
	jq -e '.hook_rc == 0' "$TMP/migrate.json" >/dev/null &&
	[ "$(ovs-vsctl --db="$db1" get Interface qvo-vm2 external_ids:vm-id)" = vm2 ]; then
	verdict legit-migration 0 ""
else
	verdict legit-migration 1 "$(head -c 400 "$TMP/migrate.json")"
fi

echo "== summary"
printf '  %s\n' "${results[@]}"
for r in "${results[@]}"; do
	case $r in FAIL*) fail "$(printf '%s\n' "${results[@]}" | grep -c ^FAIL) case(s) failed" ;; esac
done
pass "every hostile case left host1 intact; netmoved serving"

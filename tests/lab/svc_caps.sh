#!/bin/bash
# netmoved with only the capabilities its unit leaves it
# (netmoved.service.in: CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW,
# NoNewPrivileges=yes), each host's started through setpriv as systemd
# would: a VM with firewall objects and a TCP connection moves through them
# (resume done; firewall chain and conntrack entries on the destination;
# TCP survives; the destination's uplink capture saw its announcements).
# Without CAP_NET_ADMIN the source's export fails; without CAP_NET_RAW the
# capture does: either fails here.
#
#            client
#              |
#   fabric ---h1--- host1: netmoved (NET_ADMIN, NET_RAW), OVS, nft  (source)
#          \--h2--- host2: netmoved (NET_ADMIN, NET_RAW), OVS, nft  (destination)
set -eu
. "$(dirname "$0")/lib.bash"
command -v setpriv >/dev/null || skip "setpriv missing (util-linux)"

unit=$TOP/netmove/daemon/netmoved.service.in
[ "$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")" = "CAP_NET_ADMIN CAP_NET_RAW" ] ||
	fail "the unit's capabilities are not CAP_NET_ADMIN CAP_NET_RAW: update this test with it"
grep -qx NoNewPrivileges=yes "$unit" || fail "the unit has no NoNewPrivileges=yes: update this test"

bin=$TMP/bin
mkdir "$bin"
cat >"$bin/netmoved" <<-WRAPPER
	#!/bin/sh
	exec setpriv --bounding-set=-all,+net_admin,+net_raw --inh-caps=-all --no-new-privs \\
		"$TOP/build/netmoved" "\$@"
WRAPPER
chmod 755 "$bin/netmoved"
ln -s "$TOP/build/netmove" "$TOP/build/netmove-libvirt" "$TOP/build/nm-vif" "$TOP/build/nm-probe" "$bin/"
export NETMOVE_BUILD=$bin

"$LAB" up --hosts 2 --vms 1 --firewall
ip4=$(status_get '.vms[0].ipv4')
wait_peers host2 host1
wait_peers host1 host2
for n in 1 2; do
	pid=$(cat "$LAB_STATE/host$n/netmoved.pid")
	eff=$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")
	# CAP_NET_ADMIN is bit 12, CAP_NET_RAW bit 13.
	[ "$eff" = 0000000000003000 ] || fail "host$n's netmoved has capabilities $eff, not NET_ADMIN and NET_RAW alone"
	grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$pid/status" || fail "host$n's netmoved may gain privileges (NoNewPrivs 0)"
done
pass "each netmoved runs with CAP_NET_ADMIN and CAP_NET_RAW alone (CapEff 3000), no new privileges"

bg "$LAB" probe vm1 --duration 4 --ready "$TMP/ready" --json >"$TMP/probe.json"
probe=$(last_bg)
wait_until 10 test -f "$TMP/ready" || fail "probe did not start"
"$LAB" migrate vm1 host2 --netmove --json >"$TMP/migrate.json"
jq -e '.hook_rc == 0' "$TMP/migrate.json" >/dev/null || fail "netmove resume failed: $(cat "$TMP/migrate.json")"
jq -e '.state == "done"' "$LAB_STATE/vm1.resume.json" >/dev/null ||
	fail "resume did not end done: $(cat "$LAB_STATE/vm1.resume.json")"
"$LAB" exec host2 nft list chain inet filter vm-vm1 | grep -q "tcp dport @vm1-ports" ||
	fail "vm1's firewall chain not on host2"
"$LAB" exec host2 conntrack -L -d "$ip4" 2>/dev/null | grep -q "dport=5001" ||
	fail "the probe's conntrack entry is not on host2"
wait "$probe" || true
jq -e '.tcp.survived' "$TMP/probe.json" >/dev/null || fail "TCP broke: $(cat "$TMP/probe.json")"
pass "vm1 moved: resume done, firewall chain and conntrack entries on host2, TCP survived"

# The uplink capture (a packet socket: CAP_NET_RAW) saw the announcements
# leave: without it the journal finishes without this record.
r2=$(status_get '.hosts[1].ovs_rundir')
wait_until 5 sh -c "ls $r2/netmove/done/vm1.*.jsonl" || fail "the migration's journal never finished"
jq -se 'map(select(.step == "announcements-seen" and .first_seen_wall_us > 0)) | length == 1' \
	"$r2"/netmove/done/vm1.*.jsonl >/dev/null ||
	fail "no announcement seen on host2's uplink (capture): $(jq -c .step "$r2"/netmove/done/vm1.*.jsonl | tr '\n' ' ')"
pass "host2's uplink capture saw the announcements leave"

#!/bin/bash
# Refreshes the fuzz corpus's seeds from a lab (root; take the lab lock):
# what 'netmove fw export', 'ct export' and 'port export' print for a VM,
# netmoved's configuration, and the journal and addresses table a real
# migration leaves on the destination.
#
#   flock /tmp/netmove-lab.lock tests/fuzz/seed-lab.sh
#
#   client -- fabric --+-- host1 (source: vm1, its firewall, a conntrack entry)
#                      +-- host2 (destination of 'lab migrate vm1 host2 --netmove')
set -eu
. "$(dirname "$0")/../lab/lib.bash"
C=$TOP/tests/fuzz/corpus

"$LAB" up --hosts 2 --vms 1 --firewall >/dev/null
ip4=$(status_get '.vms[0].ipv4')
client=$(status_get '.client.ipv4')
r1=$(status_get '.hosts[0].ovs_rundir')
r2=$(status_get '.hosts[1].ovs_rundir')
"$LAB" exec host1 conntrack -I -p tcp -s "$ip4" -d "$client" --sport 40000 --dport 5001 \
	--state ESTABLISHED -t 300 >/dev/null 2>&1
mkdir -p "$C"/{fw_doc,ct_doc,port_doc,config,journal,addrtab,qmp}
"$LAB" exec host1 "$NETMOVE" fw export vm1 >"$C/fw_doc/lab-vm1.json"
"$LAB" exec host1 "$NETMOVE" ct export --addr "$ip4" >"$C/ct_doc/lab-vm1.json"
OVS_RUNDIR=$r1 "$NETMOVE" port export vm1 >"$C/port_doc/lab-vm1.json"
cp "$r1/netmoved.json" "$C/config/lab-host1.json"

"$LAB" migrate vm1 host2 --netmove --json >/dev/null
wait_until 5 sh -c "ls $r2/netmove/done/vm1.*.jsonl" || fail "no finished journal on host2"
cat "$r2"/netmove/done/vm1.*.jsonl >"$C/journal/lab-vm1.jsonl"
# Saved from time to time: there only if netmoved saved it already.
for h in 1 2; do
	r=$(status_get ".hosts[$((h - 1))].ovs_rundir")
	[ ! -f "$r/netmove/learned-addresses.json" ] ||
		cp "$r/netmove/learned-addresses.json" "$C/addrtab/lab-host$h.json"
done
pass "seeds in $C: $(find "$C" -name 'lab-*' | wc -l) files"

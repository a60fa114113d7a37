#!/bin/bash
# Benchmark: 100 VM ports created on a bridge that already has 1000 ports,
# side by side in one run:
#   - ovs-vsctl add-port, 100 times in a row (what a hook script would do),
#   - netmove port import, 100 times in a row (one VM per call),
#   - netmove port import of 100 documents in ONE transaction (evacuation).
# Each waits until ovs-vswitchd has applied the change (ovs-vsctl waits for
# cur_cfg; netmove also waits for every ofport).  Not pass/fail: it prints.
#
#   host1 (namespace): OVS br-int (userspace datapath)
#     1000 patch ports (created in one ovs-vsctl transaction), peers on
#     br-sink (no flows: floods end there)
#     100 veth pairs bvN/bpN: bvN becomes the "VM port" in each round
#
#   tests/bench/port_bench.sh [N_EXISTING [N_VMS]]   (defaults 1000, 100)
set -eu
. "$(dirname "$0")/../lab/lib.bash"
export NETMOVE_LAB=${NETMOVE_LAB:-pbn$$}

N_EXISTING=${1:-1000}
N=${2:-100}
[ "$(id -u)" = 0 ] || skip "needs root"
# Measure one binary from start to end, even if the tree is rebuilt meanwhile.
cp "$NETMOVE" "$TMP/netmove"
NETMOVE=$TMP/netmove

"$LAB" up --hosts 1 --vms 1 >/dev/null
R=$(status_get '.hosts[0].ovs_rundir')
NS=$(status_get '.hosts[0].netns')
export OVS_RUNDIR=$R
vs() { ovs-vsctl --db="unix:$R/db.sock" --timeout=600 "$@"; }
now_us() { echo "${EPOCHREALTIME/./}"; }

# 1000 existing ports, one transaction: patch ports (no device, no polling)
# whose peers sit on br-sink, a bridge with no flows (fail_mode=secure), so
# that floods end there instead of looping.
args=(-- add-br br-sink -- set Bridge br-sink datapath_type=netdev fail_mode=secure)
for ((i = 0; i < N_EXISTING; i++)); do
	args+=(-- add-port br-int pa$i -- set Interface pa$i type=patch options:peer=pb$i
		-- add-port br-sink pb$i -- set Interface pb$i type=patch options:peer=pa$i)
done
t0=$(now_us)
vs "${args[@]}"
t1=$(now_us)
have=$(vs list-ports br-int | wc -l)
printf 'setup: %d ports on br-int (%d created in one ovs-vsctl call, %.1f s)\n' \
	"$have" "$N_EXISTING" "$(echo "($t1 - $t0) / 1000000" | bc -l)"

# The VMs' devices, as a hypervisor would have created them, quiet (no IPv6
# autoconfiguration chatter to flood).
ip netns exec "$NS" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
for ((i = 0; i < N; i++)); do
	echo "link add bv$i type veth peer name bp$i"
	echo "link set bv$i up"
	echo "link set bp$i up"
done | ip -n "$NS" -batch -

# One document per VM, from vm1's exported port, and an array of all.
OVS_RUNDIR=$R "$NETMOVE" port export vm1 >"$TMP/vm1.json"
for ((i = 0; i < N; i++)); do
	mac=$(printf '02:00:00:10:%02x:%02x' $((i / 256)) $((i % 256)))
	sed "s/tap-vm1/bv$i/g; s/\"vm1\"/\"bvm$i\"/g; s/02:00:00:00:00:01/$mac/" \
		"$TMP/vm1.json" >"$TMP/d$i.json"
done
{
	echo '['
	for ((i = 0; i < N; i++)); do
		cat "$TMP/d$i.json"
		[ $i = $((N - 1)) ] || echo ','
	done
	echo ']'
} >"$TMP/all.json"
vms=()
for ((i = 0; i < N; i++)); do vms+=("bvm$i"); done

clear_vm_ports() {
	"$NETMOVE" port remove --timeout 600000 "${vms[@]}" >/dev/null
	[ "$(vs list-ports br-int | grep -c '^bv' || true)" = 0 ] || fail "ports left over"
}
check_all_wired() {
	local n
	n=$(vs --format=csv --no-headings --columns=name,ofport list Interface |
		grep '^bv' | awk -F, '$2 > 0' | wc -l)
	[ "$n" = "$N" ] || fail "$1: $n of $N ports have an ofport"
}

# ovs-vsctl, one call per VM port (external_ids as libvirt sets them).
t0=$(now_us)
for ((i = 0; i < N; i++)); do
	mac=$(printf '02:00:00:10:%02x:%02x' $((i / 256)) $((i % 256)))
	vs add-port br-int bv$i -- set Interface bv$i \
		external_ids:attached-mac="$mac" external_ids:vm-id=bvm$i \
		external_ids:iface-id=5e1f0000-0000-4000-8000-00000000$(printf %04x "$i") \
		external_ids:iface-status=active
done
t1=$(now_us)
vsctl_us=$((t1 - t0))
check_all_wired "ovs-vsctl"
clear_vm_ports

# netmove, one call per VM.
t0=$(now_us)
for ((i = 0; i < N; i++)); do
	"$NETMOVE" port import --timeout 600000 "$TMP/d$i.json" >/dev/null
done
t1=$(now_us)
seq_us=$((t1 - t0))
check_all_wired "netmove sequential"
clear_vm_ports

# netmove, all in one transaction.
t0=$(now_us)
"$NETMOVE" port import --timeout 600000 "$TMP/all.json" >"$TMP/out"
t1=$(now_us)
one_us=$((t1 - t0))
check_all_wired "netmove one transaction"

# Staged activation of one port, K times each way: netmove port activate
# vs the two ovs-ofctl calls that undo the same block.
K=20
of0=$(vs get Interface bv0 ofport)
t_nm=0 t_ofctl=0
for ((k = 0; k < K; k++)); do
	"$NETMOVE" port block bvm0
	t0=$(now_us)
	"$NETMOVE" port activate bvm0
	t1=$(now_us)
	t_nm=$((t_nm + t1 - t0))
	"$NETMOVE" port block bvm0
	t0=$(now_us)
	ovs-ofctl del-flows br-int "cookie=$(printf '0x6e6d%012x' "$of0")/-1"
	ovs-ofctl mod-port br-int bv0 forward
	t1=$(now_us)
	t_ofctl=$((t_ofctl + t1 - t0))
	[ -z "$(ovs-ofctl dump-flows br-int | grep 0x6e6d)" ] || fail "ovs-ofctl left flows"
done

# Removal of all 100 in one transaction, for the record.
t0=$(now_us)
clear_vm_ports
t1=$(now_us)
rm_us=$((t1 - t0))

row() {
	printf '%-52s %9.1f ms %8.2f ms/port %7.1fx\n' "$1" \
		"$(echo "$2 / 1000" | bc -l)" "$(echo "$2 / 1000 / $N" | bc -l)" \
		"$(echo "$vsctl_us / $2" | bc -l)"
}
echo
echo "$N VM ports added to a bridge with $have ports (wall clock, until applied):"
printf '%-52s %12s %16s %8s\n' "" "total" "per port" "speedup"
row "ovs-vsctl add-port, $N calls" $vsctl_us
row "netmove port import, $N calls" $seq_us
row "netmove port import, $N documents, 1 transaction" $one_us
row "(netmove port remove, $N VMs, 1 transaction)" $rm_us
echo
printf 'Unblocking one port (mean of %d, %d ports on the bridge):\n' "$K" "$have"
printf '%-52s %9.2f ms\n' "netmove port activate" "$(echo "$t_nm / $K / 1000" | bc -l)"
printf '%-52s %9.2f ms\n' "ovs-ofctl del-flows cookie=C/-1 + mod-port forward" "$(echo "$t_ofctl / $K / 1000" | bc -l)"

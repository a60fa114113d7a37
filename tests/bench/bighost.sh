#!/bin/bash
# A big host against a small one: what netmove's per-VM operations cost as
# the HOST grows, not the VM (issue 12, item 5).  Figures, not pass/fail.
#
# One lab (--hosts 2 --vms 20 --firewall).  First host1 as the lab makes it
# (10 VMs), then the same host1 grown to a hypervisor's size:
#   - PORTS (1000) more ports on br-int, each with a VM's external_ids
#     (vm-id big-K, iface-id, attached-mac): OVSDB rows whose devices do not
#     exist (ovs-vswitchd gives them no OpenFlow port: ofport -1), or with
#     BIG_DEVICES=tap a real tap device each (ovs-vswitchd opens them);
#   - CT (100000) conntrack entries (ESTABLISHED TCP between 198.19.128.0/17
#     and 198.19.100.1), made by `netmove ct import` of a generated document;
#   - RULES (10000) nftables rules: a chain and a set per fake VM, 10 rules
#     each, tagged "netmove:vm=big-K" as the lab's VMs' are.
# Each figure is measured on the small host1 and then on the big host1, in
# the same run:
#   status            `netmove status` on host1 (median of 5)
#   port/fw/ct export the parts of one VM's export, as CLIs on host1
#   prepare from      `lab migrate vmK host2 --netmove`: prepare of one VM
#                     whose source is host1 (export there)
#   prepare to        the same, one VM from host2 to host1 (import there)
#   verify            `netmove verify VM` on host1 after that move
#
#   PORTS=1000 CT=100000 RULES=10000 BIG_DEVICES=none|tap
#
#   client -- fabric -- host1 (grows) , host2
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
LAB=$TOP/netns-lab/lab
NETMOVE_LAB=bbh$(printf "%x" $(($$ % 4096)))
export NETMOVE_LAB
TMP=$(mktemp -d /tmp/netmove-bighost.XXXXXX)
PORTS=${PORTS:-1000}
CT=${CT:-100000}
RULES=${RULES:-10000}
BIG_DEVICES=${BIG_DEVICES:-none}
NM=$TOP/build/netmove
# verify is a CLI: also timed with another build's (BASE_NETMOVE), side by side.
BASE_NETMOVE=${BASE_NETMOVE:-/var/tmp/netmove-base-f0c6c68/build/netmove}
trap '"$LAB" down >/dev/null 2>&1 || true; rm -rf "$TMP"' EXIT

ms_of() {       # ms_of CMD...: wall ms of CMD (output dropped; "fail" if it fails)
	local t0 t1
	t0=${EPOCHREALTIME/./}
	"$@" >/dev/null 2>"$TMP/err" || { echo fail; return; }
	t1=${EPOCHREALTIME/./}
	awk -v d=$((t1 - t0)) 'BEGIN {printf "%.1f\n", d / 1000}'
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print "-"}'; }
h1() { "$LAB" exec host1 "$@"; }
h2() { "$LAB" exec host2 "$@"; }

# measure PHASE VM_OUT VM_IN: the figures of one phase into $TMP/PHASE.
measure() {
	local p=$1 out=$2 in=$3 ip i
	ip=$("$LAB" status --json | jq -r --arg v "$out" '.vms[] | select(.name == $v) | .ipv4')
	{
		echo "status=$(for i in 1 2 3 4 5; do ms_of h1 "$NM" status; done | median)"
		echo "port_export=$(for i in 1 2 3; do ms_of h1 "$NM" port export "$out"; done | median)"
		echo "fw_export=$(for i in 1 2 3; do ms_of h1 "$NM" fw export "$out"; done | median)"
		echo "ct_export=$(for i in 1 2 3; do ms_of h1 "$NM" ct export --addr "$ip"; done | median)"
		"$LAB" migrate "$out" host2 --netmove --json >"$TMP/m1.json" 2>"$TMP/m1.err" &&
			echo "prepare_from=$(jq -r .prepare_ms "$TMP/m1.json")" || echo "prepare_from=fail"
		"$LAB" migrate "$in" host1 --netmove --json >"$TMP/m2.json" 2>"$TMP/m2.err" &&
			echo "prepare_to=$(jq -r .prepare_ms "$TMP/m2.json")" || echo "prepare_to=fail"
		echo "verify=$(for i in 1 2 3; do ms_of h1 "$NM" verify "$in"; done | median)"
		[ ! -x "$BASE_NETMOVE" ] ||
			echo "verify_base=$(for i in 1 2 3; do ms_of h1 "$BASE_NETMOVE" verify "$in"; done | median)"
		echo "verify_rc=$(h1 "$NM" verify "$in" >"$TMP/verify.$p" 2>&1; echo $?)"
		echo "ports=$(h1 ovs-vsctl --timeout=30 --db="unix:/run/netmove-lab/$NETMOVE_LAB/host1/db.sock" list-ports br-int | wc -l)"
		echo "ct=$(h1 conntrack -C)"
		echo "rules=$(h1 nft -a list ruleset | grep -c 'handle [0-9]*$' || true)"
	} >"$TMP/$p"
}

grow() {
	local db=/run/netmove-lab/$NETMOVE_LAB/host1/db.sock k
	# Ports: one OVSDB transaction (without devices, ovs-vswitchd logs
	# "could not open network device" for each: said once here).
	local -a args=()
	if [ "$BIG_DEVICES" = tap ]; then
		for k in $(seq "$PORTS"); do echo "tuntap add big$k mode tap"; echo "link set big$k up"; done |
			h1 ip -b -
	fi
	for k in $(seq "$PORTS"); do
		args+=(-- add-port br-int "big$k" -- set Interface "big$k" "external_ids:vm-id=big-$k"
			"external_ids:iface-id=$(printf 'b16f0000-0000-4000-8000-%012x' "$k")"
			"external_ids:attached-mac=$(printf '02:00:00:01:%02x:%02x' $((k >> 8)) $((k & 255)))")
	done
	ovs-vsctl --timeout=300 --db="unix:$db" "${args[@]}" 2>"$TMP/vsctl.err" ||
		echo "bench: ovs-vsctl: $(grep -vc 'could not open network device' "$TMP/vsctl.err") error(s) other than absent devices" >&2
	# Conntrack: one document.
	awk -v n="$CT" 'BEGIN {
		printf "{\"format\": \"netmove-conntrack\", \"version\": 1, \"delta\": false,\n"
		printf " \"columns\": [\"family\", \"proto\", \"src\", \"dst\", \"sport\", \"dport\", \"zone\", \"icmp_type\", \"icmp_code\", \"icmp_id\", \"status\", \"timeout\", \"state\", \"tcp_flags\", \"tcp_rflags\", \"wscale\", \"rwscale\", \"mark\"],\n \"entries\": [\n"
		for (i = 0; i < n; i++) {
			a = int(i / 500); s = 20000 + i % 500
			printf "%s[\"ipv4\", 6, \"198.19.%d.%d\", \"198.19.100.1\", %d, 443, 0, null, null, null, 14, 431999, 3, 39, 35, 7, 7, 0]\n", \
				(i ? "," : ""), 128 + int(a / 250), 1 + a % 250, s
		}
		printf "], \"gone\": []}\n"
	}' >"$TMP/ct.json"
	h1 "$NM" ct import <"$TMP/ct.json"
	# Rules: RULES / 10 fake VMs, each a set, a chain and 10 rules.
	awk -v n=$((RULES / 10)) 'BEGIN {
		for (k = 1; k <= n; k++) {
			t = "netmove:vm=big-" k
			printf "add set inet filter big%d-ports { type inet_service; comment \"%s\"; elements = { 5001 } }\n", k, t
			printf "add chain inet filter vm-big%d { comment \"%s\"; }\n", k, t
			a = sprintf("198.19.%d.%d", 128 + int(k / 250), 1 + k % 250)
			for (r = 0; r < 9; r++)
				printf "add rule inet filter vm-big%d ip saddr %s tcp dport %d accept comment \"%s\"\n", k, a, 1000 + r, t
			printf "add rule inet filter forward iifname \"qbr-big%d\" jump vm-big%d comment \"%s\"\n", k, k, t
		}
	}' | h1 nft -f -
}

echo "bench: lab up" >&2
"$LAB" up --hosts 2 --vms 20 --firewall >/dev/null
echo "bench: small host1" >&2
measure small vm1 vm2
echo "bench: growing host1 (ports $PORTS, devices $BIG_DEVICES, ct $CT, rules $RULES)" >&2
t0=${EPOCHREALTIME/./}
grow
t1=${EPOCHREALTIME/./}
echo "bench: grown in $(((t1 - t0) / 1000)) ms; big host1" >&2
measure big vm3 vm4
"$LAB" down >/dev/null

printf '%-40s %12s %12s\n' "host1: ports, conntrack, rules" \
	"$(. "$TMP/small"; echo "$ports,$ct,$rules")" "$(. "$TMP/big"; echo "$ports,$ct,$rules")"
for f in status port_export fw_export ct_export prepare_from prepare_to verify verify_base verify_rc; do
	case $f in
	status) l="netmove status (ms)" ;;
	port_export) l="netmove port export VM (ms)" ;;
	fw_export) l="netmove fw export VM (ms)" ;;
	ct_export) l="netmove ct export --addr VM's (ms)" ;;
	prepare_from) l="prepare, VM from host1 (ms)" ;;
	prepare_to) l="prepare, VM to host1 (ms)" ;;
	verify) l="netmove verify VM on host1 (ms)" ;;
	verify_base) l="  the same, BASE_NETMOVE's verify (ms)" ;;
	verify_rc) l="  its exit code" ;;
	esac
	printf '%-40s %12s %12s\n' "$l" "$(. "$TMP/small"; eval echo "\${$f:--}")" "$(. "$TMP/big"; eval echo "\${$f:--}")"
done
echo "(small: host1 as the lab makes it; big: the same host1 grown in the same run.  Devices: $BIG_DEVICES.)"
for p in small big; do [ "$(. "$TMP/$p"; echo "$verify_rc")" = 0 ] || { echo "verify ($p):"; sed 's/^/  /' "$TMP/verify.$p"; }; done

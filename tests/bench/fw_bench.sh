#!/bin/bash
# Benchmark: moving a VM's firewall and conntrack entries, netmove against
# the tools an operator would otherwise use, measured in one run and printed
# side by side.  Figures, not a pass/fail test.
#
#   [ns fwb-src-PID] --netmove fw export | netmove fw import--> [ns fwb-dst-PID]
#                    --nft list table | nft -f - ------------> [ns fwb-nft-PID]
#   FILE ------------nft -f FILE (the raw load) -------------> [ns fwb-raw-PID]
#
#   1. a VM firewall: table inet vmb (comment "netmove:vm=vmb") with RULES
#      rules (one in ten with an anonymous set) and a set of ELEMS elements;
#   2. CT conntrack entries of one VM address: netmove ct export + import
#      against conntrack -L plus one conntrack -I per entry (timed on a
#      sample of SAMPLE entries and scaled: the whole would take minutes);
#   3. a batch (the source's exports of a host evacuation): VMS VMs, each
#      with a tagged jump in the host's forward chain, a chain of its own
#      and a set of 10 elements, BRULES rules in all, in [ns fwb-many-PID]:
#      one fw_export_many() of all the VMs against one fw_export() per VM
#      (build/fw_export_bench, in one process), 'nft list ruleset' beside.
#
# Each figure is the best of 3 runs (the machine is shared).
#
#   tests/bench/fw_bench.sh [RULES [ELEMS [CT [SAMPLE [VMS [BRULES]]]]]]
#                           (10000 100000 100000 1000 100 10000)
set -eu
cd "$(dirname "$0")/../.."
NETMOVE=$PWD/build/netmove
RULES=${1:-10000} ELEMS=${2:-100000} CT=${3:-100000} SAMPLE=${4:-1000}
VMS=${5:-100} BRULES=${6:-10000}
BENCH=$PWD/build/fw_export_bench
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -x "$NETMOVE" ] || { echo "SKIP: build/netmove missing (make)"; exit 77; }
[ -x "$BENCH" ] || { echo "SKIP: build/fw_export_bench missing (make)"; exit 77; }
for t in nft conntrack python3 jq; do
	command -v $t >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done

NS="fwb-src-$$ fwb-dst-$$ fwb-nft-$$ fwb-raw-$$ fwb-many-$$"
TMP=$(mktemp -d /tmp/fw-bench.XXXXXX)
cleanup() {
	local rc=$? n
	for n in $NS; do ip netns del "$n" 2>/dev/null || true; done
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
# A private copy: others rebuilding the tree must not pull it away mid-run.
cp "$NETMOVE" "$TMP/netmove"
NETMOVE=$TMP/netmove
cp "$BENCH" "$TMP/fw_export_bench"
BENCH=$TMP/fw_export_bench
for n in $NS; do ip netns add "$n"; done
nsx() { local n=$1; shift; ip netns exec "fwb-$n-$$" "$@"; }

now() { echo "${EPOCHREALTIME/./}"; }
# timed VAR CMD...: runs CMD, stores its wall time in microseconds in VAR.
timed() {
	local var=$1 t0
	shift
	t0=$(now)
	"$@"
	printf -v "$var" '%d' $(($(now) - t0))
}
# best VAR PREP CMD...: the best of 3 runs of CMD, each after PREP (untimed),
# against the noise of a shared machine.
best() {
	local var=$1 prep=$2 r t min=
	shift 2
	for r in 1 2 3; do
		eval "$prep"
		timed t "$@"
		[ -n "$min" ] && [ "$min" -le "$t" ] || min=$t
	done
	printf -v "$var" '%d' "$min"
}
secs() { printf '%d.%03d' $(($1 / 1000000)) $(($1 / 1000 % 1000)); }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# ---- 1. the firewall ----
python3 - "$RULES" "$ELEMS" >"$TMP/vmb.nft" <<'EOF'
import sys
rules, elems = int(sys.argv[1]), int(sys.argv[2])
out = ['table inet vmb {', '\tcomment "netmove:vm=vmb"',
       '\tset big {', '\t\ttype ipv4_addr', '\t\telements = {']
out += ['\t\t\t198.%d.%d.%d,' % (18 + (i >> 16), (i >> 8) & 255, i & 255)
        for i in range(elems)]
out += ['\t\t}', '\t}', '\tchain forward {',
        '\t\ttype filter hook forward priority filter; policy accept;',
        '\t\tip saddr @big iifname "tap-vmb" jump vm', '\t}', '\tchain vm {']
for i in range(rules):
    src = '198.18.%d.%d' % (i // 250, i % 250 + 1)
    if i % 10 == 0:
        out.append('\t\tiifname "tap-vmb" ip saddr %s udp dport { 53, 123, %d } '
                   'counter accept' % (src, 1000 + i))
    else:
        out.append('\t\tiifname "tap-vmb" ip saddr %s tcp dport %d counter '
                   'accept comment "rule %d"' % (src, 1000 + i, i))
out += ['\t}', '}']
print('\n'.join(out))
EOF
nsx src nft -f "$TMP/vmb.nft"

drop() { nsx "$1" nft delete table inet vmb 2>/dev/null || true; }
best t_raw "drop raw" nsx raw nft -f "$TMP/vmb.nft"
best t_export : sh -c "ip netns exec fwb-src-$$ $NETMOVE fw export vmb >$TMP/fw.json"
best t_import "drop dst" sh -c "ip netns exec fwb-dst-$$ $NETMOVE fw import <$TMP/fw.json >/dev/null"
best t_pipe "drop nft" sh -c "ip netns exec fwb-src-$$ nft list table inet vmb |
	ip netns exec fwb-nft-$$ nft -f -"
# Importing again replaces the VM's objects (delete + add in one batch).
best t_reimport : sh -c "ip netns exec fwb-dst-$$ $NETMOVE fw import <$TMP/fw.json >/dev/null"

same=no
norm() { nsx "$1" nft list table inet vmb | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'; }
[ "$(norm src | md5sum)" = "$(norm dst | md5sum)" ] && same=yes
t_nm=$((t_export + t_import))

echo "VM firewall: $RULES rules ($((RULES / 10)) with anonymous sets), set of $ELEMS elements;"
echo "document $(($(stat -c %s "$TMP/fw.json") / 1024)) KiB; destination 'nft list' identical to source: $same"
printf '  %-44s %9s\n' "what" "seconds"
printf '  %-44s %9s\n' "netmove fw export" "$(secs $t_export)"
printf '  %-44s %9s\n' "netmove fw import (one batch)" "$(secs $t_import)"
printf '  %-44s %9s\n' "netmove fw import again (replace)" "$(secs $t_reimport)"
printf '  %-44s %9s   <- netmove export+import\n' "netmove export + import" "$(secs $t_nm)"
printf '  %-44s %9s   %sx netmove'"'"'s time\n' "nft list table inet vmb | nft -f -" "$(secs $t_pipe)" \
	"$(ratio $t_pipe $t_nm)"
printf '  %-44s %9s   netmove import is %sx of it\n' "nft -f FILE (raw load of the same ruleset)" \
	"$(secs $t_raw)" "$(ratio $t_import $t_raw)"
echo

# ---- 2. conntrack ----
python3 - "$CT" >"$TMP/ct-seed.json" <<'EOF'
import json, sys
n = int(sys.argv[1])
cols = ["family", "proto", "src", "dst", "sport", "dport", "zone",
        "icmp_type", "icmp_code", "icmp_id", "status", "timeout", "state"]
rows = [["ipv4", 6, "198.18.1.1",
         "198.19.%d.%d" % (100 + i // 50000, 1 + (i // 250) % 200),
         1024 + i % 60000, 5001, 0, None, None, None, 14, 3600, 3]
        for i in range(n)]
json.dump({"format": "netmove-conntrack", "version": 1, "delta": False,
           "columns": cols, "entries": rows, "gone": []}, sys.stdout)
EOF
nsx src "$NETMOVE" ct import <"$TMP/ct-seed.json" >/dev/null
n_src=$(nsx src conntrack -C)

best t_ctexp : sh -c "ip netns exec fwb-src-$$ $NETMOVE ct export --addr 198.18.1.1 >$TMP/ct.json"
best t_ctimp "nsx dst conntrack -F 2>/dev/null" \
	sh -c "ip netns exec fwb-dst-$$ $NETMOVE ct import <$TMP/ct.json >/dev/null"
n_dst=$(nsx dst conntrack -C)
best t_ctupd : sh -c "ip netns exec fwb-dst-$$ $NETMOVE ct import <$TMP/ct.json >/dev/null"
best t_ctdelta : sh -c "ip netns exec fwb-src-$$ $NETMOVE ct export --addr 198.18.1.1 \
	--since $TMP/ct.json >$TMP/delta.json"
best t_ctlist : sh -c "ip netns exec fwb-src-$$ conntrack -L -s 198.18.1.1 >$TMP/ct.txt 2>/dev/null"

# One conntrack -I per entry, on a sample of the listed entries.
awk -v max="$SAMPLE" 'NR <= max {
	delete f
	for (i = 1; i <= NF; i++)
		if (split($i, kv, "=") == 2 && !(kv[1] in f)) f[kv[1]] = kv[2]
	printf "-p tcp -s %s -d %s --sport %s --dport %s --state ESTABLISHED -t %s\n",
		f["src"], f["dst"], f["sport"], f["dport"], $3
}' "$TMP/ct.txt" >"$TMP/ct.args"
n_sample=$(wc -l <"$TMP/ct.args")
inject_sample() {
	local args
	while read -r args; do
		# shellcheck disable=SC2086
		ip netns exec "fwb-nft-$$" conntrack -I $args >/dev/null 2>&1
	done <"$TMP/ct.args"
}
timed t_ctins inject_sample
n_ins=$(nsx nft conntrack -C)
t_ctins_all=$((t_ctins * n_src / (n_sample > 0 ? n_sample : 1)))
t_ctnm=$((t_ctexp + t_ctimp))
t_ctref=$((t_ctlist + t_ctins_all))

echo "conntrack: $n_src entries of one VM address on the source, $n_dst on the destination after import"
printf '  %-44s %9s\n' "what" "seconds"
printf '  %-44s %9s\n' "netmove ct export --addr" "$(secs $t_ctexp)"
printf '  %-44s %9s\n' "netmove ct import (create)" "$(secs $t_ctimp)"
printf '  %-44s %9s\n' "netmove ct import again (update)" "$(secs $t_ctupd)"
printf '  %-44s %9s   (%d changed, %d gone)\n' "netmove ct export --since (delta)" "$(secs $t_ctdelta)" \
	"$(jq '.entries | length' "$TMP/delta.json")" "$(jq '.gone | length' "$TMP/delta.json")"
printf '  %-44s %9s   <- netmove export+import (target 0.5 s)\n' "netmove export + import" "$(secs $t_ctnm)"
printf '  %-44s %9s\n' "conntrack -L -s ADDR" "$(secs $t_ctlist)"
printf '  %-44s %9s   (%d entries timed, %d created: scaled x%d)\n' "conntrack -I, one per entry" \
	"$(secs $t_ctins_all)" "$n_sample" "$n_ins" $((n_src / (n_sample > 0 ? n_sample : 1)))
printf '  %-44s %9s   %sx netmove'"'"'s time\n' "conntrack -L + conntrack -I per entry" \
	"$(secs $t_ctref)" "$(ratio $t_ctref $t_ctnm)"
echo

# ---- 3. a batch: one dump for VMS VMs against one per VM ----
python3 - "$VMS" "$BRULES" >"$TMP/many.nft" <<'EOF'
import sys
vms, rules = int(sys.argv[1]), int(sys.argv[2])
per = max(1, rules // vms)
out = ['table inet filter {', '\tchain forward {',
       '\t\ttype filter hook forward priority filter; policy accept;']
out += ['\t\tiifname "tap-vm%d" jump vm-vm%d comment "netmove:vm=vm%d"'
        % (v, v, v) for v in range(1, vms + 1)]
out.append('\t}')
for v in range(1, vms + 1):
    out += ['\tset vm%d-ports {' % v, '\t\ttype inet_service',
            '\t\tcomment "netmove:vm=vm%d"' % v,
            '\t\telements = { %s }' % ', '.join(str(1000 + k)
                                               for k in range(10)),
            '\t}', '\tchain vm-vm%d {' % v,
            '\t\tcomment "netmove:vm=vm%d"' % v]
    for i in range(per - 2):
        out.append('\t\tip saddr 198.18.%d.%d tcp dport %d counter accept'
                   % (v % 250, i % 250 + 1, 2000 + i))
    out += ['\t\ttcp dport @vm%d-ports accept' % v, '\t}']
out.append('}')
print('\n'.join(out))
EOF
nsx many nft -f "$TMP/many.nft"
vmlist=$(seq -f 'vm%g' 1 "$VMS")
# shellcheck disable=SC2086
line=$(nsx many "$BENCH" --runs 3 $vmlist)
kv() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
best t_list : sh -c "ip netns exec fwb-many-$$ nft list ruleset >/dev/null"
t_many=$(kv many_us) t_each=$(kv each_us) t_one=$(kv one_us)

echo "a batch: $(kv vms) VMs, $(kv rules) rules (jumps included) and $(kv sets) sets" \
	"($(kv elements) elements) exported"
printf '  %-44s %9s\n' "what" "seconds"
printf '  %-44s %9s   <- one dump, split per VM\n' "fw_export_many of $(kv vms) VMs" "$(secs $t_many)"
printf '  %-44s %9s   %sx the batch\n' "fw_export, one per VM ($(kv vms) dumps)" "$(secs $t_each)" \
	"$(ratio $t_each $t_many)"
printf '  %-44s %9s   the batch is %sx one VM alone\n' "fw_export of one VM" "$(secs $t_one)" \
	"$(ratio $t_many $t_one)"
printf '  %-44s %9s\n' "nft list ruleset (the whole, as text)" "$(secs $t_list)"

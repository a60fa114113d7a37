#!/bin/bash
# Benchmark: a VM's conntrack entries on a host of 100k, read by dump and by
# events, side by side in one run.  Figures, not a pass/fail test.
#
#   [ns ctb-PID]  ENTRIES entries (netmove ct import of a generated document):
#                 vm 198.18.1.1: 100 (imported after the listener opened,
#                 as under a netmoved listening from its start);
#                 vms 198.18.2.1-100: 100 each; the rest, other addresses.
#
#   1. one VM's export: conntrack -L (the reference tool, whole table and
#      -s ADDR), main's netmove ct export --addr (every entry parsed, then
#      filtered; if /work/main/build/netmove exists) and this tree's (read
#      the addresses, parse only matches): process and in-process times;
#   2. 100 VMs: one ct_export_many() against 100 ct_export();
#   3. the delta at the pause with 0, 10 and 100 of the VM's entries changed
#      (their mark, through netmove ct import: update events): from events
#      (ct_events_delta(): buffered events + one GET per untouched entry)
#      against main's dump-and-compare (netmove ct export --since).
#
#   tests/bench/ct_bench.sh [ENTRIES]   (100000)
set -eu
cd "$(dirname "$0")/../.."
TOP=$PWD
N=${1:-100000}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
for t in build/netmove build/nm-ct; do
	[ -x "$t" ] || { echo "SKIP: $t missing (make)"; exit 77; }
done
for t in conntrack python3 jq; do
	command -v $t >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done

NS=ctb-$$
TMP=$(mktemp -d /tmp/ct-bench.XXXXXX)
cleanup() {
	local rc=$?
	[ -n "${NMCT_PID:-}" ] && kill "$NMCT_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
# Private copies: others rebuilding the trees must not pull them away.
cp build/netmove build/nm-ct "$TMP/"
MAIN=
if [ -x /work/main/build/netmove ]; then
	cp /work/main/build/netmove "$TMP/netmove-main"
	MAIN=$TMP/netmove-main
fi
ip netns add "$NS"
nsx() { ip netns exec "$NS" "$@"; }

now() { echo "${EPOCHREALTIME/./}"; }
# best VAR CMD...: the best of 3 runs' wall time (microseconds).
best() {
	local var=$1 r t0 t min=
	shift
	for r in 1 2 3; do
		t0=$(now)
		"$@" >/dev/null 2>&1
		t=$(($(now) - t0))
		[ -n "$min" ] && [ "$min" -le "$t" ] || min=$t
	done
	printf -v "$var" '%d' "$min"
}
ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }
row() { printf '  %-58s %10s\n' "$1" "$2"; }

# doc FILE KIND [MARK]: a conntrack document: KIND "host" (all but the
# VM's), "vm" (the VM's 100, with MARK), "vmK" (the first K of them).
python3 - "$N" "$TMP" <<'EOF'
import json, sys
n, tmp = int(sys.argv[1]), sys.argv[2]
cols = ["family", "proto", "src", "dst", "sport", "dport", "zone",
        "icmp_type", "icmp_code", "icmp_id", "status", "timeout", "state",
        "tcp_flags", "tcp_rflags", "wscale", "rwscale", "mark"]
def row(src, i, mark=0):
    return ["ipv4", 6, src, "198.19.%d.%d" % (i // 60000, 1 + (i // 250) % 200),
            1024 + i % 60000, 5001, 0, None, None, None, 14, 3600, 3,
            None, None, None, None, mark or None]
def dump(name, rows):
    json.dump({"format": "netmove-conntrack", "version": 1, "delta": False,
               "columns": cols, "entries": rows, "gone": []},
              open("%s/%s.json" % (tmp, name), "w"))
host = []
for i in range(100, n):
    if i < 10100:
        src = "198.18.2.%d" % (1 + (i - 100) // 100)
    else:
        src = "198.18.3.%d" % (1 + i % 200)
    host.append(row(src, i))
dump("host", host)
dump("vm", [row("198.18.1.1", i) for i in range(100)])
for k in (10, 100):
    dump("vm%d" % k, [row("198.18.1.1", i, 7) for i in range(k)])
EOF

nsx "$TMP/netmove" ct import <"$TMP/host.json" >/dev/null
# The listener opens before the VM's entries exist, as netmoved's does.
mkfifo "$TMP/in" "$TMP/out"
nsx "$TMP/nm-ct" events --addr 198.18.1.1 <"$TMP/in" >"$TMP/out" 2>"$TMP/err" &
NMCT_PID=$!
exec 3>"$TMP/in" 4<"$TMP/out"
ask() {
	[ $# -eq 0 ] || echo "$1" >&3
	read -r -t 30 reply <&4 || { echo "nm-ct: $(cat "$TMP/err")" >&2; exit 1; }
}
ask
nsx "$TMP/netmove" ct import <"$TMP/vm.json" >/dev/null
total=$(nsx conntrack -C)

# ---- 1. one VM's export ----
best t_list nsx conntrack -L
best t_lists nsx conntrack -L -s 198.18.1.1
[ -n "$MAIN" ] && best t_main nsx "$MAIN" ct export --addr 198.18.1.1
best t_new nsx "$TMP/netmove" ct export --addr 198.18.1.1
in_new=$(nsx "$TMP/nm-ct" export 5 --addr 198.18.1.1)
nsx "$TMP/netmove" ct export --addr 198.18.1.1 >"$TMP/base.json"

echo "conntrack: $total entries in the namespace, $(jq '.entries | length' "$TMP/base.json") of vm 198.18.1.1"
printf '  %-58s %10s\n' "what" "ms"
row "conntrack -L (whole table, to /dev/null)" "$(ms $t_list)"
row "conntrack -L -s 198.18.1.1" "$(ms $t_lists)"
[ -n "$MAIN" ] && row "netmove ct export --addr, main (parse all, then filter)" "$(ms $t_main)"
row "netmove ct export --addr, this tree (filter, parse matches)" "$(ms $t_new)"
row "  ct_export() in-process, this tree (best of 5)" "$(echo "$in_new" | jq .best_ms)"
echo

# ---- 2. 100 VMs ----
many=$(nsx "$TMP/nm-ct" many 100 198.18.2)
echo "100 VMs (198.18.2.1-100, 100 entries each): $(echo "$many" | jq .entries) entries exported"
row "ct_export_many(): one dump for the 100" "$(echo "$many" | jq .many_ms)"
row "ct_export() x 100 (a dump each)" "$(echo "$many" | jq .singles_ms)"
echo

# ---- 3. the delta at the pause ----
ask watch
base_ms=$(echo "$reply" | jq .ms)
echo "delta of vm 198.18.1.1 (watch + export: $base_ms ms, $(echo "$reply" | jq .base) entries)"
printf '  %-24s %9s %9s %7s %6s %6s %14s\n' "changed" "events ms" "entries" "events" "GETs" "dump?" "main --since ms"
for k in 0 10 100; do
	mark=7
	if [ $k -gt 0 ]; then
		# A new mark each round: every round changes its k entries.
		jq --argjson m $((k + 1)) '.entries |= map(.[17] = $m)' "$TMP/vm$k.json" >"$TMP/chg.json"
		nsx "$TMP/netmove" ct import <"$TMP/chg.json" >/dev/null
	fi
	since=-
	if [ -n "$MAIN" ]; then
		best t_since nsx "$MAIN" ct export --addr 198.18.1.1 --since "$TMP/base.json"
		since=$(ms $t_since)
	fi
	ask delta
	printf '  %-24s %9s %9s %7s %6s %6s %14s\n' "$k of 100" "$(echo "$reply" | jq .ms)" \
		"$(echo "$reply" | jq '.entries + .gone')" "$(echo "$reply" | jq .events)" \
		"$(echo "$reply" | jq .gets)" "$(echo "$reply" | jq .fallback)" "$since"
	nsx "$TMP/netmove" ct export --addr 198.18.1.1 >"$TMP/base.json"
done
ask stats
echo "listener: $(echo "$reply" | jq -c 'del(.ms)')   (goal: delta 5 ms)"

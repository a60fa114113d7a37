#!/bin/bash
# netmove's address learner on a real capture: build/nm-learn runs the
# learner on the namespace's "any" device (DLT_LINUX_SLL2, incoming only)
# knowing the "ports" v1b, v2b, v3b; the "VMs" send from the other ends
# with arping, ndisc6 and (for a tagged frame) netmove announce --dev.
#
#   [ns alearn-PID]
#     vm1  v1a 02:00:00:00:aa:01 ==veth== v1b  port of vm1, attached-mac aa:01
#     vm2  v2a 02:00:00:00:bb:01 ==veth== v2b  port of vm2, attached-mac bb:01
#     vm3  v3a 02:00:00:00:aa:01 ==veth== v3b  port of vm3, attached-mac cc:01
#          (vm3 spoofs vm1's MAC)
#
# 1. vm1's gratuitous ARP, NS (ndisc6) and tagged GARP (VLAN 100) are
#    learned on v1b, with v1b named from the frame's ifindex; its ARP probe
#    teaches nothing.  (The tagged one passes the filter, but libpcap 1.10
#    drops the tag of SLL2 frames: its vlan reads 0, or 100 with a libpcap
#    that keeps it.)
# 2. vm3's ARP with vm1's MAC comes in on v3b: other-mac, learned nowhere
#    (the Ethernet source alone would have credited vm1).
# 3. vm2 claims vm1's 198.18.7.1: conflicted on both ports.
# 4. The state file (read back with jq) holds what was learned, mode 0600;
#    a restarted learner loads it and reports the same.
set -eu
. "$(dirname "$0")/lib.bash"

[ "$(id -u)" -eq 0 ] || skip "needs root"
for t in arping ndisc6 jq; do
	command -v $t >/dev/null || skip "no $t"
done
LEARN=$TOP/build/nm-learn
[ -x "$LEARN" ] || fail "no $LEARN: make all first"

ns=alearn-$$
ip netns add "$ns"
stop_ns() { ip netns del "$ns" 2>/dev/null || true; }
# shellcheck disable=SC2154  # rc is set inside the trap itself
# '(exit $rc)' hands the status on to cleanup(), which exits with $?.
trap 'rc=$?; capture_stop; stop_ns; (exit $rc); cleanup' EXIT
in_ns() { ip netns exec "$ns" "$@"; }

ip -n "$ns" link set lo up
pair() {        # pair N VM-MAC
	ip -n "$ns" link add "v$1a" address "$2" type veth peer name "v$1b" \
		address "02:00:00:01:00:0$1"
	ip -n "$ns" link set "v$1a" up
	ip -n "$ns" link set "v$1b" up
}
pair 1 02:00:00:00:aa:01
pair 2 02:00:00:00:bb:01
pair 3 02:00:00:00:aa:01
ip -n "$ns" addr add 198.18.7.1/24 dev v1a
ip -n "$ns" addr add 198.18.7.250/32 dev v1a
ip -n "$ns" addr add 2001:db8:7::1/64 dev v1a nodad
ip -n "$ns" addr add 198.18.7.1/32 dev v2a
ip -n "$ns" addr add 198.18.7.66/32 dev v3a

PORTS=("v1b=02:00:00:00:aa:01,vm1" "v2b=02:00:00:00:bb:01,vm2" "v3b=02:00:00:00:cc:01,vm3")
out=$TMP/learn.out
state=$TMP/learned.json
# Not through in_ns: a background function would be a subshell that
# ignores SIGINT; 'ip netns exec' execs, so the pid is nm-learn's.
bg ip netns exec "$ns" "$LEARN" --state "$state" "${PORTS[@]}" >"$out" 2>"$TMP/learn.err"
learner=$(last_bg)
wait_until 5 grep -qx ready "$out" || fail "nm-learn did not start: $(cat "$TMP/learn.err")"

# seen IFACE ADDR VERDICT [VLAN-RE]: waits for the learner's line about it.
seen() {
	local re="^claim iface=$1 .* addr=$2 vlan=${4:-0} .* verdict=$3\$"
	wait_until 5 grep -qE "$re" "$out" || fail "no '$re' in: $(cat "$out")"
}

# 1. vm1.
in_ns arping -q -c1 -U -I v1a 198.18.7.1 || true
seen v1b 198.18.7.1 learned
in_ns arping -q -c1 -D -I v1a 198.18.7.9 || true
in_ns ndisc6 -q -1 -w 100 -s 2001:db8:7::1 2001:db8:7::2 v1a || true
seen v1b 2001:db8:7::1 learned
in_ns "$TOP/build/netmove" announce --dev v1a --vlan 100 --mac 02:00:00:00:aa:01 \
	--ip 198.18.8.1 --kinds garp --rounds 1 >/dev/null
seen v1b 198.18.8.1 learned "(0|100)"
pass "vm1's GARP, NS and tagged GARP learned on v1b"

# 2. vm3 with vm1's MAC.
in_ns arping -q -c1 -U -I v3a 198.18.7.66 || true
seen v3b 198.18.7.66 other-mac
pass "vm3's claim with vm1's MAC: other-mac on v3b"

# 3. vm2 claims vm1's address.
in_ns arping -q -c1 -U -I v2a 198.18.7.1 || true
seen v2b 198.18.7.1 learned

# The marker: every frame before it has been read.
in_ns arping -q -c1 -U -I v1a 198.18.7.250 || true
seen v1b 198.18.7.250 learned
kill -TERM "$learner"
wait "$learner" || fail "nm-learn failed: $(cat "$TMP/learn.err")"
_bg_pids=()

report=$TMP/report.json
sed -n 's/^report //p' "$out" >"$report"
# addr IFACE IP: the report's entry.
addr() { jq -c --arg i "$1" --arg ip "$2" \
	'.ifaces[] | select(.iface == $i) | .addrs[] | select(.ip == $ip)' "$report"; }
[ "$(addr v1b 198.18.7.9)" = "" ] || fail "the probe's 198.18.7.9 was learned"
[ "$(addr v1b 198.18.7.66)" = "" ] || fail "vm3's spoofed claim credited to vm1"
[ "$(addr v3b 198.18.7.66)" = "" ] || fail "vm3's spoofed claim learned on v3b"
[ "$(addr v1b 198.18.8.1)" != "" ] || fail "198.18.8.1 (tagged) not in the report"
[ "$(addr v1b 198.18.7.1 | jq .conflicted)" = true ] || fail "198.18.7.1 not conflicted on v1b"
[ "$(addr v2b 198.18.7.1 | jq .conflicted)" = true ] || fail "198.18.7.1 not conflicted on v2b"
[ "$(addr v1b 2001:db8:7::1 | jq .conflicted)" = false ] || fail "2001:db8:7::1 not usable"
pass "report: probe and spoof not learned, conflict on both ports"

# 4. The state file, and a restart.
[ "$(stat -c %a "$state")" = 600 ] || fail "state file mode $(stat -c %a "$state")"
jq -e '.format == "netmove-learned-addresses" and .version == 1' "$state" >/dev/null ||
	fail "state file: $(cat "$state")"
jq -e '.ifaces[] | select(.iface == "v1b") | [.addrs[].ip] |
	contains(["198.18.7.1", "198.18.7.250", "198.18.8.1", "2001:db8:7::1"])' \
	"$state" >/dev/null || fail "state file, v1b: $(cat "$state")"
bg ip netns exec "$ns" "$LEARN" --state "$state" "${PORTS[@]}" >"$out.2" 2>"$TMP/learn.err"
learner=$(last_bg)
wait_until 5 grep -qx ready "$out.2" || fail "nm-learn did not restart: $(cat "$TMP/learn.err")"
kill -TERM "$learner"
wait "$learner" || fail "nm-learn failed: $(cat "$TMP/learn.err")"
_bg_pids=()
report=$TMP/report2.json
sed -n 's/^report //p' "$out.2" >"$report"
[ "$(addr v1b 198.18.8.1)" != "" ] || fail "restart: 198.18.8.1 lost: $(cat "$report")"
[ "$(addr v2b 198.18.7.1 | jq .conflicted)" = true ] || fail "restart: conflict lost"
pass "state file 0600, reloaded after a restart"

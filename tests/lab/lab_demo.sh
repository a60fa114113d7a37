#!/bin/bash
# `make demo` (netns-lab/demo) kept from rotting: the demo itself, all three
# ways, with short probes (1.5 s, a 100 ms pause; about 15 s), its table and
# its figures (DEMO_JSON):
#   - QEMU alone loses pings (the pause's) and breaks the TCP flow opened
#     before the move; host2's conntrack does not know the flow;
#   - the service without the drain keeps the flow (its conntrack entry on
#     host2) but loses the pause's pings;
#   - the netmove service loses none, keeps the flow intact (every record
#     delivered, in order) and host2's conntrack knows it;
#   - the table has the three columns and every row, the service's
#     migration is drawn (an SVG that parses, its path printed, the text
#     form with both hosts' clock offset), and the demo's lab is gone
#     afterwards.
set -eu
. "$(dirname "$0")/lib.bash"

grep -q -- '--no-drain' "$LAB" || skip "the lab has no drain (lab migrate --no-drain)"

DEMO_JSON=$TMP/demo.json DEMO_SVG=$TMP/timeline.svg DEMO_RUN_MS=1500 DEMO_PAUSE_MS=100 \
	"$TOP/netns-lab/demo" >"$TMP/demo.out" 2>"$TMP/demo.err" ||
	{ cat "$TMP/demo.out" "$TMP/demo.err"; fail "netns-lab/demo failed"; }
cat "$TMP/demo.out"
j() { jq -r "$1" "$TMP/demo.json"; }

for w in qemu state; do
	lost=$(j ".ways.$w.pings_lost")
	[ "$lost" -gt 0 ] || fail "$w: no ping lost during a 100 ms pause announced at resume"
done
[ "$(j ".ways.qemu.tcp_survived")" = false ] || fail "qemu: the TCP flow survived without its conntrack entry on host2"
[ "$(j ".ways.qemu.dst_conntrack")" -eq 0 ] || fail "qemu: host2's conntrack knows the flow, nothing moved it"
pass "QEMU alone: $(j .ways.qemu.pings_lost) pings lost, TCP broken"
[ "$(j .ways.state.tcp_survived)" = true ] || fail "state: the TCP flow broke although its state moved"
[ "$(j .ways.state.dst_conntrack)" -gt 0 ] || fail "state: host2's conntrack does not know the flow"
pass "service without the drain: $(j .ways.state.pings_lost) pings lost, TCP intact"
[ "$(j .ways.service.pings_lost)" -eq 0 ] || fail "service: $(j .ways.service.pings_lost) pings lost"
[ "$(j .ways.service.tcp_survived)" = true ] || fail "service: the TCP flow broke"
[ "$(j .ways.service.tcp_delivered)" = "$(j .ways.service.tcp_sent)" ] || fail "service: records delivered != sent"
[ "$(j .ways.service.dst_conntrack)" -gt 0 ] || fail "service: host2's conntrack does not know the flow"
pass "service: 0 pings lost, TCP intact, its conntrack entry on host2"

for t in "QEMU alone" "state, no drain" "state + drain"; do
	grep -q "$t" "$TMP/demo.out" || fail "the table has no column '$t'"
done
for r in "VM paused" "pings lost / sent" "longest gap between replies" "beyond the pause" \
	"TCP flow opened before the move" "records delivered / sent" "longest stall" \
	"client's retransmissions" "known to host2's conntrack"; do
	grep -q "^ *$r" "$TMP/demo.out" || fail "the table has no row '$r'"
done
grep -q 'measured in this run' "$TMP/demo.out" || fail "no explanation after the table"
xmllint --noout "$TMP/timeline.svg" || fail "the demo's timeline is not an SVG that parses"
grep -qF "(netmove timeline vm1): $TMP/timeline.svg" "$TMP/demo.out" ||
	fail "the demo did not say where its timeline is"
grep -q '^clocks: host1 = host2 ' "$TMP/timeline.txt" || fail "the demo's text timeline has no clock offset: $(cat "$TMP/timeline.txt")"
ip netns list | grep -q "^$NETMOVE_LAB-" && fail "the demo left namespaces of its lab"
[ ! -e "/run/netmove-lab/$NETMOVE_LAB" ] || fail "the demo left its lab's state"
pass "table and explanation printed, lab gone"

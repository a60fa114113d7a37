#!/bin/bash
# Issue 11's drain with a real migrator: a real guest live-migrated by
# libvirt 9.0 (virsh migrate --live, QEMU under TCG) while the client pings
# it at 1 kHz, netmove's libvirt hook on both hosts and `netmove
# watch-libvirt guest1 --source` on the source (HOOKS.md "The source's
# moment": `paused` at SUSPENDED MIGRATED).  Asserts that the drain worked:
#   - the source's watcher called `paused` and netmoved answered it (the
#     catch in host1's switch);
#   - the source caught and relayed frames during libvirt's pause (its
#     journal's 'drained' record), the destination received as many as the
#     source said it relayed (drain-end), delivered every one of them plus
#     the direct frames it held, dropped none, refused no duplicate;
#   - fewer pings lost than a quarter of the pause (each 1 kHz ping of a
#     pause of P ms is lost without the drain: P/4 is a generous bound, not
#     a timing race).
# Prints the window between QEMU's STOP (its QMP event's timestamp, on a
# monitor of the source QEMU's own) and `paused` answered, beside the pings
# lost: frames reaching the source's tap in that window die with QEMU.
#
#   client 198.18.0.1 (nm-probe, 1 kHz ping) --- fabric --- host1 / host2
#   host1: libvirtd, QEMU guest1 (vnetN on br-int), netmoved, watch-libvirt --source
#   host2: libvirtd (hook: prepare --adopt, watch-qmp for the resume), netmoved
set -eu
. "$(dirname "$0")/lib.bash"

command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 missing (make deps)"
qemu-system-x86_64 -accel help 2>/dev/null | grep -qx tcg || skip "this QEMU has no TCG"
command -v libvirtd >/dev/null || fail "libvirtd missing (make deps)"
command -v socat >/dev/null || fail "socat missing (make deps)"
[ -x "$TOP/build/netmoved" ] || fail "build/netmoved missing (make)"
"$TOP/netns-lab/guest/mkguest" >/dev/null || fail "cannot build the guest (make deps)"

"$LAB" up --hosts 2 --vms 0 --libvirt >/dev/null
wait_peers host2 host1
wait_peers host1 host2
# --qmp: a QMP monitor for netmove beside libvirt's (the hook on the
# destination follows it for the resume; on the source this test reads
# QEMU's STOP from it).
"$LAB" guest start host1 guest1 --qmp >"$TMP/start.out" || fail "guest1 did not start: $(cat "$TMP/start.out")"
ip4=$(status_get '.guests[0].ipv4') uuid=$(status_get '.guests[0].uuid')
echo "  $(cat "$TMP/start.out")"
lvd() { echo "$LAB_STATE/$1/libvirt"; }
in_lv() { local h=$1; shift; nsenter -t "$(cat "$(lvd "$h")/anchor.pid")" -m -n -u "$@"; }

# QEMU's own events on the source: STOP's timestamp is the pause.
echo '{"execute": "qmp_capabilities"}' >"$TMP/caps.json"
socat STDIO,ignoreeof "UNIX-CONNECT:$(lvd host1)/netmove/qmp/guest1.qmp" <"$TMP/caps.json" >"$TMP/src.events" &
_bg_pids+=($!)
wait_until 5 grep -q '"return"' "$TMP/src.events" || fail "no QMP answer from the source QEMU"

# The source's watcher, as HOOKS.md tells an operator to start it.
in_lv host1 env NETMOVE_CTL=/run/openvswitch/netmoved.ctl "$NETMOVE" watch-libvirt guest1 --source --to host2 \
	--timeout 120 >"$TMP/src.watch" 2>&1 &
wpid=$!
_bg_pids+=("$wpid")
wait_until 10 grep -q 'waiting for an outgoing migration' "$TMP/src.watch" ||
	fail "the source's watcher did not arm: $(cat "$TMP/src.watch")"

bg "$LAB" exec client "$TOP/build/nm-probe" run --ping "$ip4" --duration-ms 6000 --ready "$TMP/ready" >"$TMP/probe.json"
probe=$(last_bg)
wait_until 10 test -f "$TMP/ready" || fail "the probe did not start"
sleep 1
"$LAB" vmigrate guest1 host2 --json >"$TMP/mig.json" || fail "virsh migrate failed: $(cat "$TMP/mig.json")"
wait "$probe" || fail "the probe failed"
rc=0
wait "$wpid" || rc=$?
[ "$("$LAB" virsh host2 domstate guest1 | head -n 1)" = running ] || fail "guest1 does not run on host2"

# --- the source's moment ---
grep -q 'SUSPENDED MIGRATED received at .*paused called' "$TMP/src.watch" ||
	fail "the source's watcher did not call paused at SUSPENDED MIGRATED: $(cat "$TMP/src.watch")"
grep -q 'paused: recorded; catching' "$TMP/src.watch" ||
	fail "netmoved on host1 did not catch at the pause: $(cat "$TMP/src.watch")"
grep -q 'left called' "$TMP/src.watch" || fail "the source's watcher did not call left: $(cat "$TMP/src.watch")"
[ $rc = 0 ] || fail "the source's watcher exited $rc: $(cat "$TMP/src.watch")"
pass "watch-libvirt --source on host1: paused at SUSPENDED MIGRATED, answered once the catch was in the switch; left at STOPPED MIGRATED; exit 0"

# --- the drain's counters: destination (status) and source (journal) ---
"$LAB" exec host2 "$NETMOVE" status "$uuid" --json >"$TMP/dst.json"
jq -c '.migrations[0].drain' "$TMP/dst.json" >"$TMP/dst.drain"
[ "$(jq -r '.migrations[0].state' "$TMP/dst.json")" = done ] || fail "host2's migration: $(jq -c '.migrations[0]' "$TMP/dst.json")"
jq -e 'type == "object"' "$TMP/dst.drain" >/dev/null || fail "no drain on host2: $(jq -c '.migrations[0]' "$TMP/dst.json")"
r1=$(status_get '.hosts[0].ovs_rundir')
wait_until 10 grep -raq '"step":"drained"' "$r1/netmove" ||
	fail "no 'drained' record in host1's journal ($r1/netmove): $(find "$r1/netmove" -type f)"
grep -rah '"step":"drained"' "$r1/netmove" | tail -n 1 |
	jq -c '[.. | objects | select(has("relayed_frames"))][0]' >"$TMP/src.drain"
echo "  source (journal): $(cat "$TMP/src.drain")"
echo "  destination:      $(cat "$TMP/dst.drain")"
s() { jq -r ".$1" "$TMP/src.drain"; }
d() { jq -r ".$1" "$TMP/dst.drain"; }
relayed=$(s relayed_frames)
[ "$relayed" -gt 0 ] || fail "the source relayed no frame during libvirt's pause"
[ "$(s caught)" -ge "$relayed" ] || fail "source: relayed $relayed of $(s caught) caught?"
[ "$(s dropped_frames)" = 0 ] || fail "source: $(s dropped_frames) frames dropped over its bounds"
[ "$(d source.frames)" = "$relayed" ] || fail "drain-end said $(d source.frames) frames, the journal $relayed"
[ "$(d relayed_received)" = "$relayed" ] || fail "host2 received $(d relayed_received) of $relayed relayed frames"
[ "$(d delivered_frames)" = $((relayed + $(d held_direct))) ] ||
	fail "host2 delivered $(d delivered_frames), expected $relayed relayed + $(d held_direct) held"
for c in dropped_abort dropped_bound dropped_deadline dropped_output dropped_scope dup_refused; do
	[ "$(d "$c")" = 0 ] || fail "host2: $c = $(d "$c")"
done
pass "the drain: host1 caught $(s caught), relayed $relayed; host2 received $relayed, delivered them and $(d held_direct) held directly, dropped none"

# --- the client's view against the pause ---
P=$(jq -r '.libvirt_downtime_ms' "$TMP/mig.json")
lost=$(jq -r '.ping.lost' "$TMP/probe.json")
gap=$(jq -r '.ping.longest_gap_ms' "$TMP/probe.json")
[ "$P" -gt 0 ] 2>/dev/null || fail "no downtime from libvirt: $(cat "$TMP/mig.json")"
[ "$lost" -lt $((P / 4)) ] || fail "$lost pings lost during a pause of $P ms (without the drain: about $P)"
pass "client: $lost of $(jq -r .ping.sent "$TMP/probe.json") pings lost (< $P/4) across libvirt's $P ms pause; longest gap $gap ms"

# --- the window: QEMU's STOP -> paused answered ---
stop_us=$(jq -r 'select(.event == "STOP") | .timestamp.seconds * 1000000 + .timestamp.microseconds' "$TMP/src.events" | head -n 1)
[ -n "$stop_us" ] || fail "no STOP from the source QEMU: $(cat "$TMP/src.events")"
susp=$(sed -n 's/.*SUSPENDED MIGRATED received at \([0-9.]*\).*/\1/p' "$TMP/src.watch")
done_ms=$(sed -n 's/.*paused done in \([0-9]*\) ms.*/\1/p' "$TMP/src.watch")
susp_us=$(echo "$susp" | awk '{printf "%.0f", $1 * 1000000}')
echo "  window: QEMU STOP -> SUSPENDED MIGRATED received $(((susp_us - stop_us) / 1000)) ms, -> paused answered $(((susp_us - stop_us) / 1000 + done_ms)) ms; pings lost $lost"

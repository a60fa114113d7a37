#!/bin/bash
# netmove timeline (issue 13, item 8), asserted in the lab: vm1 moved with
# the drain (announce at the pause, 100 ms pause, firewall layout) while the
# client pings it a ms each (lab migrate --client-log), then:
#   - on the destination, `netmove timeline vm1 --json` lists every phase
#     of both hosts (prepare, export, pause, the drain, the announcements,
#     port active, resume, conntrack delta, the uplink's first frame,
#     confirm) in a sane order, with the clocks' offset and its bound (the
#     lab's hosts share one clock: the estimate must be 0 within it), the
#     drain's counters and the client's pings; the text form says the same;
#   - on the source, its own records only, no offset;
#   - bad input: exit 2, named; no migration: exit 1;
#   - --svg: xmllint parses it, every phase and event is in it (ids), and
#     headless Chromium, at 1280 px, finds no two text boxes overlapping
#     and none under 11 px; its screenshot (build/test-logs/timeline.png,
#     beside timeline.svg) is a 1280 px wide PNG that is not blank.
#
#            client (1 kHz pings to vm1, each logged)
#              |
#   fabric --h1-- host1 (vm1; netmoved)   source
#          \-h2-- host2 (netmoved)        destination
set -eu
. "$(dirname "$0")/lib.bash"

command -v xmllint >/dev/null || skip "no xmllint (libxml2-utils)"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || skip "no chromium (mk/deps.sh installs it)"
grep -q -- '--client-log' "$LAB" || skip "the lab has no lab migrate --client-log"
LOGS=$TOP/build/test-logs
mkdir -p "$LOGS"

"$LAB" up --hosts 2 --vms 1 --firewall >/dev/null
wait_peers host1 host2
wait_peers host2 host1

"$LAB" migrate vm1 host2 --netmove --downtime 100 --client-log "$TMP/client.jsonl" \
	--json >"$TMP/migrate.json" || fail "lab migrate: $(cat "$TMP/migrate.json")"
[ -s "$TMP/client.jsonl" ] || fail "no client log"
# The journal moves to done/ once the uplink's capture has ended (its
# record of the first frame seen comes last) and the source's records are in.
r2=$(status_get '.hosts[] | select(.name == "host2") | .ovs_rundir')
wait_until 10 sh -c "ls $r2/netmove/done/vm1.*.jsonl" || fail "host2's journal of vm1 never finished"

tl() { "$LAB" exec "$1" "$NETMOVE" timeline "${@:2}"; }

# ---- the destination: both hosts ----
tl host2 vm1 --json --client "$TMP/client.jsonl" >"$TMP/tl.json" || fail "timeline --json failed"
t_ms() { jq -r --arg n "$1" '.events[] | select(.name == $n) | .t_ms' "$TMP/tl.json"; }
for e in prepare-begin export prepare-done pause catch-synced pause-received port-active \
	announce-at-pause drain-released hold-released left resume announce-at-resume \
	uplink-first-seen ct-delta confirm-begin confirm-done confirm; do
	[ -n "$(t_ms "$e")" ] || fail "no event $e: $(jq -c '[.events[].name]' "$TMP/tl.json")"
done
for p in prepare vm-paused drain hold source-confirm; do
	jq -e --arg p "$p" 'any(.phases[]; .name == $p)' "$TMP/tl.json" >/dev/null || fail "no phase $p"
done
jq -e '.source == "host1" and .destination == "host2"' "$TMP/tl.json" >/dev/null ||
	fail "hosts: $(jq -c '[.source, .destination]' "$TMP/tl.json")"
# The clocks: one clock in the lab, so the estimate is 0 within its bound
# (the shortest of up to 4 round trips: under 1 s even on a loaded host).
jq -e '.clock_offset.bound_us > 0 and .clock_offset.bound_us < 1000000' "$TMP/tl.json" >/dev/null ||
	fail "no sane clock offset: $(jq -c .clock_offset "$TMP/tl.json")"
jq -e '(.clock_offset.offset_us | fabs) <= .clock_offset.bound_us + 1000' "$TMP/tl.json" >/dev/null ||
	fail "offset outside its bound on one clock: $(jq -c .clock_offset "$TMP/tl.json")"
# A <= B (ms); across hosts within the offset's bound (+1 ms: the source's
# events are placed by the estimate, which may be off by that much).
le() { jq -en --argjson a "$1" --argjson b "$2" --argjson tol "${3:-0}" '$a <= $b + $tol' >/dev/null; }
tol=$(jq '(.clock_offset.bound_us // 0) / 1000 + 1' "$TMP/tl.json")
# On failure, the events as they were, and the offset.
events() { jq -c '[.clock_offset, [.events[] | [.name, .host, .t_ms]]]' "$TMP/tl.json"; }
le "$(t_ms prepare-done)" "$(t_ms pause)" "$tol" || fail "prepare ended after the pause: $(events)"
le "$(t_ms export)" "$(t_ms prepare-done)" "$tol" || fail "export after prepare ended: $(events)"
[ "$(t_ms pause)" = 0 ] || fail "the axis's origin is not the pause: $(t_ms pause)"
le "$(t_ms pause)" "$(t_ms resume)" "$tol" || fail "resume before the pause: $(events)"
le "$(t_ms pause)" "$(t_ms announce-at-pause)" "$tol" || fail "announced at the pause before it: $(events)"
le "$(t_ms announce-at-pause)" "$(t_ms resume)" || fail "announce-at-pause after resume: $(events)"
le "$(t_ms prepare-done)" "$(t_ms resume)" || fail "resume before prepare ended: $(events)"
le "$(t_ms resume)" "$(t_ms ct-delta)" || fail "ct delta before resume: $(events)"
le "$(t_ms ct-delta)" "$(t_ms confirm)" || fail "confirm before the ct delta: $(events)"
le "$(t_ms confirm-begin)" "$(t_ms confirm-done)" || fail "confirm-done before confirm-begin: $(events)"
bound_ms=$(jq '.clock_offset.bound_us / 1000' "$TMP/tl.json")
# Confirm comes last: the source's events within the offset's bound.
jq -e --argjson b "$bound_ms" '(.events | map(select(.name == "confirm")) | .[0].t_ms) >=
	(.events | map(.t_ms) | max) - $b' "$TMP/tl.json" >/dev/null ||
	fail "confirm is not last: $(jq -c '[.events[] | [.name, .t_ms]]' "$TMP/tl.json")"
jq -e '.drain | has("source_caught") and has("source_relayed") and has("received") and has("delivered")' \
	"$TMP/tl.json" >/dev/null || fail "drain counters missing: $(jq -c .drain "$TMP/tl.json")"
jq -e '.drain.received == .drain.source_relayed' "$TMP/tl.json" >/dev/null ||
	fail "relayed != received: $(jq -c .drain "$TMP/tl.json")"
jq -e --argjson n "$(wc -l <"$TMP/client.jsonl")" '.client.pings == $n and $n > 1000' \
	"$TMP/tl.json" >/dev/null || fail "client pings: $(jq -c .client "$TMP/tl.json")"
pass "destination: every phase of both hosts, in order; offset $(jq -c .clock_offset "$TMP/tl.json")"

tl host2 vm1 >"$TMP/tl.txt" || fail "timeline (text) failed"
grep -q '^clocks: host1 = host2 [-+][0-9.]* ms, +-[0-9.]* ms' "$TMP/tl.txt" || fail "text: no clocks line: $(cat "$TMP/tl.txt")"
grep -Eq '^[a-z] +\+0\.000  host1 +pause ' "$TMP/tl.txt" || fail "text: no pause at 0"
grep -Eq '^host2 +\|' "$TMP/tl.txt" || fail "text: no axis line"
pass "text form"

# ---- the source: its own ----
tl host1 vm1 --json >"$TMP/src.json" || fail "timeline on the source failed"
jq -e '.clock_offset == null and ([.events[].name] | index("export") and index("pause")
	and index("confirm-done")) and ([.events[].host] | unique == ["host1"])' "$TMP/src.json" >/dev/null ||
	fail "source: $(jq -c '[.clock_offset, [.events[] | [.name, .host]]]' "$TMP/src.json")"
pass "source: its own records"

# ---- bad input, no migration ----
expect() {
	local want=$1 what=$2 rc=0
	shift 2
	"$@" >"$TMP/out" 2>&1 || rc=$?
	[ $rc -eq "$want" ] || fail "$*: exit $rc, not $want: $(cat "$TMP/out")"
	grep -q -- "$what" "$TMP/out" || fail "$*: no '$what': $(cat "$TMP/out")"
}
echo '{"t_us": 5}' >"$TMP/bad.jsonl"
expect 2 "line 1: rtt_us" tl host2 vm1 --client "$TMP/bad.jsonl"
expect 2 "VM: invalid" tl host2 'vm/1'
expect 2 "client: $TMP/none" tl host2 vm1 --client "$TMP/none"
expect 2 "unknown option" tl host2 vm1 --bogus
expect 1 "no migration of vm7" tl host2 vm7
pass "bad input named (exit 2), no migration (exit 1)"

# ---- the SVG: parsed, complete, and readable in a real browser ----
tl host2 vm1 --client "$TMP/client.jsonl" --svg "$TMP/tl.svg" >/dev/null || fail "timeline --svg failed"
cp "$TMP/tl.svg" "$LOGS/timeline.svg"
xmllint --noout "$TMP/tl.svg" || fail "the SVG does not parse"
n_ids() { xmllint --xpath "count(//*[@id='$1'])" "$TMP/tl.svg"; }
for id in event-prepare-begin event-export event-prepare-done event-pause event-port-active \
	event-announce-at-pause event-drain-released event-hold-released event-resume \
	event-announce-at-resume event-uplink-first-seen event-ct-delta event-confirm-done \
	event-confirm phase-prepare phase-vm-paused phase-drain phase-hold lane-source \
	lane-destination lane-client summary-clocks summary-drain summary-client axis; do
	[ "$(n_ids "$id")" = 1 ] || fail "SVG: no one element with id $id"
done
[ "$(xmllint --xpath 'string(/*/@viewBox)' "$TMP/tl.svg" | cut -d' ' -f3)" = 1280 ] || fail "SVG: not 1280 wide"
pass "SVG parses, holds every phase"

height=$(xmllint --xpath 'string(/*/@height)' "$TMP/tl.svg")
{
	echo '<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:0}</style></head><body>'
	sed 1d "$TMP/tl.svg"        # the XML declaration
	cat <<'EOF'
<script>
var texts = document.querySelectorAll('svg text'), boxes = [], bad = [];
texts.forEach(function (t) {
  var b = t.getBoundingClientRect(), fs = parseFloat(getComputedStyle(t).fontSize);
  boxes.push({ l: b.left, t: b.top, r: b.right, b: b.bottom, s: t.textContent });
  if (!(fs >= 11)) bad.push('font ' + fs + 'px: ' + t.textContent);
  if (b.left < -0.5 || b.right > 1280.5) bad.push('outside: ' + t.textContent);
});
for (var i = 0; i < boxes.length; i++)
  for (var k = 0; k < i; k++) {
    var a = boxes[i], c = boxes[k];
    if (a.l < c.r - 0.01 && c.l < a.r - 0.01 && a.t < c.b - 0.01 && c.t < a.b - 0.01)
      bad.push('overlap: "' + a.s + '" / "' + c.s + '"');
  }
document.title = 'MEASURED texts=' + boxes.length + ' width=' +
  document.querySelector('svg').getBoundingClientRect().width + ' bad=' + bad.length +
  (bad.length ? ' ' + bad.slice(0, 5).join(' | ') : '');
</script></body></html>
EOF
} >"$TMP/page.html"
chrome() {
	timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--user-data-dir="$TMP/chromium" --window-size="1280,$height" "$@" "file://$TMP/page.html" 2>"$TMP/chromium.log"
}
chrome --virtual-time-budget=5000 --dump-dom >"$TMP/dom.html" || fail "chromium: $(tail -3 "$TMP/chromium.log")"
title=$(sed -n 's:.*<title>\(.*\)</title>.*:\1:p' "$TMP/dom.html")
echo "chromium: $title"
case $title in
"MEASURED texts="*" width=1280 bad=0") ;;
*) fail "in the browser: ${title:-no result}" ;;
esac
[ "$(echo "$title" | sed 's/.*texts=\([0-9]*\).*/\1/')" -ge 30 ] || fail "too few texts measured: $title"
chrome --screenshot="$TMP/tl.png" >/dev/null || fail "chromium screenshot: $(tail -3 "$TMP/chromium.log")"
cp "$TMP/tl.png" "$LOGS/timeline.png"
# A PNG 1280 px wide whose pixels are not all one colour (zlib-decoded here:
# no imaging library needed).
python3 - "$TMP/tl.png" <<'EOF' || fail "the screenshot is not a non-blank 1280 px PNG"
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n'
pos, idat, ihdr = 8, b'', None
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR':
        ihdr = struct.unpack('>IIBBBBB', body)
    elif kind == b'IDAT':
        idat += body
    pos += 12 + n
w, h, depth, colour = ihdr[:4]
assert w == 1280 and h > 200 and depth == 8 and colour in (2, 6), ihdr
raw = zlib.decompress(idat)
bpp = 3 if colour == 2 else 4
stride = w * bpp + 1
dark = 0
prev = bytearray(w * bpp)
for y in range(h):
    f, line = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
    for i in range(len(line)):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    dark += sum(1 for x in range(0, len(line), bpp) if line[x] < 128)
    prev = line
print("png: %dx%d, %d dark pixels" % (w, h, dark))
assert dark > 2000, dark
EOF
pass "in Chromium at 1280 px: $title; screenshot $LOGS/timeline.png"

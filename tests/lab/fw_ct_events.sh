#!/bin/bash
# A VM's conntrack delta from ctnetlink's events (firewall/ct_events.c), on
# the real kernel, in a namespace of its own:
#
#   [ns ctev-PID]  conntrack -I / -U / -D    <- this script
#                  nm-ct events --addr 198.18.1.1
#                  (listener, then "watch": watch + export, "delta")
#
# net.netfilter.nf_conntrack_events is 2 (the default): entries created
# before a listener exists emit no update or destroy events.
#   A: before the listener; its mark changed after the watch: no event,
#      the delta's GET finds it.
#   B: before the listener, untouched: not in the delta.
#   C: before the listener, deleted: gone (the GET's ENOENT).
#   D: after the listener, before the watch; mark changed: an update event.
#   E: after the watch: a new entry.
#   F: after the watch, then deleted: not in the delta.
#   G: another address's, changed: not in the delta.
#   H: after the listener, before the watch; deleted: a destroy event.
# A second delta with nothing changed is empty; the counters show events
# read and matched, no overrun, no dump.
set -eu
cd "$(dirname "$0")/../.."
NMCT=$PWD/build/nm-ct
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -x "$NMCT" ] || { echo "SKIP: build/nm-ct missing (make)"; exit 77; }
command -v conntrack >/dev/null || { echo "SKIP: conntrack missing"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq missing"; exit 77; }

NS=ctev-$$
TMP=$(mktemp -d /tmp/ct-events.XXXXXX)
cleanup() {
	local rc=$?
	[ -n "${NMCT_PID:-}" ] && kill "$NMCT_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
ip netns add "$NS"
nsx() { ip netns exec "$NS" "$@"; }
[ "$(nsx sysctl -n net.netfilter.nf_conntrack_events)" = 2 ] ||
	nsx sysctl -qw net.netfilter.nf_conntrack_events=2

# ct OP SRC SPORT [ARGS...]: conntrack OP of a TCP entry SRC:SPORT -> 198.19.0.1:80.
ct() {
	local op=$1 src=$2 sport=$3
	shift 3
	nsx conntrack "$op" -p tcp -s "$src" -d 198.19.0.1 --sport "$sport" --dport 80 "$@" \
		>/dev/null 2>&1
}
new() { ct -I "$1" "$2" --state ESTABLISHED -t 300 -u ASSURED; }

new 198.18.1.1 1001       # A
new 198.18.1.1 1002       # B
new 198.18.1.1 1003       # C
new 198.18.2.2 1007       # G

mkfifo "$TMP/in" "$TMP/out"
ip netns exec "$NS" "$NMCT" events --addr 198.18.1.1 <"$TMP/in" >"$TMP/out" 2>"$TMP/err" &
NMCT_PID=$!
exec 3>"$TMP/in" 4<"$TMP/out"
# ask [COMMAND]: sends COMMAND to nm-ct, its answer in $reply.
ask() {
	[ $# -eq 0 ] || echo "$1" >&3
	read -r -t 10 reply <&4 || fail "nm-ct did not answer: $(cat "$TMP/err")"
}
ask
[ "$(echo "$reply" | jq -r .open)" = true ] || fail "no listener"

new 198.18.1.1 1004       # D
new 198.18.1.1 1008       # H
ask watch
base=$reply
[ "$(echo "$base" | jq .base)" = 5 ] || fail "base: $base (want A B C D H)"
pass "watched, then exported 5 entries of 198.18.1.1"

ct -U 198.18.1.1 1001 -m 7    # A: no event
ct -D 198.18.1.1 1003         # C: no event
ct -U 198.18.1.1 1004 -m 8    # D: event
new 198.18.1.1 1005           # E
new 198.18.1.1 1006           # F
ct -D 198.18.1.1 1006
ct -U 198.18.2.2 1007 -m 9    # G
ct -D 198.18.1.1 1008         # H

ask delta
d=$reply
echo "$d" | jq -c 'del(.doc)'
col() { echo "$d" | jq -r --arg c "$1" --arg k "$2" \
	'.doc as $x | ($x.columns | index($c)) as $i | $x[$k] | map(.[$i] // 0) | sort | join(" ")'; }
entries=$(col sport entries) gone=$(col sport gone)
[ "$entries" = "1001 1004 1005" ] || fail "delta entries: sports '$entries', want A D E (1001 1004 1005)"
[ "$gone" = "1003 1008" ] || fail "delta gone: sports '$gone', want C H (1003 1008)"
marks=$(col mark entries)
[ "$marks" = "0 7 8" ] || fail "marks '$marks', want 7 (A) 8 (D) 0 (E)"
[ "$(echo "$d" | jq .fallback)" = false ] || fail "the delta fell back to a dump"
# The GETs: the base's entries no event touched (A, B, C).
[ "$(echo "$d" | jq .gets)" = 3 ] || fail "gets: $(echo "$d" | jq .gets), want 3 (A B C)"
pass "delta: A (GET: no event) D E changed, C (GET: ENOENT) H gone; not B, F, G; 3 GETs"

ask delta
d=$reply
[ "$(echo "$d" | jq '.entries + .gone')" = 0 ] || fail "second delta not empty: $d"
pass "second delta, against the advanced base: empty"

ask stats
st=$reply
echo "$st"
[ "$(echo "$st" | jq '.matched >= 5 and .read >= .matched and .overruns == 0 and .fallbacks == 0')" = true ] ||
	fail "counters: $st"
pass "counters: events read and matched, no overrun, no fallback"

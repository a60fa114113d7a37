#!/bin/bash
# 'netmove watch-qmp --source' against real QEMU on the source of a
# migration (issue 11 item 2): QEMU's STOP during the outgoing migration
# calls paused at once (NETMOVE_PAUSED_US = the STOP's QEMU timestamp), the
# completion calls left; a migration cancelled after the pause (held by
# pause-before-switchover) resumes the VM here, which calls abort; a plain
# stop/cont calls nothing; without QEMU's MIGRATION events it still calls
# paused and left.  Then through the real netmoved of the lab's host1: the
# source's netmoved records the pause (its log), the left, and the abort.
#
#   QEMU NAME-src (events, pause-before-switchover)    QEMU NAME-dst (-incoming)
#     NAME-src.qmp  <- watch-qmp --source --to host2
#     NAME-src2.qmp <- this test: events (QEMU's own STOP timestamp)
#     NAME-src3.qmp <- this test: migrate, migrate-continue, migrate_cancel
set -eu
. "$(dirname "$0")/lib.bash"

command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing (make deps)"
command -v socat >/dev/null || skip "socat missing (make deps)"

qemu_pids=()
hook_cleanup() {
	local rc=$? p
	set +e
	for p in "${qemu_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${qemu_pids[@]}"; do wait "$p" 2>/dev/null || true; done
	(exit $rc)
	cleanup
}
trap hook_cleanup EXIT

# As in hook_qmp.sh: a guestless QEMU with three monitors.
qemu() {
	local name=$1
	shift
	qemu-system-x86_64 -name "$name" -machine pc -m 64 -nodefaults \
		-display none -accel tcg \
		-qmp "unix:$TMP/$name.qmp,server=on,wait=off" \
		-qmp "unix:$TMP/${name}2.qmp,server=on,wait=off" \
		-qmp "unix:$TMP/${name}3.qmp,server=on,wait=off" "$@" \
		>"$TMP/$name.log" 2>&1 &
	qemu_pids+=($!)
	wait_until 10 test -S "$TMP/${name}3.qmp" || fail "QEMU $name did not start: $(cat "$TMP/$name.log")"
}
qmp() {
	local sock=$1
	shift
	{ echo '{"execute": "qmp_capabilities"}'; printf '%s\n' "$@"; } |
		timeout 10 socat -t 0.5 - "UNIX-CONNECT:$sock"
}
status() { qmp "$1" '{"execute": "query-status"}' | jq -r 'select(.return.status) | .return.status'; }
migration_is() {
	[ "$(qmp "$1" '{"execute": "query-migrate"}' | jq -r 'select(.return.status) | .return.status')" = "$2" ]
}
observe() {
	echo '{"execute": "qmp_capabilities"}' >"$TMP/caps.json"
	socat STDIO,ignoreeof "UNIX-CONNECT:$1" <"$TMP/caps.json" >"$2" &
	_bg_pids+=($!)
	wait_until 5 grep -q '"return"' "$2" || fail "no QMP answer on $1"
}
# QEMU's own timestamps (us) of EVENT in FILE, one a line.
stamps() { jq -c "select(.event == \"$2\") | .timestamp.seconds * 1000000 + .timestamp.microseconds" "$1"; }
caps() {
	local s=$1 ev=$2 psw=$3
	qmp "$s" "{\"execute\": \"migrate-set-capabilities\", \"arguments\": {\"capabilities\": [
		{\"capability\": \"events\", \"state\": $ev},
		{\"capability\": \"pause-before-switchover\", \"state\": $psw}]}}" >"$TMP/caps.out"
	[ "$(grep -c '"return": {}' "$TMP/caps.out")" = 2 ] || fail "capabilities refused: $(cat "$TMP/caps.out")"
}

# The hook: one line per call: phase, variables, its start time.
# shellcheck disable=SC2016 # expanded by the hook's sh.
CMD='printf "%s|%s|%s|%s|%s\n" "$NETMOVE_PHASE" "$NETMOVE_VM" "${NETMOVE_DST_HOST-unset}" "${NETMOVE_PAUSED_US-unset}" "$(date +%s%6N)" >>"$CALLS"'

# pair NAME EVENTS PSW [WATCH-ARGS...]: a source (with those capabilities)
# and a destination; watch-qmp --source on the source, with WATCH-ARGS (how
# it calls: default --exec CMD); the source's events recorded.
pair() {
	local n=$1 ev=$2 psw=$3
	shift 3
	[ $# -gt 0 ] || set -- --exec "$CMD"
	qemu "$n-src"
	qemu "$n-dst" -incoming "unix:$TMP/$n-mig.sock"
	caps "$TMP/$n-src3.qmp" "$ev" "$psw"
	observe "$TMP/$n-src2.qmp" "$TMP/$n-src.events"
	"$NETMOVE" watch-qmp "$TMP/$n-src.qmp" vm1 --source --to host2 --timeout 60 "$@" \
		>"$TMP/$n.watch" 2>&1 &
	wpid=$!
	_bg_pids+=("$wpid")
	wait_until 10 grep -q 'no outgoing migration in flight' "$TMP/$n.watch" ||
		fail "$n: watch-qmp did not start: $(cat "$TMP/$n.watch")"
}
migrate() {
	qmp "$TMP/$1-src3.qmp" "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"unix:$TMP/$1-mig.sock\"}}" >"$TMP/$1.migrate"
	[ "$(grep -c '"return": {}' "$TMP/$1.migrate")" = 2 ] || fail "$1: migrate refused: $(cat "$TMP/$1.migrate")"
}
watch_exit() {
	local rc=0
	wait "$wpid" || rc=$?
	[ $rc = "$2" ] || fail "$1: watch-qmp exited $rc, not $2: $(cat "$TMP/$1.watch")"
}
phases() { cut -d'|' -f1 "$CALLS" 2>/dev/null | tr '\n' ' '; }
# check_paused NAME: one STOP on the source, paused called with its stamp.
check_paused() {
	local n=$1 stop vm dst var at
	stop=$(stamps "$TMP/$n-src.events" STOP)
	[ "$(echo "$stop" | grep -c .)" = 1 ] || fail "$n: expected one STOP on the source, saw: $stop"
	IFS='|' read -r _ vm dst var at <<<"$(grep '^paused|' "$CALLS")"
	[ "$vm|$dst" = "vm1|host2" ] || fail "$n: paused called with VM '$vm', DST_HOST '$dst'"
	[ "$var" = "$stop" ] || fail "$n: NETMOVE_PAUSED_US=$var, QEMU's STOP was at $stop"
	[ "$at" -ge "$stop" ] || fail "$n: paused ran at $at, before the STOP at $stop"
	echo "latency $n: STOP -> $(sed -n 's/.*STOP at .*; \(received [0-9]* us, paused called [0-9]* us after it\)/\1/p' "$TMP/$n.watch") (watch-qmp); -> hook command running $((at - stop)) us"
}

# 1. Events and pause-before-switchover (libvirt's capabilities and the
# long stop-and-copy): paused at the STOP, while QEMU holds the switch-over;
# left only once it completes.
export CALLS=$TMP/psw.calls
pair psw true true
migrate psw
wait_until 30 migration_is "$TMP/psw-src3.qmp" pre-switchover || fail "psw: no pre-switchover"
wait_until 5 grep -q '^paused|' "$CALLS" || fail "psw: paused not called during the held switch-over: $(cat "$TMP/psw.watch")"
[ "$(phases)" = "paused " ] || fail "psw: calls before the switch-over: $(phases)"
check_paused psw
qmp "$TMP/psw-src3.qmp" '{"execute": "migrate-continue", "arguments": {"state": "pre-switchover"}}' >/dev/null
watch_exit psw 0
[ "$(phases)" = "paused left " ] || fail "psw: calls: $(phases)"
migration_is "$TMP/psw-src3.qmp" completed || fail "psw: the migration did not complete"
pass "pause-before-switchover: paused at QEMU's STOP (PAUSED_US = its timestamp, DST_HOST host2), left at the completion, exit 0"

# 2. Cancelled while the switch-over is held: the VM resumes here: abort.
export CALLS=$TMP/cancel.calls
pair cancel true true
migrate cancel
wait_until 30 migration_is "$TMP/cancel-src3.qmp" pre-switchover || fail "cancel: no pre-switchover"
wait_until 5 grep -q '^paused|' "$CALLS" || fail "cancel: paused not called"
qmp "$TMP/cancel-src3.qmp" '{"execute": "migrate_cancel"}' >/dev/null
watch_exit cancel 0
[ "$(phases)" = "paused abort " ] || fail "cancel: calls: $(phases)"
[ "$(status "$TMP/cancel-src3.qmp")" = running ] || fail "cancel: the source VM is not running again"
[ "$(stamps "$TMP/cancel-src.events" RESUME | grep -c .)" = 1 ] || fail "cancel: no RESUME on the source"
pass "migrate_cancel at pre-switchover: the VM resumes on the source: paused, then abort, exit 0"

# 3. The destination dies during the held switch-over: the migration
# fails when continued, the VM resumes here: abort.
export CALLS=$TMP/kill.calls
pair kill true true
migrate kill
wait_until 30 migration_is "$TMP/kill-src3.qmp" pre-switchover || fail "kill: no pre-switchover"
wait_until 5 grep -q '^paused|' "$CALLS" || fail "kill: paused not called"
kill "${qemu_pids[-1]}"
qmp "$TMP/kill-src3.qmp" '{"execute": "migrate-continue", "arguments": {"state": "pre-switchover"}}' >/dev/null
watch_exit kill 0
[ "$(phases)" = "paused abort " ] || fail "kill: calls: $(phases)"
pass "destination killed during the held switch-over: paused, then abort when the VM runs here again"

# 4. No MIGRATION events (a script's plain 'migrate'): still paused (asked
# at the STOP) and left (polled).
export CALLS=$TMP/noev.calls
pair noev false false
migrate noev
watch_exit noev 0
[ "$(phases)" = "paused left " ] || fail "noev: calls: $(phases)"
stop=$(stamps "$TMP/noev-src.events" STOP)
grep -q "^paused|vm1|host2|$stop|" "$CALLS" || fail "noev: paused not dated by the STOP ($stop): $(cat "$CALLS")"
pass "without the events capability: paused (dated by the STOP) and left, exit 0"

# 5. A plain stop/cont with no migration calls nothing.
export CALLS=$TMP/plain.calls
pair plain true false
qmp "$TMP/plain-src3.qmp" '{"execute": "stop"}' '{"execute": "cont"}' >/dev/null
sleep 0.5
[ ! -e "$CALLS" ] || fail "plain: calls on a plain stop/cont: $(phases)"
kill "$wpid"
pass "a plain stop/cont on the source calls nothing"

# 6. Bad input: exit 2 naming the field.
bad() {
	local field=$1 rc=0
	shift
	"$NETMOVE" watch-qmp "$TMP/plain-src.qmp" vm1 "$@" >"$TMP/bad.out" 2>&1 || rc=$?
	[ $rc = 2 ] || fail "bad input ($*): exit $rc: $(cat "$TMP/bad.out")"
	grep -q -- "$field" "$TMP/bad.out" || fail "bad input ($*): '$field' not named: $(cat "$TMP/bad.out")"
}
bad --to --source --to 'host;2'
bad --to --to host2
bad --from --source --from host1
bad_cli() {
	local field=$1 rc=0
	shift
	"$NETMOVE" "$@" --ctl "$TMP/none.ctl" >"$TMP/bad.out" 2>&1 || rc=$?
	[ $rc = 2 ] || fail "bad input (netmove $*): exit $rc: $(cat "$TMP/bad.out")"
	grep -q -- "$field" "$TMP/bad.out" || fail "bad input (netmove $*): '$field' not named: $(cat "$TMP/bad.out")"
}
bad_cli VM paused 'vm;1'
bad_cli VM paused
bad_cli --to paused vm1 --to 'host;2'
bad_cli --to left vm1 --to -x
pass "bad input: --to invalid or without --source, --from with --source; netmove paused/left with a bad VM or HOST: exit 2 naming it"

# ---- Through the source's netmoved (host1 of the lab) ----
[ -x "$TOP/build/netmoved" ] || fail "build/netmoved missing (make)"
"$LAB" up --hosts 2 --vms 1 >/dev/null
R1=$(status_get '.hosts[0].ovs_rundir')
wait_peers host2 host1
nm() { local h=$1; shift; "$LAB" exec "$h" "$NETMOVE" "$@"; }

# 7. Cancelled after the pause: host1's netmoved hears paused, then abort
# (it withdraws the export).
nm host2 prepare vm1 --from host1 >/dev/null || fail "nm-cancel: prepare failed"
pair nmcancel true true --ctl "$R1/netmoved.ctl"
migrate nmcancel
wait_until 30 migration_is "$TMP/nmcancel-src3.qmp" pre-switchover || fail "nm-cancel: no pre-switchover"
wait_until 5 grep -q 'vm1 paused for its switch-over to host2' "$R1/netmoved.log" ||
	fail "nm-cancel: host1's netmoved did not record the pause: $(cat "$TMP/nmcancel.watch")"
grep -q 'paused done in' "$TMP/nmcancel.watch" || fail "nm-cancel: paused call: $(cat "$TMP/nmcancel.watch")"
qmp "$TMP/nmcancel-src3.qmp" '{"execute": "migrate_cancel"}' >/dev/null
watch_exit nmcancel 0
grep -q 'export of vm1 to host2 withdrawn' "$R1/netmoved.log" || fail "nm-cancel: host1 did not withdraw the export"
nm host1 status | jq -e '.outgoing | index("vm1") | not' >/dev/null || fail "nm-cancel: vm1 still outgoing on host1"
pass "netmoved: paused recorded at QEMU's STOP; the cancelled migration's RESUME withdrew the export (abort)"
echo "latency netmoved: $(grep -o 'received [0-9]* us, paused called [0-9]* us after it' "$TMP/nmcancel.watch"); $(grep -o 'paused done in [0-9]* ms' "$TMP/nmcancel.watch")"
nm host2 abort vm1 >/dev/null 2>&1 || true

# 8. Completed: paused then left reach host1's netmoved.
nm host2 prepare vm1 --from host1 >/dev/null || fail "nm-left: prepare failed"
pair nmleft true false --ctl "$R1/netmoved.ctl"
migrate nmleft
watch_exit nmleft 0
grep -q 'vm1 paused for its switch-over to host2' "$R1/netmoved.log" || fail "nm-left: no pause recorded"
grep -q 'vm1 left this host, to host2' "$R1/netmoved.log" || fail "nm-left: host1's netmoved did not record left"
grep -rq '"step":"left"' "$R1/netmove" || fail "nm-left: no 'left' record in host1's journal"
pass "netmoved: paused at the STOP and left at the completion, recorded by host1 (log, journal)"
echo "latency netmoved (completed): $(grep -o 'received [0-9]* us, paused called [0-9]* us after it' "$TMP/nmleft.watch"); $(grep -o 'paused done in [0-9]* ms' "$TMP/nmleft.watch")"
nm host2 abort vm1 >/dev/null 2>&1 || true

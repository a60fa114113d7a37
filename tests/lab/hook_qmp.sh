#!/bin/bash
# 'netmove watch-qmp' against real QEMU: the hook runs once, right after the
# RESUME that follows an incoming migration, with the right variables (also
# when started late); a plain stop/cont never triggers it, nor a destination
# that dies; bad input exits 2 and runs nothing; and in the lab, QEMU's
# RESUME drives the real netmoved's resume.
#
#   QEMU "src" (running)                 QEMU "dst" (-incoming unix:mig.sock [-S])
#     src.qmp <- this test: migrate        dst.qmp  <- netmove watch-qmp --exec CMD
#         |                                dst2.qmp <- this test: events (QEMU's
#         |                                            own RESUME timestamp)
#         +------ unix:mig.sock ------->   dst3.qmp <- this test: status, cont
#
#   QEMU "plain" (never migrated): plain.qmp <- watch-qmp, plain3.qmp <- stop/cont
#
# No guest OS (-machine pc -m 64 -nodefaults, TCG: docs/LAB-NOTES.md), no network:
# QEMU's own migration over a UNIX socket.  Reads back with QEMU's QMP
# (socat, jq) rather than with netmove's own parser.
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
	(exit $rc)         # lib.bash's cleanup exits with $?
	cleanup
}
trap hook_cleanup EXIT

# qemu NAME [ARGS...]: starts a guestless QEMU with QMP monitors NAME.qmp,
# NAME2.qmp and NAME3.qmp in $TMP (a monitor serves one client at a time:
# one for watch-qmp, one for an observer, one for commands); returns once
# the sockets exist.
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

# qmp SOCKET COMMAND-JSON...: runs the commands on a QMP monitor, prints the
# answers (one JSON per line, greeting and events included).
qmp() {
	local sock=$1
	shift
	{ echo '{"execute": "qmp_capabilities"}'; printf '%s\n' "$@"; } |
		timeout 10 socat -t 0.5 - "UNIX-CONNECT:$sock"
}

# status SOCKET: QEMU's run state.
status() { qmp "$1" '{"execute": "query-status"}' | jq -r 'select(.return.status) | .return.status'; }

# migration_completed SOCKET: the source's query-migrate says completed.
migration_completed() {
	[ "$(qmp "$1" '{"execute": "query-migrate"}' | jq -r 'select(.return.status) | .return.status')" = completed ]
}

# observe SOCKET FILE: records the monitor's events into FILE (background).
observe() {
	echo '{"execute": "qmp_capabilities"}' >"$TMP/caps.json"
	# Not through bg(): a background job's stdin would be /dev/null.
	# ignoreeof: at EOF on stdin socat would half-close, and QEMU hang up.
	socat STDIO,ignoreeof "UNIX-CONNECT:$1" <"$TMP/caps.json" >"$2" &
	_bg_pids+=($!)
	wait_until 5 grep -q '"return"' "$2" || fail "no QMP answer on $1"
}

# The hook: one line per run, with the variables and its start time.
# shellcheck disable=SC2016 # expanded by the hook's sh, not here.
CMD='printf "%s|%s|%s|%s\n" "$NETMOVE_VM" "${NETMOVE_SRC_HOST-unset}" "${NETMOVE_RESUMED_US-unset}" "$(date +%s%6N)" >>"$CALLS"'

# migrate_case NAME DST-ARGS: migrates NAME-src to NAME-dst while watch-qmp
# follows NAME-dst; with "-S" the destination stays paused after the
# migration and the test sends 'cont' (as libvirt does).
migrate_case() {
	local n=$1 dst_args=$2 wpid rc
	export CALLS=$TMP/$n.calls
	qemu "$n-src"
	# shellcheck disable=SC2086 # DST-ARGS is a word list.
	qemu "$n-dst" -incoming "unix:$TMP/$n-mig.sock" $dst_args
	[ "$(status "$TMP/$n-dst3.qmp")" = inmigrate ] || fail "$n: destination is not waiting for a migration"
	observe "$TMP/$n-dst2.qmp" "$TMP/$n-dst.events"

	"$NETMOVE" watch-qmp "$TMP/$n-dst.qmp" vm1 --from host1 --timeout 60 --exec "$CMD" \
		>"$TMP/$n.watch" 2>&1 &
	wpid=$!
	_bg_pids+=("$wpid")
	wait_until 10 grep -q 'waiting for the incoming migration' "$TMP/$n.watch" ||
		fail "$n: watch-qmp did not arm: $(cat "$TMP/$n.watch")"
	[ ! -e "$CALLS" ] || fail "$n: hook ran before the migration"

	qmp "$TMP/$n-src.qmp" "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"unix:$TMP/$n-mig.sock\"}}" >"$TMP/$n.migrate"
	[ "$(grep -c '"return": {}' "$TMP/$n.migrate")" = 2 ] || fail "$n: migrate refused: $(cat "$TMP/$n.migrate")"
	wait_until 30 migration_completed "$TMP/$n-src.qmp" || fail "$n: the migration did not complete"
	if [ "$dst_args" = -S ]; then
		# Paused after the incoming migration: still no hook until 'cont'.
		[ "$(status "$TMP/$n-dst3.qmp")" = paused ] || fail "$n: destination not paused after the migration"
		[ ! -e "$CALLS" ] || fail "$n: hook ran while the destination was still paused"
		qmp "$TMP/$n-dst3.qmp" '{"execute": "cont"}' >/dev/null
	fi
	rc=0
	wait "$wpid" || rc=$?
	[ $rc = 0 ] || fail "$n: watch-qmp exited $rc: $(cat "$TMP/$n.watch")"

	# QEMU's own view, read back through the monitors the hook did not use.
	[ "$(status "$TMP/$n-dst.qmp")" = running ] || fail "$n: destination not running"
	[ "$(status "$TMP/$n-src.qmp")" = postmigrate ] || fail "$n: source not in postmigrate"
	local resumes ts line vm src var at
	resumes=$(jq -c 'select(.event == "RESUME") | .timestamp.seconds * 1000000 + .timestamp.microseconds' "$TMP/$n-dst.events")
	[ "$(echo "$resumes" | grep -c .)" = 1 ] || fail "$n: expected one RESUME on the destination, saw: $resumes"
	ts=$resumes
	[ "$(grep -c . "$CALLS")" = 1 ] || fail "$n: hook ran $(grep -c . "$CALLS") times: $(cat "$CALLS")"
	line=$(cat "$CALLS")
	IFS='|' read -r vm src var at <<<"$line"
	[ "$vm" = vm1 ] || fail "$n: NETMOVE_VM='$vm'"
	[ "$src" = host1 ] || fail "$n: NETMOVE_SRC_HOST='$src'"
	[ "$var" = "$ts" ] || fail "$n: NETMOVE_RESUMED_US=$var, QEMU's RESUME was at $ts"
	[ "$at" -ge "$ts" ] || fail "$n: hook ran at $at, before the RESUME at $ts"
	local call_us recv_us
	call_us=$(sed -n 's/.*resume called \([0-9]*\) us after it.*/\1/p' "$TMP/$n.watch")
	recv_us=$(sed -n 's/.*received \([0-9]*\) us, resume called.*/\1/p' "$TMP/$n.watch")
	[ -n "$call_us" ] || fail "$n: no latency line: $(cat "$TMP/$n.watch")"
	pass "$n: hook ran once after the RESUME (vm1, host1, RESUMED_US = QEMU's timestamp)"
	echo "latency $n: RESUME timestamp -> event received $recv_us us -> resume call $call_us us (watch-qmp); -> hook command running $((at - ts)) us (its own clock, incl. sh and date)"
}

migrate_case auto ""
migrate_case paused -S

# Started late, on the destination that already resumed: resume at once,
# marked late (no RESUME event to date it).
export CALLS=$TMP/late.calls
"$NETMOVE" watch-qmp "$TMP/auto-dst.qmp" vm1 --timeout 10 --exec "$CMD" >"$TMP/late.watch" 2>&1 ||
	fail "late: watch-qmp failed: $(cat "$TMP/late.watch")"
grep -q 'late, undated' "$TMP/late.watch" || fail "late: not reported late: $(cat "$TMP/late.watch")"
if [ "$(grep -c . "$CALLS")" != 1 ] || ! grep -q '^vm1|unset|unset|' "$CALLS"; then
	fail "late: hook calls: $(cat "$CALLS" 2>/dev/null)"
fi
pass "late: on a destination already resumed, the hook runs at once (no --from, no RESUMED_US)"

# A resume call that fails ends the watch at once, with its exit code
# (not a wait until --timeout: a failed call is exit code 1).
start=${EPOCHREALTIME/./}
rc=0
"$NETMOVE" watch-qmp "$TMP/auto-dst.qmp" vm1 --timeout 20 --exec false >"$TMP/fail.watch" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "a failed resume call: watch-qmp exit $rc, not 1: $(cat "$TMP/fail.watch")"
[ $(( ${EPOCHREALTIME/./} - start )) -lt 10000000 ] || fail "a failed resume call: watch-qmp waited for its --timeout"
pass "a failed resume call ends watch-qmp at once with exit 1"

# The destination dies before the migration: no hook, exit 1.
export CALLS=$TMP/dead.calls
qemu dead -incoming "unix:$TMP/dead-mig.sock"
"$NETMOVE" watch-qmp "$TMP/dead.qmp" vm1 --timeout 30 --exec "$CMD" >"$TMP/dead.watch" 2>&1 &
wpid=$!
_bg_pids+=("$wpid")
wait_until 10 grep -q 'waiting for the incoming migration' "$TMP/dead.watch" || fail "dead: watch-qmp did not arm"
kill "${qemu_pids[-1]}"
rc=0
wait "$wpid" || rc=$?
[ $rc = 1 ] || fail "dead: watch-qmp exited $rc: $(cat "$TMP/dead.watch")"
# QEMU says SHUTDOWN before it goes (SIGTERM), or just closes.
grep -Eq 'shut down before it resumed|closed the QMP connection before the VM resumed' "$TMP/dead.watch" ||
	fail "dead: $(cat "$TMP/dead.watch")"
[ ! -e "$CALLS" ] || fail "dead: the hook ran"
pass "dead: destination QEMU gone before the migration: exit 1, no hook"

# A plain stop/cont on a QEMU that was never migrated never triggers.
export CALLS=$TMP/plain.calls
qemu plain
rc=0
"$NETMOVE" watch-qmp "$TMP/plain.qmp" vm1 --timeout 3 --exec "$CMD" >"$TMP/plain.watch" 2>&1 &
wpid=$!
_bg_pids+=("$wpid")
wait_until 10 grep -q 'not the destination of an incoming migration' "$TMP/plain.watch" ||
	fail "plain: watch-qmp did not classify the VM: $(cat "$TMP/plain.watch")"
qmp "$TMP/plain3.qmp" '{"execute": "stop"}' '{"execute": "cont"}' >"$TMP/plain.stopcont"
grep -q '"event": "RESUME"' "$TMP/plain.stopcont" || fail "plain: QEMU sent no RESUME: $(cat "$TMP/plain.stopcont")"
wait_until 5 grep -q 'RESUME ignored' "$TMP/plain.watch" || fail "plain: watch-qmp did not see the RESUME"
wait "$wpid" || rc=$?
[ $rc = 1 ] || fail "plain: watch-qmp exited $rc, expected 1 at --timeout: $(cat "$TMP/plain.watch")"
[ ! -e "$CALLS" ] || fail "plain: the hook ran on a plain cont: $(cat "$CALLS")"
[ "$(status "$TMP/plain.qmp")" = running ] || fail "plain: VM not running after cont"
pass "plain: stop/cont seen, ignored, no hook; exit 1 at --timeout"

# Bad input: exit 2, the field named, nothing run.
bad() {
	local field=$1 rc=0
	shift
	"$NETMOVE" watch-qmp "$@" --exec "$CMD" >"$TMP/bad.out" 2>&1 || rc=$?
	[ $rc = 2 ] || fail "bad input ($*): exit $rc: $(cat "$TMP/bad.out")"
	grep -q -- "$field" "$TMP/bad.out" || fail "bad input ($*): '$field' not named: $(cat "$TMP/bad.out")"
}
bad SOCKET "$TMP/nonexistent.qmp" vm1
bad SOCKET "$TMP/plain.log" vm1
bad VM "$TMP/plain.qmp" 'vm 1'
bad VM "$TMP/plain.qmp"
bad --from "$TMP/plain.qmp" vm1 --from 'host;1'
bad --timeout "$TMP/plain.qmp" vm1 --timeout -1
bad --timeout "$TMP/plain.qmp" vm1 --timeout 10s
bad --ctl "$TMP/plain.qmp" vm1 --ctl "$TMP/netmoved.ctl"
bad unknown "$TMP/plain.qmp" vm1 --frm host1
bad --owner "$TMP/plain.qmp" vm1 --owner no-such-user-nm
# A socket another guest's QEMU could have planted: in a directory others
# may write to (sticky or not), or through a symbolic link.
mkdir -m 1777 "$TMP/shared"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$TMP/shared/vm1.qmp"
bad "writable by others" "$TMP/shared/vm1.qmp" vm1
ln -s "$TMP/plain.qmp" "$TMP/link.qmp"
bad "symbolic link" "$TMP/link.qmp" vm1
[ ! -e "$CALLS" ] || fail "bad input ran the hook"
pass "bad input: exit 2 naming SOCKET, VM, --from, --timeout, --ctl, --owner, unknown options, a socket in a directory others may write to or behind a link; hook never ran"

# ---- Through netmoved: QEMU's RESUME drives the real resume ----
#
#   client --- fabric (capture) --- host1 OVS (vm1's port)   host2 OVS (staged port)
#   QEMU e2e-src --migrate--> QEMU e2e-dst <- watch-qmp --ctl host2's netmoved.ctl
#
# The lab moves vm1's link (netmove prepare first, --no-port: ports are
# netmove's job); its resume hook only records the state and starts QEMU's
# migration, so that the resume is called by watch-qmp at QEMU's RESUME.
[ -x "$TOP/build/netmoved" ] || fail "build/netmoved missing (make)"
"$LAB" up --hosts 2 --vms 1 >/dev/null
R1=$(status_get '.hosts[0].ovs_rundir')
R2=$(status_get '.hosts[1].ovs_rundir')
mac=$(status_get '.vms[0].mac')
ip4=$(status_get '.vms[0].ipv4')
client_port=$(status_get '.client.fabric_port')
wait_until 10 "$LAB" exec client ping -n -q -c 1 -W 1 "$ip4" || fail "e2e: client cannot reach vm1 before the move"

n=e2e
qemu "$n-src"
qemu "$n-dst" -incoming "unix:$TMP/$n-mig.sock"
observe "$TMP/$n-dst2.qmp" "$TMP/$n-dst.events"
"$NETMOVE" watch-qmp "$TMP/$n-dst.qmp" vm1 --from host1 --ctl "$R2/netmoved.ctl" --timeout 120 \
	>"$TMP/$n.watch" 2>&1 &
wpid=$!
_bg_pids+=("$wpid")
wait_until 10 grep -q 'waiting for the incoming migration' "$TMP/$n.watch" ||
	fail "e2e: watch-qmp did not arm: $(cat "$TMP/$n.watch")"
capture fabric "$client_port" "$TMP/$n.pcap"
hookcmd="ovs-vsctl --db=unix:$R1/db.sock list-ports br-int >$TMP/$n.src-ports-before
netmove status vm1 --ctl $R2/netmoved.ctl >$TMP/$n.status-before
printf '%s\n' '{\"execute\": \"qmp_capabilities\"}' '{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"unix:$TMP/$n-mig.sock\"}}' |
	timeout 10 socat -t 0.3 - UNIX-CONNECT:$TMP/$n-src.qmp >$TMP/$n.migrate"
# shellcheck disable=SC2016 # expanded by the lab's hook shell.
"$LAB" migrate vm1 host2 --no-port --prepare 'netmove prepare "$NETMOVE_VM" --from "$NETMOVE_SRC_HOST"' \
	--hook "$hookcmd" >"$TMP/$n.lab" 2>&1 || fail "e2e: lab migrate: $(cat "$TMP/$n.lab")"
rc=0
wait "$wpid" || rc=$?
[ $rc = 0 ] || fail "e2e: watch-qmp exited $rc: $(cat "$TMP/$n.watch")"
grep -q 'resume called' "$TMP/$n.watch" || fail "e2e: no resume call: $(cat "$TMP/$n.watch")"
# Announcements leave on the fabric; then stop capturing before any traffic.
wait_until 5 sh -c "[ \$(tshark -r $TMP/$n.pcap -Y 'eth.src == $mac' 2>/dev/null | wc -l) -gt 0 ]" ||
	fail "e2e: no frame from vm1's MAC on the fabric"
capture_stop

# Before QEMU's RESUME: staged, not resumed; the source still had the port.
grep -qx tap-vm1 "$TMP/$n.src-ports-before" || fail "e2e: source port gone before the RESUME"
before=$(jq -r '.migrations[] | select(.vm == "vm1") | .state' "$TMP/$n.status-before")
if [ -z "$before" ] || [ "$before" = "done" ]; then
	fail "e2e: before the RESUME the migration was '$before'"
fi
# After: read back with ovs-vsctl, tshark, ping.
wait_until 10 sh -c "! ovs-vsctl --db=unix:$R1/db.sock list-ports br-int | grep -qx tap-vm1" ||
	fail "e2e: source port not removed (confirm)"
[ "$(ovs-vsctl --db="unix:$R2/db.sock" get Interface tap-vm1 external_ids:vm-id | tr -d '"')" = vm1 ] ||
	fail "e2e: destination port lacks vm-id=vm1"
"$NETMOVE" status vm1 --ctl "$R2/netmoved.ctl" >"$TMP/$n.status-after"
after=$(jq -r '.migrations[] | select(.vm == "vm1") | .state' "$TMP/$n.status-after")
[ "$after" = "done" ] || fail "e2e: after the RESUME the migration is '$after'"
ts=$(jq -c 'select(.event == "RESUME") | .timestamp.seconds * 1000000 + .timestamp.microseconds' "$TMP/$n-dst.events")
[ "$(echo "$ts" | grep -c .)" = 1 ] || fail "e2e: expected one RESUME, saw: $ts"
first=$(tshark -r "$TMP/$n.pcap" -Y "eth.src == $mac" -T fields -e frame.time_epoch 2>/dev/null | head -1)
first_us=$(echo "$first" | awk '{ printf "%.0f", $1 * 1000000 }')
[ "$first_us" -ge "$ts" ] || fail "e2e: vm1's MAC on the fabric at $first_us, before QEMU's RESUME at $ts"
rarps=$(tshark -r "$TMP/$n.pcap" -Y "eth.src == $mac && eth.type == 0x8035" 2>/dev/null | wc -l)
[ "$rarps" -gt 0 ] || fail "e2e: no RARP from vm1 on the fabric"
[ "$(pings client "$ip4" 3)" = 3 ] || fail "e2e: client cannot reach vm1 after the move"
pass "e2e: QEMU's RESUME -> watch-qmp -> netmoved resume: port staged until then, source confirmed, announcements after the RESUME, client reaches vm1"
call_us=$(sed -n 's/.*resume called \([0-9]*\) us after it.*/\1/p' "$TMP/$n.watch")
echo "latency e2e: RESUME -> resume call $call_us us; RESUME -> first frame of vm1 on the fabric (tcpdump) $((first_us - ts)) us; netmoved: $(jq -c '.migrations[] | select(.vm == "vm1") | .timings' "$TMP/$n.status-after")"

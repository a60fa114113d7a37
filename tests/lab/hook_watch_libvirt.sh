#!/bin/bash
# netmove watch-libvirt against real libvirtds (Debian's libvirt 9.0):
#
#   netns nm-LAB-lv: lo 198.18.99.1 (host A), 198.18.99.2 (host B)
#   libvirtd A (own mount ns) <--- virsh migrate --live ---> libvirtd B (own mount ns)
#   domain nmlv (QEMU TCG, 64 MiB, no OS, an extra QMP monitor for watch-qmp)
#
# Asserts: a plain suspend/resume never triggers; a live migration triggers
# the destination's watcher exactly once, after QEMU's RESUME, with
# NETMOVE_VM = the domain's UUID; the source's watcher prints SUSPENDED
# MIGRATED and gives up at STOPPED MIGRATED; started late it calls at once;
# 'migrate --suspend' triggers at the operator's 'virsh resume' only; a
# migration cancelled on the source gives up (exit 1) on both sides; a
# libvirtd that stops gives up (exit 1); bad input exits 2.  Prints watch-libvirt's and watch-qmp's
# latencies side by side.
set -eu
. "$(dirname "$0")/lib.bash"

command -v libvirtd >/dev/null || skip "libvirtd missing"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing"
NM=$TOP/build/netmove
[ -x "$NM" ] || fail "build/netmove missing (make)"
"$NM" help watch-libvirt >/dev/null || fail "netmove has no watch-libvirt"

NS=nm-$NETMOVE_LAB-lv
DOM=nmlv
UUID=6e6d6c76-0000-4000-8000-0000000000a1
ip_of() { [ "$1" = A ] && echo 198.18.99.1 || echo 198.18.99.2; }
anchor() { cat "$TMP/$1/anchor.pid"; }
in_host() { local h=$1; shift; nsenter -t "$(anchor "$h")" -m -n "$@"; }
V() { local h=$1; shift; in_host "$h" virsh -q -c qemu:///system "$@"; }

lv_cleanup() {
	local rc=$? h p
	set +e
	for h in A B; do
		[ -s "$TMP/$h/anchor.pid" ] || continue
		V "$h" destroy "$DOM" >/dev/null 2>&1
		for p in libvirtd virtlogd; do
			[ -s "$TMP/$h/run/$p.pid" ] && kill "$(cat "$TMP/$h/run/$p.pid")" 2>/dev/null
		done
	done
	sleep 0.3
	for h in A B; do [ -s "$TMP/$h/anchor.pid" ] && kill "$(anchor "$h")" 2>/dev/null; done
	# A QEMU whose libvirtd is gone (the test stops one) outlives it:
	# whatever still runs in the test's namespace goes with it.
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	(exit $rc)
	cleanup
}
trap lv_cleanup EXIT

# libvirtd per host: private /run/libvirt, /var/lib/libvirt, /etc/libvirt,
# /var/log/libvirt, /var/cache/libvirt (docs/LAB-NOTES.md "Real libvirt").
# Both start before either is waited for: a libvirtd takes seconds to
# answer (it probes QEMU), the two starts overlap.
lv_daemon() {
	local h=$1
	in_host "$h" virtlogd -d -p /run/libvirt/virtlogd.pid
	in_host "$h" libvirtd -d -l -p /run/libvirt/libvirtd.pid
}
lv_daemon_wait() {
	local h=$1
	wait_until 30 V "$h" version || fail "libvirtd $h does not answer: $(tail -3 "$TMP/$h/log/libvirtd.log" 2>/dev/null)"
}
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" addr add 198.18.99.1/32 dev lo
ip -n "$NS" addr add 198.18.99.2/32 dev lo
mkdir -p /run/libvirt /var/lib/libvirt /etc/libvirt /var/log/libvirt /var/cache/libvirt
for h in A B; do
	d=$TMP/$h
	mkdir -p "$d"/{run,lib,etc,log,cache}
	cat >"$d/etc/libvirtd.conf" <<-EOF
		listen_tls = 0
		listen_tcp = 1
		auth_tcp = "none"
		auth_unix_rw = "none"
		auth_unix_ro = "none"
		listen_addr = "$(ip_of $h)"
		host_uuid = "6e6d686f-7374-4000-8000-0000000000$([ $h = A ] && echo 0a || echo 0b)"
		log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
	EOF
	printf '%s\n' 'user = "root"' 'group = "root"' 'security_driver = "none"' 'namespaces = [ ]' \
		'cgroup_controllers = [ ]' 'dynamic_ownership = 0' 'remember_owner = 0' >"$d/etc/qemu.conf"
	echo 'log_outputs = "3:file:/var/log/libvirt/virtlogd.log"' >"$d/etc/virtlogd.conf"
	setsid ip netns exec "$NS" unshare -m --propagation private sh -c '
		d=$1
		mount --bind "$d/run" /run/libvirt && mount --bind "$d/lib" /var/lib/libvirt &&
		mount --bind "$d/etc" /etc/libvirt && mount --bind "$d/log" /var/log/libvirt &&
		mount --bind "$d/cache" /var/cache/libvirt || exit 1
		echo $$ >"$d/anchor.pid"
		exec sleep infinity' lv-anchor "$d" </dev/null >"$d/anchor.log" 2>&1 &
	wait_until 5 test -s "$d/anchor.pid" || fail "namespace of $h: $(cat "$d/anchor.log")"
	lv_daemon "$h"
done
for h in A B; do lv_daemon_wait "$h"; done
cat >"$TMP/dom.xml" <<EOF
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>$DOM</name>
  <uuid>$UUID</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
  <qemu:commandline>
    <qemu:arg value='-qmp'/>
    <qemu:arg value='unix:/run/libvirt/$DOM.nm.qmp,server=on,wait=off'/>
  </qemu:commandline>
</domain>
EOF
V A create "$TMP/dom.xml" >/dev/null || fail "virsh create"
pass "two libvirtds up, $DOM running on A"

# --exec command: one line per call, with the environment it got.
EXEC='echo "call $NETMOVE_VM ${NETMOVE_RESUMED_US:-unset} $(date +%s%6N)" >>"$CALLS"'

# --- bad input: exit 2 naming the field; absent domain: 1 ---
rc=0; "$NM" watch-libvirt a/b 2>"$TMP/err" || rc=$?
[ $rc = 2 ] && grep -q DOMAIN "$TMP/err" || fail "DOMAIN a/b: exit $rc: $(cat "$TMP/err")"
rc=0; "$NM" watch-libvirt x --uri bogus 2>"$TMP/err" || rc=$?
[ $rc = 2 ] && grep -q -- --uri "$TMP/err" || fail "--uri bogus: exit $rc"
rc=0; "$NM" watch-libvirt x --vm 'a b' 2>"$TMP/err" || rc=$?
[ $rc = 2 ] && grep -q -- --vm "$TMP/err" || fail "--vm 'a b': exit $rc"
rc=0; in_host A "$NM" watch-libvirt nosuchdomain --timeout 3 2>"$TMP/err" || rc=$?
[ $rc = 1 ] && grep -q "no domain" "$TMP/err" || fail "absent domain: exit $rc: $(cat "$TMP/err")"
pass "bad input exits 2 naming DOMAIN, --uri, --vm; an absent domain 1"

# --- a plain suspend/resume never triggers ---
export CALLS=$TMP/calls.plain
in_host A "$NM" watch-libvirt "$DOM" --exec "$EXEC" --timeout 3 >"$TMP/plain.out" 2>&1 &
wp=$!
wait_until 5 grep -q "not after an incoming migration" "$TMP/plain.out" || fail "plain: watcher not started: $(cat "$TMP/plain.out")"
V A suspend "$DOM" >/dev/null
V A resume "$DOM" >/dev/null
rc=0; wait $wp || rc=$?
[ $rc = 1 ] || fail "plain suspend/resume: watcher exited $rc: $(cat "$TMP/plain.out")"
grep -q "RESUMED UNPAUSED.*ignored" "$TMP/plain.out" || fail "RESUMED UNPAUSED not seen/ignored: $(cat "$TMP/plain.out")"
[ ! -e "$CALLS" ] || fail "plain suspend/resume called: $(cat "$CALLS")"
pass "virsh suspend + resume: RESUMED UNPAUSED ignored, nothing called, exit 1 at --timeout"

# migrate SRC DST [virsh migrate options]: starts a live migration, starts
# the watchers once the destination's QEMU is up (as the hook does at
# 'started'): watch-libvirt and watch-qmp on DST, watch-libvirt on SRC.
migrate() {
	local src=$1 dst=$2
	shift 2
	rm -f "$TMP/$dst/run/$DOM.nm.qmp" "$TMP"/*.out "$TMP"/calls.*
	(V "$src" migrate --live "$@" "$DOM" "qemu+tcp://$(ip_of "$dst")/system" \
		--migrateuri "tcp://$(ip_of "$dst")" >"$TMP/mig.out" 2>&1; echo "rc $?" >>"$TMP/mig.out") &
	mpid=$!
	wait_until 20 test -S "$TMP/$dst/run/$DOM.nm.qmp" || fail "no destination QEMU: $(cat "$TMP/mig.out")"
	CALLS=$TMP/calls.lv in_host "$dst" "$NM" watch-libvirt "$DOM" --exec "$EXEC" --timeout 20 >"$TMP/lv.out" 2>&1 &
	lpid=$!
	CALLS=$TMP/calls.qmp in_host "$dst" "$NM" watch-qmp "/run/libvirt/$DOM.nm.qmp" "$DOM" \
		--exec "$EXEC" --timeout 20 >"$TMP/qmp.out" 2>&1 &
	qpid=$!
	CALLS=$TMP/calls.src in_host "$src" "$NM" watch-libvirt "$DOM" --exec "$EXEC" --timeout 20 >"$TMP/src.out" 2>&1 &
	spid=$!
}

# --- live migrations A <-> B: exactly once, after QEMU's RESUME ---
lat=()
src=A dst=B
for i in 1 2 3 4; do
	migrate $src $dst
	wait $mpid
	grep -q "rc 0" "$TMP/mig.out" || fail "migration $i: $(cat "$TMP/mig.out")"
	rc=0; wait $lpid || rc=$?
	[ $rc = 0 ] || fail "migration $i: watch-libvirt exited $rc: $(cat "$TMP/lv.out")"
	wait $qpid || fail "migration $i: watch-qmp failed: $(cat "$TMP/qmp.out")"
	rc=0; wait $spid || rc=$?
	[ $rc = 1 ] || fail "migration $i: source watcher exited $rc: $(cat "$TMP/src.out")"
	[ "$(wc -l <"$TMP/calls.lv")" = 1 ] || fail "migration $i: calls: $(cat "$TMP/calls.lv")"
	read -r _ vm lv_us _ <"$TMP/calls.lv"
	read -r _ _ qemu_us _ <"$TMP/calls.qmp"
	[ "$vm" = "$UUID" ] || fail "migration $i: NETMOVE_VM=$vm, expected the UUID $UUID"
	[ "$lv_us" -ge "$qemu_us" ] || fail "migration $i: libvirt's event ($lv_us) before QEMU's RESUME ($qemu_us)?"
	grep -q "SUSPENDED MIGRATED.*source" "$TMP/src.out" || fail "migration $i: source did not see its pause: $(cat "$TMP/src.out")"
	grep -q "STOPPED MIGRATED" "$TMP/src.out" || fail "migration $i: source did not give up at STOPPED MIGRATED"
	[ ! -e "$TMP/calls.src" ] || fail "migration $i: the source called resume"
	lat+=("$((lv_us - qemu_us))")
	t=$src src=$dst dst=$t
done
pass "4 live migrations: destination watch-libvirt called once (NETMOVE_VM = UUID), after QEMU's RESUME; source saw SUSPENDED MIGRATED, gave up at STOPPED MIGRATED, never called"
echo "  QEMU's RESUME -> libvirt's RESUMED MIGRATED in watch-libvirt (us): ${lat[*]}"
grep -h "RESUME at" "$TMP/qmp.out" | sed 's/^/  last /'

# --- started late: already running after the incoming migration ---
CALLS=$TMP/calls.late in_host "$src" "$NM" watch-libvirt "$UUID" --exec "$EXEC" --timeout 5 >"$TMP/late.out" 2>&1 ||
	fail "late: $(cat "$TMP/late.out")"
grep -q "late" "$TMP/late.out" && grep -q "unset" "$TMP/calls.late" || fail "late: $(cat "$TMP/late.out")"
pass "started late (by UUID): calls at once, says so, NETMOVE_RESUMED_US unset"

# --- migrate --suspend: the first run is the operator's 'virsh resume' ---
migrate $src $dst --suspend
wait $mpid
grep -q "rc 0" "$TMP/mig.out" || fail "migrate --suspend: $(cat "$TMP/mig.out")"
wait_until 10 grep -q "SUSPENDED PAUSED" "$TMP/lv.out" || fail "--suspend: no SUSPENDED PAUSED: $(cat "$TMP/lv.out")"
[ ! -e "$TMP/calls.lv" ] || fail "--suspend: called before the domain ran"
V "$dst" resume "$DOM" >/dev/null
wait $lpid || fail "--suspend: watch-libvirt failed: $(cat "$TMP/lv.out")"
[ "$(wc -l <"$TMP/calls.lv")" = 1 ] || fail "--suspend: calls: $(cat "$TMP/calls.lv" 2>/dev/null)"
grep -q "RESUMED UNPAUSED received" "$TMP/lv.out" || fail "--suspend: $(cat "$TMP/lv.out")"
kill $qpid 2>/dev/null || true; wait $qpid 2>/dev/null || true
wait $spid 2>/dev/null || true
pass "migrate --suspend: nothing while paused here, one call at 'virsh resume'"
t=$src src=$dst dst=$t

# --- the migration is cancelled on the source: the destination gives up ---
# A 2 Mbit/s bucket on the namespace's lo holds the migration for seconds.
ip netns exec "$NS" tc qdisc add dev lo root tbf rate 2mbit burst 32k latency 400ms
migrate $src $dst
wait_until 10 grep -q "waiting for the incoming migration" "$TMP/lv.out" || fail "cancel: watcher not armed: $(cat "$TMP/lv.out")"
V "$src" domjobabort "$DOM" >/dev/null || fail "cancel: domjobabort"
rc=0; wait $lpid || rc=$?
ip netns exec "$NS" tc qdisc del dev lo root
[ $rc = 1 ] || fail "cancel: watch-libvirt exited $rc: $(cat "$TMP/lv.out")"
grep -q "STOPPED FAILED" "$TMP/lv.out" || fail "cancel: $(cat "$TMP/lv.out")"
[ ! -e "$TMP/calls.lv" ] || fail "cancel: called resume"
wait $mpid || true; wait $qpid 2>/dev/null || true; wait $spid 2>/dev/null || true
[ ! -e "$TMP/calls.src" ] || fail "cancel: the source called resume: $(cat "$TMP/src.out")"
V "$src" domstate "$DOM" | grep -q running || fail "the domain does not run on $src after the cancelled migration"
pass "migration cancelled on the source: destination STOPPED FAILED, exit 1, nothing called on either side; source resumed ($(grep -o 'RESUMED [A-Z]*' "$TMP/src.out" | head -1))"

# --- libvirtd stops while the watcher waits: give up ---
in_host "$src" "$NM" watch-libvirt "$DOM" --timeout 30 >"$TMP/close.out" 2>&1 &
wp=$!
wait_until 5 grep -q "domain $DOM" "$TMP/close.out" || fail "close: watcher not started"
kill "$(cat "$TMP/$src/run/libvirtd.pid")"
rc=0; wait $wp || rc=$?
[ $rc = 1 ] && grep -q "connection to libvirtd closed" "$TMP/close.out" || fail "close: exit $rc: $(cat "$TMP/close.out")"
pass "libvirtd stopped: the watcher gives up at once (exit 1, says why)"

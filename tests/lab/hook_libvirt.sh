#!/bin/bash
# The libvirt qemu hook (netmove/hooks/libvirt-qemu) invoked exactly as
# libvirtd invokes /etc/libvirt/hooks/qemu: a bare environment (LC_ALL, PATH,
# HOME, USER, LOGNAME), arguments GUEST OP SUBOP EXTRA, the domain XML on
# stdin, stdout and stderr read to EOF.  A stand-in 'netmove' first on PATH
# records its arguments: this tests the mapping of libvirt's operations to
# netmove's phases on each side of a migration.  At the end, the same
# sequence with the real netmove, netmoved and a QEMU migration in the lab.
#
#   destination host                            source host
#   migrate begin -   -> netmove prepare UUID
#   prepare/start begin -> (nothing)
#   started begin -   -> netmove watch-libvirt UUID (detached), or
#                        netmove watch-qmp QMP UUID if the domain has
#                        netmove's QMP monitor; a normal start (no
#                        incoming migration): netmove abort UUID
#   release end *     -> netmove abort UUID (incoming never resumed)
#                                                release end migrated
#                                                  -> netmove left UUID (the
#                                                  source's own evidence; the
#                                                  destination's confirm then
#                                                  removes its copy)
# UUID: the domain's, which libvirt puts on its OVS port as vm-id.
set -eu
. "$(dirname "$0")/lib.bash"

HOOK=$TOP/netmove/hooks/libvirt-qemu
[ -x "$HOOK" ] || fail "$HOOK is not executable"
if command -v shellcheck >/dev/null; then
	shellcheck "$HOOK" || fail "shellcheck: $HOOK"
	pass "shellcheck-clean"
fi

mkdir -p "$TMP/bin" "$TMP/qmp" "$TMP/ctl"
CALLS=$TMP/calls
# The stand-in: one line per call; behaviour chosen by files in $TMP/ctl.
cat >"$TMP/bin/netmove" <<EOF
#!/bin/bash
echo "\$*" >>"$CALLS"
verb=\$1
[ -e "$TMP/ctl/hang-\$verb" ] && sleep 30
[ -e "$TMP/ctl/fail-\$verb" ] && { echo "stand-in: \$verb failed" >&2; exit 1; }
[ "\$verb" = prepare ] && [ -e "$TMP/ctl/vlan-map" ] && cat "$TMP/ctl/vlan-map"
case \$verb in watch-qmp | watch-libvirt)
	sleep 1       # a watcher waits for QEMU or libvirtd; the hook must not
	if [ -e "$TMP/ctl/watch-resumes" ]; then
		echo "\$verb: \$2: RESUMED at 1.000001 after the incoming migration; resume called 80 us after it"
		exit 0
	fi
	echo "netmove: \$verb: the domain stopped before it resumed here" >&2
	exit 1
esac
exit 0
EOF
chmod +x "$TMP/bin/netmove"

cat >"$TMP/hook.conf" <<EOF
NETMOVE_QMP_DIR=$TMP/qmp
NETMOVE_HOOK_STATE=$TMP/state
NETMOVE_HOOK_LOG=$TMP/hook.log
NETMOVE_HOOK_TIMEOUT=5
NETMOVE_PREPARE_TIMEOUT=5
NETMOVE_RESUME_TIMEOUT=30
EOF

UUID=5b3f1c7e-2a4d-4e8b-9c1f-0a1b2c3d4e5f
HOOK_CONF=$TMP/hook.conf     # the settings file the hook reads
QMPDIR=$TMP/qmp              # where the domain XML puts netmove's monitor
# domain_xml NAME [qmp|noqmp] [ovs|noovs] [BRIDGE] [VLAN] [macvtap]
domain_xml() {
	local name=$1 qmp=${2:-qmp} ovs=${3:-ovs} bridge=${4:-br-int} vlan=${5:-} more=${6:-}
	cat <<EOF
<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>$name</name>
  <uuid>$UUID</uuid>
  <memory unit='KiB'>262144</memory>
  <devices>
    <interface type='bridge'>
      <mac address='02:00:00:00:00:01'/>
      <source bridge='$bridge'/>
EOF
	[ -z "$vlan" ] || echo "      <vlan><tag id='$vlan'/></vlan>"
	[ "$ovs" = ovs ] && cat <<EOF
      <virtualport type='openvswitch'>
        <parameters interfaceid='0b6d7c2e-1f4a-4c3b-8e2d-9a8b7c6d5e4f'/>
      </virtualport>
EOF
	cat <<EOF
      <target dev='tap-$name'/>
      <model type='virtio'/>
    </interface>
EOF
	[ "$more" != macvtap ] || cat <<EOF
    <interface type='direct'>
      <mac address='02:00:00:00:00:02'/>
      <source dev='eth9' mode='bridge'/>
      <vlan>
        <tag id='$vlan'/>
      </vlan>
    </interface>
EOF
	cat <<EOF
  </devices>
EOF
	[ "$qmp" = qmp ] && cat <<EOF
  <qemu:commandline>
    <qemu:arg value='-qmp'/>
    <qemu:arg value='unix:$QMPDIR/$name.qmp,server=on,wait=off'/>
  </qemu:commandline>
EOF
	echo '</domain>'
}

# hook XML-KIND ARGS...: runs the hook as libvirtd does; stdout in $TMP/out,
# stderr in $TMP/err, exit code in $hook_rc, duration (ms) in $hook_ms.
hook() {
	local kind=$1 t0
	shift
	hook_rc=0
	t0=${EPOCHREALTIME/./}
	# shellcheck disable=SC2086 # KIND is a word list.
	domain_xml $kind >"$TMP/in.xml"
	# Command substitution waits for EOF on stdout, as libvirtd does.
	out=$(env -i LC_ALL=C PATH="$TMP/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
		HOME=/root USER=root LOGNAME=root NETMOVE_HOOK_CONFIG="$HOOK_CONF" \
		"$HOOK" "$@" <"$TMP/in.xml" 2>"$TMP/err") || hook_rc=$?
	printf '%s' "$out" >"$TMP/out"
	hook_ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
}

# expect RC CALLS...: the last hook exited RC and made exactly these calls
# (in order), nothing on stdout; resets the record.
expect() {
	local rc=$1 want got
	shift
	[ "$hook_rc" = "$rc" ] || fail "hook exited $hook_rc, expected $rc: $(cat "$TMP/err")"
	[ ! -s "$TMP/out" ] || fail "hook wrote to stdout (libvirt would take it as the domain XML): $(cat "$TMP/out")"
	want=$(printf '%s\n' "$@")
	got=$(cat "$CALLS" 2>/dev/null || true)
	[ "$got" = "$want" ] || fail "calls: got [$got], expected [$want]"
	rm -f "$CALLS"
}

# --- destination, a migration that succeeds ---
hook "vm1" vm1 migrate begin -
expect 0 "prepare $UUID --adopt --vlan-map"
[ -e "$TMP/state/vm1.incoming" ] || fail "no incoming marker after migrate"
hook "vm1" vm1 prepare begin -
expect 0
hook "vm1" vm1 start begin -
expect 0
touch "$TMP/ctl/watch-resumes"
socat UNIX-LISTEN:"$TMP/qmp/vm1.qmp" /dev/null &   # QEMU's extra monitor
_bg_pids+=($!)
wait_until 5 test -S "$TMP/qmp/vm1.qmp" || fail "no stand-in QMP socket"
hook "vm1" vm1 started begin -
[ "$hook_ms" -lt 800 ] || fail "started took $hook_ms ms: the watcher is not detached"
wait_until 10 grep -q "watch-qmp $UUID exited 0" "$TMP/hook.log" || fail "watcher did not finish: $(cat "$TMP/hook.log")"
expect 0 "watch-qmp $TMP/qmp/vm1.qmp $UUID --timeout 30"
[ ! -e "$TMP/state/vm1.incoming" ] || fail "marker left after the VM resumed"
pass "destination, domain with netmove's QMP monitor: migrate -> prepare UUID; started -> watch-qmp detached (hook returned in $hook_ms ms)"
# Later, a plain shutdown on this host is no failed migration.
hook "vm1" vm1 stopped end -
expect 0
hook "vm1" vm1 release end shutdown
expect 0
pass "destination: a later shutdown calls nothing"

# --- destination, an incoming migration that fails ---
rm -f "$TMP/ctl/watch-resumes"
hook "vm1" vm1 migrate begin -
expect 0 "prepare $UUID --adopt --vlan-map"
hook "vm1" vm1 started begin -
wait_until 10 grep -q "watch-qmp $UUID exited 1" "$TMP/hook.log" || fail "watcher did not finish"
expect 0 "watch-qmp $TMP/qmp/vm1.qmp $UUID --timeout 30"
[ -e "$TMP/state/vm1.incoming" ] || fail "marker gone although the VM never resumed"
hook "vm1" vm1 stopped end -
expect 0
hook "vm1" vm1 release end failed
expect 0 "abort $UUID"
[ ! -e "$TMP/state/vm1.incoming" ] || fail "marker left after abort"
pass "destination: failed incoming migration -> abort"

# --- destination, prepare fails: the migration is stopped on purpose, and
# what the prepare staged is undone (no 'release' comes: QEMU never starts) ---
touch "$TMP/ctl/fail-prepare"
hook "vm1" vm1 migrate begin -
expect 1 "prepare $UUID --adopt --vlan-map" "abort $UUID"
grep -q "aborting the incoming migration" "$TMP/err" || fail "no reason on stderr: $(cat "$TMP/err")"
[ ! -e "$TMP/state/vm1.incoming" ] || fail "marker left after a failed prepare"
touch "$TMP/ctl/fail-abort"
hook "vm1" vm1 migrate begin -
expect 1 "prepare $UUID --adopt --vlan-map" "abort $UUID"
grep -q "staged state may remain; run 'netmove abort $UUID'" "$TMP/err" || fail "a failed abort is not said: $(cat "$TMP/err")"
rm -f "$TMP/ctl/fail-prepare" "$TMP/ctl/fail-abort"
pass "destination: failed prepare -> abort, exit 1 (migration aborted), reason on stderr (and a failed abort too)"

# --- every call is bounded: a hung prepare is cut at NETMOVE_PREPARE_TIMEOUT
# (netmoved goes on without its client), then aborted ---
touch "$TMP/ctl/hang-prepare"
hook "vm1" vm1 migrate begin -
expect 1 "prepare $UUID --adopt --vlan-map" "abort $UUID"
grep -q "timed out after 5 s" "$TMP/err" || fail "no timeout said: $(cat "$TMP/err")"
[ "$hook_ms" -lt 9000 ] || fail "hung prepare held the hook $hook_ms ms"
rm -f "$TMP/ctl/hang-prepare"
pass "a hung netmove prepare is cut after $hook_ms ms (NETMOVE_PREPARE_TIMEOUT=5), then aborted"

# --- the watcher's wait has no cap by default (a big guest's precopy may
# take hours): no --timeout; the watcher ends with the migration ---
sed -i '/NETMOVE_RESUME_TIMEOUT/d' "$TMP/hook.conf"
touch "$TMP/ctl/watch-resumes"
hook "vm2 noqmp" vm2 migrate begin -
expect 0 "prepare $UUID --adopt --vlan-map"
hook "vm2 noqmp" vm2 started begin -
wait_until 10 grep -q "watch-libvirt $UUID exited 0" "$TMP/hook.log" || fail "watch-libvirt did not finish: $(cat "$TMP/hook.log")"
expect 0 "watch-libvirt $UUID"
rm -f "$TMP/ctl/watch-resumes"
echo "NETMOVE_RESUME_TIMEOUT=30" >>"$TMP/hook.conf"
: >"$TMP/hook.log"         # the checks below wait for their own lines
pass "NETMOVE_RESUME_TIMEOUT unset: the watcher waits with no cap (no --timeout)"

# --- no QMP monitor (the default now): libvirt's own events ---
rm -f "$TMP/ctl/watch-resumes" "$TMP/qmp/vm2.qmp"
touch "$TMP/ctl/watch-resumes"
hook "vm2 noqmp" vm2 migrate begin -
expect 0 "prepare $UUID --adopt --vlan-map"
hook "vm2 noqmp" vm2 started begin -
[ "$hook_ms" -lt 800 ] || fail "started took $hook_ms ms: watch-libvirt is not detached"
wait_until 10 grep -q "watch-libvirt $UUID exited 0" "$TMP/hook.log" || fail "watch-libvirt did not finish: $(cat "$TMP/hook.log")"
expect 0 "watch-libvirt $UUID --timeout 30"
[ ! -e "$TMP/state/vm2.incoming" ] || fail "marker left after the VM resumed (watch-libvirt)"
hook "vm2 noqmp" vm2 release end shutdown
expect 0
pass "destination, domain without a QMP monitor: started -> watch-libvirt UUID detached (hook returned in $hook_ms ms)"

# A domain that declares the monitor but whose socket is missing: auto falls
# back to libvirt's events; NETMOVE_WATCH=qmp refuses, as the old default.
rm -f "$TMP/qmp/vm2.qmp" "$TMP/ctl/watch-resumes"
hook "vm2" vm2 migrate begin -
expect 0 "prepare $UUID --adopt --vlan-map"
hook "vm2" vm2 started begin -
wait_until 10 grep -q "watch-libvirt $UUID exited 1" "$TMP/hook.log" || fail "watch-libvirt did not finish"
expect 0 "watch-libvirt $UUID --timeout 30"
[ -e "$TMP/state/vm2.incoming" ] || fail "marker gone although the VM never resumed"
hook "vm2" vm2 release end failed
expect 0 "abort $UUID"
echo "NETMOVE_WATCH=qmp" >>"$TMP/hook.conf"
hook "vm2 noqmp" vm2 migrate begin -
expect 1
grep -q "has no QMP monitor" "$TMP/err" || fail "no reason: $(cat "$TMP/err")"
hook "vm2" vm2 migrate begin -
expect 0 "prepare $UUID --adopt --vlan-map"
hook "vm2" vm2 started begin -
expect 1
grep -q "no QMP socket" "$TMP/err" || fail "no reason: $(cat "$TMP/err")"
hook "vm2" vm2 release end failed
expect 0 "abort $UUID"
sed -i '/NETMOVE_WATCH/d' "$TMP/hook.conf"
echo "NETMOVE_WATCH=none" >>"$TMP/hook.conf"
hook "vm2 noqmp" vm2 migrate begin -
expect 0 "prepare $UUID --adopt --vlan-map"
hook "vm2 noqmp" vm2 started begin -
expect 0
hook "vm2 noqmp" vm2 release end migrated   # marker: this host was the destination
expect 0 "abort $UUID"
sed -i '/NETMOVE_WATCH/d' "$TMP/hook.conf"
pass "declared monitor without socket -> watch-libvirt; NETMOVE_WATCH=qmp refuses a domain without monitor or socket; NETMOVE_WATCH=none starts no watcher"

# --- NETMOVE_LIBVIRT_URI and NETMOVE_VM_ID=name reach watch-libvirt ---
touch "$TMP/ctl/watch-resumes"
printf '%s\n' "NETMOVE_VM_ID=name" "NETMOVE_LIBVIRT_URI=qemu+tcp://198.18.0.1/system" >>"$TMP/hook.conf"
hook "vm2 noqmp" vm2 migrate begin -
expect 0 "prepare vm2 --adopt --vlan-map"
hook "vm2 noqmp" vm2 started begin -
wait_until 10 grep -q "watch-libvirt vm2 exited 0" "$TMP/hook.log" || fail "watch-libvirt did not finish"
expect 0 "watch-libvirt $UUID --vm vm2 --uri qemu+tcp://198.18.0.1/system --timeout 30"
sed -i '/NETMOVE_VM_ID\|NETMOVE_LIBVIRT_URI/d' "$TMP/hook.conf"
rm -f "$TMP/ctl/watch-resumes"
pass "NETMOVE_VM_ID=name: the domain by its UUID, netmove's id by --vm NAME; NETMOVE_LIBVIRT_URI -> --uri"

# --- NETMOVE_PREPARE=0: no prepare call, the rest unchanged ---
echo "NETMOVE_PREPARE=0" >>"$TMP/hook.conf"
hook "vm1" vm1 migrate begin -
expect 0
[ -e "$TMP/state/vm1.incoming" ] || fail "no incoming marker with NETMOVE_PREPARE=0"
hook "vm1" vm1 release end failed
expect 0 "abort $UUID"
sed -i '/NETMOVE_PREPARE/d' "$TMP/hook.conf"
pass "NETMOVE_PREPARE=0: migrate calls nothing (resume prepares), marker kept"

# --- source ---
hook "vm1" vm1 stopped end -
expect 0
hook "vm1" vm1 release end migrated
expect 0 "left $UUID"
hook "vm1" vm1 release end -          # libvirt < 10.5.0 gives no reason
expect 0 "left $UUID"
for reason in shutdown destroyed crashed saved failed daemon; do
	hook "vm1" vm1 release end "$reason"
	expect 0
done
touch "$TMP/ctl/fail-left"
hook "vm1" vm1 release end migrated
expect 0 "left $UUID"                # too late to stop anything: exit 0, logged
grep -q "netmove left exited 1" "$TMP/hook.log" || fail "failed left not logged"
rm -f "$TMP/ctl/fail-left"
pass "source: release migrated (or '-') -> left (the source's evidence); other reasons nothing; a failure is logged"

# --- VM id: the domain's <uuid> by default, its name on request ---
hook "vm1" vm1 release end migrated
expect 0 "left $UUID"
echo "NETMOVE_VM_ID=name" >>"$TMP/hook.conf"
hook "vm1" vm1 release end migrated
expect 0 "left vm1"
sed -i '/NETMOVE_VM_ID/d' "$TMP/hook.conf"
pass "VM id: the domain's <uuid> by default (libvirt's vm-id), NETMOVE_VM_ID=name the name"

# --- a normal start here (no incoming migration): an export of the VM that
# no destination confirmed or aborted is withdrawn (libvirt 9.0's release
# says '-' for a shutdown too: no peer's confirm may then remove what the
# restarted VM has here) ---
rm -f "$TMP/state/vm1.incoming"
hook "vm1" vm1 started begin -
expect 0 "abort $UUID"
touch "$TMP/ctl/fail-abort"
hook "vm1" vm1 started begin -
expect 0 "abort $UUID"                # never stops the start: exit 0, logged
rm -f "$TMP/ctl/fail-abort"
pass "normal start: abort (withdraws a pending export), a failure never stops the start"

# --- not an Open vSwitch VM, other operations: nothing, exit 0 ---
for args in "migrate begin -" "started begin -" "release end migrated" "prepare begin -" \
	"restore begin -" "reconnect begin -" "attach begin -"; do
	# shellcheck disable=SC2086
	hook "vm3 qmp noovs" vm3 $args
	expect 0
done
for args in "reconnect begin -" "attach begin -" "restore begin -" "start begin -"; do
	# shellcheck disable=SC2086
	hook "vm1" vm1 $args
	expect 0
done
pass "non-OVS domains and other operations: nothing called, exit 0, stdout empty"

# --- the source site's VLAN in the domain XML: the migrate hook makes it
# this site's (libvirt makes the port, and keeps the definition, from it);
# every tag at once (100 <-> 200 swapped stays swapped); no map, no change ---
printf '100 200\n200 100\n' >"$TMP/ctl/vlan-map"
hook "vm1 qmp ovs br-int 100" vm1 migrate begin -
[ "$hook_rc" = 0 ] || fail "vlan: hook exited $hook_rc: $(cat "$TMP/err")"
grep -q "<vlan><tag id='200'/></vlan>" "$TMP/out" || fail "vlan: the XML on stdout: $(cat "$TMP/out")"
[ "$(grep -vc "tag id" "$TMP/out")" = "$(grep -vc "tag id" "$TMP/in.xml")" ] || fail "vlan: more than the tag changed"
hook "vm1 qmp ovs br-int 100 macvtap" vm1 migrate begin -
[ "$(grep -c "<tag id='200'/>" "$TMP/out")" = 1 ] && [ "$(grep -c "<tag id='100'/>" "$TMP/out")" = 1 ] ||
	fail "vlan: not only the OVS interface's tag changed: $(cat "$TMP/out")"
hook "vm1 qmp ovs br-int 300" vm1 migrate begin -
[ "$hook_rc" = 0 ] && [ ! -s "$TMP/out" ] || fail "vlan: a VLAN not in the map changed the XML: $(cat "$TMP/out")"
hook "vm4 qmp noovs qbr-4a5b 100" vm4 migrate begin -
[ "$hook_rc" = 0 ] && [ ! -s "$TMP/out" ] || fail "vlan: a hybrid-layout domain's XML changed: $(cat "$TMP/out")"
rm -f "$TMP/ctl/vlan-map" "$CALLS" "$TMP/state/vm1.incoming" "$TMP/state/vm4.incoming"
pass "migrate: the domain XML's <vlan> made this site's from prepare's VLAN map (only for an OVS virtualport)"

# --- the hybrid layout (os-vif: tap in qbr*, a veth to OVS plugged by the
# cloud before the migration): prepare without --adopt; none if the
# operator's pattern does not name the bridge ---
hook "vm4 qmp noovs qbr-4a5b" vm4 migrate begin -
expect 0 "prepare $UUID --vlan-map"
echo "NETMOVE_HYBRID_BRIDGES='brq* qvb*'" >>"$TMP/hook.conf"
hook "vm4 qmp noovs qbr-4a5b" vm4 migrate begin -
expect 0
hook "vm4 qmp noovs brq-4a5b" vm4 migrate begin -
expect 0 "prepare $UUID --vlan-map"
sed -i '/NETMOVE_HYBRID_BRIDGES/d' "$TMP/hook.conf"
rm -f "$TMP/state/vm4.incoming"
pass "hybrid layout: a domain on a qbr* bridge is prepared (no --adopt), the pattern is the operator's"

# --- bad input: exit 2 naming the field, nothing called ---
bad() {
	local field=$1
	shift
	hook "vm1" "$@"
	expect 2
	grep -q -- "$field" "$TMP/err" || fail "bad input ($*): '$field' not named: $(cat "$TMP/err")"
}
bad usage vm1 migrate begin
bad usage vm1 migrate begin - extra
bad GUEST "" migrate begin -
bad GUEST "vm 1" migrate begin -
bad GUEST "../vm1" release end migrated
bad OP vm1 "" begin -
for conf in NETMOVE_VM_ID=mac NETMOVE_HOOK_TIMEOUT=0 NETMOVE_HOOK_TIMEOUT=5s \
	NETMOVE_PREPARE_TIMEOUT=0 NETMOVE_RESUME_TIMEOUT=-1 NETMOVE_QMP_OWNER=qemu/x NETMOVE_WATCH=sometimes NETMOVE_LIBVIRT_URI=/var/run/x NETMOVE_PREPARE=2; do
	cp "$TMP/hook.conf" "$TMP/hook.conf.good"
	echo "$conf" >>"$TMP/hook.conf"
	bad "${conf%%=*}" vm1 migrate begin -
	mv "$TMP/hook.conf.good" "$TMP/hook.conf"
done
[ ! -e "$TMP/state/vm1.incoming" ] || fail "bad input left a marker"
pass "bad input: exit 2 naming usage, GUEST, OP and each setting; nothing called"

# --- The same sequence with the real netmove, netmoved and QEMU (lab) ---
#
#   client --- fabric --- host1 OVS (vm1's port)      host2 OVS
#   QEMU src --migrate--> QEMU dst, monitor $QMPDIR/vm1.qmp <- the hook's watch-qmp
#
# libvirtd would call the destination's hook (migrate, prepare, start,
# started), migrate, then the source's (stopped, release migrated).  The lab
# moves vm1's link and its hook starts QEMU's migration: QEMU's RESUME then
# drives netmoved's resume through the watcher the hook detached.
# NETMOVE_VM_ID=name: the lab's ports carry vm-id=vm1 (not a libvirt port).
# NETMOVE_PREPARE=0: 'netmove prepare' needs --from today, which libvirt
# hooks cannot give; resume (no --from: netmoved finds the source) prepares.
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing (make deps)"
[ -x "$TOP/build/netmoved" ] || fail "build/netmoved missing (make)"
"$LAB" up --hosts 2 --vms 1 >/dev/null
R1=$(status_get '.hosts[0].ovs_rundir')
R2=$(status_get '.hosts[1].ovs_rundir')
ip4=$(status_get '.vms[0].ipv4')
wait_until 10 "$LAB" exec client ping -n -q -c 1 -W 1 "$ip4" || fail "real: client cannot reach vm1 before the move"
QMPDIR=$TMP/rqmp
mkdir -p "$QMPDIR"
for side in dst src; do
	r=$R2
	[ $side = src ] && r=$R1
	cat >"$TMP/$side.conf" <<-EOC
		NETMOVE=$TOP/build/netmove
		NETMOVE_CTL=$r/netmoved.ctl
		NETMOVE_QMP_DIR=$QMPDIR
		NETMOVE_HOOK_STATE=$TMP/$side-state
		NETMOVE_HOOK_LOG=$TMP/$side.log
		NETMOVE_HOOK_TIMEOUT=20
		NETMOVE_RESUME_TIMEOUT=60
		NETMOVE_PREPARE=0
		NETMOVE_VM_ID=name
	EOC
done
qpids=()
real_cleanup() {
	local rc=$? p
	set +e
	[ -z "${stopped_pid:-}" ] || kill -CONT "$stopped_pid" 2>/dev/null
	for p in "${qpids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${qpids[@]}"; do wait "$p" 2>/dev/null; done
	(exit $rc)         # lib.bash's cleanup exits with $?
	cleanup
}
trap real_cleanup EXIT
qemu_args=(-machine pc -m 64 -nodefaults -display none -accel tcg)
qemu-system-x86_64 "${qemu_args[@]}" -qmp "unix:$TMP/src.qmp,server=on,wait=off" >"$TMP/qsrc.log" 2>&1 &
qpids+=($!)
qemu-system-x86_64 "${qemu_args[@]}" -qmp "unix:$QMPDIR/vm1.qmp,server=on,wait=off" \
	-incoming "unix:$TMP/mig.sock" >"$TMP/qdst.log" 2>&1 &
qpids+=($!)
wait_until 10 test -S "$QMPDIR/vm1.qmp" || fail "real: destination QEMU did not start"
wait_until 10 test -S "$TMP/src.qmp" || fail "real: source QEMU did not start"

HOOK_CONF=$TMP/dst.conf
for args in "migrate begin -" "prepare begin -" "start begin -" "started begin -"; do
	# shellcheck disable=SC2086
	hook "vm1" vm1 $args
	[ "$hook_rc" = 0 ] || fail "real: destination '$args' exited $hook_rc: $(cat "$TMP/err")"
	[ ! -s "$TMP/out" ] || fail "real: '$args' wrote to stdout"
done
wait_until 10 grep -q "watch-qmp: vm1: waiting for the incoming migration" "$TMP/dst-state/vm1.watch" ||
	fail "real: the detached watcher is not waiting: $(cat "$TMP/dst.log")"
"$LAB" migrate vm1 host2 --no-port --hook "printf '%s\n' '{\"execute\": \"qmp_capabilities\"}' \
'{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"unix:$TMP/mig.sock\"}}' |
timeout 10 socat -t 0.3 - UNIX-CONNECT:$TMP/src.qmp >$TMP/migrate.out" >"$TMP/lab.out" 2>&1 ||
	fail "real: lab migrate: $(cat "$TMP/lab.out")"
# The resume prepares (NETMOVE_PREPARE=0): vm1 is exported, and the
# destination's confirm waits for the source's own evidence, which only
# the source's hook gives (libvirt's release, after QEMU's migration).
wait_until 20 sh -c "NETMOVE_CTL=$R1/netmoved.ctl $TOP/build/netmove status | jq -e '.outgoing | index(\"vm1\")' >/dev/null" ||
	fail "real: host1 never exported vm1: $(cat "$TMP/dst.log")"
sleep 1
ovs-vsctl --db="unix:$R1/db.sock" list-ports br-int | grep -qx tap-vm1 ||
	fail "real: the source removed vm1's port before its own evidence that vm1 left"
grep -q "netmove watch-qmp vm1 exited" "$TMP/dst.log" && fail "real: resume done before the source's evidence"

HOOK_CONF=$TMP/src.conf
hook "vm1" vm1 stopped end -
[ "$hook_rc" = 0 ] || fail "real: source stopped exited $hook_rc"
hook "vm1" vm1 release end migrated
[ "$hook_rc" = 0 ] || fail "real: source release exited $hook_rc"
grep -q "netmove left vm1" "$TMP/src.log" || fail "real: source hook did not give its evidence (left)"
! grep -q "netmove left exited" "$TMP/src.log" || fail "real: left failed: $(cat "$TMP/src.log")"

wait_until 30 grep -q "netmove watch-qmp vm1 exited" "$TMP/dst.log" || fail "real: the watcher did not finish"
grep -q "netmove watch-qmp vm1 exited 0" "$TMP/dst.log" || fail "real: watch-qmp failed: $(cat "$TMP/dst.log")"
[ ! -e "$TMP/dst-state/vm1.incoming" ] || fail "real: marker left after the resume"

# Read back: the port moved (ovs-vsctl), the client reaches vm1 (ping).
ovs-vsctl --db="unix:$R1/db.sock" list-ports br-int | grep -qx tap-vm1 && fail "real: source port still there"
[ "$(ovs-vsctl --db="unix:$R2/db.sock" get Interface tap-vm1 external_ids:vm-id | tr -d '"')" = vm1 ] ||
	fail "real: destination port lacks vm-id=vm1"
[ "$(pings client "$ip4" 3)" = 3 ] || fail "real: client cannot reach vm1 after the move"
pass "real netmoved: hook sequence of both sides; QEMU's RESUME -> detached watch-qmp -> resume (no --from); the source keeps vm1's port until its hook's release gives 'left', then the confirm removes it; client reaches vm1"
grep "resume called" "$TMP/dst.log" | sed 's/^/  /'

# --- A prepare cut by the hook while netmoved still waits for the source:
# the hook's abort leaves nothing staged (read back with ovs-vsctl, nft) ---
#
# vm1 runs on host2 now.  host1's hook is asked to take it back in the
# hybrid layout (no --adopt: a prepare that goes through stages a port on
# host1) while host2's netmoved is stopped (SIGSTOP): host1's netmoved
# waits for its answer, the hook gives up at NETMOVE_PREPARE_TIMEOUT, calls
# abort, and only then does host2 answer.  Without the abort the answer
# came, and host1 staged vm1's port and rules for a migration that libvirt
# had already stopped.
cat >"$TMP/back.conf" <<EOC
NETMOVE=$TOP/build/netmove
NETMOVE_CTL=$R1/netmoved.ctl
NETMOVE_HOOK_STATE=$TMP/back-state
NETMOVE_HOOK_LOG=$TMP/back.log
NETMOVE_HOOK_TIMEOUT=20
NETMOVE_PREPARE_TIMEOUT=2
NETMOVE_VM_ID=name
EOC
HOOK_CONF=$TMP/back.conf
nft_before=$("$LAB" exec host1 nft list ruleset)
ovs_before=$(ovs-vsctl --db="unix:$R1/db.sock" --format=csv --columns=name,external_ids list Interface | sort)
stopped_pid=$(cat "$R2/netmoved.pid")
kill -STOP "$stopped_pid"
hook "vm1 noqmp noovs qbr-vm1" vm1 migrate begin -
kill -CONT "$stopped_pid"
stopped_pid=
[ "$hook_rc" = 1 ] || fail "real: a timed-out prepare exited $hook_rc: $(cat "$TMP/err")"
grep -q "timed out after 2 s" "$TMP/err" || fail "real: no timeout said: $(cat "$TMP/err")"
grep -q "netmove abort vm1" "$TMP/back.log" || fail "real: no abort after the timed-out prepare: $(cat "$TMP/back.log")"
! grep -q "netmove abort exited" "$TMP/back.log" || fail "real: abort failed: $(cat "$TMP/back.log")"
# host2 answers now; what it sends must stage nothing on host1.
wait_until 10 "$TOP/build/netmove" status --ctl "$R2/netmoved.ctl" || fail "real: host2's netmoved does not answer after SIGCONT"
state=$("$TOP/build/netmove" status vm1 --ctl "$R1/netmoved.ctl" | jq -r '.. | objects | select(.vm? == "vm1") | .state' | head -n 1)
[ "$state" = aborted ] || fail "real: host1's migration of vm1 is '$state', not aborted"
host1_has_vm1() {
	ovs-vsctl --db="unix:$R1/db.sock" --bare --columns=name find Interface external_ids:vm-id=vm1 | grep -q .
}
if wait_until 3 host1_has_vm1; then
	fail "real: host1 staged vm1's port after the hook's abort"
fi
[ "$(ovs-vsctl --db="unix:$R1/db.sock" --format=csv --columns=name,external_ids list Interface | sort)" = "$ovs_before" ] ||
	fail "real: host1's OVSDB changed after the aborted prepare"
[ "$("$LAB" exec host1 nft list ruleset)" = "$nft_before" ] || fail "real: host1's ruleset changed after the aborted prepare"
[ "$(pings client "$ip4" 3)" = 3 ] || fail "real: client cannot reach vm1 (on host2) after the aborted prepare"
pass "real netmoved: a prepare cut at NETMOVE_PREPARE_TIMEOUT while the source was stopped -> abort: nothing staged on host1 once the source answers (ovs-vsctl, nft), vm1 still reached on host2"

# --- A VM named twice in one call (issue 10 item 9: it freed the first
# migration, then resumed it) is refused, and netmoved keeps serving ---
rc=0
"$TOP/build/netmove" resume vm1 vm1 --ctl "$R1/netmoved.ctl" >"$TMP/twice.out" 2>&1 || rc=$?
[ $rc = 2 ] || fail "real: 'resume vm1 vm1' exited $rc: $(cat "$TMP/twice.out")"
grep -q "named twice" "$TMP/twice.out" || fail "real: 'resume vm1 vm1' does not say why: $(cat "$TMP/twice.out")"
"$TOP/build/netmove" status --ctl "$R1/netmoved.ctl" >/dev/null || fail "real: netmoved stopped serving after 'resume vm1 vm1'"
pass "real netmoved: 'resume vm1 vm1' refused (exit 2, 'named twice'), netmoved keeps serving"

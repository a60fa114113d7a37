#!/bin/bash
# The lab runs the installed package's programs: build/deb/netmove_*.deb
# (make deb; tests/build/deb.sh builds it before the lab scenarios) installed
# with apt-get, each host's netmoved is /usr/sbin/netmoved and the hooks'
# netmove /usr/bin/netmove, and a VM moves through them (resume done, its
# port active on the destination).  The package is purged on exit.
#
#            client
#              |
#   fabric ---h1--- host1: /usr/sbin/netmoved, OVS   (source)
#          \--h2--- host2: /usr/sbin/netmoved, OVS   (destination)
set -eu
. "$(dirname "$0")/lib.bash"

deb=$(ls "$TOP"/build/deb/netmove_*.deb 2>/dev/null | head -n 1) ||
	skip "no build/deb/netmove_*.deb (make deb)"
[ -n "$deb" ] || skip "no build/deb/netmove_*.deb (make deb)"
exec 9>/tmp/netmove-deb.lock
flock -w 300 9 || fail "another tree's package check holds /tmp/netmove-deb.lock"
. "$TOP/tests/pkg/host-free.bash"
if taken=$(netmove_host_taken); then
	skip "$taken: not ours to touch"
fi
purge() {
	apt-get purge -y -q -o DPkg::Lock::Timeout=120 netmove >/dev/null 2>&1 || true
	netmove_test_purged
}
trap 'rc=$?; "$LAB" down >/dev/null 2>&1 || true; purge; rm -rf "$TMP"; exit $rc' EXIT
netmove_test_installing
apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=120 "$deb" \
	>"$TMP/apt.out" 2>&1 || fail "apt-get install $deb: $(tail -20 "$TMP/apt.out")"

# The lab's programs: the installed ones, and the lab's own tools.
bin=$TMP/bin
mkdir "$bin"
ln -s /usr/sbin/netmoved /usr/bin/netmove /usr/bin/netmove-libvirt "$bin/"
ln -s "$TOP/build/nm-vif" "$TOP/build/nm-probe" "$bin/"
export NETMOVE_BUILD=$bin

"$LAB" up --hosts 2 --vms 1
r2=$(status_get '.hosts[1].ovs_rundir')
wait_peers host2 host1
wait_peers host1 host2
for n in 1 2; do
	pid=$(cat "$LAB_STATE/host$n/netmoved.pid")
	[ "$(readlink "/proc/$pid/exe")" = /usr/sbin/netmoved ] ||
		fail "host$n's netmoved is $(readlink "/proc/$pid/exe"), not /usr/sbin/netmoved"
done
pass "each host's netmoved is /usr/sbin/netmoved"

"$LAB" migrate vm1 host2 --netmove --json >"$TMP/migrate.json"
jq -e '.hook_rc == 0' "$TMP/migrate.json" >/dev/null || fail "netmove resume failed: $(cat "$TMP/migrate.json")"
jq -e '.state == "done"' "$LAB_STATE/vm1.resume.json" >/dev/null ||
	fail "resume did not end done: $(cat "$LAB_STATE/vm1.resume.json")"
[ -n "$(ovs-vsctl --db="unix:$r2/db.sock" --bare --columns=name find Interface external_ids:vm-id=vm1)" ] ||
	fail "no vm1 port on host2"
"$LAB" exec host2 /usr/bin/netmove status vm1 --json | jq -e '.migrations[0].state == "done"' >/dev/null ||
	fail "host2's netmoved (lab exec, /usr/bin/netmove) does not report vm1 done"
pass "vm1 moved host1 -> host2 through the installed netmoved and netmove"

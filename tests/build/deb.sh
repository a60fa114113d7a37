#!/bin/bash
# The Debian package: 'make deb' builds it (dpkg-buildpackage, lintian
# without errors), its Built-Using names the openvswitch source installed,
# it installs with 'apt-get install ./netmove_*.deb'; from /usr,
# 'netmove --version' and 'netmoved --check-config' work (the installed
# example: 0; a broken copy: 2, the member named); the installed unit passes
# 'systemd-analyze verify' and is not enabled; a removal keeps the journal
# and the configuration, a purge leaves nothing.
# The host is restored on any exit (trap): the package purged.  Needs root;
# skipped if anything of netmove's is on this host already, packaged or
# installed by hand (tests/pkg/host-free.bash: not ours to touch).
set -eu
cd "$(dirname "$0")/../.." || exit 1
TOP=$PWD
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root (apt-get install)"; exit 77; }
for t in dpkg-buildpackage dh lintian apt-get; do
	command -v "$t" >/dev/null || { echo "skip: $t missing (make deps)"; exit 77; }
done
TMP=$(mktemp -d /tmp/netmove-deb.XXXXXX)
installed=
cleanup() {
	if [ -n "$installed" ]; then
		apt-get purge -y -q -o DPkg::Lock::Timeout=120 netmove >/dev/null 2>&1 ||
			dpkg --purge netmove >/dev/null 2>&1 || true
		rm -rf /var/lib/netmove         # the test's own, if the purge failed
		netmove_test_purged
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# One package install at a time on this host (other trees' checks).
exec 9>/tmp/netmove-deb.lock
flock -w 300 9 || fail "another tree's deb check holds /tmp/netmove-deb.lock"
. tests/pkg/host-free.bash
if taken=$(netmove_host_taken); then
	echo "skip: $taken: not ours to touch"
	exit 77
fi

start=${EPOCHREALTIME/./}
make --no-print-directory deb >"$TMP/deb.out" 2>&1 || fail "make deb: $(tail -30 "$TMP/deb.out")"
secs=$(( (${EPOCHREALTIME/./} - start) / 1000000 ))
version=$(dpkg-parsechangelog -S Version)
deb=$(ls "$TOP"/build/deb/netmove_"${version}"_*.deb)
echo "ok: make deb in ${secs} s: $(basename "$deb"), $(stat -c %s "$deb") bytes; lintian: no error"
sed -n '/LINTIAN/,$p' "$TMP/deb.out" | sed 's/^/    /'
[ "$version" = "$(sed -n 's/^#define NETMOVE_VERSION "\(.*\)"/\1/p' netmove/common/version.h)" ] ||
	fail "debian/changelog's version $version is not NETMOVE_VERSION"

want="$(dpkg-query -W -f='${source:Package} (= ${source:Version})' openvswitch-source)"
got=$(dpkg-deb -f "$deb" Built-Using)
[ "$got" = "$want" ] || fail "Built-Using: '$got', not '$want'"
dpkg-deb -f "$deb" Depends | grep -q 'openvswitch-switch' || fail "Depends: no openvswitch-switch"
echo "ok: Built-Using: $got; Depends: openvswitch-switch"

installed=yes
netmove_test_installing
apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=120 "$deb" \
	>"$TMP/apt.out" 2>&1 || fail "apt-get install $deb: $(tail -20 "$TMP/apt.out")"
dpkg-query -W -f='${db:Status-Status}' netmove | grep -qx installed || fail "netmove not installed"
dpkg -L netmove | sort >"$TMP/files"
echo "ok: apt-get install ./$(basename "$deb")"

/usr/bin/netmove --version >"$TMP/v" 2>&1 || fail "/usr/bin/netmove --version: $(cat "$TMP/v")"
grep -q "$version" "$TMP/v" || fail "/usr/bin/netmove --version: $(cat "$TMP/v"), not $version"
/usr/sbin/netmoved --version | grep -q "$version" || fail "/usr/sbin/netmoved --version"
/usr/sbin/netmoved --check-config >"$TMP/cc" 2>&1 ||
	fail "netmoved --check-config on the installed /etc/netmove/netmoved.json: $(cat "$TMP/cc")"
grep -q "/etc/netmove/netmoved.json: configuration OK" "$TMP/cc" ||
	fail "netmoved --check-config did not read /etc/netmove/netmoved.json: $(cat "$TMP/cc")"
jq '.site = 7' /etc/netmove/netmoved.json >"$TMP/broken.json"
rc=0
/usr/sbin/netmoved --check-config --config="$TMP/broken.json" >"$TMP/cc" 2>&1 || rc=$?
[ $rc = 2 ] || fail "netmoved --check-config on a broken file: exit $rc, not 2: $(cat "$TMP/cc")"
grep -q "'site'" "$TMP/cc" || fail "netmoved --check-config does not name the member: $(cat "$TMP/cc")"
# watch-libvirt runs netmove-libvirt from beside /usr/bin/netmove.
/usr/bin/netmove watch-libvirt --help >"$TMP/wl" 2>&1 || fail "netmove watch-libvirt --help: $(cat "$TMP/wl")"
echo "ok: /usr/bin/netmove --version, netmove watch-libvirt (netmove-libvirt beside it); netmoved --check-config: 0 on the installed example, 2 naming 'site' on a broken one"

unit=$(grep '/systemd/system/netmoved.service$' "$TMP/files") || fail "the package has no netmoved.service"
man=no
# The man pages the unit names, once the package has them (and man is here).
! grep -q '/man8/netmoved.8' "$TMP/files" || ! command -v man >/dev/null || man=yes
systemd-analyze verify --man=$man "$unit" >"$TMP/verify" 2>&1 || fail "systemd-analyze verify $unit: $(cat "$TMP/verify")"
[ ! -s "$TMP/verify" ] || fail "systemd-analyze verify $unit says: $(cat "$TMP/verify")"
[ ! -e /etc/systemd/system/multi-user.target.wants/netmoved.service ] ||
	fail "the package enabled netmoved.service"
[ ! -e /etc/libvirt/hooks/qemu ] || ! grep -q netmove /etc/libvirt/hooks/qemu ||
	fail "the package activated the libvirt hook"
echo "ok: systemd-analyze verify $unit (man pages checked: $man); the unit is not enabled, the hook not activated"

# What netmoved leaves in its StateDirectory (the journal): a removal keeps
# it and the configuration, a purge removes both (debian/postrm).
mkdir -p /var/lib/netmove/source/done
echo '{"step":"confirmed"}' >/var/lib/netmove/source/done/m1.jsonl
apt-get remove -y -q -o DPkg::Lock::Timeout=120 netmove >"$TMP/remove.out" 2>&1 ||
	fail "apt-get remove netmove: $(tail -20 "$TMP/remove.out")"
[ -e /var/lib/netmove/source/done/m1.jsonl ] || fail "apt-get remove deleted the journal in /var/lib/netmove"
[ -e /etc/netmove/netmoved.json ] || fail "apt-get remove deleted /etc/netmove/netmoved.json"
[ ! -e /usr/sbin/netmoved ] || fail "apt-get remove left /usr/sbin/netmoved"
echo "ok: apt-get remove netmove keeps the journal (/var/lib/netmove) and the configuration"
apt-get purge -y -q -o DPkg::Lock::Timeout=120 netmove >"$TMP/purge.out" 2>&1 ||
	fail "apt-get purge netmove: $(tail -20 "$TMP/purge.out")"
installed=
netmove_test_purged
dpkg-query -W -f='${db:Status-Status}' netmove 2>/dev/null | grep -q . &&
	! dpkg-query -W -f='${db:Status-Status}' netmove | grep -qx not-installed &&
	fail "netmove still known to dpkg after the purge"
left=
while read -r f; do
	[ -d "$f" ] && continue
	[ ! -e "$f" ] || left="$left $f"
done <"$TMP/files"
[ ! -e /etc/netmove ] || left="$left /etc/netmove"
[ ! -e /var/lib/netmove ] || left="$left /var/lib/netmove"
[ -z "$left" ] || fail "the purge left:$left"
echo "ok: apt-get purge netmove leaves none of its $(wc -l <"$TMP/files") paths, nor /etc/netmove, nor its state in /var/lib/netmove"

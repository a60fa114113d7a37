#!/bin/bash
# The package on a fresh Debian 12 (not part of make check: it downloads a
# base system and the package's dependencies, ~1-2 minutes): debootstrap
# --variant=minbase bookworm, then in that chroot 'apt-get install
# ./netmove_*.deb' pulls every dependency by name, every shared library of
# the three programs resolves, 'netmove --version' and 'netmoved
# --check-config' work from /usr, and a purge leaves nothing of the package.
#
#   tests/pkg/deb-chroot.sh [DEB]      (default: build/deb/netmove_*.deb, make deb)
#
# Needs root and debootstrap.  MIRROR: the Debian mirror (deb.debian.org).
set -eu
cd "$(dirname "$0")/../.." || exit 1
deb=${1:-$(ls build/deb/netmove_*.deb 2>/dev/null | head -n 1)}
[ -n "$deb" ] && [ -f "$deb" ] || { echo "no package: make deb" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root"; exit 77; }
command -v debootstrap >/dev/null || { echo "skip: debootstrap missing (apt-get install debootstrap)"; exit 77; }
mirror=${MIRROR:-http://deb.debian.org/debian}
fail() { echo "FAIL: $*"; exit 1; }

root=$(mktemp -d /tmp/netmove-chroot.XXXXXX)
chmod 755 "$root"       # apt's _apt user reads its lists there
cleanup() {
	umount "$root/proc" 2>/dev/null || true
	rm -rf "$root"
}
trap cleanup EXIT

echo "debootstrap --variant=minbase bookworm ..."
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
	{ tail -20 "$root.log"; rm -f "$root.log"; fail "debootstrap"; }
rm -f "$root.log"
mount -t proc proc "$root/proc"
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
	"$mirror" "$mirror" >"$root/etc/apt/sources.list"
cp "$deb" "$root/tmp/"
in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

in_root apt-get update -q >/dev/null
in_root apt-get install -y -q --no-install-recommends "/tmp/$(basename "$deb")" >"$root/tmp/apt.log" 2>&1 ||
	{ tail -20 "$root/tmp/apt.log"; fail "apt-get install on a fresh Debian 12"; }
echo "ok: apt-get install ./$(basename "$deb") on a fresh Debian 12 minbase: $(grep -c '^Setting up' "$root/tmp/apt.log") packages set up"

for p in /usr/bin/netmove /usr/bin/netmove-libvirt /usr/sbin/netmoved; do
	missing=$(in_root ldd "$p" | grep 'not found' || true)
	[ -z "$missing" ] || fail "$p: libraries missing: $missing"
done
in_root /usr/bin/netmove --version | grep -q . || fail "netmove --version"
in_root /usr/sbin/netmoved --check-config >"$root/tmp/cc" 2>&1 || fail "netmoved --check-config: $(cat "$root/tmp/cc")"
in_root /usr/bin/netmove watch-libvirt --help >/dev/null 2>&1 || fail "netmove watch-libvirt --help (netmove-libvirt)"
echo "ok: every library resolves; netmove --version, netmove watch-libvirt --help, netmoved --check-config: $(cat "$root/tmp/cc")"

files=$(in_root dpkg -L netmove)
in_root apt-get purge -y -q netmove >/dev/null 2>&1 || fail "apt-get purge netmove"
left=
for f in $files; do
	[ -d "$root$f" ] && continue
	[ ! -e "$root$f" ] || left="$left $f"
done
[ ! -e "$root/etc/netmove" ] || left="$left /etc/netmove"
[ -z "$left" ] || fail "purge left:$left"
echo "ok: apt-get purge netmove leaves nothing of it"

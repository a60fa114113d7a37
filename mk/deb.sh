#!/bin/bash
# make deb: the Debian package of this tree (debian/), built with
# dpkg-buildpackage -b -us -uc (debhelper), then checked by lintian (an
# error fails the build; warnings are printed).
#
#   mk/deb.sh OUTDIR
#
# dpkg-buildpackage writes into the tree's parent directory; the package, its
# debug symbols, .buildinfo and .changes are moved from there to OUTDIR.
set -eu
cd "$(dirname "$0")/.."
out=$1

for t in dpkg-buildpackage dh lintian fakeroot; do
	command -v "$t" >/dev/null ||
		{ echo "mk/deb.sh: $t missing: run 'make deps'" >&2; exit 1; }
done
version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
ours=("netmove_${version}_${arch}.deb" "netmove-dbgsym_${version}_${arch}.deb"
      "netmove_${version}_${arch}.buildinfo" "netmove_${version}_${arch}.changes")
for f in "${ours[@]}"; do rm -f "../$f" "$out/$f"; done

log=build/deb.log
mkdir -p build "$out"
echo "  DEB     dpkg-buildpackage -b -us -uc (log $log)"
dpkg-buildpackage -b -us -uc >"$log" 2>&1 || { tail -40 "$log" >&2; exit 1; }
for f in "${ours[@]}"; do
	[ ! -e "../$f" ] || mv "../$f" "$out/"
done
echo "  DEB     $out/netmove_${version}_${arch}.deb"
echo "  LINTIAN"
lintian --fail-on error \
	"$out/netmove_${version}_${arch}.changes"

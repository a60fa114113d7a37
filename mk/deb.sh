#!/bin/bash
# make deb: the Debian package of this tree (debian/), built with
# dpkg-buildpackage -b -us -uc (debhelper), then checked by lintian (an
# error fails; warnings are printed).
#
#   mk/deb.sh OUTDIR
#
# dpkg-buildpackage writes into the parent directory of the tree it builds:
# it builds a copy of this tree (git's files, committed or not) in
# build/deb-src/netmove-VERSION, so that nothing lands beside the tree; the
# package, its debug symbols, .buildinfo and .changes end in OUTDIR.  The
# copy uses this tree's libopenvswitch (build/ovs, built first if need be).
set -eu
cd "$(dirname "$0")/.."
top=$PWD
out=$1

for t in dpkg-buildpackage dh lintian fakeroot; do
	command -v "$t" >/dev/null ||
		{ echo "mk/deb.sh: $t missing: run 'make deps'" >&2; exit 1; }
done
version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)

make --no-print-directory ovs
src=build/deb-src/netmove-$version
rm -rf build/deb-src "$out"
mkdir -p "$src" "$out"
git ls-files -z --cached --others --exclude-standard |
	xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
	tar --null -T - -cf - | tar -xf - -C "$src"

log=$top/build/deb.log
echo "  DEB     dpkg-buildpackage -b -us -uc in $src (log build/deb.log)"
(cd "$src" && NM_OVS_SRC=$top/build/ovs dpkg-buildpackage -b -us -uc) >"$log" 2>&1 ||
	{ tail -40 "$log" >&2; exit 1; }
mv build/deb-src/*_"${version}"_* "$out/"
rm -rf build/deb-src
echo "  DEB     $out/netmove_${version}_${arch}.deb"
echo "  LINTIAN"
lintian --fail-on error "$out/netmove_${version}_${arch}.changes" 2>&1 |
	grep -v '^running with root privileges is not recommended!$' || true
# lintian's status, not grep's.
exit "${PIPESTATUS[0]}"

#!/bin/bash
# Build libopenvswitch from Debian's openvswitch-source tarball, the exact source
# of the installed Open vSwitch (Debian 12 has no libopenvswitch-dev; OVN builds
# against OVS the same way).  Only the library and the headers it generates are
# built, not the whole tree.
#
#   mk/build-ovs.sh TARBALL DIR STAMP
#
# STAMP is the version and the configure flags (the Makefile's OVS_BUILD_ID);
# DIR/.netmove-built holds it once done, and a different one rebuilds.  The
# flags are Debian's (--prefix=/usr --localstatedir=/var --sysconfdir=/etc), so
# that libopenvswitch's default run directory, ovs_rundir(), is Debian's
# /var/run/openvswitch, where the installed ovsdb-server listens.
set -eu

tarball=$1 dir=$2 stamp=$3
# A build of its own, with its own -j: not a part of the caller's make (whose
# jobserver it cannot use, and whose MAKELEVEL would have every make here
# print "Entering directory" into the output parsed below).
unset MAKEFLAGS MFLAGS MAKELEVEL
version=${stamp%% *}
flags=${stamp#"$version"}

if [ ! -r "$tarball" ]; then
	echo "mk/build-ovs.sh: $tarball missing: run 'make deps' (package openvswitch-source)" >&2
	exit 1
fi
if [ -f "$dir/.netmove-built" ] && [ "$(cat "$dir/.netmove-built")" = "$stamp" ]; then
	exit 0
fi

echo "  OVS     building libopenvswitch $version in $dir (about 2 minutes, once)"
rm -rf "$dir"
mkdir -p "$dir"
tar -xzf "$tarball" -C "$dir" --strip-components=1
cd "$dir"
log=$PWD/.netmove-build.log
# SSL streams are required (the peer channel is jsonrpc over stream-ssl).
# shellcheck disable=SC2086
./configure --quiet --enable-silent-rules --enable-ssl $flags >"$log" 2>&1 ||
	{ tail -20 "$log" >&2; exit 1; }
grep -q '^#define HAVE_OPENSSL 1' config.h ||
	{ echo "mk/build-ovs.sh: OVS configured without OpenSSL (libssl-dev?)" >&2; exit 1; }

# Generated headers first: a direct 'make lib/libopenvswitch.la' races them.
built_sources=$(printf 'include Makefile\nnm-print-bs:\n\t@echo $(BUILT_SOURCES)\n' |
	make -s --no-print-directory -f - nm-print-bs)
jobs=$(nproc 2>/dev/null || echo 2)
# shellcheck disable=SC2086
{ make -s -j"$jobs" $built_sources &&
  make -s -j"$jobs" lib/libopenvswitch.la lib/libopenvswitchavx512.la; } >>"$log" 2>&1 ||
	{ tail -30 "$log" >&2; exit 1; }
echo "$stamp" > .netmove-built

# Sourced by the tests that install the package on this host
# (tests/build/deb.sh, tests/lab/pkg_installed.sh): they install it and purge
# it on exit, so they may run only where nothing of netmove's is on the host
# already, installed by dpkg (any state but not-installed: a removed package
# keeps its conffile, "config-files") or by hand ('make install').
#
# A test marks the package as its own (NETMOVE_TEST_MARK) before it installs
# it and unmarks it after the purge: a test killed in between (its timeout)
# leaves the mark, and the next one purges what it left instead of skipping
# from then on.
NETMOVE_TEST_MARK=/var/tmp/netmove-test-installed

netmove_test_installing() { : >"$NETMOVE_TEST_MARK"; }
netmove_test_purged() { rm -f "$NETMOVE_TEST_MARK"; }

# netmove_host_taken: prints what is there and returns 0, or returns 1 if
# the host is free (after purging what a killed test left).
netmove_host_taken() {
	local st p
	if [ -e "$NETMOVE_TEST_MARK" ]; then
		apt-get purge -y -q -o DPkg::Lock::Timeout=120 netmove >/dev/null 2>&1 ||
			dpkg --purge netmove >/dev/null 2>&1 || true
		rm -rf /var/lib/netmove
		netmove_test_purged
	fi
	st=$(dpkg-query -W -f='${db:Status-Status}' netmove 2>/dev/null || true)
	case $st in
	'' | not-installed) ;;
	*) echo "the package netmove is '$st' on this host"; return 0 ;;
	esac
	for p in /etc/netmove /usr/sbin/netmoved /usr/bin/netmove /usr/bin/netmove-libvirt \
		/var/lib/netmove /usr/share/netmove /lib/systemd/system/netmoved.service; do
		[ -e "$p" ] && { echo "$p exists on this host"; return 0; }
	done
	return 1
}

#!/bin/bash
# A scratch Open vSwitch for the ovs/ unit tests: its own namespace, its own
# ovsdb-server and ovs-vswitchd (userspace datapath), bridge br0 with
# internal ports p1 and p2.  Needs root; exits 77 if it cannot run here.
#
#   tests/ovs/scratch-ovs.sh up DIR NETNS     (OVS_RUNDIR = DIR)
#   tests/ovs/scratch-ovs.sh down DIR NETNS
set -eu
cmd=$1 dir=$2 ns=$3

stop() {
	local p
	for p in ovs-vswitchd ovsdb-server; do
		if [ -f "$dir/$p.pid" ]; then
			kill "$(cat "$dir/$p.pid")" 2>/dev/null || true
		fi
	done
	for p in ovs-vswitchd ovsdb-server; do
		for _ in $(seq 50); do
			kill -0 "$(cat "$dir/$p.pid" 2>/dev/null)" 2>/dev/null || break
			sleep 0.1
		done
	done
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$dir"
}

case $cmd in
up)
	[ "$(id -u)" -eq 0 ] || exit 77
	command -v ovs-vswitchd >/dev/null || exit 77
	mkdir -p "$dir"
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	# Quiet ports: no IPv6 router solicitations or MLD reports to count.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
	ovsdb-tool create "$dir/conf.db" /usr/share/openvswitch/vswitch.ovsschema
	ip netns exec "$ns" ovsdb-server "$dir/conf.db" --remote="punix:$dir/db.sock" \
		--pidfile="$dir/ovsdb-server.pid" --unixctl="$dir/ovsdb-server.ctl" \
		--detach --log-file="$dir/ovsdb-server.log" 2>/dev/null
	export OVS_RUNDIR=$dir
	ovs-vsctl --db="unix:$dir/db.sock" --no-wait init
	ip netns exec "$ns" env OVS_RUNDIR="$dir" ovs-vswitchd "unix:$dir/db.sock" \
		--pidfile="$dir/ovs-vswitchd.pid" --detach --log-file="$dir/ovs-vswitchd.log" 2>/dev/null
	ovs-vsctl --db="unix:$dir/db.sock" --timeout=10 \
		-- add-br br0 -- set bridge br0 datapath_type=netdev \
		-- add-port br0 p1 -- set interface p1 type=internal \
		-- add-port br0 p2 -- set interface p2 type=internal
	ip -n "$ns" link set p1 up
	ip -n "$ns" link set p2 up
	;;
down)
	stop
	;;
*)
	echo "usage: $0 up|down DIR NETNS" >&2
	exit 2
	;;
esac

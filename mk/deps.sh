#!/bin/bash
# Install what netmove needs from Debian's archive, only what is missing.
# Idempotent; prints what it installs.  Needs root to install.
set -eu

build_pkgs=(
	build-essential pkg-config
	libmnl-dev libnftnl-dev libnetfilter-conntrack-dev libpcap-dev libcmocka-dev
	libssl-dev libcap-ng-dev libunbound-dev
	man-db groff-base                  # tests/build/man.sh: man --warnings
	libvirt-dev                        # netmove watch-libvirt (the CLI only)
	openvswitch-source                 # libopenvswitch is built from this
	clang-14 libclang-rt-14-dev        # fuzz targets (tests/fuzz): libFuzzer
	dpkg-dev debhelper fakeroot lintian  # make deb, tests/build/deb.sh
)
lab_pkgs=(
	openvswitch-switch openvswitch-common  # ovsdb-server, ovs-vswitchd, ovs-vsctl, ovs-ofctl
	nftables conntrack iproute2 ethtool procps
	tcpdump tshark iputils-arping iputils-ping ndisc6 socat jq
	openssl                            # the lab's certificates
	chromium fonts-dejavu-core          # tests/lab/timeline.sh: the SVG in a real browser
	qemu-system-x86                    # a real migrator: tests/lab/hook_qmp.sh
	# Real libvirt in the lab (lab up --libvirt, tests/lab/libvirt_migrate.sh):
	libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
	linux-image-cloud-amd64            # the guest's kernel and virtio-net modules only
	busybox-static cpio kmod           # the guest's initramfs (netns-lab/guest/mkguest)
	util-linux passwd                  # unshare, nsenter; useradd for libvirt-qemu
)

missing=()
for p in "${build_pkgs[@]}" "${lab_pkgs[@]}"; do
	if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all present"
	exit 0
fi
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: not root; install them with: apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; the answer is irrelevant here.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

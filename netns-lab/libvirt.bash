# netns-lab/libvirt.bash: real libvirt in the lab (sourced by netns-lab/lab).
# See netns-lab/README.md "libvirt" for the layout, the names and the facts.
#
# Per host N: a private mount namespace held by an anchor process (sleep, in
# the host's network namespace) in which per-host folders of
# $STATE/hostN/libvirt/ hide the machine's /run/libvirt, /var/lib/libvirt,
# /etc/libvirt, /var/log/libvirt, /var/cache/libvirt, /run/netmove and
# /etc/default, and the host's OVS run folder is /run/openvswitch (libvirt
# runs ovs-vsctl for <virtualport type='openvswitch'/>).  virtlogd and
# libvirtd are started inside with nsenter; so is every virsh.
# shellcheck shell=bash

LV_PORT=16509
GUEST_MEM_MIB=128
GUEST_PORT=5001          # the guest's TCP echo service
GUEST_DIR=$TOP/build/guest

lv_dir() { echo "$(host_rundir "$1")/libvirt"; }
lv_anchor() { cat "$(lv_dir "$1")/anchor.pid" 2>/dev/null; }
lv_running() {
	local pid
	pid=$(lv_anchor "$1") && [ -n "$pid" ] && alive "$pid"
}
# lv_nsenter N CMD...: CMD inside host N's libvirt namespaces.
lv_nsenter() {
	local n=$1 pid
	shift
	pid=$(lv_anchor "$n") || die "host$n: libvirt is not running (lab libvirt host$n start)"
	nsenter -t "$pid" -m -n -u "$@"
}
lv_virsh() { local n=$1; shift; lv_nsenter "$n" virsh -q -c qemu:///system "$@"; }

# Guest G: name guestG, addresses apart from the namespace VMs' (README "libvirt").
guest_num() {
	local g=${1#guest}
	case $g in '' | *[!0-9]*) usage_error "GUEST: '$1' is not a guest name (guest1..guest254)" ;; esac
	[ "$g" -ge 1 ] && [ "$g" -le 254 ] || usage_error "GUEST: '$1' not in guest1..guest254"
	echo "$g"
}
guest_mac() { printf '02:00:00:01:00:%02x' "$1"; }
guest_ipv4() { echo "198.18.64.$1"; }
guest_ipv6() { printf '2001:db8:1::1:%x' "$1"; }
guest_uuid() { printf '6e6d6775-0000-4000-8000-%012x' "$1"; }
guest_iface_id() { printf '5e1f0000-0000-4000-8001-%012x' "$1"; }
guest_host() { cat "$STATE/guest/guest$1" 2>/dev/null; }
# The guest's OVS port: hybrid layout qvo-guestG; plain, the tap libvirt
# made (vnetN, per host), found by its attached-mac as netmove finds it.
guest_port() {
	local g=$1 n=${2:-$(guest_host "$1")}
	if [ "$FIREWALL" -eq 1 ]; then
		echo "qvo-guest$g"
	else
		vsctl "$n" --bare --columns=name find Interface \
			"external_ids:attached-mac=\"$(guest_mac "$g")\"" 2>/dev/null | head -n 1
	fi
}
# The tap QEMU uses on its host, from libvirt (vnetN).
guest_tap() {
	local g=$1 n=${2:-$(guest_host "$1")}
	lv_virsh "$n" domiflist "guest$g" 2>/dev/null | awk 'NR == 1 {print $1}'
}

# ---- configuration written into the host's /etc/libvirt and /etc/default ----

lv_host_uuid() { printf '6e6d686f-7374-4000-8000-%012x' "$1"; }

lv_write_config() {
	local n=$1 d
	d=$(lv_dir "$n")
	mkdir -p "$d"/{run,lib,etc/hooks,log/qemu,cache,netmove/qmp,netmove/hook,default}
	cat >"$d/etc/libvirtd.conf" <<-EOF
		# lab host$n: TCP without authentication, on the management network only.
		listen_tls = 0
		listen_tcp = 1
		auth_tcp = "none"
		auth_unix_rw = "none"
		auth_unix_ro = "none"
		listen_addr = "$(host_mgmt "$n")"
		tcp_port = "$LV_PORT"
		host_uuid = "$(lv_host_uuid "$n")"
		log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
	EOF
	cat >"$d/etc/qemu.conf" <<-EOF
		# lab host$n: no namespaces, cgroups, labels or ownership changes.
		user = "root"
		group = "root"
		security_driver = "none"
		namespaces = [ ]
		cgroup_controllers = [ ]
		dynamic_ownership = 0
		remember_owner = 0
		swtpm_user = "root"
		swtpm_group = "root"
	EOF
	cat >"$d/etc/virtlogd.conf" <<-EOF
		log_outputs = "3:file:/var/log/libvirt/virtlogd.log"
	EOF
	# The host's /etc/default: the machine's, plus netmove's hook settings
	# (libvirtd gives hooks a bare environment; HOOKS.md "Install").
	cp -a /etc/default/. "$d/default/" 2>/dev/null || true
	lv_hook_settings >"$d/default/netmove-hook"
}

# /etc/default/netmove-hook, the same text on every host: what differs
# (netmoved's socket under /run/openvswitch, /run/netmove, /var/log/libvirt)
# is per host through the mount namespace.  Everything else is the hook's
# default, as on a plain libvirt host: the VM is the domain's UUID (the
# external_ids:vm-id libvirt puts on the port), prepare at 'migrate',
# libvirt's own events for the resume (no QMP monitor in the domain).
lv_hook_settings() {
	cat <<-EOF
		NETMOVE=$TOP/build/netmove
		NETMOVE_CTL=/run/openvswitch/netmoved.ctl
		NETMOVE_HOOK_LOG=/var/log/libvirt/netmove-hook.log
	EOF
}

# lv_hook N on|off: the hook installed as an operator does it (read by
# libvirtd when it starts).
lv_hook() {
	local n=$1 d
	d=$(lv_dir "$n")
	if [ "$2" = on ]; then
		install -m 755 "$TOP/netmove/hooks/libvirt-qemu" "$d/etc/hooks/qemu"
	else
		rm -f "$d/etc/hooks/qemu"
	fi
}

# Debian's libvirt (without libvirt-daemon-system) still resolves its
# built-in default user and group libvirt-qemu at start, whatever qemu.conf
# says: they must exist.
lv_users() {
	getent group kvm >/dev/null || groupadd --system kvm
	getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
	getent passwd libvirt-qemu >/dev/null ||
		useradd --system --no-create-home --home-dir /var/lib/libvirt --shell /usr/sbin/nologin \
			--gid kvm libvirt-qemu
}

# ---- start / stop ----

lv_start() {
	local n=$1 d rundir pid
	d=$(lv_dir "$n") rundir=$(host_rundir "$n")
	lv_running "$n" && return 0
	command -v libvirtd >/dev/null || die "libvirtd missing (make deps)"
	lv_users
	[ -d "$d/etc" ] || { lv_write_config "$n"; lv_hook "$n" on; }
	# Mount points on the machine (empty folders, if missing).
	mkdir -p /run/libvirt /var/lib/libvirt /etc/libvirt /var/log/libvirt /var/cache/libvirt \
		/run/netmove /run/openvswitch
	rm -f "$d/anchor.pid" "$d/anchor.ready"
	# The anchor: holds the mount (and UTS) namespace; exec keeps its pid.
	setsid ip netns exec "$(ns "host$n")" unshare -m -u --propagation private \
		sh -c '
			d=$1 rundir=$2
			mount --bind "$d/run" /run/libvirt &&
			mount --bind "$d/lib" /var/lib/libvirt &&
			mount --bind "$d/etc" /etc/libvirt &&
			mount --bind "$d/log" /var/log/libvirt &&
			mount --bind "$d/cache" /var/cache/libvirt &&
			mount --bind "$d/netmove" /run/netmove &&
			mount --bind "$rundir" /run/openvswitch &&
			mount --bind "$d/default" /etc/default || exit 1
			hostname "$3"
			echo $$ >"$d/anchor.pid"
			exec sleep infinity' lab-anchor "$d" "$rundir" "$LAB-host$n" \
		</dev/null >"$d/anchor.log" 2>&1 &
	for _ in $(seq 250); do [ -s "$d/anchor.pid" ] && break; sleep 0.02; done
	if [ ! -s "$d/anchor.pid" ]; then
		echo "lab: host$n: libvirt's namespace did not come up: $(cat "$d/anchor.log")" >&2
		return 1
	fi
	lv_daemons_start "$n"
}

# virtlogd, then libvirtd; returns once libvirtd answers (bounded: 30 s).
# Failures return 1 (not die): 'up' then cleans up through its ERR trap.
lv_daemons_start() {
	local n=$1 d
	d=$(lv_dir "$n")
	rm -f "$d/run/virtlogd.pid" "$d/run/libvirtd.pid"
	lv_nsenter "$n" virtlogd -d -p /run/libvirt/virtlogd.pid
	lv_nsenter "$n" libvirtd -d -l -p /run/libvirt/libvirtd.pid
	local i
	for i in $(seq 300); do
		lv_virsh "$n" version >/dev/null 2>&1 && return 0
		[ -s "$d/run/libvirtd.pid" ] || [ "$i" -lt 50 ] || break   # it gave up
		sleep 0.1
	done
	echo "lab: host$n: libvirtd does not answer: $(tail -n 5 "$d/log/libvirtd.log" 2>/dev/null)" >&2
	return 1
}

# lv_kill PIDFILE: TERM, up to 5 s, then KILL.
lv_kill() {
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 100); do alive "$pid" || return 0; sleep 0.05; done
	kill -9 "$pid" 2>/dev/null || true
}

lv_daemons_stop() {
	local n=$1 d
	d=$(lv_dir "$n")
	lv_kill "$d/run/libvirtd.pid"
	lv_kill "$d/run/virtlogd.pid"
}

# lv_stop N: the guests (QEMU), libvirtd, virtlogd, then the anchor: with
# its last process the mount namespace and its bind mounts are gone.
lv_stop() {
	local n=$1 d f name
	d=$(lv_dir "$n")
	[ -d "$d" ] || return 0
	if lv_running "$n"; then
		for name in $(lv_virsh "$n" list --name 2>/dev/null); do
			timeout 10 nsenter -t "$(lv_anchor "$n")" -m -n -u \
				virsh -q -c qemu:///system destroy "$name" >/dev/null 2>&1 || true
		done
	fi
	for f in "$d"/run/qemu/*.pid; do lv_kill "$f"; done
	lv_daemons_stop "$n"
	lv_kill "$d/anchor.pid"
	rm -f "$d/anchor.pid"
}

lv_stop_all() {
	local dir n
	for dir in "$STATE"/host*; do
		n=${dir##*/host}
		[ -d "$dir/libvirt" ] && lv_stop "$n"
	done
	return 0
}

# ---- guests ----

# guest_xml G N: the domain's XML, in one place.  TCG (type 'qemu': KVM
# hung early in boot here, docs/LAB-NOTES.md), direct kernel boot of the lab guest,
# one virtio NIC: plain layout on br-int with <virtualport
# type='openvswitch'/> (libvirt makes the port), hybrid layout on qbr-guestG
# (the lab plugs it as os-vif does).  No checksum offload towards the host
# (docs/LAB-NOTES.md: partial checksums do not survive the userspace datapath).  The
# extra QMP monitor is the one netmove's hook watches (HOOKS.md); the
# serial console goes to the host's /var/log/libvirt/qemu/guestG.console.
guest_xml() {
	local g=$1 name=guest$1 source qmp="" vlan
	# --qmp: a second QMP monitor for netmove watch-qmp (HOOKS.md); without
	# it the hook follows libvirt's own events.
	[ "${2:-0}" -eq 0 ] || qmp="<qemu:commandline><qemu:arg value='-qmp'/><qemu:arg value='unix:/run/netmove/qmp/$name.qmp,server=on,wait=off'/></qemu:commandline>"
	if [ "$FIREWALL" -eq 1 ]; then
		source="<source bridge='qbr-guest$g'/>"
	else
		source="<source bridge='br-int'/>
      <virtualport type='openvswitch'>
        <parameters interfaceid='$(guest_iface_id "$g")'/>
      </virtualport>"
		# Two sites: the VLAN of the guest's network at its host's site,
		# as a cloud writes it into the definition.
		vlan=$(site_vlan "$(host_site "$(guest_host "$g")")")
		[ -z "$vlan" ] || source="$source
      <vlan><tag id='$vlan'/></vlan>"
	fi
	cat <<-EOF
		<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
		  <name>$name</name>
		  <uuid>$(guest_uuid "$g")</uuid>
		  <memory unit='MiB'>$GUEST_MEM_MIB</memory>
		  <vcpu>1</vcpu>
		  <os>
		    <type arch='x86_64' machine='pc'>hvm</type>
		    <kernel>$GUEST_DIR/vmlinuz</kernel>
		    <initrd>$GUEST_DIR/initrd.img</initrd>
		    <cmdline>console=ttyS0 panic=-1 nm.name=$name nm.ip4=$(guest_ipv4 "$g")/16 nm.ip6=$(guest_ipv6 "$g")/64 nm.port=$GUEST_PORT</cmdline>
		  </os>
		  <on_poweroff>destroy</on_poweroff>
		  <on_reboot>destroy</on_reboot>
		  <on_crash>destroy</on_crash>
		  <devices>
		    <emulator>$(command -v qemu-system-x86_64)</emulator>
		    <interface type='bridge'>
		      <mac address='$(guest_mac "$g")'/>
		      $source
		      <model type='virtio'/>
		      <driver name='qemu'>
		        <host csum='off' gso='off' tso4='off' tso6='off' ecn='off' ufo='off'/>
		      </driver>
		    </interface>
		    <serial type='file'>
		      <source path='/var/log/libvirt/qemu/$name.console' append='on'/>
		      <target port='0'/>
		    </serial>
		    <controller type='usb' model='none'/>
		    <memballoon model='none'/>
		  </devices>
		$qmp
		</domain>
	EOF
}

# guest_plug G N: hybrid layout, what os-vif does before the guest starts
# (or arrives): qbr-guestG, the veth qvb-guestG/qvo-guestG, and the OVS port
# qvo-guestG with os-vif's external_ids.  Plain layout: nothing (libvirt
# makes the port when QEMU starts).
guest_plug() {
	local g=$1 n=$2 h vlan
	[ "$FIREWALL" -eq 1 ] || return 0
	h=$(ns "host$n") vlan=$(site_vlan "$(host_site "$n")")
	ip -n "$h" link add "qbr-guest$g" type bridge stp_state 0 forward_delay 0
	ip link add "qvb-guest$g" netns "$h" type veth peer name "qvo-guest$g" netns "$h"
	tx_off "$h" "qvb-guest$g"
	tx_off "$h" "qvo-guest$g"
	ip -n "$h" link set "qvb-guest$g" master "qbr-guest$g" up
	ip -n "$h" link set "qvo-guest$g" up
	ip -n "$h" link set "qbr-guest$g" up
	vsctl "$n" -- --may-exist add-port br-int "qvo-guest$g" ${vlan:+tag=$vlan} \
		-- set Interface "qvo-guest$g" \
		"external_ids:iface-id=$(guest_iface_id "$g")" external_ids:iface-status=active \
		"external_ids:attached-mac=$(guest_mac "$g")" "external_ids:vm-uuid=$(guest_uuid "$g")"
}

guest_unplug() {
	local g=$1 n=$2 h
	[ "$FIREWALL" -eq 1 ] || return 0
	h=$(ns "host$n")
	vsctl "$n" -- --if-exists del-port br-int "qvo-guest$g" || true
	ip -n "$h" link del "qvb-guest$g" 2>/dev/null || true
	ip -n "$h" link del "qbr-guest$g" 2>/dev/null || true
}

# The guest's own firewall objects (hybrid layout), tagged with its UUID,
# the id netmove's hook gives (NETMOVE_VM_ID=uuid).
guest_firewall() {
	local g=$1 tag ip4 ip6
	tag="netmove:vm=$(guest_uuid "$g")" ip4=$(guest_ipv4 "$g") ip6=$(guest_ipv6 "$g")
	cat <<-EOF
		add set inet filter guest$g-ports { type inet_service; comment "$tag"; elements = { $GUEST_PORT } }
		add chain inet filter vm-guest$g { comment "$tag"; }
		add rule inet filter vm-guest$g ip saddr $ip4 accept comment "$tag"
		add rule inet filter vm-guest$g ip6 saddr $ip6 accept comment "$tag"
		add rule inet filter vm-guest$g ip daddr $ip4 icmp type echo-request accept comment "$tag"
		add rule inet filter vm-guest$g ip6 daddr $ip6 icmpv6 type echo-request accept comment "$tag"
		add rule inet filter vm-guest$g ip daddr $ip4 tcp dport @guest$g-ports ct state new accept comment "$tag"
		add rule inet filter vm-guest$g ip6 daddr $ip6 tcp dport @guest$g-ports ct state new accept comment "$tag"
		add rule inet filter forward iifname "qbr-guest$g" jump vm-guest$g comment "$tag"
	EOF
}

# guest_firewall_del G N: the guest's firewall objects off host N.
guest_firewall_del() {
	local g=$1 n=$2 h
	[ "$FIREWALL" -eq 1 ] || return 0
	nsx "host$n" nft -a list chain inet filter forward 2>/dev/null |
		sed -n "s/.*jump vm-guest$g .*# handle \([0-9]*\)/\1/p" |
		while read -r h; do nsx "host$n" nft delete rule inet filter forward handle "$h"; done
	nsx "host$n" nft delete chain inet filter "vm-guest$g" 2>/dev/null || true
	nsx "host$n" nft delete set inet filter "guest$g-ports" 2>/dev/null || true
}

# guest_wait_reachable G SECONDS: the client pings the guest (IPv4) until
# it answers.
guest_wait_reachable() {
	local ip limit=$2
	ip=$(guest_ipv4 "$1")
	nsx client bash -c '
		end=$((SECONDS + $2))
		until ping -n -q -c 1 -W 0.2 "$1" >/dev/null 2>&1; do
			[ $SECONDS -lt $end ] || exit 1
		done' wait "$ip" "$limit"
}

cmd_guest() {
	[ $# -ge 2 ] || usage_error "usage: lab guest start HOST [GUEST [--qmp]] | lab guest destroy GUEST"
	load_state
	need_root
	local verb=$1 g n t0 name qmp
	shift
	mkdir -p "$STATE/guest"
	case $verb in
	start)
		n=$(host_num "$1")
		lv_running "$n" || die "host$n: libvirt is not running (lab up --libvirt, or lab libvirt host$n start)"
		if [ $# -ge 2 ]; then
			g=$(guest_num "$2")
			[ ! -e "$STATE/guest/guest$g" ] || usage_error "GUEST: guest$g exists already (on host$(guest_host "$g"))"
		else
			for g in $(seq 254); do [ -e "$STATE/guest/guest$g" ] || break; done
		fi
		name=guest$g
		qmp=0
		[ "${3:-}" != --qmp ] || qmp=1
		"$TOP/netns-lab/guest/mkguest" "$GUEST_DIR" >/dev/null
		t0=$(now_us)
		echo "$n" >"$STATE/guest/$name"
		guest_plug "$g" "$n"
		if [ "$FIREWALL" -eq 1 ]; then guest_firewall "$g" | nsx "host$n" nft -f -; fi
		guest_xml "$g" "$qmp" >"$STATE/guest/$name.xml"
		lv_virsh "$n" define "$STATE/guest/$name.xml" >/dev/null
		lv_virsh "$n" start "$name" >/dev/null
		guest_wait_reachable "$g" 90 ||
			die "$name: not reachable from the client 90 s after start; console: $(tail -n 3 "$(lv_dir "$n")/log/qemu/$name.console" 2>/dev/null)"
		echo "$name on host$n: tap $(guest_tap "$g" "$n"), port $(guest_port "$g" "$n"), $(guest_mac "$g") $(guest_ipv4 "$g") $(guest_ipv6 "$g"); reachable $((($(now_us) - t0) / 1000)) ms after start"
		;;
	destroy)
		g=$(guest_num "$1") name=guest$g
		n=$(guest_host "$g") || usage_error "GUEST: no guest '$1' in lab '$LAB'"
		lv_virsh "$n" destroy "$name" >/dev/null 2>&1 || true
		lv_virsh "$n" undefine "$name" >/dev/null 2>&1 || true
		guest_unplug "$g" "$n"
		guest_firewall_del "$g" "$n"
		rm -f "$STATE/guest/$name" "$STATE/guest/$name.xml"
		;;
	*) usage_error "guest: '$verb' is not start or destroy" ;;
	esac
}

cmd_libvirt() {
	[ $# -ge 2 ] || usage_error "usage: lab libvirt HOST start|stop|restart | lab libvirt HOST hook on|off"
	load_state
	need_root
	local n
	n=$(host_num "$1")
	case $2 in
	start) lv_start "$n" ;;
	stop) lv_stop "$n" ;;
	restart)
		lv_running "$n" || die "host$n: libvirt is not running"
		lv_daemons_stop "$n"
		lv_daemons_start "$n"
		;;
	hook)
		case ${3:-} in on | off) ;; *) usage_error "hook: '${3:-}' is not on or off" ;; esac
		[ -d "$(lv_dir "$n")/etc" ] || lv_write_config "$n"
		lv_hook "$n" "$3"
		# libvirtd finds its hooks when it starts.
		if lv_running "$n"; then lv_daemons_stop "$n"; lv_daemons_start "$n"; fi
		;;
	*) usage_error "libvirt: '$2' is not start, stop, restart or hook" ;;
	esac
}

cmd_virsh() {
	[ $# -ge 1 ] || usage_error "usage: lab virsh HOST [VIRSH ARGS...]"
	load_state
	need_root
	local n
	n=$(host_num "$1")
	shift
	lv_running "$n" || die "host$n: libvirt is not running"
	exec nsenter -t "$(lv_anchor "$n")" -m -n -u virsh -c qemu:///system "$@"
}

# jobinfo_ms FIELD: the number of domjobinfo's line 'FIELD:   N   ms'.
jobinfo_ms() { sed -n "s/^$1:[[:space:]]*\([0-9]*\)[[:space:]]*ms.*/\1/p" | head -n 1; }

cmd_vmigrate() {
	[ $# -ge 2 ] || usage_error "usage: lab vmigrate GUEST DST [--fw-rules] [--json]"
	load_state
	need_root
	local g name s d json=0 fw_rules=0 t0 t1 rc=0 info downtime elapsed dst_tap dst_port
	g=$(guest_num "$1") name=guest$g
	s=$(guest_host "$g") || usage_error "GUEST: no guest '$1' in lab '$LAB'"
	d=$(host_num "$2")
	shift 2
	while [ $# -gt 0 ]; do
		case $1 in
		--json) json=1; shift ;;
		--fw-rules) fw_rules=1; shift ;;
		*) usage_error "vmigrate: unknown option '$1'" ;;
		esac
	done
	[ "$s" != "$d" ] || usage_error "DST: $name is already on host$d"
	lv_running "$d" || die "host$d: libvirt is not running"
	# Hybrid layout: os-vif plugs the VIF on the destination first (nova's
	# pre_live_migration).
	guest_plug "$g" "$d"
	# --fw-rules: the guest's firewall rules (not its conntrack entries) on
	# the destination beforehand, as a cloud's agent installs them for a
	# port that appears; without it only netmove moves them.
	if [ $fw_rules -eq 1 ] && [ "$FIREWALL" -eq 1 ]; then guest_firewall "$g" | nsx "host$d" nft -f -; fi
	t0=$(now_us)
	lv_virsh "$s" migrate --live --persistent "$name" "qemu+tcp://$(host_mgmt "$d")/system" \
		--migrateuri "tcp://$(host_mgmt "$d")" >"$STATE/guest/$name.migrate.log" 2>&1 || rc=$?
	t1=$(now_us)
	if [ $rc -ne 0 ]; then
		guest_unplug "$g" "$d"
		[ $fw_rules -eq 0 ] || guest_firewall_del "$g" "$d"
		die "$name: virsh migrate failed (exit $rc): $(cat "$STATE/guest/$name.migrate.log")"
	fi
	# libvirt's figures, on the source (the domain stays defined there,
	# inactive, until undefined: its completed job is still readable).
	info=$(lv_virsh "$s" domjobinfo --completed "$name" 2>&1 || true)
	printf '%s\n' "$info" >"$STATE/guest/$name.jobinfo"
	downtime=$(printf '%s\n' "$info" | jobinfo_ms 'Total downtime')
	elapsed=$(printf '%s\n' "$info" | jobinfo_ms 'Time elapsed')
	lv_virsh "$s" undefine "$name" >/dev/null 2>&1 || true
	# The source's clean-up after the migration (nova's post_live_migration).
	guest_unplug "$g" "$s"
	[ $fw_rules -eq 0 ] || guest_firewall_del "$g" "$s"
	echo "$d" >"$STATE/guest/$name"
	dst_tap=$(guest_tap "$g" "$d") dst_port=$(guest_port "$g" "$d")
	if [ $json -eq 1 ]; then
		jq -cn --arg guest "$name" --arg from "host$s" --arg to "host$d" \
			--arg downtime "${downtime:-}" --arg elapsed "${elapsed:-}" \
			--argjson lab_us $((t1 - t0)) --argjson started_us "$t0" --argjson ended_us "$t1" \
			--arg tap "$dst_tap" --arg port "$dst_port" \
			'{guest: $guest, from: $from, to: $to,
			  libvirt_downtime_ms: ($downtime | if . == "" then null else tonumber end),
			  libvirt_elapsed_ms: ($elapsed | if . == "" then null else tonumber end),
			  lab_ms: ($lab_us / 1000), started_us: $started_us, ended_us: $ended_us,
			  dst_tap: $tap, dst_port: $port}'
	else
		echo "$name: host$s -> host$d in $(((t1 - t0) / 1000)) ms (virsh migrate); libvirt: downtime ${downtime:-?} ms, elapsed ${elapsed:-?} ms; tap $dst_tap, port $dst_port on host$d"
	fi
}

# guests_json: the libvirt guests for 'status --json'.
guests_json() {
	local f g n sep=""
	printf '['
	for f in "$STATE"/guest/guest*; do
		case $f in *.*) continue ;; esac
		g=${f##*/guest} n=$(cat "$f")
		printf '%s{"name":"guest%d","host":"host%d","mac":"%s","ipv4":"%s","ipv6":"%s","port":"%s","tap":"%s","uuid":"%s","iface_id":"%s"}' \
			"$sep" "$g" "$n" "$(guest_mac "$g")" "$(guest_ipv4 "$g")" "$(guest_ipv6 "$g")" \
			"$(guest_port "$g" "$n")" "$(guest_tap "$g" "$n")" "$(guest_uuid "$g")" "$(guest_iface_id "$g")"
		sep=,
	done
	printf ']'
}

#!/bin/bash
# make install into a DESTDIR: the exact file list (Debian's FHS layout),
# modes, an example configuration netmoved accepts, a unit whose paths are
# the installed ones and that 'systemd-analyze verify' accepts without a
# word, one control socket and pidfile across the unit and netmoved --help;
# make uninstall leaves no file.  PREFIX moves the programs and the unit's
# paths with them.
set -eu
cd "$(dirname "$0")/../.." || exit 1
TMP=$(mktemp -d /tmp/netmove-install.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for p in build/netmove build/netmove-libvirt build/netmoved; do
	[ -x "$p" ] || { echo "skip: $p not built (make)"; exit 77; }
done

D=$TMP/root
make -s install DESTDIR="$D" >"$TMP/install.log" 2>&1 ||
	fail "make install: $(tail -5 "$TMP/install.log")"

# The expected list: the man pages and the completion are installed when
# the tree has them.
{
	cat <<-EOF
	/etc/netmove/netmoved.json
	/usr/bin/netmove
	/usr/bin/netmove-libvirt
	/usr/lib/systemd/system/netmoved.service
	/usr/sbin/netmoved
	/usr/share/doc/netmove/HOOKS.md
	/usr/share/doc/netmove/README.md
	/usr/share/netmove/hooks/libvirt-qemu
	/usr/share/netmove/netmoved.json.example
	EOF
	for m in docs/man/*.[1-9]; do
		[ -f "$m" ] || continue
		echo "/usr/share/man/man${m##*.}/$(basename "$m")"
	done
	[ ! -f docs/man/netmove.8 ] || echo /usr/share/man/man8/netmove-libvirt.8
	[ ! -f netmove/cli/netmove.bash-completion ] ||
		echo /usr/share/bash-completion/completions/netmove
} | sort >"$TMP/expected"
(cd "$D" && find . ! -type d | sed 's|^\.||' | sort) >"$TMP/got"
diff -u "$TMP/expected" "$TMP/got" >"$TMP/diff" ||
	fail "installed files differ from the expected list:
$(cat "$TMP/diff")"
echo "ok: make install: $(wc -l <"$TMP/got") files, the expected ones"

# Modes: programs and the hook executable, the rest not.
for f in usr/bin/netmove usr/bin/netmove-libvirt usr/sbin/netmoved usr/share/netmove/hooks/libvirt-qemu; do
	[ "$(stat -c %a "$D/$f")" = 755 ] || fail "$f: mode $(stat -c %a "$D/$f"), not 755"
done
for f in etc/netmove/netmoved.json usr/lib/systemd/system/netmoved.service; do
	[ "$(stat -c %a "$D/$f")" = 644 ] || fail "$f: mode $(stat -c %a "$D/$f"), not 644"
done
# Not activated: nothing under libvirt's hooks.
[ ! -e "$D/etc/libvirt" ] || fail "make install touched /etc/libvirt"
echo "ok: modes; the libvirt hook installed as an example only"

# The example configuration: valid, and it names no peer, listener or network.
"$D/usr/sbin/netmoved" --check-config --config="$D/etc/netmove/netmoved.json" >"$TMP/cc" 2>&1 ||
	fail "netmoved --check-config rejects the example: $(cat "$TMP/cc")"
jq -e '(.peers // []) == [] and (.listen == null) and (.networks // []) == []' \
	"$D/etc/netmove/netmoved.json" >/dev/null ||
	fail "the example configuration is not idle (peers, listen or networks)"
echo "ok: the example configuration is valid and idle"

# The unit: every placeholder filled, the installed paths.
U=$D/usr/lib/systemd/system/netmoved.service
! grep -n '@[A-Z]*@' "$U" || fail "unit: a placeholder is left"
grep -q '^ExecStartPre=/usr/sbin/netmoved --check-config --config=/etc/netmove/netmoved.json$' "$U" ||
	fail "unit: no ExecStartPre check-config of /etc/netmove/netmoved.json"
grep -q '^ExecStart=/usr/sbin/netmoved --config=/etc/netmove/netmoved.json' "$U" ||
	fail "unit: ExecStart is not /usr/sbin/netmoved with /etc/netmove/netmoved.json"
grep -Eq '^(Requires|BindsTo|Requisite|PartOf)=' "$U" && fail "unit: bound to another unit (Requires/BindsTo/PartOf)"
for u in openvswitch-switch.service ovsdb-server.service ovs-vswitchd.service; do
	grep -q "^Wants=.*$u" "$U" || fail "unit: no Wants=$u"
	grep -q "^After=.*$u" "$U" || fail "unit: no After=$u"
done
[ "$(sed -n 's/^CapabilityBoundingSet=//p' "$U")" = "CAP_NET_ADMIN CAP_NET_RAW" ] ||
	fail "unit: capabilities are not exactly CAP_NET_ADMIN CAP_NET_RAW"
for kv in Type=forking NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
	PrivateTmp=yes RuntimeDirectory=netmove StateDirectory=netmove; do
	grep -qx "$kv" "$U" || fail "unit: no $kv"
done
# One pidfile and one control socket: the unit's are netmoved's defaults.
pid=$(sed -n 's/^PIDFile=//p' "$U")
grep -q -- "--pidfile=$pid" "$U" || fail "unit: PIDFile=$pid is not the --pidfile given"
env -u NETMOVE_RUNDIR -u NETMOVE_CONFIG "$D/usr/sbin/netmoved" --help >"$TMP/help"
grep -q "pidfile.*default: $pid)" "$TMP/help" || fail "netmoved --help: the pidfile default is not $pid"
grep -q "control socket /run/netmove/netmoved.ctl" "$TMP/help" ||
	fail "netmoved --help: the control socket is not /run/netmove/netmoved.ctl"
grep -q "default /etc/netmove/netmoved.json" "$TMP/help" ||
	fail "netmoved --help: the configuration default is not /etc/netmove/netmoved.json"
[ "$(dirname "$pid")" = /run/netmove ] || fail "unit: the pidfile is not in RuntimeDirectory /run/netmove"
grep -Eq 'README|/usr/local' "$TMP/help" && fail "netmoved --help names README or /usr/local: $(grep -E 'README|/usr/local' "$TMP/help")"
echo "ok: the unit: paths, ordering without binding, capabilities, hardening, pidfile and socket as netmoved's defaults"

# systemd-analyze verify, on the unit as installed but with its programs in
# DESTDIR (verify checks they are executable).  It exits 0 on a bad
# setting, only saying so: any output fails.  Man pages: installed later.
if command -v systemd-analyze >/dev/null; then
	mkdir "$TMP/unit"
	sed "s|/usr/sbin/netmoved|$D/usr/sbin/netmoved|g" "$U" >"$TMP/unit/netmoved.service"
	systemd-analyze verify --man=no "$TMP/unit/netmoved.service" >"$TMP/verify" 2>&1 ||
		fail "systemd-analyze verify: $(cat "$TMP/verify")"
	[ ! -s "$TMP/verify" ] || fail "systemd-analyze verify says: $(cat "$TMP/verify")"
	# ... and it would have said so of a broken unit.
	sed 's/^ProtectSystem=strict/ProtectSystem=stric/' "$TMP/unit/netmoved.service" >"$TMP/unit/x.service"
	mv "$TMP/unit/x.service" "$TMP/unit/netmoved.service"
	systemd-analyze verify --man=no "$TMP/unit/netmoved.service" >"$TMP/verify" 2>&1 || true
	[ -s "$TMP/verify" ] || fail "systemd-analyze verify is silent on a bad setting: this test proves nothing"
	echo "ok: systemd-analyze verify accepts the unit (and not a broken one)"
else
	echo "systemd-analyze missing: the unit is not verified"
fi

# make uninstall: no file left.
make -s uninstall DESTDIR="$D" >"$TMP/uninstall.log" 2>&1 ||
	fail "make uninstall: $(tail -5 "$TMP/uninstall.log")"
left=$(cd "$D" && find . ! -type d)
[ -z "$left" ] || fail "make uninstall left: $left"
[ ! -e "$D/etc/netmove" ] && [ ! -e "$D/usr/share/netmove" ] && [ ! -e "$D/usr/share/doc/netmove" ] ||
	fail "make uninstall left netmove's directories"
echo "ok: make uninstall leaves no file"

# An operator's configuration: a second 'make install' (an upgrade) keeps
# it, 'make uninstall' leaves it (and only it).
make -s install DESTDIR="$D" >"$TMP/install.log" 2>&1 || fail "make install (again): $(tail -5 "$TMP/install.log")"
jq '.host = "hv17"' "$D/etc/netmove/netmoved.json" >"$TMP/op.json"
cp "$TMP/op.json" "$D/etc/netmove/netmoved.json"
make -s install DESTDIR="$D" >"$TMP/install.log" 2>&1 || fail "make install (upgrade): $(tail -5 "$TMP/install.log")"
cmp -s "$TMP/op.json" "$D/etc/netmove/netmoved.json" ||
	fail "make install overwrote the operator's /etc/netmove/netmoved.json"
make -s uninstall DESTDIR="$D" >"$TMP/uninstall.log" 2>&1 || fail "make uninstall: $(tail -5 "$TMP/uninstall.log")"
[ "$(cd "$D" && find . ! -type d)" = ./etc/netmove/netmoved.json ] ||
	fail "make uninstall with an operator's configuration: left $(cd "$D" && find . ! -type d | tr '\n' ' ')"
rm -rf "$D"
echo "ok: an operator's configuration survives make install (upgrade) and make uninstall"

# PREFIX: the programs and the unit's paths move together (SYSCONFDIR is
# compiled in: not changed here, it would rebuild the tree's programs).
D2=$TMP/opt
make -s install DESTDIR="$D2" PREFIX=/opt/netmove >"$TMP/install2.log" 2>&1 ||
	fail "make install PREFIX=/opt/netmove: $(tail -5 "$TMP/install2.log")"
[ -x "$D2/opt/netmove/sbin/netmoved" ] && [ -x "$D2/opt/netmove/bin/netmove" ] ||
	fail "PREFIX=/opt/netmove: programs not under /opt/netmove"
grep -q '^ExecStart=/opt/netmove/sbin/netmoved ' "$D2/opt/netmove/lib/systemd/system/netmoved.service" ||
	fail "PREFIX=/opt/netmove: the unit does not run /opt/netmove/sbin/netmoved"
make -s uninstall DESTDIR="$D2" PREFIX=/opt/netmove >/dev/null 2>&1
[ -z "$(cd "$D2" && find . ! -type d)" ] || fail "PREFIX=/opt/netmove: make uninstall left files"
echo "ok: PREFIX=/opt/netmove installs and uninstalls there"
